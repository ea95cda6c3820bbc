"""GET /api/download serves a stored item's attached file (``joblib``), and only that."""

import pandas as pd

from callbacks.routes import download_token


def test_dl101_attached_model_file_downloads_under_the_items_name(make_app):
    app = make_app()
    services = app.services
    session = services.signer.new()
    store = services.store
    model = store.scratch_path(suffix=".joblib")
    model.write_bytes(b"fitted pipeline bytes")
    card = pd.DataFrame({"model": ["Ridge"]})
    store.put_frame(
        session, "ml_model", card, meta={"download_name": "ml-model-price"}, attachment=model
    )
    client = app.server.test_client()
    answer = client.get(f"/api/download/{download_token(services, session, 'ml_model', 'joblib')}")
    assert answer.status_code == 200
    assert answer.data == b"fitted pipeline bytes"
    assert "filename=ml-model-price-v1.joblib" in answer.headers["Content-Disposition"]
    # the item itself still downloads as a table
    csv = client.get(f"/api/download/{download_token(services, session, 'ml_model', 'csv')}")
    assert csv.data.decode("utf-8-sig").splitlines() == ["model", "Ridge"]
    # another session's link names its own (missing) item, never this one
    other = download_token(services, services.signer.new(), "ml_model", "joblib")
    assert client.get(f"/api/download/{other}").status_code == 404


def test_dl102_item_without_attachment_has_no_joblib_download(make_app):
    app = make_app()
    services = app.services
    session = services.signer.new()
    services.store.put_frame(session, "data", pd.DataFrame({"a": [1, 2]}))
    token = download_token(services, session, "data", "joblib")
    answer = app.server.test_client().get(f"/api/download/{token}")
    assert answer.status_code == 404
    assert answer.get_json()["error"] == "There is no model to download; train one first."
