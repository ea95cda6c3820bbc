"""One runner for every background job: registry, slot, memory limit, heartbeat, progress.

The job body is a plain function ``work(progress) -> result`` from ``dashboard``. Inside the
job process the runner:

1. registers the job in the shared registry (one active job per session, else refused);
2. checks admission: the job's memory estimate against the free headroom of the budget;
3. waits for a global slot (``DI_MAX_CONCURRENT_JOBS``), showing "Queued, position N";
4. runs the body under a memory watchdog (the job's limit), a wall-time limit and a
   heartbeat thread;
5. turns any failure into a message written for the user, and records the outcome with a
   small result, so a page that reloaded meanwhile can still pick it up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import psutil

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


def duration_text(seconds: float) -> str:
    """Return ``seconds`` for a person: "45 s", "10 min", "1 h 30 min"."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def over_time_message(limit_s: float, advice: str) -> str:
    """Return the message of a job stopped by its wall-time limit."""
    return (
        f"This job ran longer than its time limit of {duration_text(limit_s)} and was stopped. "
        f"{advice} Your data and earlier results are safe."
    )


def time_left_note(elapsed_s: float, limit_s: float | None) -> str:
    """Return " — stops in 40 s (time limit)" near the end of the limit, else ""."""
    if not limit_s:
        return ""
    left = limit_s - elapsed_s
    if left > max(30.0, 0.2 * limit_s):
        return ""
    return f" — stops in {duration_text(left)} (time limit)"


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


class _Deadline(threading.Thread):
    """Calls ``on_expire`` once, ``limit_s`` after it starts, unless stopped first."""

    def __init__(self, limit_s: float, on_expire: Callable[[], None]):
        super().__init__(daemon=True, name="job-deadline")
        self._limit, self._on_expire = limit_s, on_expire
        self._stop_event = threading.Event()

    def run(self) -> None:
        if not self._stop_event.wait(self._limit):
            self._on_expire()

    def stop(self) -> None:
        self._stop_event.set()


class _Progress:
    """Turns ``progress(step, done, total)`` into registry snapshots and Dash progress.

    A job may pass ``summary=`` to replace its banner's first part while it runs (the ML
    job shows "Training Gradient Boosting — 5 of 10" rather than a fixed summary). Once the
    job runs, every snapshot carries its time limit (``limit_s``), so the banner can say how
    long is left when little is.
    """

    def __init__(self, registry, job_id, summary, set_progress, min_interval_s):
        self._registry, self._job_id, self._summary = registry, job_id, summary
        self._set_progress, self._min_interval = set_progress, min_interval_s
        self._last = 0.0
        self._queued_at = 0
        self._limit_s: float | None = None
        self._started = 0.0

    def running(self, limit_s: float) -> None:
        """The job left the queue and runs with this time limit."""
        self._limit_s, self._started = limit_s, time.monotonic()
        self._publish({"done": 0, "total": 0, "percent": 0, "step": "starting"})

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
        if self._limit_s is not None:
            snapshot["limit_s"] = self._limit_s
        self._registry.heartbeat(self._job_id, progress=snapshot)
        if self._set_progress is not None:
            pct = snapshot["percent"]
            summary = snapshot.get("summary") or self._summary
            left = time_left_note(time.monotonic() - self._started, self._limit_s)
            line = f"{summary} — {snapshot['step']}{left}"
            self._set_progress((pct, f"{pct} %" if pct else "", line))


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
    time_limit_s: float | None = None,
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
        time_limit_s: Wall-time limit once the job runs (see ``JobKind.time_limit_for``);
            None for none. A job over it is recorded as failed with a message saying what
            to change, its slot freed and its process tree (the training process too)
            killed.

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
    deadline = None
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
        if time_limit_s:

            def stop_over_time() -> None:
                log.warning("job %s over its %.0f s time limit: stopping", job_id, time_limit_s)
                registry.heartbeat(job_id, rss_mb=watchdog.peak_mb)
                registry.fail(job_id, over_time_message(time_limit_s, kind.advice))
                slots.release(job_id)
                _kill_children()
                os._exit(124)  # like timeout(1); the message is already recorded

            deadline = _Deadline(time_limit_s, stop_over_time)
            deadline.start()
            progress.running(time_limit_s)
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
        if deadline is not None:
            deadline.stop()
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


def _kill_children() -> None:
    """SIGKILL every process this one started (the ML training process, a CSV reader…)."""
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass
