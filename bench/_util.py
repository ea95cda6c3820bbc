"""Helpers shared by the benchmark scripts: paths, the cached input file, tables.

Only the standard library is imported here, so a benchmark's parent process stays small
(its peak RSS must not leak into the children it measures: with ``vfork`` + ``exec`` a
child's ``ru_maxrss`` starts from its parent's high-water mark).
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
PYTHON = sys.executable
MB = 1024 * 1024
DEFAULT_ROWS = 1_000_000


def ensure_repo_on_path() -> None:
    """Make ``dashboard``, ``callbacks`` and ``bench`` importable from a script."""
    root = str(REPO)
    if root not in sys.path:
        sys.path.insert(0, root)


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return statistics.median(values)


def mb(n_bytes: float) -> str:
    """Format bytes as MB with one decimal."""
    return f"{n_bytes / MB:,.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return a plain-text table; the first column is left-aligned, the others right."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row):
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def child_env() -> dict[str, str]:
    """Environment for measured children: repo on PYTHONPATH, no stray app settings."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env
