"""Job registry: the server's truth about background jobs, shared by every web worker.

Each job is one record in a diskcache folder that all gunicorn workers and job processes
open. The browser's lock flag is only a copy: a page reload re-attaches to the session's
active job through ``active_for``, and ``reap_stale`` turns a job whose process died (Dash
cancels with SIGKILL, the kernel kills on out-of-memory) into a failed one, so a dead job
never leaves the UI locked. Every change runs in one diskcache transaction.

A state machine with sticky ends::

    QUEUED -> RUNNING -> DONE | FAILED | CANCELLED
    QUEUED -> FAILED | CANCELLED

Calls that do not fit it (start a finished job, heartbeat after a cancel...) are logged and
ignored, never raised: a job killed mid-call must not turn into an error page.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from dashboard.cache import Cache
from dashboard.errors import JobRejected
from dashboard.jobs._slots import HOST, process_alive, process_start_time

log = logging.getLogger(__name__)

STALE_JOB_MESSAGE = (
    "The job stopped unexpectedly (it was killed or ran out of memory). "
    "Your data and earlier results are safe."
)
BUSY_MESSAGE = (
    "Another analysis is still running in this session. Wait for it to finish or cancel it."
)

_ACTIVE_KEY = "jobs:active"  # ids of every queued or running job, in creation order
_SESSIONS_KEY = "jobs:sessions"  # every session with at least one record


class JobState(StrEnum):
    """Where a job is in its life; the last three are final."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """True for done, failed and cancelled: the state never changes again."""
        return self not in (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class JobRecord:
    """One job as stored in the registry.

    Attributes:
        job_id: Unique id (hex).
        session: Session that started it.
        kind: ``ingest``, ``profile``, ``ml``, ``rfm``, ``basket`` or ``test``.
        summary: Its parameters in words, e.g. "Random Forest on data (50,000 rows)".
        state: See ``JobState``.
        progress: Last full snapshot, e.g. ``{"done": 4, "total": 10, "step": "..."}``.
        created, started, finished: Epoch seconds (None until reached).
        pid: The job process, once running.
        heartbeat: Last sign of life (epoch seconds).
        peak_rss_mb: Highest RSS reported by the job process tree.
        error: User-facing message of a failed job.
        result_keys: Store keys of the results written so far (partial ones too).
        result: Small JSON-able outcome of a finished job (keys, counts, a message), so a
            page that reloaded while the job ran can still pick it up.
        creator_pid: Process that created the record; a queued job dies with it.
        host: Machine of ``pid`` and ``creator_pid``; pids are only checked there.
    """

    job_id: str
    session: str
    kind: str
    summary: str
    state: JobState
    progress: dict = field(default_factory=dict)
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    heartbeat: float | None = None
    peak_rss_mb: float = 0.0
    error: str | None = None
    result_keys: tuple[str, ...] = ()
    result: dict | None = None
    creator_pid: int | None = None
    host: str = ""

    @property
    def active(self) -> bool:
        """True while queued or running."""
        return not self.state.terminal

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish; up to now while running; None if it never started."""
        if self.started is None:
            return None
        end = self.finished if self.finished is not None else time.time()
        return max(0.0, end - self.started)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-able values (state as its string, keys as a list)."""
        data = asdict(self)
        data["state"] = self.state.value
        data["result_keys"] = list(self.result_keys)
        return data


def _record(data: dict[str, Any]) -> JobRecord:
    fields = {k: v for k, v in data.items() if k in JobRecord.__dataclass_fields__}
    fields["state"] = JobState(data["state"])
    fields["result_keys"] = tuple(data["result_keys"])
    return JobRecord(**fields)


def _job_key(job_id: str) -> str:
    return f"jobs:job:{job_id}"


def _history_key(session: str) -> str:
    return f"jobs:history:{session}"


def _session_active_key(session: str) -> str:
    return f"jobs:session-active:{session}"


class JobRegistry:
    """Records of background jobs in a diskcache folder shared across processes.

    Args:
        directory: Folder of its own (e.g. ``cache_dir / "jobs"``), not Dash's cache: it is
            opened with eviction disabled, a setting diskcache keeps per folder.
        stale_after_s: A running job whose last heartbeat is older than this is reaped. Job
            processes must heartbeat well within it (about once a second), from a thread so
            that long computations do not delay it.
        clock: Time source (injectable for tests).
    """

    def __init__(
        self,
        directory: Path,
        *,
        stale_after_s: float = 4.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.stale_after_s = stale_after_s
        self._clock = clock
        self._cache = Cache(str(self.directory), eviction_policy="none")

    def create(self, session: str, kind: str, summary: str, *, pid: int | None = None) -> JobRecord:
        """Register a new QUEUED job for ``session``.

        Args:
            session: Owner session.
            kind: Job kind (see ``JobRecord.kind``).
            summary: Parameters in words, shown in the banner and the history.
            pid: Creator process (default: this one). Create the record in the job process
                itself so that a job killed while queued is reaped.

        Raises:
            JobRejected: The session already has a live queued or running job. A stale one
                is marked failed first and does not block.
        """
        now = self._clock()
        creator = os.getpid() if pid is None else pid
        data = {
            "job_id": uuid.uuid4().hex,
            "session": session,
            "kind": kind,
            "summary": summary,
            "state": JobState.QUEUED.value,
            "progress": {},
            "created": now,
            "started": None,
            "finished": None,
            "pid": None,
            "pid_started": None,
            "heartbeat": None,
            "peak_rss_mb": 0.0,
            "error": None,
            "result_keys": [],
            "creator_pid": creator,
            "creator_started": process_start_time(creator),
            "host": HOST,
        }
        with self._cache.transact(retry=True):
            current = self._get(self._cache.get(_session_active_key(session)))
            if current is not None and current["state"] not in _TERMINAL:
                if not self._is_stale(current, now):
                    raise JobRejected(BUSY_MESSAGE)
                self._end(current, JobState.FAILED, now, error=STALE_JOB_MESSAGE)
                self._cache.set(_job_key(current["job_id"]), current)
                log.warning("Job %s was reaped: its process is gone", current["job_id"])
            self._cache.set(_job_key(data["job_id"]), data)
            self._cache.set(_session_active_key(session), data["job_id"])
            self._append(_ACTIVE_KEY, data["job_id"])
            self._append(_history_key(session), data["job_id"])
            if session not in (self._cache.get(_SESSIONS_KEY) or []):
                self._append(_SESSIONS_KEY, session)
        log.info("Job %s (%s) queued for session %s", data["job_id"], kind, session)
        return _record(data)

    def start(self, job_id: str, pid: int) -> JobRecord | None:
        """Mark a queued job RUNNING in process ``pid``; it counts as a first heartbeat."""
        started = process_start_time(pid)

        def apply(data: dict[str, Any], now: float) -> None:
            data.update(state=JobState.RUNNING.value, started=now, heartbeat=now)
            data.update(pid=pid, pid_started=started)

        return self._change(job_id, "start", {JobState.QUEUED}, apply)

    def heartbeat(
        self,
        job_id: str,
        *,
        progress: dict | None = None,
        rss_mb: float | None = None,
    ) -> None:
        """Record a sign of life, optionally with a full progress snapshot and the current RSS.

        Ignored (quietly) once the job is final, e.g. the last beat of a cancelled job.
        """

        def apply(data: dict[str, Any], now: float) -> None:
            data["heartbeat"] = now
            if progress is not None:
                data["progress"] = dict(progress)
            if rss_mb is not None:
                data["peak_rss_mb"] = max(data["peak_rss_mb"], float(rss_mb))

        self._change(job_id, "heartbeat", _ACTIVE, apply, quiet=True)

    def add_results(self, job_id: str, result_keys: Iterable[str]) -> None:
        """Append store keys of results written so far, so a cancelled job still lists them."""

        def apply(data: dict[str, Any], now: float) -> None:
            data["result_keys"] = _merge(data["result_keys"], result_keys)

        self._change(job_id, "add_results", _ACTIVE, apply)

    def finish(
        self, job_id: str, result_keys: Iterable[str] = (), result: dict | None = None
    ) -> JobRecord | None:
        """Mark a running job DONE, adding ``result_keys`` and keeping its small ``result``."""

        def apply(data: dict[str, Any], now: float) -> None:
            data["result_keys"] = _merge(data["result_keys"], result_keys)
            data["result"] = result
            self._end(data, JobState.DONE, now)

        return self._change(job_id, "finish", {JobState.RUNNING}, apply)

    def fail(self, job_id: str, message: str) -> JobRecord | None:
        """Mark a queued or running job FAILED with a user-facing ``message``."""
        return self._change(
            job_id, "fail", _ACTIVE, lambda d, now: self._end(d, JobState.FAILED, now, message)
        )

    def cancel(self, job_id: str) -> JobRecord | None:
        """Mark a queued or running job CANCELLED (stopping its process is the caller's job)."""
        return self._change(
            job_id, "cancel", _ACTIVE, lambda d, now: self._end(d, JobState.CANCELLED, now)
        )

    def get(self, job_id: str) -> JobRecord | None:
        """Return the record of ``job_id``, or None when unknown (or pruned)."""
        data = self._cache.get(_job_key(job_id))
        return None if data is None else _record(data)

    def active_for(self, session: str) -> JobRecord | None:
        """Return the queued or running job of ``session``, if any (there is at most one)."""
        data = self._get(self._cache.get(_session_active_key(session)))
        if data is None or data["state"] in _TERMINAL:
            return None
        return _record(data)

    def running_pids(self) -> list[int]:
        """Return the pids of every queued or running job on this machine.

        For the memory monitor: a queued job already is a live interpreter waiting for its
        slot, so it counts too.
        """
        pids = []
        active = {JobState.QUEUED.value, JobState.RUNNING.value}
        for job_id in self._cache.get(_ACTIVE_KEY) or []:
            data = self._get(job_id)
            pid = data and (data["pid"] or data.get("creator_pid"))
            if pid and data["state"] in active and data["host"] == HOST:
                pids.append(int(pid))
        return pids

    def latest(self, session: str) -> JobRecord | None:
        """Return the newest job of ``session`` (active or not), if any."""
        newest = self.history(session, limit=1)
        return newest[0] if newest else None

    def history(self, session: str, limit: int = 20) -> list[JobRecord]:
        """Return up to ``limit`` jobs of ``session``, newest first."""
        records = []
        for job_id in reversed(self._cache.get(_history_key(session)) or []):
            if len(records) >= limit:
                break
            data = self._get(job_id)
            if data is not None:
                records.append(_record(data))
        return records

    def queue_position(self, job_id: str) -> int:
        """Return the 1-based place of a QUEUED job among all queued jobs by creation; else 0.

        Only the registry's view: when jobs wait for a slot, ``JobSlots.position`` is the
        authoritative place in the line.
        """
        queued = []
        for other_id in self._cache.get(_ACTIVE_KEY) or []:
            data = self._get(other_id)
            if data is not None and data["state"] == JobState.QUEUED.value:
                queued.append((data["created"], other_id))
        ids = [other_id for _, other_id in sorted(queued)]
        return ids.index(job_id) + 1 if job_id in ids else 0

    def reap_stale(self, now: float | None = None) -> list[JobRecord]:
        """Mark FAILED every active job that is dead; return the jobs reaped by this call.

        A running job is dead when its process is gone or a zombie (checked only on the
        machine that runs it) or its heartbeat is older than ``stale_after_s``; a queued job
        when its creator process is gone or its heartbeat (if any) is that old. The error is
        ``STALE_JOB_MESSAGE``. Cheap enough to call on every status poll.
        """
        now = self._clock() if now is None else now
        reaped = []
        with self._cache.transact(retry=True):
            for job_id in list(self._cache.get(_ACTIVE_KEY) or []):
                data = self._get(job_id)
                if data is None or data["state"] in _TERMINAL:
                    self._remove(_ACTIVE_KEY, job_id)
                elif self._is_stale(data, now):
                    self._end(data, JobState.FAILED, now, error=STALE_JOB_MESSAGE)
                    self._cache.set(_job_key(job_id), data)
                    reaped.append(_record(data))
        for record in reaped:
            log.warning("Job %s (%s) was reaped: its process is gone", record.job_id, record.kind)
        return reaped

    def prune(self, keep_per_session: int = 50) -> int:
        """Delete the oldest final records beyond ``keep_per_session`` per session.

        Returns:
            The number of records deleted. Active jobs are never deleted.
        """
        removed = 0
        with self._cache.transact(retry=True):
            for session in self._cache.get(_SESSIONS_KEY) or []:
                ids = self._cache.get(_history_key(session)) or []
                excess = len(ids) - keep_per_session
                kept = []
                for job_id in ids:
                    data = self._get(job_id)
                    if data is None:
                        continue
                    if excess > 0 and data["state"] in _TERMINAL:
                        self._cache.delete(_job_key(job_id))
                        excess -= 1
                        removed += 1
                    else:
                        kept.append(job_id)
                self._cache.set(_history_key(session), kept)
        if removed:
            log.info("Pruned %d old job records", removed)
        return removed

    def close(self) -> None:
        """Close the diskcache handle of this process."""
        self._cache.close()

    # -- internals (call inside a transaction where they write) --------------------------

    def _change(
        self,
        job_id: str,
        action: str,
        allowed: set[JobState],
        apply: Callable[[dict[str, Any], float], None],
        *,
        quiet: bool = False,
    ) -> JobRecord | None:
        now = self._clock()
        with self._cache.transact(retry=True):
            data = self._get(job_id)
            if data is None:
                log.warning("Ignored %s of unknown job %s", action, job_id)
                return None
            state = JobState(data["state"])
            if state not in allowed:
                log.log(
                    logging.DEBUG if quiet else logging.INFO,
                    "Ignored %s of job %s: it is %s",
                    action,
                    job_id,
                    state,
                )
                return _record(data)
            apply(data, now)
            self._cache.set(_job_key(job_id), data)
        if data["state"] != state:
            log.info("Job %s: %s -> %s", job_id, state, data["state"])
        return _record(data)

    def _end(
        self, data: dict[str, Any], state: JobState, now: float, error: str | None = None
    ) -> None:
        data.update(state=state.value, finished=now, error=error)
        self._remove(_ACTIVE_KEY, data["job_id"])
        key = _session_active_key(data["session"])
        if self._cache.get(key) == data["job_id"]:
            self._cache.delete(key)

    def _is_stale(self, data: dict[str, Any], now: float) -> bool:
        local = data["host"] == HOST
        if data["state"] == JobState.RUNNING.value:
            if local and not process_alive(data["pid"], data["pid_started"]):
                return True
        elif local and not process_alive(data["creator_pid"], data["creator_started"]):
            return True
        beat = data["heartbeat"]
        return beat is not None and now - beat > self.stale_after_s

    def _get(self, job_id: str | None) -> dict[str, Any] | None:
        return None if job_id is None else self._cache.get(_job_key(job_id))

    def _append(self, key: str, value: str) -> None:
        self._cache.set(key, [*(self._cache.get(key) or []), value])

    def _remove(self, key: str, value: str) -> None:
        values = self._cache.get(key) or []
        if value in values:
            self._cache.set(key, [v for v in values if v != value])


_ACTIVE = {JobState.QUEUED, JobState.RUNNING}
_TERMINAL = {JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value}


def _merge(existing: Iterable[str], new: Iterable[str]) -> list[str]:
    merged = list(existing)
    for key in [new] if isinstance(new, str) else new:
        if key not in merged:
            merged.append(key)
    return merged
