"""Market Basket page handlers with a real store and real jobs (no browser)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from callbacks import basket as handlers
from callbacks import jobs
from components.ids import Basket as IDS
from dashboard.basket import job as basket_job
from dashboard.data._samples import retail_transactions
from dashboard.errors import InvalidParameter
from dashboard.jobs import settings_to_json

REPO = Path(__file__).resolve().parents[2]
LONG = {
    "layout": "long",
    "transaction": "invoice",
    "item": "product",
    "quantity": "quantity",
    "min_support": 0.01,
    "support_unit": "share",
    "min_confidence": 0.3,
    "min_lift": 1.0,
    "max_len": None,
    "multi_consequent": False,
    "algorithm": "fpgrowth",
}


def load_sample(services, session_id):
    result = jobs.execute(
        services, session_id, {"kind": "ingest", "source": "sample", "name": "retail_transactions"}
    )
    assert result["ok"], result
    return result


def columns_of(services, session_id):
    data = services.store.info_by_name(services.signer.verify(session_id), "data")
    return [c["column"] for c in data.meta["column_table"]]


def run(services, session_id, **changes):
    request = handlers.build_request({**LONG, **changes}, columns_of(services, session_id))
    return jobs.execute(services, session_id, request)


def find(component, ident):
    """Return the component with ``id == ident`` inside a Dash layout tree."""
    if getattr(component, "id", None) == ident:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = find(child, ident)
            if found is not None:
                return found
    return None


def text_of(component) -> str:
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    children = getattr(component, "children", None)
    if isinstance(children, list):
        return " ".join(text_of(c) for c in children)
    return text_of(children)


def test_mb101_sample_run_stores_rules_grid_lookup_and_csv_download(make_app):
    app = make_app(job_memory_limit_mb=100_000)
    services = app.services
    session_id = services.signer.new()
    session = services.signer.verify(session_id)
    empty = handlers.render_settings(services, session_id)  # no data: offer the sample
    assert find(empty, IDS.SAMPLE).children == "Load the grocery transactions sample"
    load_sample(services, session_id)

    settings = handlers.render_settings(services, session_id)
    assert find(settings, IDS.LAYOUT).value == "long"  # detected
    picked = (IDS.TRANSACTION, IDS.ITEM, IDS.QUANTITY)
    assert [find(settings, i).value for i in picked] == ["invoice", "product", "quantity"]
    assert "Detected: One row per item bought" in text_of(find(settings, IDS.DETECTED))

    result = run(services, session_id)
    assert result["ok"], result
    assert result["message"] == "Found 953 rules in 4,600 transactions."
    rules = services.store.info_by_name(session, "basket_rules")
    itemsets = services.store.info_by_name(session, "basket_itemsets")
    data = services.store.info_by_name(session, "data")
    assert rules.meta["dataset_version"] == itemsets.meta["dataset_version"] == data.version
    assert rules.meta["run"] == itemsets.meta["run"] and rules.rows == 953

    status, content = handlers.render(services, session_id)
    assert status is None  # not stale, not sampled
    assert "953" in text_of(find(content, IDS.CARDS))
    assert "Strongest rule" in text_of(find(content, IDS.SUMMARY))

    rows, note = handlers.rule_rows(services, session_id, None)
    assert note == "953 rules." and len(rows) == 953
    assert rows[0]["lift"] == max(r["lift"] for r in rows)
    rows, note = handlers.rule_rows(services, session_id, "bread", "consequent")
    assert rows and all("bread" in r["consequents"].split(", ") for r in rows)
    assert note == f"{len(rows)} rules with bread in the consequent."
    found = handlers.lookup(services, session_id, "spaghetti")
    assert "tomato sauce" in text_of(found) and "is in" in text_of(found)

    # the CSV download of the rules: every rule, sides joined readably
    buttons = [b for b in content.children[-1].children[1].children[0].children]
    links = {b.id["file"]: b.href for b in buttons}
    assert set(links) == {"rules", "itemsets"}
    response = app.server.test_client().get(links["rules"])
    assert response.status_code == 200
    assert 'filename="basket-rules-v1.csv"' in response.headers["Content-Disposition"]
    frame = pd.read_csv(io.BytesIO(response.data))
    assert len(frame) == 953 and frame.columns[:3].tolist() == [
        "antecedents",
        "consequents",
        "support",
    ]
    assert frame["antecedents"].str.contains(", ").any()
    response = app.server.test_client().get(links["itemsets"])
    assert pd.read_csv(io.BytesIO(response.data))["itemset"].str.contains("spaghetti").any()


def test_mb102_sampled_long_data_is_mined_from_the_full_data(make_app, tmp_path):
    services = make_app(
        sample_threshold_rows=5_000, sample_rows=2_000, job_memory_limit_mb=100_000
    ).services
    session_id = services.signer.new()
    load_sample(services, session_id)
    session = services.signer.verify(session_id)
    data = services.store.info_by_name(session, "data")
    assert data.meta["sampling"]["sampled"] and data.rows == 2_000
    result = run(services, session_id)
    assert result["ok"] and "of the full data (20,998 rows)" in result["message"]
    meta = services.store.info_by_name(session, "basket_rules").meta
    assert meta["full_data"] and meta["counts"]["transactions"] == 4_600
    assert meta["dataset_version"] == data.version  # staleness follows the analysis data
    status, _content = handlers.render(services, session_id)
    assert "every one of the 20,998 rows of the full data was mined" in text_of(status)
    assert "all 20,998 rows of the full data" in " ".join(meta["summary"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_support": 1.5}, "between 0 and 1 (got 1.5)"),
        ({"min_support": -0.2}, "must be above 0"),
        ({"min_support": None}, "Minimum support is missing"),
        ({"min_confidence": 3}, "Minimum confidence must be between 0 and 1"),
        ({"max_len": 1}, "at least 2 items"),
        ({"support_unit": "count", "min_support": 2.5}, "whole number of transactions"),
        ({"item": "invoice"}, "must differ"),
        ({"quantity": "invoice"}, "quantity column must differ"),
        ({"transaction": None}, "Choose the transaction column"),
        ({"layout": "basket"}, "Choose the column (or columns) that hold the items"),
        ({"layout": None}, "Choose how the transactions are laid out"),
    ],
)
def test_mb103_impossible_choices_are_refused_before_any_job(changes, message):
    # the Run callback shows this message instead of requesting a job
    with pytest.raises(InvalidParameter) as refused:
        handlers.build_request({**LONG, **changes}, list(retail_transactions().columns))
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"item": "amount"}, "'amount' holds numeric amounts"),
        ({"min_confidence": 0.6, "algorithm": "apriori"}, None),  # valid: mined
        ({"layout": "onehot", "onehot_columns": []}, "No column holds only 0/1"),
        ({"layout": "basket", "basket_columns": ["product"], "sep": ";"}, "separator ';'"),
        ({"support_unit": "count", "min_support": 50_000}, "more than the 4,600 transactions"),
        ({"quantity": "invoice_date"}, "'invoice_date' must hold numbers"),
    ],
)
def test_mb104_bad_data_fails_the_job_before_mining_and_keeps_results(
    services, session, changes, message
):
    load_sample(services, session)
    assert run(services, session)["ok"]
    store, owner = services.store, services.signer.verify(session)
    before = {n: store.info_by_name(owner, n).key for n in ("basket_rules", "basket_itemsets")}
    result = run(services, session, **changes)
    if message is None:
        assert result["ok"]
        return
    assert not result["ok"] and message in result["message"]
    assert "Traceback" not in result["message"]
    after = {n: store.info_by_name(owner, n).key for n in before}
    assert after == before  # nothing stored was touched
    record = services.jobs.latest(owner)
    assert record.state.value == "failed" and message in record.error


def test_mb105_one_transaction_and_one_item_are_refused(services, session, tmp_path):
    for frame, message in (
        (pd.DataFrame({"invoice": ["A"] * 3, "product": ["x", "y", "z"]}), "only one transaction"),
        (pd.DataFrame({"invoice": ["A", "B", "C"], "product": ["x"] * 3}), "Only one distinct"),
    ):
        content = io.BytesIO(frame.to_csv(index=False).encode())
        upload = services.uploads.receive(session, "t.csv", content)
        request = {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
        assert jobs.execute(services, session, request)["ok"]
        result = run(services, session, quantity=None)
        assert not result["ok"] and message in result["message"]


def test_mb106_new_data_makes_the_rules_stale(services, session):
    load_sample(services, session)
    assert run(services, session)["ok"]
    load_sample(services, session)  # a new version of the data
    status, content = handlers.render(services, session)
    assert "from an earlier version of the data" in text_of(status)
    assert content is not None  # still shown, with the note
    # the settings keep the last run's choices
    settings = handlers.render_settings(services, session)
    assert "The choices of the last run are shown" in text_of(find(settings, IDS.DETECTED))


def test_mb107_admission_sees_the_columns_read_and_the_matrix(make_app):
    services = make_app(sample_threshold_rows=5_000, sample_rows=2_000).services
    session_id = services.signer.new()
    load_sample(services, session_id)
    session = services.signer.verify(session_id)
    request = handlers.build_request(LONG, columns_of(services, session_id))
    estimate = basket_job.estimate_basket(services, session, request)
    assert estimate["rows"] == 20_998  # the full data is read
    assert 0 < estimate["bytes_memory"] < 5 << 20
    assert estimate["extra"] == {"transactions": 20_998, "items": 100}  # 1 / support


WEB_PROBE = """
import json, sys
from app import create_app  # the web process: every page module, as gunicorn loads it
from callbacks import basket as handlers
from dashboard.jobs import settings_from_json
services = create_app(settings_from_json(json.loads(sys.argv[1]))).services
sid = sys.argv[2]
handlers.render_settings(services, sid)
handlers.render(services, sid)
handlers.rule_rows(services, sid, "bread", "any")
handlers.lookup(services, sid, "bread")
heavy = sorted(m for m in ("mlxtend", "scipy", "sklearn") if m in sys.modules)
print(json.dumps(heavy))
"""


def test_mb108_the_page_handlers_never_load_the_mining_stack(make_app):
    services = make_app(job_memory_limit_mb=100_000).services
    session_id = services.signer.new()
    load_sample(services, session_id)
    assert run(services, session_id)["ok"]
    spec = settings_to_json(services.settings)
    out = subprocess.run(
        [sys.executable, "-c", WEB_PROBE, json.dumps(spec), session_id],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "DI_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_mb109_a_sample_changed_without_the_full_data_is_mined_with_a_note(make_app):
    from dashboard.data._datasets import column_table

    services = make_app(
        sample_threshold_rows=5_000, sample_rows=2_000, job_memory_limit_mb=100_000
    ).services
    session_id = services.signer.new()
    load_sample(services, session_id)
    store, owner = services.store, services.signer.verify(session_id)
    data = store.info_by_name(owner, "data")
    renamed = store.read_frame(owner, data.key).rename(columns={"product": "article"})
    meta = {**data.meta, "column_table": column_table(renamed)}
    store.put_frame(owner, "data", renamed, meta=meta)  # as a clean of the sample only
    result = run(services, session_id, item="article")
    assert result["ok"] and "full data" not in result["message"]
    status, _content = handlers.render(services, session_id)
    assert "The full data has no column 'article'" in text_of(status)
    assert "only the 2,000-row sample was mined" in text_of(status)


def test_mb110_onehot_without_chosen_columns_reads_only_0_1_columns(services, session):
    frame = pd.DataFrame(
        {
            "bread": [1, 1, 0, 1, 0, 1] * 5,
            "store": [3, 7, 3, 7, 3, 7] * 5,  # two values, not flags
            "butter": [1.0, 1.0, 0.0, 0.0, 1.0, 1.0] * 5,
            "jam": [True, True, False, True, False, True] * 5,
            "city": ["a", "b", "a", "b", "a", "b"] * 5,
        }
    )
    upload = services.uploads.receive(
        session, "t.csv", io.BytesIO(frame.to_csv(index=False).encode())
    )
    request = {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
    assert jobs.execute(services, session, request)["ok"]
    request = handlers.build_request(
        {**LONG, "layout": "onehot", "onehot_columns": []}, columns_of(services, session)
    )
    owner = services.signer.verify(session)
    estimate = basket_job.estimate_basket(services, owner, request)
    assert estimate["extra"]["items"] == 3  # bread, butter, jam: not store
    result = jobs.execute(services, session, request)
    assert result["ok"], result
    record = services.store.info_by_name(owner, "basket_rules")
    assert record.meta["counts"]["items"] == 3


def test_mb111_rules_csv_download_neutralises_formulas_in_item_names(make_app):
    app = make_app(job_memory_limit_mb=100_000)
    services = app.services
    session_id = services.signer.new()
    baskets = [["=cmd", "bread"]] * 9 + [["jam", "tea"]] * 6 + [["bread", "jam"]] * 3
    frame = pd.DataFrame(
        [(f"T{i}", item) for i, basket in enumerate(baskets) for item in basket],
        columns=["invoice", "product"],
    )
    owner = services.signer.verify(session_id)
    upload = services.uploads.receive(
        owner, "t.csv", io.BytesIO(frame.to_csv(index=False).encode())
    )
    request = {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
    assert jobs.execute(services, session_id, request)["ok"]
    result = run(services, session_id, quantity=None, min_confidence=0.1)
    assert result["ok"], result
    _, content = handlers.render(services, session_id)
    buttons = [b for b in content.children[-1].children[1].children[0].children]
    links = {b.id["file"]: b.href for b in buttons}
    response = app.server.test_client().get(links["rules"])
    assert response.status_code == 200
    text = response.data.decode()
    assert "'=cmd" in text
    assert not any(cell.startswith("=") for line in text.splitlines() for cell in line.split(","))
    rules = pd.read_csv(io.StringIO(text))
    assert "'=cmd" in set(rules["antecedents"]) | set(rules["consequents"])
    itemsets = app.server.test_client().get(links["itemsets"]).data.decode()
    assert "'=cmd" in itemsets and "\n=cmd" not in itemsets
