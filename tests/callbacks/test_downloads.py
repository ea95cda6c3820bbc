import io
import json

import openpyxl
import pandas as pd
import pytest
from itsdangerous import URLSafeTimedSerializer

from callbacks import jobs, routes
from callbacks.routes import download_token

CSV = b"name,formula,amount\nAda,=SUM(A1:A2),-5\nBob,@cmd,7\nCy,+1,3\n"


@pytest.fixture
def loaded(make_app):
    app = make_app()
    services = app.services
    session = services.signer.new()
    upload = services.uploads.receive(session, "people.csv", io.BytesIO(CSV))
    result = jobs.execute(
        services, session, {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
    )
    assert result["ok"], result
    return app, session


def get(app, session, fmt):
    token = download_token(app.services, session, "data", fmt)
    return app.server.test_client().get(f"/api/download/{token}")


def test_dl001_csv_streams_with_formulas_escaped(loaded):
    app, session = loaded
    answer = get(app, session, "csv")
    assert answer.status_code == 200
    assert "people-v1.csv" in answer.headers["Content-Disposition"]
    text = answer.data.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "name,formula,amount"
    assert lines[1] == "Ada,'=SUM(A1:A2),-5"  # text escaped, the number -5 untouched
    assert lines[2].startswith("Bob,'@cmd")


def test_dl002_excel_opens_with_escaped_cells(loaded, tmp_path):
    app, session = loaded
    answer = get(app, session, "xlsx")
    assert answer.status_code == 200
    path = tmp_path / "d.xlsx"
    path.write_bytes(answer.data)
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("name", "formula", "amount")
    assert rows[1] == ("Ada", "'=SUM(A1:A2)", -5)


def test_dl003_parquet_is_the_stored_file(loaded):
    app, session = loaded
    answer = get(app, session, "parquet")
    assert answer.status_code == 200 and answer.data[:4] == b"PAR1"


def test_dl004_tampered_or_foreign_links_are_refused(loaded):
    app, session = loaded
    token = download_token(app.services, session, "data", "csv")
    client = app.server.test_client()
    assert client.get(f"/api/download/{token[:-2]}xx").status_code == 403
    other = download_token(app.services, app.services.signer.new(), "data", "csv")
    answer = client.get(f"/api/download/{other}")
    assert answer.status_code == 404
    assert "nothing to download" in answer.get_json()["error"]


def test_dl005_link_does_not_carry_the_session_id(loaded):
    app, session = loaded
    token = download_token(app.services, session, "data", "csv")
    payload = URLSafeTimedSerializer(app.services.settings.secret_key, salt="download").loads(token)
    assert session not in json.dumps(payload)
    assert session.split(".")[0] not in token
    # what it names instead: the current version of the item
    assert payload["k"] == app.services.store.key_for(session, "data")


def test_dl006_link_to_a_replaced_version_says_it_is_gone(loaded):
    app, session = loaded
    token = download_token(app.services, session, "data", "csv")
    store = app.services.store
    store.put_frame(session, "data", pd.DataFrame({"a": [1]}))
    answer = app.server.test_client().get(f"/api/download/{token}")
    assert answer.status_code == 404
    assert "not available any more" in answer.get_json()["error"]


def test_dl007_file_names_with_quotes_and_accents_are_encoded(make_app):
    app = make_app()
    services = app.services
    session = services.signer.new()
    services.store.put_frame(
        session, "data", pd.DataFrame({"a": [1]}), meta={"download_name": 'données "x"'}
    )
    answer = app.server.test_client().get(
        f"/api/download/{download_token(services, session, 'data', 'csv')}"
    )
    header = answer.headers["Content-Disposition"]
    assert header.startswith('attachment; filename="donn_es _x_-v1.csv"')
    assert "filename*=UTF-8''donn%C3%A9es%20%22x%22-v1.csv" in header


def test_dl008_excel_is_refused_above_its_row_cap_with_a_message(make_app, monkeypatch):
    app = make_app()
    services = app.services
    session = services.signer.new()
    services.store.put_frame(session, "data", pd.DataFrame({"a": range(30)}))
    monkeypatch.setattr(routes, "EXCEL_MAX_ROWS", 20)
    answer = app.server.test_client().get(
        f"/api/download/{download_token(services, session, 'data', 'xlsx')}"
    )
    assert answer.status_code == 413
    assert "Excel downloads are offered up to" in answer.get_json()["error"]


def test_dl009_profile_offers_the_full_data_when_sampled(make_app):
    from callbacks.profile import data_downloads

    app = make_app()
    services = app.services
    session = services.signer.new()
    store = services.store
    store.put_frame(session, "data_full", pd.DataFrame({"a": range(200_000)}))
    store.put_frame(
        session, "data", pd.DataFrame({"a": range(50)}), meta={"sampling": {"sampled": True}}
    )
    groups = data_downloads(services, session)
    assert [(name, title) for name, title, _ in groups] == [
        ("data", "Analysis data (50 rows)"),
        ("data_full", "Full data (200,000 rows)"),
    ]
    full_links = groups[1][2]
    assert full_links["xlsx"] is None  # above the Excel cap: shown disabled
    answer = app.server.test_client().get(full_links["csv"])
    assert answer.status_code == 200
    assert answer.data.decode("utf-8-sig").count("\n") == 200_001


def test_dl010_download_links_leave_out_excel_above_its_cap(make_app, monkeypatch):
    from callbacks import results

    app = make_app()
    services = app.services
    session = services.signer.new()
    services.store.put_frame(session, "big", pd.DataFrame({"a": range(30)}))
    services.store.put_frame(session, "small", pd.DataFrame({"a": range(5)}))
    monkeypatch.setattr(results, "EXCEL_MAX_ROWS", 20)
    links = results.download_links(
        services,
        session,
        {f"{n}.{f}": (n, f) for n in ("big", "small") for f in ("csv", "xlsx")},
    )
    assert sorted(links) == ["big.csv", "small.csv", "small.xlsx"]
    assert app.server.test_client().get(links["small.xlsx"]).status_code == 200
