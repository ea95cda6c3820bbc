"""Benchmark: the RFM job on 1,000,000 transactions of 100,000 customers (CDNOW scaled up).

Usage (from the repository root)::

    .venv/bin/python bench/rfm.py                    # 1,000,000 transactions
    .venv/bin/python bench/rfm.py --rows 200000      # quicker

Steps, each in a fresh child process (the parent imports only the standard library, so it
cannot raise a child's ``ru_maxrss``):

1. generate (cached in ``bench/out``): CDNOW scaled up. 100,000 new customers each copy the
   history of a CDNOW customer drawn with probability proportional to its number of
   transactions (so a customer has about 10.5 transactions, not 3), with the customer's
   dates shifted by up to ±60 days and each by up to ±3 more (kept in CDNOW's 1997-01-01
   … 1998-06-30 window) and amounts scaled by a log-normal factor (σ 0.2); then rows are
   dropped at random down to the wanted count. Columns: ``customer_id`` (text,
   ``C0000001``), ``order_id`` (one per customer and day, as CDNOW's rows of one day are
   one order), ``order_date``, ``quantity``, ``amount``;
2. prepare: the app's ingest, ``dashboard.data._datasets.load_file`` (read, optimize, sample
   50,000 rows for analysis, keep the full data as ``data_full``) into a temporary store;
3. job: ``callbacks.jobs.execute`` of an ``rfm`` request, as the job process runs it
   (``job_context``: registry, admission, slot, memory watchdog), twice: with the
   CDNOW mapping (frequency = rows) and with the order id as invoice (frequency = distinct
   orders). Wall time split by the job's progress calls, RSS after imports, peak RSS
   (``ru_maxrss``, whole process) against ``dashboard.jobs._admission.estimate_job(RFM, ...)``;
   then the page's responses built from the stored result (``render``, the scatter and
   the segment figures) as JSON bytes;
4. baseline, same data: what a notebook would do -- read the full table, ``groupby`` the
   customer for last date / count / sum, ``pd.qcut`` of ``rank(method="first")`` for the
   three scores, and one ``KMeans(k=4)`` on the log-scaled values (no elbow, silhouette,
   segments, CLV or storing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import MB, OUT, PYTHON, REPO, child_env, mb, table

DEFAULT_TRANSACTIONS = 1_000_000
CUSTOMERS = 100_000
SEED = 20241201
VERSION = 2  # bump when the generator changes
SECRET = "bench-rfm-secret"
CDNOW = REPO.parent / "shared" / "data" / "cdnow_transactions.csv"


def csv_path(rows: int) -> Path:
    """Where the generated transactions with ``rows`` rows are cached."""
    return OUT / f"rfm_cdnow_v{VERSION}_{rows}.csv"


# --- children (each run in its own process) -----------------------------------------------


def _rss_now() -> int:
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child_generate(rows: int, out: Path) -> dict:
    """Write CDNOW scaled up to ``rows`` transactions of 100,000 customers (fewer rows: fewer)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    cdnow = pd.read_csv(CDNOW, dtype={"customer_id": str}, parse_dates=["order_date"])
    groups = cdnow.groupby("customer_id", sort=False).indices
    templates = list(groups.values())
    sizes = np.array([len(t) for t in templates], dtype=float)
    chosen = rng.choice(len(templates), CUSTOMERS, p=sizes / sizes.sum())
    positions = np.concatenate([templates[t] for t in chosen])
    owner = np.repeat(np.arange(CUSTOMERS), [len(templates[t]) for t in chosen])
    first, last = cdnow["order_date"].min(), cdnow["order_date"].max()
    days = (
        (cdnow["order_date"].to_numpy()[positions] - np.datetime64(first))
        .astype("timedelta64[D]")
        .astype(np.int64)
    )
    days += rng.integers(-60, 61, CUSTOMERS)[owner] + rng.integers(-3, 4, len(owner))
    days = np.clip(days, 0, (last - first).days)
    amount = cdnow["amount"].to_numpy()[positions] * rng.lognormal(0.0, 0.2, len(owner))
    # every customer keeps its first transaction, the other rows are drawn at random
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    if rows <= len(starts):
        keep = np.sort(rng.choice(starts, rows, replace=False))
    else:
        rest = np.setdiff1d(np.arange(len(owner)), starts, assume_unique=True)
        extra = rng.choice(rest, min(rows, len(owner)) - len(starts), replace=False)
        keep = np.sort(np.concatenate([starts, extra]))
    frame = pd.DataFrame(
        {
            "customer": owner[keep],
            "day": days[keep],
            "quantity": cdnow["quantity"].to_numpy()[positions][keep],
            "amount": np.round(amount[keep], 2),
        }
    ).sort_values(["day", "customer"], kind="stable")
    order = frame.groupby(["customer", "day"], sort=False).ngroup().to_numpy()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    pd.DataFrame(
        {
            "customer_id": [f"C{c + 1:07d}" for c in frame["customer"]],
            "order_id": [f"{100_000_000 + o}" for o in order],
            "order_date": (np.datetime64(first.date()) + frame["day"].to_numpy()).astype(str),
            "quantity": frame["quantity"].to_numpy(),
            "amount": frame["amount"].to_numpy(),
        }
    ).to_csv(tmp, index=False)
    tmp.replace(out)
    return {"rows": len(frame), "customers": int(frame["customer"].nunique())}


