"""One runner for every background job: registry, slot, memory limit, heartbeat, progress.

The job body is a plain function ``work(progress) -> result`` from ``dashboard``. Inside the
job process the runner:

1. registers the job in the shared registry (one active job per session, else refused);
2. checks admission: the job's memory estimate against the free headroom of the budget;
3. waits for a global slot (``DI_MAX_CONCURRENT_JOBS``), showing "Queued, position N";
4. runs the body under a memory watchdog (the job's limit) and a heartbeat thread;
5. turns any failure into a message written for the user, and records the outcome with a
   small result, so a page that reloaded meanwhile can still pick it up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from dashboard.errors import DataInsightsError, JobRejected
from dashboard.jobs._admission import check_admission
from dashboard.jobs._memory import MemoryWatchdog

log = logging.getLogger(__name__)

UNEXPECTED = (
    "Something went wrong while running this job. Your data and earlier results are safe; "
    "try again, and if it happens again, check the server log."
)
OUT_OF_MEMORY = (
    "This analysis ran out of memory. Try a smaller sample, fewer models or fewer columns. "
    "Your data and earlier results are safe."
)


def over_limit_message(limit_mb: float) -> str:
    """Return the message of a job stopped by its memory limit."""
    return (
        f"This analysis needed more than {limit_mb:,.0f} MB of memory and was stopped. "
        "Try a smaller sample, fewer models or fewer columns. "
        "Your data and earlier results are safe."
    )


class JobFailed(DataInsightsError):
    """A job ended with an error; the message is for the user.

    Attributes:
        job_id: The registry id of the failed job (None when it was never registered).
    """

    def __init__(self, message: str, job_id: str | None = None):
        super().__init__(message)
        self.job_id = job_id


class _Heartbeat(threading.Thread):
    """Tells the registry every second that the job is alive, and keeps its slot."""

    def __init__(self, registry, slots, job_id: str, written=None, interval_s: float = 1.0):
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self._registry, self._slots, self._job_id = registry, slots, job_id
        self._written = written
        self._interval = interval_s
        self._stop_event = threading.Event()
        self.rss_mb: float | None = None

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            try:
                self._registry.heartbeat(self._job_id, rss_mb=self.rss_mb)
                self._slots.renew(self._job_id)
                if self._written is not None:
                    # partial results stay findable after a Cancel (SIGKILL: no finally)
                    self._registry.add_results(self._job_id, self._written())
            except Exception:  # noqa: BLE001 - a missed beat must not kill the job
                log.warning("heartbeat failed for job %s", self._job_id, exc_info=True)

    def stop(self) -> None:
        self._stop_event.set()


class _Progress:
    """Turns ``progress(step, done, total)`` into registry snapshots and Dash progress.

    A job may pass ``summary=`` to replace its banner's first part while it runs (the ML
    job shows "Training Gradient Boosting — 5 of 10" rather than a fixed summary).
    """

    def __init__(self, registry, job_id, summary, set_progress, min_interval_s):
        self._registry, self._job_id, self._summary = registry, job_id, summary
        self._set_progress, self._min_interval = set_progress, min_interval_s
        self._last = 0.0
        self._queued_at = 0

    def __call__(self, step: str, done: float, total: float, *, summary: str | None = None):
        now = time.monotonic()
        finished = bool(total) and done >= total
        if not finished and now - self._last < self._min_interval:
            return
        self._last = now
        pct = max(0, min(100, int(100 * done / total))) if total else 0
        snapshot = {"done": done, "total": total, "step": step, "percent": pct}
        if summary:
            snapshot["summary"] = summary
        self._publish(snapshot)

    def queued(self, position: int) -> None:
        # called on every slot attempt (10 a second): publish a change, else once a second
        now = time.monotonic()
        if position == self._queued_at and now - self._last < 1.0:
            return
        self._queued_at, self._last = position, now
        self._publish({"done": 0, "total": 0, "percent": 0, "step": f"Queued, position {position}"})

    def _publish(self, snapshot: dict) -> None:
        self._registry.heartbeat(self._job_id, progress=snapshot)
        if self._set_progress is not None:
            pct = snapshot["percent"]
            summary = snapshot.get("summary") or self._summary
            self._set_progress((pct, f"{pct} %" if pct else "", f"{summary} — {snapshot['step']}"))


def job_limit_mb(context, web_used_mb: float) -> float:
    """Return the memory limit of one job: the setting, else the budget minus the web side."""
    settings = context.settings
    if settings.job_memory_limit_mb:
        return float(settings.job_memory_limit_mb)
    return max(128.0, settings.memory_budget_mb - web_used_mb)


def run_job(
    context,
    session: str,
    kind,
    summary: str,
    work: Callable[[Callable[[str, float, float], None]], dict],
    set_progress: Callable[[tuple], None] | None = None,
    *,
    estimate: dict | None = None,
    min_interval_s: float = 0.2,
) -> dict:
    """Run ``work`` as a registered, admitted, slot-holding job and return its result.

    Args:
        context: The job context (registry, slots, store, settings).
        session: The session the job belongs to.
        kind: The ``JobKind`` (its name is recorded; its factors size the admission).
        summary: One line shown to the user ("Loading sales.csv").
        work: Called with ``progress(step, done, total)``; returns a small JSON-able dict.
        set_progress: Dash's progress setter; receives ``(percent, label, status line)``.
        estimate: Keyword arguments of ``dashboard.jobs.check_admission`` describing
            the data (``rows``, ``bytes_memory``, ``extra``…); None skips admission.
        min_interval_s: Progress updates closer together than this are dropped (the last
            one always goes through).

    Raises:
        JobFailed: With a message for the user, after the job is marked failed.
        JobRejected: The session already runs a job, or the job cannot fit in memory.
    """
    registry, slots = context.jobs, context.slots
    pid = os.getpid()
    record = registry.create(session, kind.name, summary, pid=pid)
    job_id = record.job_id
    progress = _Progress(registry, job_id, summary, set_progress, min_interval_s)
    since = time.time()

    def written() -> list[str]:
        """Keys of the items this job has stored so far (its results, partial ones too)."""
        return [i.key for i in context.store.items(session) if i.created >= since]

    beat = _Heartbeat(registry, slots, job_id, written)
    watchdog = None
    try:
        slots.acquire(job_id, pid, on_wait=progress.queued)
        # Measured once the slot is ours: a job that waited must not be judged (or limited)
        # by the memory of the job it waited for. Its own process is in its estimate.
        status = context.memory_status(exclude=frozenset({pid}))
        if estimate is not None:
            check_admission(kind, budget_mb=status.budget_mb, used_mb=status.used_mb, **estimate)
        registry.start(job_id, pid)
        beat.start()
        limit = job_limit_mb(context, status.used_mb)

        def stop_over_limit(rss_mb: float) -> None:
            log.warning("job %s over its %.0f MB limit (%.0f MB): stopping", job_id, limit, rss_mb)
            registry.heartbeat(job_id, rss_mb=rss_mb)
            registry.fail(job_id, over_limit_message(limit))
            os._exit(137)  # like the OOM killer, but with our message already recorded

        def record_rss(rss_mb: float) -> None:
            beat.rss_mb = rss_mb

        watchdog = MemoryWatchdog(limit, on_sample=record_rss, on_exceed=stop_over_limit).start()
        result = work(progress)
    except JobRejected as err:
        _record_peak(registry, job_id, watchdog)
        registry.fail(job_id, str(err))
        rejected = JobRejected(str(err))
        rejected.job_id = job_id
        raise rejected from None
    except DataInsightsError as err:
        _record_peak(registry, job_id, watchdog)
        registry.fail(job_id, str(err))
        raise JobFailed(str(err), job_id) from None
    except MemoryError:
        _record_peak(registry, job_id, watchdog)
        registry.fail(job_id, OUT_OF_MEMORY)
        raise JobFailed(OUT_OF_MEMORY, job_id) from None
    except Exception:
        log.exception("job %s (%s) failed", job_id, kind.name)
        _record_peak(registry, job_id, watchdog)
        registry.fail(job_id, UNEXPECTED)
        raise JobFailed(UNEXPECTED, job_id) from None
    finally:
        if watchdog is not None:
            watchdog.stop()
        beat.stop()
        slots.release(job_id)
    _record_peak(registry, job_id, watchdog)
    registry.finish(job_id, result_keys=written(), result=result)
    registry.prune(keep_per_session=50)
    return {**result, "job_id": job_id}


def _record_peak(registry, job_id: str, watchdog: MemoryWatchdog | None) -> None:
    """Store the job's peak RSS while the record still accepts updates."""
    if watchdog is not None:
        registry.heartbeat(job_id, rss_mb=watchdog.peak_mb)
