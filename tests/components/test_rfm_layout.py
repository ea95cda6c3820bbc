from components import rfm as rfm_page
from components.ids import Rfm, all_ids
from tests.components.test_ids import layout_ids


def test_rfm301_ids_carry_the_page_prefix_and_the_static_layout_declares_them():
    names = [v for k, v in vars(Rfm).items() if k.isupper()]
    assert names and all(n.startswith("rfm-") for n in names)
    used = set(layout_ids(rfm_page.layout()))
    assert {Rfm.RUN, Rfm.CUSTOMER, Rfm.DATE, Rfm.AMOUNT, Rfm.K, Rfm.RULES_GRID} <= used
    assert used - set(all_ids()) == set()
    assert set(layout_ids(rfm_page.no_data_status())) == {Rfm.LOAD_SAMPLE}
