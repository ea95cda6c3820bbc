"""Benchmark: threads per job on a loaded machine (dashboard.machine.job_cpus).

Usage (from the repository root)::

    .venv/bin/python bench/cpu.py              # 3 repeats, 0 / 1 / 2 CPU burners
    .venv/bin/python bench/cpu.py --repeats 1  # quicker

Fits Histogram Gradient Boosting and a Random Forest (200 trees), 5-fold cross-validated on
800 × 20 (``make_classification``), each in a fresh interpreter whose OpenMP / BLAS pools
and ``n_jobs`` are set as the training process sets them, beside 0, 1 or 2 processes that
spin on a core each (the other users of a small box: a second job, the web workers, a
browser). Prints the median wall time of each thread count and its ratio to one thread,
measured in the same run, next to what ``job_cpus`` chooses on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.machine import job_cpus, thread_environment, usable_cpus

FIT = """
import sys, time
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.model_selection import cross_val_score
model, threads = sys.argv[1], int(sys.argv[2])
X, y = make_classification(n_samples=800, n_features=20, random_state=0)
if model == "hgb":
    est = HistGradientBoostingClassifier(random_state=0)
else:
    est = RandomForestClassifier(n_estimators=200, n_jobs=threads, random_state=0)
start = time.perf_counter()
cross_val_score(est, X, y, cv=5)
print(time.perf_counter() - start)
"""
BURN = "while True: pass"


def fit_seconds(model: str, threads: int) -> float:
    out = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-c", FIT, model, str(threads)],
        env=thread_environment(threads),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cores = usable_cpus()
    counts = sorted({1, cores, 2})
    print(f"cores usable: {cores}; job_cpus(1 job at a time) = {job_cpus(1)}")
    print(f"{'burners':>7} {'model':>5} " + " ".join(f"{f'{t} thr':>14}" for t in counts))
    for burners in (0, 1, 2):
        spinners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(burners)]  # noqa: S603
        time.sleep(0.5)
        try:
            for model in ("hgb", "rf"):
                medians = {
                    t: statistics.median(fit_seconds(model, t) for _ in range(args.repeats))
                    for t in counts
                }
                cells = " ".join(
                    f"{f'{medians[t]:.2f} s ×{medians[t] / medians[1]:.2f}':>14}" for t in counts
                )
                print(f"{burners:>7} {model:>5} {cells}", flush=True)
        finally:
            for spinner in spinners:
                spinner.kill()
                spinner.wait()


if __name__ == "__main__":
    main()
