"""Benchmark: CSV → optimized Parquet (what a load does before sampling) against pandas.

Usage (from the repository root)::

    .venv/bin/python bench/ingest.py              # 1,000,000 rows x 20 columns, 3 runs each
    .venv/bin/python bench/ingest.py --rows 100000 --repeat 1   # quick

Every measurement runs in a fresh child process, so its peak RSS (``ru_maxrss``) is its
own; the parent imports only the standard library so it cannot raise a child's high-water
mark. Compared:

* ours: ``dashboard.data._ingest.ingest_to_arrow`` (uncompressed Arrow IPC intermediate, as
  ``datasets.load_file`` does) + ``dashboard.data._optimize.optimize_parquet`` (reads it
  memory-mapped, writes Parquet in 8,192-row groups) with the app's defaults (8 MB blocks,
  category ratio 0.5);
* baseline: ``pandas.read_csv(path, engine="pyarrow")`` + ``DataFrame.to_parquet``.

Goals: wall time ours / baseline <= 1.3; peak RSS growth of ours / in-memory size of the
optimized frame (``pd.read_parquet(optimized).memory_usage(deep=True).sum()``) <= 2.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import (
    DEFAULT_ROWS,
    MB,
    PYTHON,
    REPO,
    child_env,
    mb,
    median,
    table,
)
from bench.make_data import mixed_csv

WALL_GOAL = 1.3
MEMORY_GOAL = 2.0


# --- children (each run in its own process) -----------------------------------------------


def _rss_now() -> int:
    """Current resident set size of this process, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _page_size()