def _settings(root: Path):
    from dashboard.settings import Settings

    return Settings(
        data_dir=root / "data",
        cache_dir=root / "jobs",
        secret_key=SECRET,
        environment="development",
    )


def _child_prepare(csv: Path, root: Path) -> dict:
    import time

    from dashboard.data import load_file
    from dashboard.sessions import SessionSigner
    from dashboard.store import DatasetStore

    settings = _settings(root)
    session = SessionSigner(SECRET).new()
    store = DatasetStore(settings.store_dir)
    started = time.perf_counter()
    active = load_file(store, session, csv, settings=settings, filename=csv.name)
    data = store.info_by_name(session, "data")
    full = store.info_by_name(session, "data_full")
    store.close()
    return {
        "session": session,
        "wall": time.perf_counter() - started,
        "rows_full": active.rows_full,
        "rows": active.rows,
        "sampled": active.sampled,
        "bytes_full": full.bytes_memory if full else None,
        "dtypes": {c["column"]: c["dtype"] for c in data.meta["column_table"]},
    }


def _child_job(root: Path, session: str, invoice: bool) -> dict:
    import time

    from dashboard.kinds import job_context

    services = job_context(_settings(root))  # imports every page's job module
    from callbacks import jobs
    from callbacks import rfm as page
    from dashboard.jobs import estimate_job
    from dashboard.rfm import job as rfm_job
    from dashboard.rfm.job import RFM

    rss_imports, peak_imports = _rss_now(), _peak_rss()
    values = page.choices(services, session)["values"]
    request = {"kind": "rfm", **values, "invoice": "order_id" if invoice else None}
    events: list[tuple[str, float, int]] = []
    original = rfm_job.RFM.run

    def run(services_, session_, request_, progress):
        def spy(step, done, total):
            events.append((str(step), time.perf_counter(), _rss_now()))
            progress(step, done, total)

        return original(services_, session_, request_, spy)

    services.job_kinds["rfm"] = dataclasses.replace(rfm_job.RFM, run=run)
    estimate = rfm_job.estimate_rfm(services, session, request)
    started = time.perf_counter()
    result = jobs.execute(services, session, request)
    finished = time.perf_counter()
    peak = _peak_rss()
    if not result.get("ok"):
        raise RuntimeError(result)
    record = services.jobs.get(result["job_id"])

    # what the page sends, built from the stored result (as the web process does)
    def size(value) -> int:
        from plotly.io.json import to_json_plotly

        return len(to_json_plotly(value).encode())

    t = time.perf_counter()
    status, content = page.render(services, session)
    render_ms = 1000 * (time.perf_counter() - t)
    t = time.perf_counter()
    scatter = page.scatter_figure(services, session, "segment")
    scatter_ms = 1000 * (time.perf_counter() - t)
    summary_item = services.store.info_by_name(session, "rfm")
    customers = services.store.info_by_name(session, "rfm_customers")
    return {
        "message": result["message"],
        "wall": finished - started,
        "start": started,
        "end": finished,
        "events": events,
        "rss_imports": rss_imports,
        "peak_imports": peak_imports,
        "peak": peak,
        "watchdog_peak_mb": record.peak_rss_mb if record else None,
        "estimate_mb": estimate_job(RFM, **estimate),
        "sizes": {
            "page content (render)": (size(content), render_ms),
            "scatter figure": (size(scatter), scatter_ms),
            "segment bar figure": (size(page.segment_figure(services, session, "bar")), None),
            "stored summary (item meta)": (len(json.dumps(summary_item.meta)), None),
        },
        "customers_rows": customers.rows,
        "customers_disk": customers.bytes_disk,
    }


def _child_baseline(root: Path, session: str) -> dict:
    import time

    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    from dashboard.store import DatasetStore

    settings = _settings(root)
    store = DatasetStore(settings.store_dir)
    rss_imports = _rss_now()
    started = time.perf_counter()
    full = store.info_by_name(session, "data_full")
    df = store.read_frame(session, full.key)
    as_of = df["order_date"].max() + pd.Timedelta(days=1)
    rfm = df.groupby("customer_id", observed=True).agg(
        last=("order_date", "max"), frequency=("order_date", "size"), monetary=("amount", "sum")
    )
    rfm["recency"] = (as_of - rfm["last"]).dt.days
    for column, sign in (("recency", -1), ("frequency", 1), ("monetary", 1)):
        ranked = (sign * rfm[column]).rank(method="first")
        rfm[column[0] + "_score"] = pd.qcut(ranked, 5, labels=False) + 1
    positive = rfm[rfm["monetary"] > 0]
    values = np.log1p(positive[["recency", "frequency", "monetary"]].to_numpy(float))
    KMeans(n_clusters=4, random_state=0).fit(StandardScaler().fit_transform(values))
    return {
        "wall": time.perf_counter() - started,
        "rss_imports": rss_imports,
        "peak": _peak_rss(),
        "customers": len(rfm),
    }


