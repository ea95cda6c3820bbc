"""The web process stays light: no scikit-learn or mlxtend, whatever page is rendered."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import app
from callbacks.shell import render_page
from callbacks.pages import PAGES
for page in PAGES:
    render_page(page.path, app.app.services)
heavy = sorted(m for m in ("sklearn", "mlxtend", "scipy.optimize") if m in sys.modules)
print(json.dumps({"pages": [p.path for p in PAGES], "heavy": heavy}))
"""


def test_web001_rendering_every_page_imports_no_ml_library(tmp_path):
    env = {
        **os.environ,
        "DI_SECRET_KEY": "tests-only-secret",
        "DI_DATA_DIR": str(tmp_path / "data"),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert "/profile" in found["pages"]
    assert found["heavy"] == []
