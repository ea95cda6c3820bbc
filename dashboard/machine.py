"""Facts about the machine the app runs on, read from the kernel (no other dependency).

Settings read them for their defaults (the memory budget is the container's limit when it
has one); the job runtime reads them to size jobs.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

# cgroup v1 reports "no limit" as a huge number near 2**63; anything above this is unlimited.
_UNLIMITED_THRESHOLD = 1 << 60


def cgroup_memory_limit_bytes(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Return the container's memory limit in bytes, or None when no limit is set.

    Reads cgroup v2 ``memory.max`` first, then cgroup v1 ``memory/memory.limit_in_bytes``.
    """
    candidates = [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    for path in candidates:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return None if value <= 0 or value >= _UNLIMITED_THRESHOLD else value
    return None


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """Return the container's CPU quota in cores (``1.5`` = 150 ms per 100 ms), or None.

    Reads cgroup v2 ``cpu.max`` ("quota period", or "max" for none), then cgroup v1
    ``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us`` (a quota of -1 is none).
    """
    try:
        parts = (root / "cpu.max").read_text().split()
        if len(parts) == 2 and parts[0] != "max" and float(parts[1]) > 0:
            return float(parts[0]) / float(parts[1])
        if parts and parts[0] == "max":
            return None
    except (OSError, ValueError):
        pass
    try:
        quota = float((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = float((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def usable_cpus(root: Path = Path("/sys/fs/cgroup")) -> int:
    """Return the cores this process may use: its CPU affinity, capped by the cgroup quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit(root)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def job_cpus(max_concurrent_jobs: int, cores: int | None = None) -> int:
    """Return the threads one job may run: one core left to the web processes, the rest shared.

    The job and its ML training process never run heavy work at the same time (the job
    waits while the training process trains), so both get this many. On 2 cores that is 1:
    beside other work one thread was faster than two for every model measured
    (``bench/cpu.py``), and the page stays responsive while a job runs.
    """
    cores = usable_cpus() if cores is None else cores
    return max(1, (cores - 1) // max(1, max_concurrent_jobs))


#: The native thread pools a job's libraries start: OpenMP (scikit-learn's histogram
#: boosting, k-means), OpenBLAS and MKL (numpy, scipy). Sized before they start.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_environment(threads: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """Return ``base`` (default: this process's environment) with every pool set to ``threads``."""
    env = dict(os.environ if base is None else base)
    for name in THREAD_VARIABLES:
        env[name] = str(max(1, int(threads)))
    return env
