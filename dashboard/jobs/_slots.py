"""A global cap on concurrent jobs that a SIGKILLed job cannot keep.

Dash cancels a background job with SIGKILL, so no ``finally`` runs in it and a plain lock
held by a cancelled job would stay held forever. Here each slot holder is recorded with its
pid (and the pid's start time, to survive pid reuse) and a lease: a slot is reclaimed as soon
as its holder's process is gone, or when the lease runs out without a renewal. Waiters are
served first in, first out. The state lives in a diskcache folder shared by every web worker
and job process, and every change runs inside one diskcache transaction.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from dashboard.cache import Cache

log = logging.getLogger(__name__)

_STATE_KEY = "slots:state"
# A pid's start time read twice can differ by rounding; a reused pid starts much later.
_START_TIME_TOLERANCE_S = 1.0
HOST = socket.gethostname()


def process_start_time(pid: int) -> float | None:
    """Return the start time of process ``pid`` (epoch seconds), or None when it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def process_alive(pid: int | None, started: float | None = None) -> bool:
    """Tell whether process ``pid`` still runs.

    Args:
        pid: Process id on this machine; None counts as gone.
        started: Start time recorded with the pid (see ``process_start_time``). When given,
            a process with the same pid but another start time (a reused pid) counts as gone.

    Returns:
        False when the process does not exist, is a zombie (killed or exited but not yet
        waited for by its parent) or is another process that reuses the pid.
    """
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if started is not None and abs(proc.create_time() - started) > _START_TIME_TOLERANCE_S:
            return False
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists but belongs to someone else; assume alive
    return True


def _owner_alive(entry: dict[str, Any]) -> bool:
    # A pid only means something on the machine that recorded it.
    if entry.get("host") != HOST:
        return True
    return process_alive(entry["pid"], entry.get("started"))


