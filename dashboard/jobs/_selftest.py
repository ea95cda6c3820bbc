"""A deterministic job used to check the job layer end to end (enabled by a setting).

It runs ``steps`` steps of ``step_s`` seconds, optionally allocating memory at each step,
and can be held mid-run by a flag in a diskcache folder, as Dash's own tests hold jobs
with a lock, so progress, reload, cancel and kill can be observed at a known point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dashboard.cache import Cache
from dashboard.errors import InvalidParameter
from dashboard.jobs._kind import JobKind

HOLD_KEY = "selftest-hold"


def set_hold(directory: Path, held: bool) -> None:
    """Hold (or release) every self-test job at its next step."""
    with Cache(str(directory)) as cache:
        if held:
            cache.set(HOLD_KEY, True)
        else:
            cache.delete(HOLD_KEY)


def run_selftest(
    *,
    steps: int,
    step_s: float,
    allocate_mb: int = 0,
    hold_dir: Path | None = None,
    progress: Callable[[str, float, float], None],
) -> dict:
    """Run the self-test and return ``{"steps": n, "allocated_mb": m}``.

    Raises:
        InvalidParameter: ``steps`` outside 1..1000 or ``step_s`` outside 0..60.
    """
    if not 1 <= steps <= 1000 or not 0 <= step_s <= 60 or not 0 <= allocate_mb <= 100_000:
        raise InvalidParameter("The self-test needs 1–1000 steps of 0–60 s.")
    kept = []
    cache = Cache(str(hold_dir)) if hold_dir is not None else None
    for step in range(steps):
        progress(f"Step {step + 1} of {steps}", step, steps)
        while cache is not None and cache.get(HOLD_KEY):
            time.sleep(0.05)
        if allocate_mb:
            # touch every page so the memory is really resident
            kept.append(np.ones(allocate_mb * 1024 * 1024 // 8))
        time.sleep(step_s)
    progress("Finished", steps, steps)
    return {"steps": steps, "allocated_mb": allocate_mb * len(kept)}


def _run_selftest_job(context, session: str, request: dict, progress) -> dict:
    result = run_selftest(
        steps=int(request.get("steps", 1)),
        step_s=float(request.get("step_s", 0.1)),
        allocate_mb=int(request.get("allocate_mb", 0)),
        hold_dir=context.settings.cache_dir / "selftest",
        progress=progress,
    )
    return {**result, "message": f"Self-test finished for session …{session[-6:]}."}


def _estimate_selftest(context, session: str, request: dict) -> dict | None:
    mb = int(request.get("estimate_mb", 0))
    return {"rows": 0, "bytes_memory": mb << 20} if mb else None


#: The self-test kind, enabled by ``DI_ENABLE_TEST_JOBS`` (tests and ``bench/jobs.py``).
SELFTEST = JobKind(
    name="selftest",
    describe=lambda r: f"Self-test ({int(r.get('steps', 1))} steps)",
    run=_run_selftest_job,
    estimate=_estimate_selftest,
    factor=1.0,
    overhead_mb=0.0,
    advice="Try a smaller test job.",
    time_limit_s=600.0,
)