def child_main(args) -> None:
    root = Path(args.store) if args.store else None
    if args.child == "generate":
        result = _child_generate(args.rows, Path(args.csv))
    elif args.child == "prepare":
        result = _child_prepare(Path(args.csv), root)
    elif args.child == "job":
        result = _child_job(root, args.session, args.invoice)
    else:
        result = _child_baseline(root, args.session)
    print("RESULT " + json.dumps(result))


# --- parent ---------------------------------------------------------------------------------


def run_child(kind: str, *extra: str) -> dict:
    cmd = [PYTHON, str(Path(__file__).resolve()), "--child", kind, *extra]
    done = subprocess.run(
        cmd, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def job_report(name: str, job: dict, baseline: dict) -> None:
    rows = [["whole job (execute: admission, slot, watchdog, body)", f"{job['wall']:.2f}", ""]]
    # collapse the per-k clustering calls into one phase
    phases: list[tuple[str, float, int]] = []
    for step, t, rss in job["events"]:
        label = "clustering k = 2..10" if step.startswith("Clustering") else step
        if not phases or phases[-1][0] != label:
            phases.append((label, t, rss))
    if phases:
        before = f"{phases[0][1] - job['start']:.2f}"
        rows.append(["  before the first step (admission, slot)", before, ""])
    for (label, t, rss), nxt in zip(phases, [*phases[1:], ("end", job["end"], 0)], strict=True):
        rows.append([f"  {label}", f"{nxt[1] - t:.2f}", mb(rss)])
    print(table([f"{name}", "wall s", "RSS at start, MB"], rows))
    print(f"result: {job['message']}")
    peak = job["peak"]
    mem = [
        ["RSS after the job process's imports", mb(job["rss_imports"])],
        ["peak RSS of the job (ru_maxrss)", mb(peak)],
        ["  growth over imports", mb(peak - job["rss_imports"])],
        ["peak seen by the job's memory watchdog", f"{job['watchdog_peak_mb'] or 0:,.1f}"],
        ["admission estimate_job('rfm')", f"{job['estimate_mb']:,.1f}"],
        ["baseline (notebook pandas + one KMeans): peak RSS", mb(baseline["peak"])],
    ]
    print(table(["memory", "MB"], mem))
    print(
        f"wall ours / baseline = {job['wall'] / baseline['wall']:.2f} "
        f"(baseline {baseline['wall']:.2f} s); peak ours / baseline = "
        f"{peak / baseline['peak']:.2f}; estimate / measured peak = "
        f"{job['estimate_mb'] / (peak / MB):.2f}"
    )
    sizes = [
        [k, f"{b:,}", "" if ms is None else f"{ms:,.0f}"] for k, (b, ms) in job["sizes"].items()
    ]
    print(table(["page response", "JSON bytes", "ms"], sizes))
    print(
        f"stored customer table: {job['customers_rows']:,} rows, "
        f"{mb(job['customers_disk'])} MB Parquet"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="RFM job time and memory at scale.")
    parser.add_argument("--rows", type=int, default=DEFAULT_TRANSACTIONS)
    parser.add_argument("--child", choices=["generate", "prepare", "job", "baseline"])
    parser.add_argument("--csv")
    parser.add_argument("--store")
    parser.add_argument("--session")
    parser.add_argument("--invoice", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        child_main(args)
        return 0

    csv = csv_path(args.rows)
    if not csv.exists():
        print(f"generating {csv.relative_to(REPO)} (CDNOW scaled up), cached for later runs…")
        made = run_child("generate", "--rows", str(args.rows), "--csv", str(csv))
        print(f"  {made['rows']:,} transactions of {made['customers']:,} customers")
    with tempfile.TemporaryDirectory(prefix="di-bench-rfm-") as tmp:
        root = Path(tmp)
        prep = run_child("prepare", "--csv", str(csv), "--store", str(root))
        print(
            f"input: {csv.relative_to(REPO)} ingested by load_file in {prep['wall']:.1f} s: "
            f"{prep['rows_full']:,} rows (analysis sample {prep['rows']:,}, sampled: "
            f"{prep['sampled']}); full data {mb(prep['bytes_full'] or 0)} MB in memory"
        )
        print(f"dtypes: {prep['dtypes']}")
        session = ["--store", str(root), "--session", prep["session"]]
        baseline = run_child("baseline", *session)
        print(
            f"baseline: {baseline['customers']:,} customers in {baseline['wall']:.2f} s, "
            f"peak RSS {mb(baseline['peak'])} MB"
        )
        for name, extra in (
            ("(a) rfm job, CDNOW mapping (frequency = rows)", []),
            ("(b) rfm job, order_id as invoice (distinct orders)", ["--invoice"]),
        ):
            print()
            job_report(name, run_child("job", *session, *extra), baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
