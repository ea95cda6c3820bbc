import json

import pytest

from dashboard.data._uploads import clean_filename

CSV = b"city,sales\nParis,10\nLyon,7\n"


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.server.test_client()


def post_upload(client, body, session_id=None, filename="sales.csv", **headers):
    if session_id is not None:
        headers["X-Session-Id"] = session_id
    if filename is not None:
        headers["X-File-Name"] = filename
    return client.post("/api/upload", data=body, headers=headers)


def uploaded_files(settings):
    if not settings.upload_dir.exists():
        return []
    return sorted(p for p in settings.upload_dir.iterdir() if p.is_file())


def tampered(session_id: str) -> str:
    token, signature = session_id.split(".")
    last = "A" if signature[-1] != "A" else "B"
    return f"{token}.{signature[:-1]}{last}"


def test_rt001_upload_without_session_is_refused(client, settings):
    response = post_upload(client, CSV)
    assert response.status_code == 403
    assert "session is not valid" in response.get_json()["error"]
    assert uploaded_files(settings) == []


@pytest.mark.parametrize(
    "make_id",
    [
        tampered,
        lambda sid: "not-a-session",
        lambda sid: sid.split(".")[0] + "." + "x" * 32,
    ],
    ids=["tampered-signature", "garbage", "forged-signature"],
)
def test_rt002_upload_with_a_bad_session_is_refused(app, client, settings, make_id):
    response = post_upload(client, CSV, session_id=make_id(app.services.signer.new()))
    assert response.status_code == 403
    assert response.get_json()["error"] == (
        "Your session is not valid any more. Reload the page to start a new one."
    )
    assert uploaded_files(settings) == []


def test_rt003_upload_with_a_session_from_another_secret_is_refused(make_app, settings, tmp_path):
    other = make_app(secret_key="another-secret", data_dir=tmp_path / "other")
    app = make_app()
    response = post_upload(app.server.test_client(), CSV, session_id=other.services.signer.new())
    assert response.status_code == 403


def test_rt004_valid_upload_is_stored_under_a_server_name(app, client, settings):
    session = app.services.signer.new()
    response = post_upload(client, CSV, session_id=session, filename="../../etc/passwd")
    assert response.status_code == 200
    body = response.get_json()
    assert body["size"] == len(CSV)
    assert body["filename"] == "passwd"  # display only: the path is dropped
    [stored] = uploaded_files(settings)
    assert stored.parent == settings.upload_dir
    assert body["upload_id"] in stored.name
    assert "passwd" not in stored.name and "etc" not in stored.name
    assert stored.read_bytes() == CSV
    # the ingest job finds it by id, for this session only
    upload = app.services.uploads.get(session, body["upload_id"])
    assert upload.path.read_bytes() == CSV


def test_rt005_percent_encoded_name_is_decoded_for_display(app, client):
    response = post_upload(
        client,
        CSV,
        session_id=app.services.signer.new(),
        filename="ventes%20%C3%A9t%C3%A9.csv",
    )
    assert response.get_json()["filename"] == "ventes été.csv"


def test_rt006_missing_name_is_shown_as_upload(app, client):
    response = post_upload(client, CSV, session_id=app.services.signer.new(), filename=None)
    assert response.status_code == 200
    assert response.get_json()["filename"] == clean_filename("upload") == "upload"


def test_rt007_each_upload_gets_its_own_id(app, client, settings):
    session = app.services.signer.new()
    first = post_upload(client, CSV, session_id=session).get_json()["upload_id"]
    second = post_upload(client, CSV, session_id=session).get_json()["upload_id"]
    assert first != second
    # a session keeps only its newest upload: the first one's file is gone
    assert [p.stem for p in uploaded_files(settings)] == [second]


@pytest.mark.parametrize("size", [(1 << 20) + 1, 3 << 20], ids=["just-over", "far-over"])
def test_rt008_upload_over_the_limit_is_413_with_a_message(make_app, settings, size):
    app = make_app(max_upload_mb=1)
    small = settings.with_overrides(max_upload_mb=1)
    response = post_upload(
        app.server.test_client(), b"x" * size, session_id=app.services.signer.new()
    )
    assert response.status_code == 413
    assert response.is_json
    assert response.get_json()["error"] == "The file is larger than the 1 MB upload limit."
    assert uploaded_files(small) == []


def test_rt009_upload_exactly_at_the_limit_is_accepted(make_app):
    app = make_app(max_upload_mb=1)
    response = post_upload(
        app.server.test_client(), b"x" * (1 << 20), session_id=app.services.signer.new()
    )
    assert response.status_code == 200
    assert response.get_json()["size"] == 1 << 20


def test_rt010_empty_upload_is_400_with_a_message(app, client, settings):
    response = post_upload(client, b"", session_id=app.services.signer.new())
    assert response.status_code == 400
    assert response.get_json()["error"] == "The file is empty."
    assert uploaded_files(settings) == []


def test_rt011_health(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = json.loads(response.data)
    assert body["status"] == "ok"
    assert body["ms"] >= 0
