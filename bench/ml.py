"""Benchmark: the ML job (ten default models) against a bare scikit-learn loop.

Usage (from the repository root)::

    .venv/bin/python bench/ml.py                  # 50,000 rows x 20 columns, 3 folds
    .venv/bin/python bench/ml.py --rows 10000 --repeat 1    # quicker

Data: ``../shared/data/diamonds.csv`` (53,940 diamonds, 10 columns), resampled to
``--rows`` rows with a little jitter on the measurements and 10 derived columns added
(volume, x / y ratio, weight in grams, a 300-value shop name, a region with 5 % missing,
a sale date, a certified flag, a discount, a rating, a polish grade): 20 columns, target
``price`` (regression), so 19 features of every kind the app handles. It is optimized as
the app does (``optimize_frame``) and stored as ``data`` in a temporary store.

Steps, each in a fresh child process (the parent imports only the standard library and
psutil, so it cannot raise a child's ``ru_maxrss``):

1. prepare: build, optimize and store the data;
2. baseline: a bare loop over the same pipelines in one process -- the same split and
   folds, then per model ``cross_validate`` on the training part, ``fit``, ``predict`` on
   the test part and scikit-learn's metrics (``dashboard.ml._worker.Trainer`` builds the
   split, folds and pipelines, nothing else of the app runs);
3. job: ``callbacks.jobs.execute`` with an ``ml`` request, as the job process runs it:
   registry, admission, memory watchdog, the training process, the stored partial
   results after each model, the best model's details (permutation importance…) and
   downloads. Its wall time is the ``execute`` call.

Baseline and job alternate ``--repeat`` times (machine load drifts); the ratio is taken
on the medians, and on the fastest run of each. The time budget per model is 600 s so
that no model is stopped in either. Memory:
the job's peak as the memory watchdog records it (RSS of the job process plus the training
process, the figure the app enforces), each process's own peak (``ru_maxrss``), and the
peak of the two processes' proportional set size (PSS: shared library pages counted once),
sampled every 0.1 s from here. Goals (issue 5): wall ratio <= 1.15, peak <= 350 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from bench._util import MB, PYTHON, REPO, child_env, table

DIAMONDS = REPO.parent / "shared" / "data" / "diamonds.csv"
TARGET = "price"
RATIO_GOAL, PEAK_GOAL_MB = 1.15, 350


# --- children -----------------------------------------------------------------------------


def _peak_rss(who: str = "self") -> int:
    import resource

    usage = resource.RUSAGE_SELF if who == "self" else resource.RUSAGE_CHILDREN
    return resource.getrusage(usage).ru_maxrss * 1024


def _settings(root: Path):
    from dashboard.settings import Settings

    return Settings(
        data_dir=root / "data",
        cache_dir=root / "jobs",
        secret_key="bench-ml-secret",
        environment="development",
    )


def diamonds_20(rows: int, seed: int = 0):
    """The diamonds table resampled to ``rows`` rows with 10 derived columns (20 in all)."""
    import numpy as np
    import pandas as pd

    base = pd.read_csv(DIAMONDS)
    rng = np.random.default_rng(seed)
    df = base.iloc[rng.integers(0, len(base), rows)].reset_index(drop=True)
    for c in ("carat", "depth", "table", "x", "y", "z"):
        df[c] = (df[c] * (1 + rng.normal(0, 0.002, rows))).round(3)
    df["price"] = (df["price"] * (1 + rng.normal(0, 0.01, rows))).round(0)
    df["volume"] = (df["x"] * df["y"] * df["z"]).round(2)
    df["ratio"] = (df["x"] / df["y"].replace(0, np.nan)).round(4)
    df["weight_g"] = (df["carat"] * 0.2 + rng.normal(0, 0.001, rows)).round(4)
    df["shop"] = [f"shop-{i:03d}" for i in rng.integers(0, 300, rows)]
    regions = np.array(["north", "south", "east", "west", "centre", "islands"], dtype=object)
    df["region"] = regions[rng.integers(0, len(regions), rows)]
    df.loc[rng.random(rows) < 0.05, "region"] = None
    days = pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")
    df["sold_on"] = pd.Timestamp("2020-01-01") + days
    df["certified"] = rng.random(rows) < 0.7
    df["discount_pct"] = rng.choice([0, 5, 10, 15, 20], rows)
    df["rating"] = rng.normal(4, 0.5, rows).round(1)
    df["polish"] = rng.choice(["poor", "fair", "good", "excellent"], rows)
    return df


def _child_prepare(root: Path, rows: int) -> dict:
    from dashboard.data import (
        column_table,
        optimize_frame,
    )
    from dashboard.kinds import job_context

    services = job_context(_settings(root))
    session = services.signer.new()
    df, _ = optimize_frame(diamonds_20(rows))
    info = services.store.put_frame(
        session,
        "data",
        df,
        meta={"column_table": column_table(df), "source": {"filename": "diamonds-20.csv"}},
    )
    return {
        "session": session,
        "rows": info.rows,
        "columns": info.columns,
        "bytes_memory": info.bytes_memory,
        "dtypes": {str(k): int(v) for k, v in df.dtypes.astype(str).value_counts().items()},
    }


def _models() -> list[str]:
    from dashboard.ml import default_models

    return default_models("regression", 40_000)


def _child_baseline(root: Path, session: str) -> dict:
    import gc

    from sklearn.model_selection import cross_validate
    from threadpoolctl import threadpool_limits

    from dashboard.ml import (
        Trainer,
        cpu_share,
        prepare,
    )
    from dashboard.store import DatasetStore

    store = DatasetStore(_settings(root).store_dir)
    data = store.info_by_name(session, "data")
    started = time.perf_counter()
    frame = store.read_frame(session, data.key)
    prepared = prepare(frame, target=TARGET, test_size=0.2, cv_folds=3)
    n_jobs = cpu_share()
    threadpool_limits(limits=n_jobs)
    trainer = Trainer(
        X=prepared.X,
        y=prepared.y,
        task=prepared.task,
        plan=prepared.plan.to_dict(),
        classes=list(prepared.classes),
        positive=prepared.positive,
        test_size=0.2,
        cv_folds=3,
        random_state=0,
        metric="r2",
        n_jobs=n_jobs,
    )
    per_model = []
    for name in _models():
        t = time.perf_counter()
        pipe = trainer.pipeline(name)
        cv = cross_validate(pipe, trainer.X_train, trainer.y_train, cv=trainer.folds, scoring="r2")
        model = pipe.fit(trainer.X_train, trainer.y_train)
        scores = trainer.score(model)
        per_model.append(
            {
                "model": name,
                "seconds": time.perf_counter() - t,
                "cv_mean": float(cv["test_score"].mean()),
                "r2": scores["r2"],
            }
        )
        del model, pipe
        gc.collect()
    return {"wall": time.perf_counter() - started, "models": per_model, "peak": _peak_rss()}


def _child_job(root: Path, session: str) -> dict:
    # the job process's imports (python -m dashboard.jobs runs dashboard.jobs.execute)
    from dashboard.jobs import (
        estimate_job,
        execute,
    )
    from dashboard.kinds import job_context
    from dashboard.ml.job import ML

    services = job_context(_settings(root))
    data = services.store.info_by_name(session, "data")
    models = _models()
    request = {
        "kind": "ml",
        "target": TARGET,
        "models": models,
        "cv_folds": 3,
        "time_budget_s": 600,
    }
    started = time.perf_counter()
    result = execute(services, session, request)
    wall = time.perf_counter() - started
    record = services.jobs.get(result["job_id"])
    item = services.store.info_by_name(session, "ml_results")
    table_ = services.store.read_frame(session, item.key)
    model = services.store.info_by_name(session, "ml_model")
    return {
        "ok": result["ok"],
        "message": result.get("message"),
        "wall": wall,
        "job_seconds": record.duration_s,
        "watchdog_peak_mb": record.peak_rss_mb,
        "peak_self": _peak_rss("self"),
        "peak_children": _peak_rss("children"),
        "estimate_mb": estimate_job(
            ML, rows=data.rows, bytes_memory=data.bytes_memory, models=len(models)
        ),
        "rows": table_.to_dict("records"),
        "meta_bytes": len(json.dumps(item.meta)),
        "model_bytes": model.bytes_disk if model else None,
    }


def child_main(kind: str, root: str, session: str | None, rows: int) -> None:
    root_path = Path(root)
    if kind == "prepare":
        result = _child_prepare(root_path, rows)
    elif kind == "baseline":
        result = _child_baseline(root_path, session)
    else:
        result = _child_job(root_path, session)
    print("RESULT " + json.dumps(result, default=float))


# --- parent ---------------------------------------------------------------------------------


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of a process and its descendants every 0.1 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_pss = pid, 0, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self._stop_event.wait(0.1):
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            rss = pss = 0
            for p in procs:
                try:
                    info = p.memory_full_info()
                except psutil.Error:
                    continue
                rss, pss = rss + info.rss, pss + info.pss
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop_event.set()
        self.join()


def run_child(kind: str, root: Path, rows: int, session: str | None = None) -> dict:
    """Run one step in a fresh interpreter; returns its figures (plus the sampled peaks)."""
    cmd = [PYTHON, str(Path(__file__).resolve()), "--child", kind, "--root", str(root)]
    cmd += ["--rows", str(rows)] + (["--session", session] if session else [])
    proc = subprocess.Popen(  # noqa: S603 - this script, fixed arguments
        cmd, cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, err = proc.communicate(timeout=3600)
    sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed ({proc.returncode}):\n{err[-3000:]}")
    line = [x for x in out.splitlines() if x.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT ") :])
    result["sampled_rss"], result["sampled_pss"] = sampler.peak_rss, sampler.peak_pss
    return result


def report(prep: dict, baselines: list[dict], jobs: list[dict]) -> int:
    base = [b["wall"] for b in baselines]
    walls = [j["wall"] for j in jobs]
    ratio = statistics.median(walls) / statistics.median(base)
    best_ratio = min(walls) / min(base)
    rows = []
    for i, (b, j) in enumerate(zip(baselines, jobs, strict=False)):
        rows.append([f"run {i + 1}: bare scikit-learn loop", f"{b['wall']:.1f}"])
        rows.append([f"run {i + 1}: ML job (execute)", f"{j['wall']:.1f}"])
    rows += [
        ["median bare loop", f"{statistics.median(base):.1f}"],
        ["median ML job", f"{statistics.median(walls):.1f}"],
    ]
    print(table(["wall time", "s"], rows))
    print(
        f"job / bare loop = {ratio:.3f} on medians, {best_ratio:.3f} on the fastest runs "
        f"(goal <= {RATIO_GOAL}: {'ok' if ratio <= RATIO_GOAL else 'MISSED'})"
    )
    print()
    fastest_base = min(baselines, key=lambda b: b["wall"])
    job = min(jobs, key=lambda j: j["wall"])
    per = {r["model"]: r for r in job["rows"]}
    rows = []
    for b in fastest_base["models"]:
        r = per.get(b["model"], {})
        rows.append(
            [
                b["model"],
                r.get("status", "?"),
                f"{b['seconds']:.1f}",
                f"{(r.get('total_seconds') or 0):.1f}",
                f"{(r.get('fit_seconds') or 0):.1f}",
                f"{(r.get('peak_mb') or 0):.0f}",
                f"{r.get('cv_mean', float('nan')):.4f}",
                f"{r.get('r2', float('nan')):.4f}",
                f"{b['r2']:.4f}",
            ]
        )
    header = ["model (fastest runs)", "status", "bare s", "job s", "fit s", "peak MB"]
    print(table([*header, "CV R²", "test R²", "bare test R²"], rows))
    print()
    peak = max(j["watchdog_peak_mb"] for j in jobs)
    pss = max(j["sampled_pss"] for j in jobs) / MB
    mem = [
        ["job peak as the watchdog records it (RSS, job + training process)", f"{peak:.0f}"],
        [
            "  sampled here: summed RSS of the job tree",
            f"{max(j['sampled_rss'] for j in jobs) / MB:.0f}",
        ],
        ["  sampled here: summed PSS of the job tree", f"{pss:.0f}"],
        ["job process alone (ru_maxrss)", f"{max(j['peak_self'] for j in jobs) / MB:.0f}"],
        [
            "training process alone (ru_maxrss of children)",
            f"{max(j['peak_children'] for j in jobs) / MB:.0f}",
        ],
        ["bare loop process (ru_maxrss)", f"{max(b['peak'] for b in baselines) / MB:.0f}"],
        ["data in memory (memory_usage deep)", f"{prep['bytes_memory'] / MB:.1f}"],
        ["admission estimate_job('ml', models=10)", f"{job['estimate_mb']:.0f}"],
    ]
    print(table(["memory (highest of the runs)", "MB"], mem))
    print(
        f"peak goal <= {PEAK_GOAL_MB} MB: watchdog figure "
        f"{'ok' if peak <= PEAK_GOAL_MB else 'MISSED'}, PSS "
        f"{'ok' if pss <= PEAK_GOAL_MB else 'MISSED'}"
    )
    print(
        f"stored results meta: {job['meta_bytes']:,} bytes; best model on disk: "
        f"{(job['model_bytes'] or 0) / MB:.1f} MB"
    )
    return 0 if all(j["ok"] for j in jobs) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ML job vs a bare scikit-learn loop.")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="baseline / job pairs")
    parser.add_argument("--child", choices=["prepare", "baseline", "job"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--session", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.root, args.session, args.rows)
        return 0
    with tempfile.TemporaryDirectory(prefix="di-bench-ml-") as tmp:
        root = Path(tmp)
        prep = run_child("prepare", root, args.rows)
        print(
            f"data: {DIAMONDS.name} resampled to {prep['rows']:,} rows x {prep['columns']} "
            f"columns, {prep['bytes_memory'] / MB:.1f} MB in memory; dtypes {prep['dtypes']}"
        )
        print(f"models (regression defaults at this size): {', '.join(_models())}")
        print()
        baselines, jobs = [], []
        for _ in range(args.repeat):
            baselines.append(run_child("baseline", root, args.rows, prep["session"]))
            jobs.append(run_child("job", root, args.rows, prep["session"]))
        print(f"job: {jobs[-1]['message']}")
        return report(prep, baselines, jobs)


if __name__ == "__main__":
    raise SystemExit(main())
