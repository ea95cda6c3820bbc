import sys

import pandas as pd
import pytest

from dashboard.data._samples import SAMPLES, retail_transactions, write_sample
from dashboard.errors import InvalidParameter

EXPECTED_ROWS = {"tips": 244, "wine": 178, "breast_cancer": 569, "iris": 150, "gapminder": 1704}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_sds001_every_sample_writes_and_loads(sample, tmp_path):
    path = write_sample(sample.name, tmp_path)
    assert path.parent == tmp_path and path.name.startswith(sample.name)
    frame = pd.read_csv(path)
    assert len(frame) > 0
    assert tuple(frame.columns) == sample.columns
    if sample.name in EXPECTED_ROWS:
        assert len(frame) == EXPECTED_ROWS[sample.name]
    if sample.target is not None:
        assert sample.target in frame.columns and frame[sample.target].notna().all()
    assert sample.title and sample.description and sample.good_for
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_sds002_names_are_unique_and_the_documented_ones():
    names = [s.name for s in SAMPLES]
    assert len(names) == len(set(names))
    assert {"tips", "wine", "breast_cancer", "gapminder", "retail_transactions"} <= set(names)


def test_sds003_sklearn_targets_are_readable_labels(tmp_path):
    wine = pd.read_csv(write_sample("wine", tmp_path))
    assert sorted(wine["cultivar"].unique()) == ["class_0", "class_1", "class_2"]
    assert wine["alcohol"].between(10, 16).all()
    cancer = pd.read_csv(write_sample("breast_cancer", tmp_path))
    assert cancer["diagnosis"].value_counts().to_dict() == {"benign": 357, "malignant": 212}


def test_sds004_sklearn_is_not_imported(tmp_path):
    already = "sklearn" in sys.modules
    write_sample("wine", tmp_path)
    assert already or "sklearn" not in sys.modules


def test_sds005_retail_transactions_deterministic_and_plausible(tmp_path):
    first = retail_transactions()
    pd.testing.assert_frame_equal(first, retail_transactions())
    assert not first.equals(retail_transactions(seed=1))
    assert 15_000 <= len(first) <= 25_000
    assert 40 <= first["product"].nunique() <= 80
    returns = first[first["quantity"] < 0]
    assert 0 < len(returns) < 0.05 * len(first)
    assert returns["invoice"].str.startswith("C").all()
    assert (first.loc[first["quantity"] > 0, "invoice"].str.isdigit()).all()
    assert (first["amount"] == (first["quantity"] * first["unit_price"]).round(2)).all()
    dates = pd.to_datetime(first["invoice_date"], format="%Y-%m-%d")
    assert (dates.max() - dates.min()).days >= 330
    a = write_sample("retail_transactions", tmp_path / "a").read_bytes()
    assert a == write_sample("retail_transactions", tmp_path / "b").read_bytes()


def test_sds006_retail_baskets_have_co_purchases():
    lines = retail_transactions()
    baskets = lines[lines["quantity"] > 0].groupby("invoice")["product"].agg(set)
    pasta = baskets[baskets.map(lambda b: "spaghetti" in b)]
    share_with_sauce = pasta.map(lambda b: "tomato sauce" in b).mean()
    share_overall = baskets.map(lambda b: "tomato sauce" in b).mean()
    assert share_with_sauce > 0.6 and share_with_sauce > 3 * share_overall


def test_sds007_unknown_sample_is_rejected(tmp_path):
    with pytest.raises(InvalidParameter, match="no sample called 'nope'.*tips"):
        write_sample("nope", tmp_path)