class JobSlots:
    """At most ``capacity`` jobs hold a slot at once, across all processes sharing a folder.

    Args:
        directory: diskcache folder shared by every web worker and job process. It may be
            the job registry's folder (keys do not collide), but not Dash's own cache.
        capacity: Number of jobs that may run at once (the global cap).
        lease_s: A holder that neither renews nor releases within this time loses its slot,
            and a waiter that stops polling for this long loses its place.
        clock: Time source for leases (injectable for tests).
    """

    def __init__(
        self,
        directory: Path,
        *,
        capacity: int = 1,
        lease_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.directory = Path(directory)
        self.capacity = capacity
        self.lease_s = lease_s
        self._clock = clock
        self._cache = Cache(str(self.directory), eviction_policy="none")

    def try_acquire(self, job_id: str, pid: int) -> bool:
        """Take a free slot for ``job_id`` held by process ``pid``, without waiting.

        Only the oldest waiters may take free slots: a job that is not enqueued gets one only
        when no waiter is ahead of it. Dead or expired holders are reclaimed first. Calling
        it again while holding renews the lease.

        Returns:
            True when ``job_id`` holds a slot after the call.
        """
        return self._attempt(job_id, pid, join_queue=False) == 0

    def enqueue(self, job_id: str, pid: int | None = None) -> None:
        """Register ``job_id`` as a waiter at the end of the queue (no-op when already in it).

        Args:
            job_id: The waiting job.
            pid: Process that waits (default: this process); a waiter whose process is
                gone is dropped from the queue.
        """
        pid = os.getpid() if pid is None else pid
        started = process_start_time(pid)
        with self._cache.transact(retry=True):
            state = self._load()
            if job_id in state["holders"] or _waiter_index(state, job_id) is not None:
                return
            state["waiters"].append(self._entry(job_id, pid, started, self._clock()))
            self._save(state)

    def position(self, job_id: str) -> int:
        """Return the 1-based place of ``job_id`` among waiters; 0 when holding or unknown."""
        index = _waiter_index(self._load(), job_id)
        return 0 if index is None else index + 1

    def acquire(
        self,
        job_id: str,
        pid: int,
        *,
        poll_s: float = 0.1,
        timeout_s: float | None = None,
        on_wait: Callable[[int], None] | None = None,
    ) -> bool:
        """Enqueue ``job_id`` and wait until it holds a slot.

        Args:
            job_id: The job asking for a slot.
            pid: Its process (the one that will renew and release).
            poll_s: Time between attempts.
            timeout_s: Give up after this long (None waits forever).
            on_wait: Called after every failed attempt with the current 1-based position,
                e.g. to heartbeat the job registry and show "queued, position N".

        Returns:
            True once the slot is held; False on timeout (the job has then left the queue).
            If ``on_wait`` raises, the job leaves the queue and the error propagates.
        """
        self.enqueue(job_id, pid)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        acquired = False
        try:
            while True:
                position = self._attempt(job_id, pid, join_queue=True)
                if position == 0:
                    acquired = True
                    return True
                if on_wait is not None:
                    on_wait(position)
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                time.sleep(poll_s)
        finally:
            if not acquired:
                self._drop(job_id)

    def renew(self, job_id: str) -> bool:
        """Extend the lease of ``job_id`` by ``lease_s``; call it as often as the job heartbeats.

        Returns:
            False when ``job_id`` does not hold a slot (any more): its lease ran out and the
            slot may have gone to another job.
        """
        with self._cache.transact(retry=True):
            state = self._load()
            holder = state["holders"].get(job_id)
            if holder is None:
                log.warning("Job %s renewed a slot it does not hold", job_id)
                return False
            holder["expires"] = self._clock() + self.lease_s
            self._save(state)
        return True

    def release(self, job_id: str) -> None:
        """Give the slot of ``job_id`` back, or leave the queue; unknown ids are ignored."""
        if not self._drop(job_id):
            log.debug("Job %s released a slot it did not hold", job_id)

    def holders(self) -> list[tuple[str, int, float]]:
        """Return ``(job_id, pid, expires)`` of every holder, as recorded (nothing reclaimed)."""
        holders = self._load()["holders"]
        return sorted(
            ((job_id, h["pid"], h["expires"]) for job_id, h in holders.items()),
            key=lambda item: item[2],
        )

    def reclaim(self) -> list[str]:
        """Drop holders whose process is gone or whose lease expired, and dead waiters.

        Returns:
            The job ids of the holders that lost their slot.
        """
        with self._cache.transact(retry=True):
            state = self._load()
            dropped = self._reclaim(state, self._clock())
            self._save(state)
        return dropped

    def close(self) -> None:
        """Close the diskcache handle of this process."""
        self._cache.close()

    def _attempt(self, job_id: str, pid: int, *, join_queue: bool) -> int:
        started = process_start_time(pid)
        now = self._clock()
        with self._cache.transact(retry=True):
            state = self._load()
            self._reclaim(state, now)
            holders, waiters = state["holders"], state["waiters"]
            if job_id in holders:
                holders[job_id]["expires"] = now + self.lease_s
                self._save(state)
                return 0
            index = _waiter_index(state, job_id)
            if index is None:
                index = len(waiters)
                if join_queue:  # e.g. dropped after a long stall: queue again at the end
                    waiters.append(self._entry(job_id, pid, started, now))
            else:
                waiters[index]["seen"] = now
            if index < self.capacity - len(holders):
                if index < len(waiters):
                    del waiters[index]
                holders[job_id] = self._entry(job_id, pid, started, now)
                holders[job_id]["expires"] = now + self.lease_s
                log.info("Job %s took a slot (%d of %d)", job_id, len(holders), self.capacity)
                self._save(state)
                return 0
            self._save(state)
            return index + 1

    def _reclaim(self, state: dict[str, Any], now: float) -> list[str]:
        dropped = []
        for job_id, holder in list(state["holders"].items()):
            if not _owner_alive(holder):
                log.warning(
                    "Reclaimed the slot of job %s: process %s is gone", job_id, holder["pid"]
                )
            elif holder["expires"] < now:
                log.warning("Reclaimed the slot of job %s: its lease expired", job_id)
            else:
                continue
            del state["holders"][job_id]
            dropped.append(job_id)
        waiters = []
        for waiter in state["waiters"]:
            if _owner_alive(waiter) and now - waiter["seen"] <= self.lease_s:
                waiters.append(waiter)
            else:
                log.info("Dropped waiting job %s from the slot queue", waiter["job_id"])
        state["waiters"] = waiters
        return dropped

    def _drop(self, job_id: str) -> bool:
        with self._cache.transact(retry=True):
            state = self._load()
            held = state["holders"].pop(job_id, None) is not None
            index = _waiter_index(state, job_id)
            if index is not None:
                del state["waiters"][index]
            if held or index is not None:
                self._save(state)
        return held or index is not None

    def _entry(self, job_id: str, pid: int, started: float | None, now: float) -> dict[str, Any]:
        return {"job_id": job_id, "pid": pid, "started": started, "host": HOST, "seen": now}

    def _load(self) -> dict[str, Any]:
        return self._cache.get(_STATE_KEY) or {"holders": {}, "waiters": []}

    def _save(self, state: dict[str, Any]) -> None:
        self._cache.set(_STATE_KEY, state)


def _waiter_index(state: dict[str, Any], job_id: str) -> int | None:
    for index, waiter in enumerate(state["waiters"]):
        if waiter["job_id"] == job_id:
            return index
    return None
