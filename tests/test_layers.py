"""The layer rules of docs/architecture.md, checked on the source (an AST scan).

- ``dashboard`` imports no Dash, Flask, ``callbacks`` or ``components``; only figure
  modules (``figures.py``, ``<area>/plots.py``) import plotly, and no other domain module
  imports them, so a job process never loads plotly;
- ``components`` imports no ``callbacks`` and no private ``dashboard`` module;
- outside a ``dashboard`` subpackage (pages, layout, the app, benches, other subpackages)
  nobody imports its ``_private`` modules: they use the package's public ``__init__``;
- no import cycles among the project's modules, function-level imports included.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dashboard", "callbacks", "components")
UI = ("dash", "flask", "flask_caching", "dash_bootstrap_components", "dash_ag_grid")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "bench").glob("*.py"))]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return {_module_name(f): f for f in files}


SOURCES = _sources()


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth of the file (``from X import m`` gives
    ``X.m`` when that is a project module)."""
    tree = ast.parse(path.read_text())
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for n in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only, never imported at run time
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append(base)
            found += [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in SOURCES]
    return found


IMPORTS = {name: _imports(path) for name, path in SOURCES.items()}


def _top(module: str) -> str:
    return module.partition(".")[0]


def _private_of(module: str) -> str | None:
    """The subpackage whose private module ``module`` is (``dashboard.ml._prep`` -> ml)."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[0] == "dashboard" and parts[2].startswith("_"):
        return ".".join(parts[:2])
    return None


def test_lay001_dashboard_imports_no_ui_layer():
    bad = [
        (name, imported)
        for name, imports in IMPORTS.items()
        if _top(name) == "dashboard"
        for imported in imports
        if _top(imported) in (*UI, "callbacks", "components")
    ]
    assert bad == []


def test_lay002_only_figure_modules_import_plotly():
    def figure_module(name: str) -> bool:
        return name == "dashboard.figures" or name.endswith(".plots")

    bad = [
        (name, imported)
        for name, imports in IMPORTS.items()
        if _top(name) == "dashboard" and not figure_module(name)
        for imported in imports
        if _top(imported) == "plotly" or (_top(imported) == "dashboard" and figure_module(imported))
    ]
    assert bad == []


def test_lay003_components_import_no_callbacks_and_no_private_domain():
    bad = [
        (name, imported)
        for name, imports in IMPORTS.items()
        if _top(name) == "components"
        for imported in imports
        if _top(imported) == "callbacks" or _private_of(imported)
    ]
    assert bad == []


def test_lay004_private_modules_stay_inside_their_subpackage():
    bad = []
    for name, imports in IMPORTS.items():
        for imported in imports:
            owner = _private_of(imported)
            if owner and not (name == owner or name.startswith(owner + ".")):
                bad.append((name, imported))
    # a joblib pipeline saved before the move names this shim (tests/unit/ml/)
    assert [b for b in bad if b[0] != "dashboard._ml_prep"] == []


def test_lay005_no_import_cycles():
    graph = {
        name: {i for i in imports if i in SOURCES and i != name}
        for name, imports in IMPORTS.items()
    }
    # a package's __init__ importing its own modules is how its public API is made: the
    # cycle that matters is a module importing back a package that imports it
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == []


def test_lay006_job_process_imports_no_dash_flask_plotly_or_components():
    # what `python -m dashboard.jobs` imports before it reads a job: every job kind's module
    code = (
        "import sys, dashboard.jobs.__main__, dashboard.kinds\n"
        "bad = sorted(m for m in sys.modules if m.partition('.')[0] in "
        "('dash', 'flask', 'plotly', 'components', 'callbacks', 'dash_bootstrap_components'))\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "package", ["store", "data", "jobs", "profile", "cleaning", "ml", "rfm", "basket"]
)
def test_lay007_every_subpackage_has_a_public_api(package):
    module = __import__(f"dashboard.{package}", fromlist=["__all__"])
    assert module.__doc__ and module.__all__
    assert all(not name.startswith("_") for name in module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)
