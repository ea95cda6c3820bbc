"""Benchmark: the basket job against mlxtend called directly, on a large generated catalogue.

Usage (from the repository root)::

    .venv/bin/python bench/basket.py                       # 100,000 transactions x 2,000 items
    .venv/bin/python bench/basket.py --transactions 20000 --items 2500

Steps, each in a fresh child process (the parent imports only the standard library, so it
cannot raise a child's ``ru_maxrss``):

1. prepare: ``dashboard.basket._synth.generate_transactions`` (long layout, one row per
   item bought: about 8 items per basket, Zipf-like popularity, bundles bought together),
   optimized as the app stores data (``optimize_frame``: int32 ids, ``category`` items) and
   put into a ``DatasetStore`` as the app holds a large upload: every row as ``data_full``
   and a 50,000-row sample as ``data``;
2. ours: the job body ``dashboard.basket.job.run_basket`` with the default settings (support
   0.01, confidence 0.3, lift 1, one-item consequents, FP-Growth) and the job memory limit
   of a 1 GB container with one web worker (850 MB): it reads the two columns of the full
   data, encodes, guards, mines and stores the rules and itemsets;
3. mlxtend directly: the same two columns read from the same store, baskets grouped per
   transaction, ``TransactionEncoder`` (its documented one-hot), ``fpgrowth`` and
   ``association_rules`` with the same thresholds, then the same lift / consequent filter.

Printed: wall time and peak RSS of each, their ratio, the rule counts (they must agree),
and the admission estimate of the job against its measured peak.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import MB, PYTHON, REPO, child_env, mb, table

SESSION = "bench-basket-session"
JOB_LIMIT_MB = 850  # a 1 GB budget minus one web worker (about 170 MB)
SAMPLE_ROWS = 50_000


def _rss_now() -> int:
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child_prepare(root: Path, transactions: int, items: int) -> dict:
    from dashboard.basket import generate_transactions
    from dashboard.data import (
        column_table,
        optimize_frame,
    )
    from dashboard.store import DatasetStore

    started = time.perf_counter()
    lines, _report = optimize_frame(generate_transactions(transactions, items, seed=7))
    store = DatasetStore(root)
    try:
        full = store.put_frame(SESSION, "data_full", lines)
        sample = lines.sample(n=min(SAMPLE_ROWS, len(lines)), random_state=0)
        sampling = {"sampled": True, "size": len(sample), "rows_full": len(lines)}
        meta = {"sampling": sampling, "column_table": column_table(sample)}
        store.put_frame(SESSION, "data", sample.reset_index(drop=True), meta=meta)
    finally:
        store.close()
    return {
        "wall": time.perf_counter() - started,
        "rows": full.rows,
        "bytes_memory": full.bytes_memory,
        "dtypes": {c: str(t) for c, t in lines.dtypes.items()},
    }


class _Services:
    """What ``run_basket`` uses: the store, the settings and the memory status."""

    def __init__(self, store, budget_mb: float):
        from types import SimpleNamespace

        self.store = store
        self.settings = SimpleNamespace(
            job_memory_limit_mb=JOB_LIMIT_MB, memory_budget_mb=budget_mb
        )

    def memory_status(self):
        from dashboard.jobs import measure

        return measure({}, self.settings.memory_budget_mb)


def _child_ours(root: Path) -> dict:
    # the job process's imports (callbacks.jobs.execute imports the page modules)
    import mlxtend.frequent_patterns  # noqa: F401 - as the job imports it

    import dashboard.basket.job as basket_job
    from dashboard.basket.job import BASKET
    from dashboard.jobs import estimate_job
    from dashboard.store import DatasetStore

    rss_imports = _rss_now()
    store = DatasetStore(root)
    services = _Services(store, 1024)
    steps: list[tuple[str, float, int]] = []

    def progress(step: str, done: float, total: float) -> None:
        steps.append((step, time.perf_counter(), _rss_now()))

    request = {
        "kind": "basket",
        "layout": "long",
        "transaction": "transaction",
        "item": "item",
        "min_support": 0.01,
        "min_count": None,
        "min_confidence": 0.3,
        "min_lift": 1.0,
        "max_len": None,
        "single_consequent": True,
        "algorithm": "fpgrowth",
    }
    estimate = basket_job.estimate_basket(services, SESSION, request)
    started = time.perf_counter()
    outcome = basket_job.run_basket(services, SESSION, request, progress)
    wall = time.perf_counter() - started
    rules = store.info_by_name(SESSION, "basket_rules")
    store.close()
    return {
        "wall": wall,
        "rss_imports": rss_imports,
        "peak": _peak_rss(),
        "message": outcome["message"],
        "rules": rules.rows,
        "itemsets": rules.meta["counts"]["itemsets"],
        "frequent_items": rules.meta["counts"]["frequent_items"],
        "guard": rules.meta["estimate"],
        "steps": [(s, t - started, r) for s, t, r in steps],
        "admission_mb": estimate_job(BASKET, **estimate),
    }


def _child_mlxtend(root: Path) -> dict:
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    from dashboard.store import DatasetStore

    rss_imports = _rss_now()
    store = DatasetStore(root)
    started = time.perf_counter()
    full = store.info_by_name(SESSION, "data_full")
    lines = store.read_frame(SESSION, full.key, columns=["transaction", "item"])
    baskets = lines.groupby("transaction", observed=True)["item"].apply(list).tolist()
    del lines
    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
    del baskets
    found = fpgrowth(onehot, min_support=0.01, use_colnames=True)
    rules = association_rules(found, len(onehot), metric="confidence", min_threshold=0.3)
    rules = rules[(rules["lift"] >= 1.0) & (rules["consequents"].map(len) == 1)]
    wall = time.perf_counter() - started
    store.close()
    return {
        "wall": wall,
        "rss_imports": rss_imports,
        "peak": _peak_rss(),
        "rules": len(rules),
        "itemsets": len(found),
        "matrix": f"{onehot.shape[0]:,} x {onehot.shape[1]:,} bool",
    }


def run_child(kind: str, root: Path, *extra: str) -> dict:
    cmd = [PYTHON, str(Path(__file__).resolve()), "--child", kind, "--store", str(root), *extra]
    done = subprocess.run(
        cmd, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Basket job vs mlxtend: time and memory.")
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--child", choices=["prepare", "ours", "mlxtend"], help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        root = Path(args.store)
        if args.child == "prepare":
            result = _child_prepare(root, args.transactions, args.items)
        elif args.child == "ours":
            result = _child_ours(root)
        else:
            result = _child_mlxtend(root)
        print("RESULT " + json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="di-bench-basket-") as tmp:
        root = Path(tmp) / "store"
        extra = ("--transactions", str(args.transactions), "--items", str(args.items))
        prep = run_child("prepare", root, *extra)
        print(
            f"input: {args.transactions:,} transactions x {args.items:,} items generated: "
            f"{prep['rows']:,} lines ({mb(prep['bytes_memory'])} MB in memory, "
            f"{prep['dtypes']}), stored as data_full with a {SAMPLE_ROWS:,}-row sample as "
            f"data, in {prep['wall']:.1f} s"
        )
        ours = run_child("ours", root)
        theirs = run_child("mlxtend", root)
    print(f"job: {ours['message']}")
    print(
        f"guard: {ours['frequent_items']:,} frequent items kept of {args.items:,}; {ours['guard']}"
    )
    print("job steps (s from start, RSS MB): " + "; ".join(
        f"{s} {t:.2f} s {r / MB:,.0f}" for s, t, r in ours["steps"]
    ))  # fmt: skip
    print()
    rows = [
        [
            "ours: run_basket (read full data, encode, guard, FP-Growth, rules, store)",
            f"{ours['wall']:.2f}",
            mb(ours["rss_imports"]),
            mb(ours["peak"]),
            mb(ours["peak"] - ours["rss_imports"]),
            f"{ours['itemsets']:,}",
            f"{ours['rules']:,}",
        ],
        [
            f"mlxtend: TransactionEncoder ({theirs['matrix']}) + fpgrowth + association_rules",
            f"{theirs['wall']:.2f}",
            mb(theirs["rss_imports"]),
            mb(theirs["peak"]),
            mb(theirs["peak"] - theirs["rss_imports"]),
            f"{theirs['itemsets']:,}",
            f"{theirs['rules']:,}",
        ],
    ]
    header = ["", "wall s", "RSS imports MB", "peak MB", "growth MB", "itemsets", "rules"]
    print(table(header, rows))
    print()
    print(
        f"ratio ours / mlxtend: wall {ours['wall'] / theirs['wall']:.2f}, peak RSS "
        f"{ours['peak'] / theirs['peak']:.2f}, peak growth over imports "
        f"{(ours['peak'] - ours['rss_imports']) / (theirs['peak'] - theirs['rss_imports']):.2f}"
    )
    peak_mb = ours["peak"] / MB
    print(
        f"admission estimate_job('basket') = {ours['admission_mb']:,.0f} MB against a measured "
        f"peak of {peak_mb:,.0f} MB (ratio {ours['admission_mb'] / peak_mb:.2f}); job limit "
        f"{JOB_LIMIT_MB} MB"
    )
    same = ours["rules"] == theirs["rules"]
    print(f"same rules as mlxtend: {'yes' if same else 'NO'}")
    return 0 if same and ours["peak"] / MB < JOB_LIMIT_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
