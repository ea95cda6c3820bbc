import io

import openpyxl
import pytest

from callbacks import jobs
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
