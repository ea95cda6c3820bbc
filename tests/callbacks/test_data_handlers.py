import io
import time

import dash_bootstrap_components as dbc
import pytest
from dash import no_update
from dash.development.base_component import Component

from callbacks import jobs
from callbacks.data import render_content, request_from_upload, rows_page
from callbacks.home import loaded_status
from components.ids import Data as IDS
from dashboard.errors import AccessDenied, ItemNotFound

CSV = b"city,sales,region\nParis,10,north\nLyon,7,south\nLille,,north\nNice,3,south\n"
BAD = b"\x00\x01\x02\x03binary\x00\xff\xfe" * 40


def big_csv(rows: int) -> bytes:
    lines = ["id,group"] + [f"{i},{'ab'[i % 2]}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def texts(node) -> str:
    """All text of a component tree, in order."""
    if isinstance(node, (list, tuple)):
        return "".join(texts(n) for n in node)
    if isinstance(node, Component):
        return texts(getattr(node, "children", None))
    return "" if node is None else str(node)


def find(node, ident):
    """The component with id ``ident`` (or dict id of type ``ident``), or None."""
    if isinstance(node, (list, tuple)):
        for child in node:
            found = find(child, ident)
            if found is not None:
                return found
        return None
    if isinstance(node, Component):
        own = getattr(node, "id", None)
        if own == ident or (isinstance(own, dict) and own.get("type") == ident):
            return node
        return find(getattr(node, "children", None), ident)
    return None


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def services(app):
    return app.services


@pytest.fixture
def session(services):
    return services.signer.new()


def ingest(services, session, content: bytes, filename: str, progress=None) -> dict:
    upload = services.uploads.receive(session, filename, io.BytesIO(content))
    request = {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
    return jobs.execute(services, session, {**request, "filename": filename}, progress)


# --- request_from_upload ------------------------------------------------------------------


def test_cbdata001_nothing_reported_changes_nothing():
    assert request_from_upload(None) == (no_update, no_update)
    assert request_from_upload({}) == (no_update, no_update)


def test_cbdata002_upload_error_is_shown_as_an_alert():
    request, message = request_from_upload(
        {"error": "The file is larger than the 500 MB upload limit.", "filename": "x.csv"}
    )
    assert request is no_update
    assert isinstance(message, dbc.Alert) and message.color == "danger"
    assert message.children == "The file is larger than the 500 MB upload limit."


def test_cbdata003_upload_becomes_an_ingest_request():
    request, message = request_from_upload({"upload_id": "abc123", "filename": "sales.csv"})
    assert message == ""
    assert request["kind"] == "ingest" and request["source"] == "upload"
    assert (request["upload_id"], request["filename"]) == ("abc123", "sales.csv")
    assert request["t"] > 0  # a new request every time, even for the same file


def test_cbdata004_upload_while_a_job_runs_says_busy():
    request, message = request_from_upload({"upload_id": "abc123"}, locked=True)
    assert request is no_update
    assert message.color == "warning"
    assert message.children == jobs.BUSY


# --- jobs.execute -------------------------------------------------------------------------


def test_cbdata005_ingest_of_an_upload(services, session):
    progress = []
    result = ingest(services, session, CSV, "sales.csv", progress.append)
    assert result["ok"] is True and result["kind"] == "ingest"
    assert result["message"] == "Loaded 4 rows × 3 columns."
    dataset = result["dataset"]
    assert (dataset["rows"], dataset["columns"], dataset["sampled"]) == (4, 3, False)
    assert dataset["full_key"] is None
    active = services.store.info_by_name(session, "data")
    assert (active.key, active.version) == (dataset["data_key"], dataset["version"])
    assert active.meta["source"]["filename"] == "sales.csv"
    assert progress[0][2].startswith("Loading sales.csv")  # the banner names the file


def test_cbdata006_ingest_of_a_large_upload_is_sampled(make_app):
    services = make_app(sample_threshold_rows=50, sample_rows=20).services
    session = services.signer.new()
    result = ingest(services, session, big_csv(120), "big.csv")
    assert result["ok"] is True
    assert result["message"] == "Loaded 120 rows × 2 columns (sampled 20 rows for analysis)."
    assert result["dataset"]["sampled"] is True
    assert services.store.info_by_name(session, "data_full").rows == 120


def test_cbdata007_bad_file_fails_and_keeps_the_previous_dataset(services, session):
    good = ingest(services, session, CSV, "sales.csv")["dataset"]
    result = ingest(services, session, BAD, "bad.csv")
    assert result["ok"] is False
    assert result["message"] == (
        "bad.csv looks like a binary file, not a table: "
        "upload a CSV, Excel (.xlsx) or Parquet file."
    )
    assert "dataset" not in result
    active = services.store.info_by_name(session, "data")
    assert (active.key, active.version) == (good["data_key"], good["version"])
    assert services.store.read_frame(session, active.key)["city"].tolist() == [
        "Paris",
        "Lyon",
        "Lille",
        "Nice",
    ]


def test_cbdata007b_header_of_millions_of_fields_is_refused_and_keeps_the_dataset(
    services, session
):
    good = ingest(services, session, CSV, "sales.csv")["dataset"]
    result = ingest(services, session, b"1," * 3_000_000 + b"\n", "wide.csv")
    assert result["ok"] is False
    assert result["message"].startswith("wide.csv has at least 524,289 columns;")
    active = services.store.info_by_name(session, "data")
    assert (active.key, active.version) == (good["data_key"], good["version"])


def test_cbdata008_another_sessions_upload_is_refused(services, session):
    upload = services.uploads.receive(session, "sales.csv", io.BytesIO(CSV))
    intruder = services.signer.new()
    request = {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
    result = jobs.execute(services, intruder, request)
    assert result["ok"] is False
    assert result["message"].startswith("This upload belongs to another session.")
    assert services.store.info_by_name(intruder, "data") is None


def test_cbdata009_invalid_session_or_kind_is_a_message(services, session):
    request = {"kind": "ingest", "source": "upload", "upload_id": "x" * 22}
    refused = jobs.execute(services, "forged", request)
    assert refused["ok"] is False and "session is not valid" in refused["message"]
    unknown = jobs.execute(services, session, {"kind": "teleport"})
    assert unknown == {**unknown, "ok": False, "message": "Unknown job kind 'teleport'."}


def test_cbdata010_resample_request_runs_as_a_job(make_app):
    services = make_app(sample_threshold_rows=50, sample_rows=20).services
    session = services.signer.new()
    ingest(services, session, big_csv(120), "big.csv")
    resampled = jobs.execute(
        services, session, {"kind": "ingest", "source": "resample", "size": 30}
    )
    assert resampled["ok"] is True and resampled["dataset"]["rows"] == 30
    full = jobs.execute(
        services, session, {"kind": "ingest", "source": "resample", "use_full": True}
    )
    assert full["message"] == "Using the full data: 120 rows."
    too_big = jobs.execute(services, session, {"kind": "ingest", "source": "resample", "size": 500})
    assert too_big["ok"] is False
    assert too_big["message"].startswith("The sample size must be smaller than the 120 rows")
    assert services.store.info_by_name(session, "data").rows == 120


# --- rows_page ----------------------------------------------------------------------------


def test_cbdata011_rows_page_returns_the_requested_rows(services, session):
    key = ingest(services, session, CSV, "sales.csv")["dataset"]["data_key"]
    page = rows_page(services, session, key, {"startRow": 1, "endRow": 3})
    assert page["rowCount"] == 4
    assert [r["city"] for r in page["rowData"]] == ["Lyon", "Lille"]
    assert page["rowData"][1]["sales"] is None  # a missing value, not "NaN"
    # asked again (now from the view cache): the same answer
    assert rows_page(services, session, key, {"startRow": 1, "endRow": 3}) == page


def test_cbdata011b_rows_page_shows_dates_as_a_person_writes_them(services, session):
    csv = b"day,at,n\n2024-01-05,2024-01-05 14:30:00,1\n,2024-01-06 00:00:00,2\n2024-02-01,,3\n"
    key = ingest(services, session, csv, "dates.csv")["dataset"]["data_key"]
    rows = rows_page(services, session, key, {"startRow": 0, "endRow": 3})["rowData"]
    assert [r["day"] for r in rows] == ["2024-01-05", None, "2024-02-01"]
    assert [r["at"] for r in rows] == ["2024-01-05 14:30:00", "2024-01-06 00:00:00", None]


def test_cbdata012_rows_page_past_the_end_is_short(services, session):
    key = ingest(services, session, CSV, "sales.csv")["dataset"]["data_key"]
    page = rows_page(services, session, key, {"startRow": 2, "endRow": 100})
    assert [r["city"] for r in page["rowData"]] == ["Lille", "Nice"]
    assert page["rowCount"] == 4


def test_cbdata013_rows_page_refuses_another_sessions_key(services, session):
    key = ingest(services, session, CSV, "sales.csv")["dataset"]["data_key"]
    with pytest.raises(AccessDenied):
        rows_page(services, services.signer.new(), key, {"startRow": 0, "endRow": 2})
    with pytest.raises(AccessDenied):
        rows_page(services, "forged", key, {"startRow": 0, "endRow": 2})


def test_cbdata014_rows_page_of_a_replaced_dataset_is_gone(services, session):
    old = ingest(services, session, CSV, "sales.csv")["dataset"]["data_key"]
    ingest(services, session, CSV, "again.csv")
    with pytest.raises(ItemNotFound):
        rows_page(services, session, old, {"startRow": 0, "endRow": 2})


# --- render_content -----------------------------------------------------------------------


def test_cbdata015_empty_page_before_loading(services, session):
    for dataset, sid in ((None, session), ({"data_key": "x" * 22}, None)):
        assert texts(render_content(services, sid, dataset)).startswith("No dataset loaded yet.")


def test_cbdata016_small_dataset_uses_all_rows(services, session):
    dataset = ingest(services, session, CSV, "sales.csv")["dataset"]
    content = render_content(services, session, dataset)
    assert texts(find(content, IDS.SAMPLING_TEXT)) == (
        "Using all 4 rows (sampling starts above 100,000 rows)."
    )
    assert find(content, IDS.SAMPLE_SIZE) is None  # nothing to resample
    assert "Computed on all 4 rows." in texts(content)
    columns = find(content, IDS.COLUMNS_GRID).rowData
    assert [c["column"] for c in columns] == ["city", "sales", "region"]
    sales = columns[1]
    assert (sales["non_null"], sales["missing_pct"], sales["unique"]) == (3, 25.0, 3)
    grid = find(content, IDS.PREVIEW_GRID)
    assert grid.id["key"] == dataset["data_key"]
    assert [c["field"] for c in grid.columnDefs] == ["city", "sales", "region"]
    assert "sales.csv" in texts(find(content, IDS.SUMMARY))


def test_cbdata017_large_dataset_says_it_is_sampled(make_app):
    services = make_app(sample_threshold_rows=50, sample_rows=20).services
    session = services.signer.new()
    dataset = ingest(services, session, big_csv(1200), "big.csv")["dataset"]
    content = render_content(services, session, dataset)
    assert texts(find(content, IDS.SAMPLING_TEXT)) == (
        "Using 20 sampled rows of 1,200 for analysis. The full data stays on disk."
    )
    assert find(content, IDS.SAMPLE_SIZE).value == 20
    assert find(content, IDS.SAMPLE_STRATIFY).options == ["id", "group"]
    assert "Computed on the analysis dataset (20 rows)." in texts(content)


def test_cbdata018_another_sessions_dataset_is_not_shown(services, session):
    dataset = ingest(services, session, CSV, "sales.csv")["dataset"]
    content = render_content(services, services.signer.new(), dataset)
    assert texts(content).startswith("No dataset loaded yet.")
    assert "sales.csv" not in texts(content)


# --- home ---------------------------------------------------------------------------------


def test_cbdata019_home_says_nothing_is_loaded(services, session):
    assert texts(loaded_status(services, session, None)) == (
        "Nothing loaded yet. Upload a file or try a sample dataset."
    )


def test_cbdata020_home_names_the_loaded_dataset(services, session):
    dataset = ingest(services, session, CSV, "sales.csv")["dataset"]
    status = texts(loaded_status(services, session, dataset))
    assert status.startswith("sales.csv — 4 rows × 3 columns")
    assert "sampled" not in status
    assert "Open the Data page" in status


def test_cbdata021_home_says_when_the_data_is_sampled(make_app):
    services = make_app(sample_threshold_rows=50, sample_rows=20).services
    session = services.signer.new()
    dataset = ingest(services, session, big_csv(120), "big.csv")["dataset"]
    status = texts(loaded_status(services, session, dataset))
    assert status.startswith("big.csv — 120 rows × 2 columns (sampled for analysis)")


def test_cbdata022_home_does_not_show_another_sessions_dataset(services, session):
    dataset = ingest(services, session, CSV, "sales.csv")["dataset"]
    status = texts(loaded_status(services, services.signer.new(), dataset))
    assert status.startswith("Nothing loaded yet.")


# --- admission estimate and housekeeping of the ingest job ------------------------------


def test_cbdata030_ingest_estimate_is_capped_at_the_streaming_window(services, session):
    from dashboard.data.job import STREAMING_WINDOW_BYTES, estimate_ingest

    small = services.uploads.receive(session, "s.csv", io.BytesIO(CSV))
    estimate = estimate_ingest(
        services, session, {"source": "upload", "upload_id": small.upload_id}
    )
    assert estimate == {"rows": 0, "bytes_memory": len(CSV)}
    big = services.uploads.receive(session, "b.csv", io.BytesIO(b"a\n" + b"1\n" * (1 << 16)))
    services.uploads.max_bytes = 1 << 30
    capped = estimate_ingest(services, session, {"source": "upload", "upload_id": big.upload_id})
    assert capped["bytes_memory"] == min(big.size, STREAMING_WINDOW_BYTES)
    assert estimate_ingest(services, session, {"source": "sample", "name": "iris"}) is None


def test_cbdata031_resample_estimate_scales_with_the_sample_share(make_app):
    services = make_app(sample_threshold_rows=50, sample_rows=20).services
    session = services.signer.new()
    from dashboard.data.job import estimate_ingest

    assert ingest(services, session, big_csv(200), "big.csv")["ok"]
    full = services.store.info_by_name(session, "data_full")
    half = estimate_ingest(services, session, {"source": "resample", "size": 100})
    whole = estimate_ingest(services, session, {"source": "resample", "use_full": True})
    assert whole == {"rows": 200, "bytes_memory": full.bytes_memory}
    assert half["bytes_memory"] == int(full.bytes_memory * 0.5)


def test_cbdata032_ingest_expires_idle_sessions_but_keeps_the_active_one(services, session):
    idle = services.signer.new()
    assert ingest(services, idle, CSV, "old.csv")["ok"]
    services.store.session_ttl_s = 0.5
    time.sleep(0.6)  # the first session is now idle for longer than the TTL
    assert ingest(services, session, CSV, "new.csv")["ok"]
    assert services.store.info_by_name(idle, "data") is None
    assert services.store.info_by_name(session, "data") is not None
