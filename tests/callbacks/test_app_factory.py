import re

import pandas as pd
import pytest

from components.ids import Home, Shell
from dashboard.errors import ConfigError

JOB_CALLBACK = f"{Shell.JOB_RELAYED}.data"


def routes(app) -> set[str]:
    return {rule.rule for rule in app.server.url_map.iter_rules()}


def update(app, output: str, prop: str, inputs: list, state: list) -> dict:
    """Call one callback through Dash's own HTTP endpoint and return its response."""
    payload = {
        "output": f"{output}.{prop}",
        "outputs": {"id": output, "property": prop},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{i}.{p}" for i, p, _ in inputs],
    }
    response = app.server.test_client().post("/_dash-update-component", json=payload)
    assert response.status_code == 200, response.data[:500]
    return response.get_json()["response"][output][prop]


def texts(node) -> str:
    """All text of a serialized component tree, in order."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(texts(n) for n in node)
    if isinstance(node, dict):
        return texts(node.get("props", {}).get("children"))
    return "" if node is None else str(node)


def test_app001_two_apps_each_get_every_callback_and_route(make_app, settings, tmp_path):
    first = make_app()
    second = make_app(data_dir=tmp_path / "second", cache_dir=tmp_path / "second-jobs")
    assert first is not second and first.server is not second.server
    for app in (first, second):
        assert {"/api/upload", "/healthz"} <= routes(app)
        assert JOB_CALLBACK in app.callback_map
        assert app.callback_map[JOB_CALLBACK]["background"]  # the job runs in the background
    assert len(first.callback_map) >= 10
    assert set(first.callback_map) == set(second.callback_map)


def test_app002_each_app_uses_its_own_services(make_app, tmp_path):
    first = make_app()
    second = make_app(data_dir=tmp_path / "second", cache_dir=tmp_path / "second-jobs")
    assert first.services is not second.services
    assert first.services.store.root != second.services.store.root
    session = first.services.signer.new()  # same secret: valid for both apps
    info = first.services.store.put_frame(
        session,
        "data",
        pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}),
        meta={"source": {"filename": "sales.csv"}},
    )
    args = (
        Home.STATUS,
        "children",
        [(Shell.DATASET, "data", {"data_key": info.key})],
        [(Shell.SESSION, "data", session)],
    )
    assert texts(update(first, *args)).startswith("sales.csv — 3 rows × 2 columns")
    # the second app's callback reads the second app's (empty) store
    assert texts(update(second, *args)).startswith("Nothing loaded yet.")


def test_app003_creating_an_app_ingests_nothing(make_app, settings):
    app = make_app()
    items = settings.store_dir / "items"
    assert not items.exists() or list(items.iterdir()) == []
    assert not settings.upload_dir.exists() or not [
        p for p in settings.upload_dir.iterdir() if p.is_file() and not p.name.startswith(".")
    ]
    assert app.services.store.total_bytes() == 0
    assert app.services.store.items(app.services.signer.new()) == []


def test_app004_server_uses_the_settings(make_app, settings):
    app = make_app(max_upload_mb=3)
    assert app.server.secret_key == settings.secret_key
    assert app.services.settings.max_upload_mb == 3
    # Flask's own cap leaves room for the route's readable 413
    assert app.server.config["MAX_CONTENT_LENGTH"] > 3 * 1024 * 1024


def test_app005_no_secret_key_is_a_config_error(make_app):
    with pytest.raises(ConfigError, match="secret key"):
        make_app(secret_key="")


def test_app006_index_page_is_styled_without_internet(make_app):
    response = make_app().server.test_client().get("/")
    assert response.status_code == 200
    page = response.data.decode()
    assert "<title>DataInsights</title>" in page
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert any(s.startswith("/assets/vendor/bootstrap.min.css") for s in stylesheets)
    assert not [s for s in stylesheets if "//" in s]  # nothing from a CDN
    assert not re.findall(r'<script[^>]+src="(?:https?:)?//', page)


def test_app007_bootstrap_is_linked_once_before_the_app_stylesheet(make_app):
    page = make_app().server.test_client().get("/").data.decode()
    stylesheets = [
        s.split("?")[0] for s in re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    ]
    assert stylesheets.count("/assets/vendor/bootstrap.min.css") == 1
    assert stylesheets.index("/assets/vendor/bootstrap.min.css") < stylesheets.index(
        "/assets/app.css"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/", "DataInsights"), ("/data", "Drop a file here"), ("/nope", "There is no page at /nope")],
)
def test_app008_pages_are_routed(make_app, path, expected):
    page = update(make_app(), Shell.PAGE, "children", [(Shell.LOCATION, "pathname", path)], [])
    assert expected in texts(page)
