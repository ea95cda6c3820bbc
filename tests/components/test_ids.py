import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
from dash.development.base_component import Component

from callbacks.data import render_content
from callbacks.pages import PAGES
from components import data as data_page
from components import home as home_page
from components import shell as shell_layout
from components.ids import Data, Home, Shell, all_ids
from dashboard.data._samples import SAMPLES

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def layout_ids(node) -> list[str]:
    """Every id in a layout tree (the ``type`` of a dict id)."""
    found = []
    if isinstance(node, (list, tuple)):
        for child in node:
            found += layout_ids(child)
    elif isinstance(node, Component):
        ident = getattr(node, "id", None)
        if isinstance(ident, dict):
            found.append(ident["type"])
        elif ident is not None:
            found.append(ident)
        found += layout_ids(getattr(node, "children", None))
    return found


def _plain(ident) -> str:
    if isinstance(ident, dict):
        return ident["type"]
    if ident.startswith("{"):
        return json.loads(ident)["type"]
    return ident


def callback_ids(app) -> set[str]:
    """Every component id an app's callbacks read or write."""
    found = set()
    for key, cb in app.callback_map.items():
        outputs = key[2:-2].split("...") if key.startswith("..") else [key]
        found |= {_plain(o.split("@")[0].rsplit(".", 1)[0]) for o in outputs}
        found |= {_plain(dep["id"]) for dep in cb["inputs"] + cb["state"]}
        background = cb.get("background") or {}
        found |= {_plain(dep["id"]) for dep in background.get("cancel", [])}
        found |= {_plain(o.component_id) for o in background.get("progress", [])}
    return found


def test_ids001_every_id_is_unique():
    ids = all_ids()
    assert len(ids) > 20
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_ids002_ids_carry_their_page_prefix():
    for group, prefix in ((Shell, "shell-"), (Home, "home-"), (Data, "data-")):
        names = [v for k, v in vars(group).items() if k.isupper()]
        assert names and all(n.startswith(prefix) for n in names), group.__name__


def test_ids003_static_layouts_use_declared_ids_only():
    used = (
        layout_ids(shell_layout.layout(PAGES))
        + layout_ids(home_page.layout())
        + layout_ids(data_page.layout(max_upload_mb=500, samples=SAMPLES))
    )
    assert Shell.SESSION in used and Home.STATUS in used and Data.UPLOAD_ZONE in used
    assert set(used) - set(all_ids()) == set()


def test_ids004_loaded_data_page_uses_declared_ids_only(make_app):
    app = make_app(sample_threshold_rows=5, sample_rows=3)
    services = app.services
    session = services.signer.new()
    frame = pd.DataFrame({"x": range(10)})
    full = services.store.put_frame(session, "data_full", frame)
    data = services.store.put_frame(
        session,
        "data",
        frame.head(3),
        meta={"sampling": {"sampled": True, "size": 3}, "column_table": []},
    )
    content = render_content(
        services, session, {"data_key": data.key, "full_key": full.key, "sampled": True}
    )
    used = set(layout_ids(content))
    # the sampling controls only exist for large data: this layout must show them
    assert {Data.SAMPLE_SIZE, Data.SAMPLE_APPLY, Data.PREVIEW_GRID, Data.COLUMNS_GRID} <= used
    assert used - set(all_ids()) == set()


def test_ids005_callbacks_use_declared_ids_only(make_app):
    used = callback_ids(make_app())
    assert {Shell.JOB_REQUEST, Shell.JOB_CANCEL, Data.PREVIEW_GRID, Home.STATUS} <= used
    assert used - set(all_ids()) == set()


def test_ids006_upload_script_uses_declared_ids():
    script = (ASSETS / "upload.js").read_text()
    used = set(re.findall(r'var [A-Z_]+ = "([a-z]+-[a-z-]+)";', script))
    assert {Data.UPLOAD_INPUT, Data.UPLOAD_RESULT, Shell.SESSION} <= used
    assert used - set(all_ids()) == set()
