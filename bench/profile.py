"""Benchmark: the profile job (wall time, peak RSS) and the Profile page's response sizes.

Usage (from the repository root)::

    .venv/bin/python bench/profile.py                 # 1,000,000 rows x 20 columns
    .venv/bin/python bench/profile.py --rows 100000   # quicker

Steps, each in a fresh child process (the parent imports only the standard library, so it
cannot raise a child's ``ru_maxrss``):

1. prepare: the cached mixed CSV (``bench/make_data.py``) is read with
   ``dashboard.data._ingest.load_table``, optimized with ``dashboard.data._optimize.optimize_frame``
   (the dtypes the app stores: small ints, ``category``, ``str``, nullable) and put as
   ``data`` into a ``DatasetStore`` in a temporary folder;
2. job: the profile job body, ``dashboard.profile.job.run_profile`` -- ``store.read_frame``,
   ``compute_profile(df)`` then ``correlations(df, method="spearman")``, the profile stored
   as ``profile`` -- with the imports of the app's job process. Wall time (split by the
   job's progress calls), RSS after imports, RSS with the frame loaded and peak RSS
   (``ru_maxrss``), against ``dashboard.jobs._admission.estimate_job(PROFILE, ...)``;
3. then, in the same child (after the job's peak was recorded), the Profile page's
   callback responses built from that store as the callbacks build them: the distribution
   figure of every column (``distribution_for`` + ``plots.distribution_figure``), the
   correlation heatmap (Pearson and Spearman), the strongest pairs and the missing-values
   figure (the ``corr`` callback), the page content (``render``) and the stored profile
   dict (``Profile.to_dict()`` + Spearman, as JSON; kept in the store, not sent as is).
   Sizes are ``fig.to_json()`` / ``json.dumps`` of each component, and of the whole Dash
   response body (``{"multi": true, "response": {...}}`` through plotly's JSON encoder,
   as Dash serializes it); gzip sizes are for information.

Goal (issue 4): a figure stays under 200 KB (200,000 bytes) at any row count.
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

from bench._util import DEFAULT_ROWS, MB, PYTHON, REPO, child_env, mb, table
from bench.make_data import mixed_csv

FIGURE_GOAL = 200_000
SESSION = "bench-profile-session"
KB = 1000


# --- children (each run in its own process) -----------------------------------------------


def _rss_now() -> int:
    """Current resident set size of this process, in bytes (Linux)."""
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes (``ru_maxrss`` is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child_prepare(csv: Path, root: Path) -> dict:
    """Load the CSV, optimize it as the app does and store it as ``data``."""
    import time

    from dashboard.data import (
        load_table,
        optimize_frame,
    )
    from dashboard.store import DatasetStore

    started = time.perf_counter()
    raw = load_table(csv)
    df, report = optimize_frame(raw)
    del raw
    store = DatasetStore(root)
    try:
        info = store.put_frame(SESSION, "data", df)
    finally:
        store.close()
    dtypes: dict[str, int] = {}
    for dtype in df.dtypes:
        name = "category" if str(dtype) == "category" else str(dtype)
        dtypes[name] = dtypes.get(name, 0) + 1
    return {
        "wall": time.perf_counter() - started,
        "rows": info.rows,
        "columns": info.columns,
        "bytes_memory": info.bytes_memory,
        "bytes_before": report.bytes_before,
        "bytes_disk": info.bytes_disk,
        "dtypes": dtypes,
    }


class _Signer:
    """Stands in for the session signer: the bench passes the plain session id."""

    @staticmethod
    def verify(session_id):
        return session_id


def _response_bytes(outputs: dict) -> int:
    """Size of a Dash callback response body for ``{component id: {prop: value}}``."""
    from plotly.io.json import to_json_plotly  # what dash._utils.to_json uses

    return len(to_json_plotly({"multi": True, "response": outputs}).encode())


def _json_bytes(value) -> int:
    """Size of one component / figure / dict as JSON (plotly's encoder for figures)."""
    import plotly.graph_objects as go
    from plotly.io.json import to_json_plotly

    if isinstance(value, go.Figure):
        return len(value.to_json().encode())
    if isinstance(value, (dict, list)) and not hasattr(value, "to_plotly_json"):
        try:
            return len(json.dumps(value, allow_nan=False).encode())
        except (TypeError, ValueError):
            pass
    return len(to_json_plotly(value).encode())


def _gzip_bytes(value) -> int:
    import gzip

    import plotly.graph_objects as go
    from plotly.io.json import to_json_plotly

    text = value.to_json() if isinstance(value, go.Figure) else to_json_plotly(value)
    return len(gzip.compress(text.encode(), compresslevel=6))


def _child_job(root: Path) -> dict:
    import time
    from types import SimpleNamespace

    # the job process's imports: it runs callbacks.jobs.execute, which imports the pages
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from callbacks import profile as profile_page
    from components.ids import Profile as IDS
    from dashboard.jobs import estimate_job
    from dashboard.profile import job as profile_job
    from dashboard.profile import plots
    from dashboard.profile.job import PROFILE
    from dashboard.store import DatasetStore

    rss_imports, peak_imports = _rss_now(), _peak_rss()
    store = DatasetStore(root)
    settings = SimpleNamespace(secret_key="bench-profile-secret")  # signs the download links
    services = SimpleNamespace(store=store, signer=_Signer(), view_cache=None, settings=settings)
    data = store.info_by_name(SESSION, "data")
    events: list[tuple[str, float, int, int]] = []

    def progress(step: str, done: float, total: float) -> None:
        events.append((str(step), time.perf_counter(), _rss_now(), _peak_rss()))

    # (1) the job body
    started = time.perf_counter()
    outcome = profile_job.run_profile(services, SESSION, {"kind": "profile"}, progress)
    finished = time.perf_counter()
    peak_job = _peak_rss()
    job = {
        "rss_imports": rss_imports,
        "peak_imports": peak_imports,
        "peak": peak_job,
        "wall": finished - started,
        "start": started,
        "end": finished,
        "events": events,
        "message": outcome.get("message"),
        "rows": data.rows,
        "bytes_memory": data.bytes_memory,
        "estimate_mb": estimate_job(PROFILE, rows=data.rows, bytes_memory=data.bytes_memory),
    }

    # (2) what the Profile page's callbacks return
    items: list[dict] = []

    def add(name, group, value, response, seconds=None, note=""):
        items.append(
            {
                "name": name,
                "group": group,
                "bytes": _json_bytes(value),
                "gzip": _gzip_bytes(value),
                "response": response,
                "ms": None if seconds is None else seconds * 1000,
                "note": note,
            }
        )

    profile, stale = profile_page.stored_profile(services, SESSION)
    if profile is None or stale:
        raise RuntimeError(f"no current profile stored (profile={profile is not None})")
    add("stored profile dict", "profile", profile, None, note="stored, not sent as is")

    t = time.perf_counter()
    note, content = profile_page.render(services, SESSION)
    response = _response_bytes({IDS.STATUS: {"children": note}, IDS.CONTENT: {"children": content}})
    add("page content (render)", "content", content, response, time.perf_counter() - t)

    for name in [c["name"] for c in profile["columns"]]:
        t = time.perf_counter()
        dist = profile_page.distribution_for(services, SESSION, name)
        fig = plots.distribution_figure(name, dist)
        response = _response_bytes({IDS.DIST_GRAPH: {"figure": fig}})
        add(f"dist: {name}", "dist", fig, response, time.perf_counter() - t, dist.get("kind", ""))

    for method, key in (("pearson", "correlations"), ("spearman", "correlations_spearman")):
        t = time.perf_counter()
        chosen = profile.get(key) or {}
        heat = plots.correlation_figure(chosen)
        pairs = profile_page.strongest_pairs(chosen)
        missing = plots.missing_figure(profile.get("missing", {}))
        response = _response_bytes(
            {
                IDS.CORR_GRAPH: {"figure": heat},
                IDS.CORR_PAIRS: {"children": pairs},
                IDS.MISSING_GRAPH: {"figure": missing},
            }
        )
        seconds = time.perf_counter() - t
        n = len(chosen.get("columns") or [])
        add(f"corr heatmap ({method})", f"corr-{method}", heat, response, seconds, f"{n} columns")
        add(f"corr pairs ({method})", f"corr-{method}", pairs, response)
        add("missing values figure", f"corr-{method}", missing, response)
    store.close()
    return {"job": job, "items": items, "peak_after_callbacks": _peak_rss()}


def child_main(kind: str, csv: str | None, root: str) -> None:
    if kind == "prepare":
        result = _child_prepare(Path(csv), Path(root))
    else:
        result = _child_job(Path(root))
    print("RESULT " + json.dumps(result))


# --- parent ---------------------------------------------------------------------------------


def run_child(kind: str, root: Path, csv: Path | None = None) -> dict:
    """Run one step in a fresh interpreter and return its figures."""
    cmd = [PYTHON, str(Path(__file__).resolve()), "--child", kind, "--store", str(root)]
    if csv is not None:
        cmd += ["--csv", str(csv)]
    done = subprocess.run(
        cmd, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def _kb(n: int | None) -> str:
    return "" if n is None else f"{n / KB:,.1f}"


def job_report(prep: dict, job: dict) -> None:
    events = job["events"]
    first = events[0] if events else None
    spearman = next((e for e in events if e[0].lower().startswith("spearman")), None)
    read_s = (first[1] - job["start"]) if first else None
    frame_rss = first[2] if first else None
    read_peak = first[3] if first else None
    rows = [
        ["whole job body (run_profile)", f"{job['wall']:.2f}"],
        ["  read_frame (store -> pandas)", f"{read_s:.2f}" if read_s is not None else "n/a"],
    ]
    if first and spearman:
        rows.append(["  compute_profile(df)", f"{spearman[1] - first[1]:.2f}"])
        # compute_profile's phases, from its progress calls
        phases = [e for e in events if e is not spearman and e[1] <= spearman[1]]
        for here, after in zip(phases, phases[1:], strict=False):
            if here[0] != "done":
                rows.append([f"    {here[0]}", f"{after[1] - here[1]:.2f}"])
        rows.append(
            ['  correlations(df, method="spearman") + store', f"{job['end'] - spearman[1]:.2f}"]
        )
    print(table(["(1) profile job, fresh process", "wall s"], rows))
    print()
    peak = job["peak"]
    mem_rows = [
        ["RSS after imports", mb(job["rss_imports"])],
        ["RSS with the frame loaded", mb(frame_rss) if frame_rss else "n/a"],
        ["peak RSS while reading the frame", mb(read_peak) if read_peak else "n/a"],
        ["peak RSS of the job (ru_maxrss)", mb(peak)],
        ["  growth over imports", mb(peak - job["rss_imports"])],
    ]
    if frame_rss:
        mem_rows.append(["  growth over the loaded frame", mb(peak - frame_rss)])
    mem_rows += [
        ["frame in memory (memory_usage deep)", mb(prep["bytes_memory"])],
        ["admission estimate_job('profile')", f"{job['estimate_mb']:,.1f}"],
    ]
    print(table(["memory", "MB"], mem_rows))
    growth = (peak - job["rss_imports"]) / max(prep["bytes_memory"], 1)
    print(
        f"peak growth / frame size = {growth:.2f}; estimate / measured peak = "
        f"{job['estimate_mb'] / (peak / MB):.2f}"
    )
    if job["peak_imports"] - job["rss_imports"] > 50 * MB:
        print("note: the child's ru_maxrss was already high right after imports")


def sizes_report(items: list[dict]) -> int:
    rows = []
    for it in items:
        rows.append(
            [
                it["name"],
                it["note"],
                f"{it['bytes']:,}",
                _kb(it["gzip"]),
                _kb(it["response"]),
                "" if it["ms"] is None else f"{it['ms']:,.0f}",
            ]
        )
    print(
        table(
            ["(2) callback output", "", "JSON bytes", "gzip KB", "response KB", "ms"],
            rows,
        )
    )
    print(
        "response KB: the whole Dash response body of that callback (the corr callback sends"
        " heatmap + pairs + missing figure together); ms: building it (dist: reading the"
        " column from the store + distribution + figure)"
    )
    figures = [
        i
        for i in items
        if i["group"] == "dist" or i["name"].startswith(("corr heatmap", "missing values"))
    ]
    biggest_fig = max(figures, key=lambda i: i["bytes"])
    biggest_any = max(items, key=lambda i: i["bytes"])
    labels = {
        "content": "content callback (render)",
        "corr-pearson": "corr callback (pearson)",
        "corr-spearman": "corr callback (spearman)",
    }
    responses = {}
    for it in items:
        if it["response"] is not None:
            label = labels.get(it["group"], f"dist callback ({it['name'][6:]})")
            responses[label] = it["response"]
    worst_group, worst_response = max(responses.items(), key=lambda kv: kv[1])
    ok = biggest_fig["bytes"] < FIGURE_GOAL
    print()
    print(
        f"largest figure: {biggest_fig['name']} = {biggest_fig['bytes']:,} bytes "
        f"(goal < {FIGURE_GOAL:,}: {'ok' if ok else 'MISSED'})"
    )
    print(f"largest callback response: {worst_group} = {worst_response:,} bytes")
    print(
        f"largest single output (incl. the stored profile): {biggest_any['name']} = "
        f"{biggest_any['bytes']:,} bytes"
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile job time, memory and response sizes.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the CSV")
    parser.add_argument("--child", choices=["prepare", "job"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.csv, args.store)
        return 0

    csv = mixed_csv(args.rows)
    with tempfile.TemporaryDirectory(prefix="di-bench-profile-") as tmp:
        root = Path(tmp) / "store"
        prep = run_child("prepare", root, csv)
        print(
            f"input: {csv.relative_to(REPO)} -> load_table + optimize_frame + put_frame in "
            f"{prep['wall']:.1f} s: {prep['rows']:,} rows x {prep['columns']} columns, "
            f"{mb(prep['bytes_memory'])} MB in memory (before optimizing "
            f"{mb(prep['bytes_before'])} MB), {mb(prep['bytes_disk'])} MB Parquet"
        )
        print(f"dtypes: {prep['dtypes']}")
        print()
        result = run_child("job", root)
    job = result["job"]
    print(f"job result: {job['message']}")
    job_report(prep, job)
    print()
    status = sizes_report(result["items"])
    print(f"(peak RSS after building every response: {mb(result['peak_after_callbacks'])} MB)")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
