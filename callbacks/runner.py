"""One runner for every background job: registry, heartbeat, progress, user-facing errors.

The job body is a plain function ``work(progress) -> result`` from ``dashboard``; the runner
records the job in the shared registry (so any web worker, and a reloaded page, can see
it), heartbeats from a thread, turns progress into full snapshots for Dash, and turns any
failure into a message written for the user.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from dashboard.errors import DataInsightsError

log = logging.getLogger(__name__)

UNEXPECTED = (
    "Something went wrong while running this job. Your data and earlier results are safe; "
    "try again, and if it happens again, check the server log."
)
OUT_OF_MEMORY = (
    "This job ran out of memory. Try a smaller sample or fewer columns. "
    "Your data and earlier results are safe."
)


class JobFailed(DataInsightsError):
    """A job ended with an error; the message is for the user."""


class _Heartbeat(threading.Thread):
    """Tells the registry every second that the job process is alive."""

    def __init__(self, registry, job_id: str, interval_s: float = 1.0):
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self._registry, self._job_id, self._interval = registry, job_id, interval_s
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            try:
                self._registry.heartbeat(self._job_id)
            except Exception:  # noqa: BLE001 - a missed beat must not kill the job
                log.warning("heartbeat failed for job %s", self._job_id, exc_info=True)

    def stop(self) -> None:
        self._stop_event.set()


def run_job(
    services,
    session: str,
    kind: str,
    summary: str,
    work: Callable[[Callable[[str, float, float], None]], object],
    set_progress: Callable[[tuple], None] | None = None,
    *,
    min_interval_s: float = 0.2,
):
    """Run ``work`` as a registered job and return its result.

    Args:
        services: The app's services (registry, store...).
        session: The session the job belongs to.
        kind: Job kind (``ingest``, ``profile``…), shown in the job history.
        summary: One line shown to the user ("Loading sales.csv").
        work: Called with ``progress(step, done, total)``; returns a small, JSON-able result.
        set_progress: Dash's progress setter; receives ``(percent, label, step)``.
        min_interval_s: Progress updates closer together than this are dropped (the last
            one of a step always goes through).

    Raises:
        JobFailed: With a message for the user, after the job is marked failed.
    """
    registry = services.jobs
    record = registry.create(session, kind, summary)
    job_id = record.job_id
    registry.start(job_id, os.getpid())
    beat = _Heartbeat(registry, job_id)
    beat.start()
    last = [0.0]

    def progress(step: str, done: float, total: float) -> None:
        now = time.monotonic()
        finished = total and done >= total
        if not finished and now - last[0] < min_interval_s:
            return
        last[0] = now
        pct = int(100 * done / total) if total else 0
        snapshot = {"done": done, "total": total, "step": step, "percent": pct}
        registry.heartbeat(job_id, progress=snapshot)
        if set_progress is not None:
            set_progress((pct, f"{pct} %", f"{summary}: {step}…"))

    try:
        result = work(progress)
    except DataInsightsError as err:
        registry.fail(job_id, str(err))
        raise JobFailed(str(err)) from None
    except MemoryError:
        registry.fail(job_id, OUT_OF_MEMORY)
        raise JobFailed(OUT_OF_MEMORY) from None
    except Exception:
        log.exception("job %s (%s) failed", job_id, kind)
        registry.fail(job_id, UNEXPECTED)
        raise JobFailed(UNEXPECTED) from None
    finally:
        beat.stop()
    registry.finish(job_id)
    return result
