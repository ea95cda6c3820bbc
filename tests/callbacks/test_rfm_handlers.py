"""Customer Value page handlers: the RFM job through the real runner and store, no browser."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dash import no_update
from plotly.io.json import to_json_plotly

from callbacks import jobs
from callbacks import rfm as handlers
from callbacks.routes import download_token
from components.ids import Rfm as IDS
from components.ids import all_ids
from dashboard.data._samples import retail_transactions
from dashboard.errors import JobRejected
from dashboard.jobs._admission import check_admission, estimate_job
from dashboard.rfm import job as rfm_job
from dashboard.rfm._compute import SCATTER_POINTS, compute_rfm
from dashboard.rfm.job import RFM
from tests.components.test_ids import layout_ids

REPO = Path(__file__).resolve().parents[2]
# jobs run inside the test process here: keep its memory watchdog from stopping the tests
NO_LIMIT = 100_000


def ingest(services, session, content: bytes, name: str = "sales.csv") -> dict:
    upload = services.uploads.receive(session, name, io.BytesIO(content))
    request = {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
    result = jobs.execute(services, session, request)
    assert result["ok"], result
    return result


@pytest.fixture(scope="module")
def retail_csv() -> bytes:
    return retail_transactions().to_csv(index=False).encode()


def run(services, session, **fields) -> dict:
    values = handlers.choices(services, session)["values"]
    return jobs.execute(services, session, {"kind": "rfm", **values, **fields})


def download(app, session, name, fmt="csv"):
    token = download_token(app.services, session, name, fmt)
    return app.server.test_client().get(f"/api/download/{token}")


def test_rfm101_retail_sample_mapped_run_stored_and_downloaded(make_app, retail_csv):
    app = make_app(job_memory_limit_mb=NO_LIMIT)
    services = app.services
    session = services.signer.new()
    ingest(services, session, retail_csv, "retail.csv")
    values = handlers.choices(services, session)["values"]
    assert (values["customer"], values["date"], values["amount"], values["invoice"]) == (
        "customer_id",
        "invoice_date",
        "amount",
        "invoice",
    )
    assert handlers.render(services, session)[1] is None  # nothing run yet

    result = run(services, session, k=3)
    assert result["ok"], result
    data = services.store.info_by_name(session, "data")
    for name in ("rfm", "rfm_customers", "rfm_segments", "rfm_excluded", "rfm_scatter"):
        assert services.store.info_by_name(session, name).meta["dataset_version"] == data.version
    summary, stale = handlers.stored_summary(services, session)
    assert not stale and summary["clusters"]["k"] == 3
    customers = services.store.read_frame(
        session, services.store.info_by_name(session, "rfm_customers").key
    )
    expected = compute_rfm(
        retail_transactions(),
        customer="customer_id",
        date="invoice_date",
        amount="amount",
        invoice="invoice",
    )
    assert len(customers) == len(expected.customers) == summary["overview"]["customers"]
    assert result["message"].startswith(f"Scored {len(customers):,}")
    assert sorted(customers["cluster"].unique()) == [1, 2, 3]
    assert (customers["segment"].astype(str) == expected.customers["segment"].astype(str)).all()

    status, content = handlers.render(services, session)
    assert status == []  # current, not sampled: nothing to warn about
    used = set(layout_ids(content))
    assert {IDS.SEGMENT_GRAPH, IDS.SCATTER_GRAPH, IDS.CLUSTER_GRID, IDS.DOWNLOAD} <= used
    assert used - set(all_ids()) == set()
    page = to_json_plotly(content)
    assert "Champions" in page and "Download the results" in page
    assert len(page) < 150_000

    answer = download(app, session, "rfm_customers")
    assert answer.status_code == 200
    assert "rfm-customers-v1.csv" in answer.headers["Content-Disposition"]
    lines = answer.data.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("customer,recency,frequency,monetary,r_score,f_score,m_score")
    assert "segment,cluster" in lines[0] and "predicted_clv" in lines[0]
    assert len(lines) == len(customers) + 1
    segments = download(app, session, "rfm_segments").data.decode("utf-8-sig").splitlines()
    assert len(segments) == 12 and segments[1].startswith("Champions,")


def test_rfm102_sampled_data_is_scored_on_every_transaction(make_app, retail_csv):
    services = make_app(
        sample_threshold_rows=5_000, sample_rows=2_000, job_memory_limit_mb=NO_LIMIT
    ).services
    session = services.signer.new()
    ingest(services, session, retail_csv, "retail.csv")
    data = services.store.info_by_name(session, "data")
    assert data.rows == 2_000 and data.meta["sampling"]["sampled"]

    assert run(services, session)["ok"]
    summary, _ = handlers.stored_summary(services, session)
    full = compute_rfm(
        retail_transactions(),
        customer="customer_id",
        date="invoice_date",
        amount="amount",
        invoice="invoice",
    )
    # every customer of the full data, with their full-data frequency
    assert summary["overview"]["customers"] == len(full.customers)
    assert summary["source"] == {"sampled": True, "rows": 20_998, "analysis_rows": 2_000}
    item = services.store.info_by_name(session, "rfm")
    assert item.meta["dataset_version"] == data.version  # staleness follows `data`
    status, content = handlers.render(services, session)
    assert "runs on the full data (20,998 rows)" in to_json_plotly(status)
    assert "it ran on all 20,998 rows" in to_json_plotly(content)
    estimate = rfm_job.estimate_rfm(services, session, {"customer": "customer_id"})
    assert estimate["rows"] == 20_998

    # without the full data a sample would understate every customer: refused
    full = services.store.info_by_name(session, "data_full")
    services.store.remove(session, full.key, force=True)
    failed = run(services, session)
    assert not failed["ok"] and "full data is not available any more" in failed["message"]
    assert services.store.info_by_name(session, "rfm").key == item.key


def test_rfm103_bad_choices_are_refused_before_any_job_and_results_stay(make_app, shared_data):
    services = make_app(job_memory_limit_mb=NO_LIMIT).services
    session = services.signer.new()
    ingest(services, session, (shared_data / "cdnow_transactions.csv").read_bytes(), "cdnow.csv")
    assert run(services, session)["ok"]
    before = services.store.info_by_name(session, "rfm")
    history = len(services.jobs.history(session))

    base = handlers.choices(services, session)["values"]
    cases = {
        "order_date": "holds dates, not amounts",  # a date column chosen as the amount
        "customer_id": "chosen for two roles",
    }
    for amount, message in cases.items():
        request, shown = handlers.request_rfm(services, session, {**base, "amount": amount}, False)
        assert request is handlers.no_update and message in to_json_plotly(shown)
    request, shown = handlers.request_rfm(services, session, {**base, "k": 12}, False)
    assert request is handlers.no_update and "from 2 to 10" in to_json_plotly(shown)
    assert len(services.jobs.history(session)) == history  # no job was started
    request, _ = handlers.request_rfm(services, session, base, False)
    assert request["kind"] == "rfm" and request["customer"] == "customer_id"

    # the job refuses them too (a request can bypass the page), and keeps the results
    failed = jobs.execute(services, session, {"kind": "rfm", **base, "amount": "order_date"})
    assert not failed["ok"] and "holds dates, not amounts" in failed["message"]
    after = services.store.info_by_name(session, "rfm")
    assert (after.key, after.version) == (before.key, before.version)


def test_rfm104_values_that_cannot_be_used_fail_the_job_and_keep_earlier_results(make_app):
    services = make_app(job_memory_limit_mb=NO_LIMIT).services
    session = services.signer.new()
    good = b"customer,date,amount,note\n" + b"".join(
        f"c{i % 40},2024-0{1 + i % 9}-1{i % 10},{5 + i % 17}.5,x{i % 3}\n".encode()
        for i in range(400)
    )
    ingest(services, session, good, "good.csv")
    assert run(services, session)["ok"]
    before = services.store.info_by_name(session, "rfm")

    # a text column as the amount is refused before any job starts
    fields = {**handlers.choices(services, session)["values"], "amount": "note"}
    request, shown = handlers.request_rfm(services, session, fields, False)
    assert request is no_update
    assert "Column 'note' holds text, not numbers" in to_json_plotly(shown)
    failed = run(services, session, amount="note")  # and by the job, should one be sent
    assert not failed["ok"] and "'note' holds text, not numbers" in failed["message"]
    after = services.store.info_by_name(session, "rfm")
    assert (after.key, after.version) == (before.key, before.version)

    # a new dataset with one customer and broken dates: clear messages, nothing stored
    one = b"customer,date,amount\n" + b"a,2024-01-01,3\na,2024-02-01,4\n" * 5
    ingest(services, session, one, "one.csv")
    request, shown = handlers.request_rfm(
        services, session, {"customer": "customer", "date": "date", "amount": "amount"}, False
    )
    assert "has only one customer" in to_json_plotly(shown)
    broken = b"customer,date,amount\n" + b"".join(
        f"c{i},{'2024-01-0' + str(1 + i % 9) if i % 4 else 'soon'},3\n".encode() for i in range(40)
    )
    ingest(services, session, broken, "broken.csv")
    failed = run(services, session)
    assert not failed["ok"] and "whose date cannot be read, such as 'soon'" in failed["message"]
    assert services.store.info_by_name(session, "rfm").key == before.key
    # the old results are kept, shown as stale
    status, _ = handlers.render(services, session)
    assert "earlier version of the data" in to_json_plotly(status)


def test_rfm105_figures_come_from_aggregates_and_a_capped_sample(make_app, shared_data):
    services = make_app(job_memory_limit_mb=NO_LIMIT).services
    session = services.signer.new()
    ingest(services, session, (shared_data / "cdnow_transactions.csv").read_bytes(), "cdnow.csv")
    assert run(services, session)["ok"]
    scatter = handlers.scatter_figure(services, session, "cluster")
    points = sum(len(trace.x) for trace in scatter.data)
    assert points == SCATTER_POINTS < 23_502
    assert scatter.layout.title.text == "5,000 of 23,502 customers"
    assert len(scatter.to_json()) < 200_000
    bar = handlers.segment_figure(services, session, "bar")
    summary, _ = handlers.stored_summary(services, session)
    shown = dict(zip(bar.data[0].y, bar.data[0].x, strict=True))
    assert shown == {s["segment"]: s["customers"] for s in summary["segments"] if s["customers"]}
    tree = handlers.segment_figure(services, session, "treemap")
    assert sum(tree.data[0].values) == summary["overview"]["customers"]


PROBE = """
import json, sys
import app
from callbacks import rfm
services = app.app.services
session = sys.argv[1]
status, content = rfm.render(services, session)
rfm.segment_figure(services, session, "treemap")
rfm.scatter_figure(services, session, "segment")
heavy = sorted(m for m in ("sklearn", "mlxtend", "scipy.optimize") if m in sys.modules)
print(json.dumps({"heavy": heavy, "content": content is not None}))
"""


def test_rfm106_showing_results_loads_no_ml_library_in_the_web_process(tmp_path, retail_csv):
    # build the results with the environment `import app` reads, then render them afresh
    env = {
        **os.environ,
        "DI_SECRET_KEY": "tests-only-secret",
        "DI_DATA_DIR": str(tmp_path / "data"),
    }
    setup = (
        "import io, sys\nimport app\nfrom callbacks import jobs, rfm\n"
        "s = app.app.services\nsession = s.signer.new()\n"
        "up = s.uploads.receive(session, 'r.csv', io.BytesIO(sys.stdin.buffer.read()))\n"
        "assert jobs.execute(s, session, {'kind': 'ingest', 'source': 'upload', "
        "'upload_id': up.upload_id})['ok']\n"
        "assert jobs.execute(s, session, {'kind': 'rfm', **rfm.choices(s, session)['values']})"
        "['ok']\nprint(session)\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", setup],
        input=retail_csv,
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=180,
        check=True,
    )
    session = made.stdout.decode().strip().splitlines()[-1]
    out = subprocess.run(
        [sys.executable, "-c", PROBE, session],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found == {"heavy": [], "content": True}


def test_rfm107_new_data_makes_results_stale_and_controls_keep_the_last_settings(
    make_app, retail_csv
):
    services = make_app(job_memory_limit_mb=NO_LIMIT).services
    session = services.signer.new()
    ingest(services, session, retail_csv, "retail.csv")
    assert run(services, session, k=5, scheme="quartile", margin=40, returns="exclude")["ok"]
    values = handlers.choices(services, session)["values"]
    assert (values["k"], values["scheme"], values["margin"], values["returns"]) == (
        5,
        "quartile",
        40.0,
        "exclude",
    )
    frame = pd.read_csv(io.BytesIO(retail_csv)).head(5_000)
    ingest(services, session, frame.to_csv(index=False).encode(), "smaller.csv")
    assert handlers.stored_summary(services, session)[1] is True
    status, content = handlers.render(services, session)
    assert "earlier version of the data" in to_json_plotly(status) and content is not None


def test_rfm108_admission_sizes_the_job_from_the_mapped_columns_of_the_full_data(
    make_app, retail_csv
):
    # (the refusal itself runs in the job runner; running it here would put the test
    # process under the job's memory watchdog)
    services = make_app(
        sample_threshold_rows=5_000, sample_rows=2_000, job_memory_limit_mb=NO_LIMIT
    ).services
    session = services.signer.new()
    ingest(services, session, retail_csv, "retail.csv")
    request = {"kind": "rfm", **handlers.choices(services, session)["values"]}
    estimate = rfm_job.estimate_rfm(services, session, request)
    assert estimate["rows"] == 20_998  # the full data, not the 2,000-row sample
    assert set(estimate["dtypes"]) == {"customer_id", "invoice_date", "amount", "invoice"}
    needed = estimate_job(RFM, **estimate)
    assert check_admission(RFM, budget_mb=1024, used_mb=200, **estimate).needed_mb == needed
    with pytest.raises(JobRejected, match="Try a smaller sample or fewer customers"):
        check_admission(RFM, budget_mb=300, used_mb=100, **estimate)