def _page_size() -> int:
    import os

    return os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes (``ru_maxrss`` is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child_ours(csv: Path, out: Path) -> dict:
    import time

    import pandas  # noqa: F401 - same imports as the app's job process
    import pyarrow.parquet  # noqa: F401

    from dashboard.data import (
        ingest_to_arrow,
        optimize_parquet,
    )

    rss_imports, peak_imports = _rss_now(), _peak_rss()
    raw = out.with_suffix(".raw.arrow")
    started = time.perf_counter()
    result = ingest_to_arrow(csv, raw)
    ingested = time.perf_counter()
    peak_ingest = _peak_rss()
    report = optimize_parquet(raw, out, category_max_unique_ratio=0.5)
    finished = time.perf_counter()
    raw_bytes = raw.stat().st_size
    raw.unlink()
    return {
        "rss_imports": rss_imports,
        "peak_imports": peak_imports,
        "peak_ingest": peak_ingest,
        "peak": _peak_rss(),
        "wall": finished - started,
        "wall_ingest": ingested - started,
        "wall_optimize": finished - ingested,
        "rows": result.rows,
        "columns": len(result.columns),
        "estimate_after": report.bytes_after,
        "estimate_before": report.bytes_before,
        "raw_file": raw_bytes,
        "file": out.stat().st_size,
    }


def _child_baseline(csv: Path, out: Path) -> dict:
    import time

    import pandas as pd
    import pyarrow.parquet  # noqa: F401

    rss_imports, peak_imports = _rss_now(), _peak_rss()
    started = time.perf_counter()
    df = pd.read_csv(csv, engine="pyarrow")
    read = time.perf_counter()
    df.to_parquet(out)
    finished = time.perf_counter()
    peak = _peak_rss()
    return {
        "rss_imports": rss_imports,
        "peak_imports": peak_imports,
        "peak": peak,
        "wall": finished - started,
        "wall_read": read - started,
        "wall_write": finished - read,
        "rows": len(df),
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
        "file": out.stat().st_size,
    }


def _child_measure(parquet: Path) -> dict:
    import pandas as pd

    df = pd.read_parquet(parquet)
    dtypes: dict[str, int] = {}
    for dtype in df.dtypes:
        dtypes[str(dtype)] = dtypes.get(str(dtype), 0) + 1
    return {
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
        "rows": len(df),
        "dtypes": dtypes,
    }


def child_main(kind: str, csv: str | None, out: str) -> None:
    if kind == "ours":
        result = _child_ours(Path(csv), Path(out))
    elif kind == "baseline":
        result = _child_baseline(Path(csv), Path(out))
    else:
        result = _child_measure(Path(out))
    print("RESULT " + json.dumps(result))


# --- parent ---------------------------------------------------------------------------------


def run_child(kind: str, csv: Path | None, out: Path) -> dict:
    """Run one measurement in a fresh interpreter and return its figures."""
    cmd = [PYTHON, str(Path(__file__).resolve()), "--child", kind, "--out", str(out)]
    if csv is not None:
        cmd += ["--csv", str(csv)]
    done = subprocess.run(
        cmd, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CSV ingest benchmark (ours vs pandas).")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the CSV")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median shown)")
    parser.add_argument("--child", choices=["ours", "baseline", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.csv, args.out)
        return 0

    csv = mixed_csv(args.rows)
    size = csv.stat().st_size
    print(f"input: {csv.relative_to(REPO)} ({args.rows:,} rows x 20 columns, {mb(size)} MB)")
    ours, base = [], []
    with tempfile.TemporaryDirectory(prefix="di-bench-ingest-") as tmp:
        folder = Path(tmp)
        optimized = folder / "ours.parquet"
        for i in range(args.repeat):
            # Interleaved, so both see the same page cache and background load.
            ours.append(run_child("ours", csv, optimized))
            base.append(run_child("baseline", csv, folder / "baseline.parquet"))
            print(
                f"  run {i + 1}/{args.repeat}: ours {ours[-1]['wall']:.2f} s, "
                f"{mb(ours[-1]['peak'])} MB peak; baseline {base[-1]['wall']:.2f} s, "
                f"{mb(base[-1]['peak'])} MB peak"
            )
        measured = run_child("measure", None, optimized)

    def med(runs, key):
        return median([r[key] for r in runs])

    def growth(runs):
        return median([r["peak"] - r["rss_imports"] for r in runs])

    optimized_bytes = measured["frame_bytes"]
    rows = [
        [
            "ours: ingest_to_arrow + optimize_parquet",
            f"{med(ours, 'wall'):.2f}",
            mb(med(ours, "rss_imports")),
            mb(med(ours, "peak")),
            mb(growth(ours)),
        ],
        [
            "baseline: read_csv(pyarrow) + to_parquet",
            f"{med(base, 'wall'):.2f}",
            mb(med(base, "rss_imports")),
            mb(med(base, "peak")),
            mb(growth(base)),
        ],
    ]
    print()
    print(f"median of {args.repeat} run(s), each in a fresh process")
    print(
        table(
            ["", "wall s", "RSS after imports MB", "peak RSS MB", "peak growth MB"],
            rows,
        )
    )
    print()
    print(
        f"ours split: ingest {med(ours, 'wall_ingest'):.2f} s "
        f"(peak {mb(med(ours, 'peak_ingest'))} MB), "
        f"optimize {med(ours, 'wall_optimize'):.2f} s; "
        f"baseline split: read {med(base, 'wall_read'):.2f} s, "
        f"write {med(base, 'wall_write'):.2f} s"
    )
    print(
        f"files: raw arrow {mb(ours[-1]['raw_file'])} MB, optimized {mb(ours[-1]['file'])} MB, "
        f"baseline {mb(base[-1]['file'])} MB"
    )
    print(
        "in memory (memory_usage(deep=True)): optimized frame "
        f"{mb(optimized_bytes)} MB (optimize_parquet estimated {mb(ours[-1]['estimate_after'])} "
        f"MB, before {mb(ours[-1]['estimate_before'])} MB); "
        f"baseline frame {mb(med(base, 'frame_bytes'))} MB"
    )
    print(f"optimized dtypes: {measured['dtypes']}")
    wall_ratio = med(ours, "wall") / med(base, "wall")
    paired = median([o["wall"] / b["wall"] for o, b in zip(ours, base, strict=True)])
    memory_ratio = growth(ours) / optimized_bytes
    verdict = {True: "ok", False: "MISSED"}
    print()
    print(
        table(
            ["ratio", "value", "goal", ""],
            [
                [
                    "wall ours / baseline",
                    f"{wall_ratio:.2f}",
                    f"<= {WALL_GOAL}",
                    verdict[wall_ratio <= WALL_GOAL],
                ],
                [
                    "  same, median of per-run pairs",
                    f"{paired:.2f}",
                    "(info)",
                    "",
                ],
                [
                    "peak growth ours / optimized in-memory",
                    f"{memory_ratio:.2f}",
                    f"<= {MEMORY_GOAL}",
                    verdict[memory_ratio <= MEMORY_GOAL],
                ],
                [
                    "peak growth baseline / optimized in-memory",
                    f"{growth(base) / optimized_bytes:.2f}",
                    "(info)",
                    "",
                ],
            ],
        )
    )
    if ours[0]["rows"] != args.rows or measured["rows"] != args.rows:
        print(f"WARNING: expected {args.rows:,} rows, ours read {ours[0]['rows']:,}")
    if max(r["peak_imports"] - r["rss_imports"] for r in ours + base) > 50 * MB:
        print("note: a child's ru_maxrss was already high right after imports")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
