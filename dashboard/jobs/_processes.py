"""Which processes belong to the app: web workers register here, jobs are in the registry.

Each gunicorn worker knows only its own pid; the memory widget must count all of them, so
every worker writes ``pid -> role`` into a diskcache shared by the workers. Dead pids are
dropped when read.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from dashboard.cache import Cache
from dashboard.jobs._slots import process_alive

_KEY = "web-processes"

#: The kernel's out-of-memory killer picks the process with the highest score first.
OOM_SCORE_FIRST = 1000


def prefer_oom_kill(path: str = "/proc/self/oom_score_adj") -> bool:
    """Make this process (and the processes it starts) the kernel's first choice to kill.

    The job watchdog stops a job over its limit within a tenth of a second, but an
    allocation faster than that could reach the kernel's out-of-memory killer first; with
    this, the kernel takes the job, not a web worker. Raising one's own score needs no
    privilege. Returns False where the file does not exist (not Linux) or cannot be written.
    """
    try:
        with open(path, "w", encoding="ascii") as handle:
            handle.write(str(OOM_SCORE_FIRST))
    except OSError:
        return False
    return True


class ProcessBook:
    """The web processes of the app, shared by every worker through a diskcache folder."""

    def __init__(self, directory: Path):
        self._cache = Cache(str(directory), eviction_policy="none")

    def register(self, pid: int | None = None, role: str = "web") -> None:
        """Record ``pid`` (default: this process) as one of the app's processes."""
        pid = pid or os.getpid()
        with self._cache.transact(retry=True):
            book = self._cache.get(_KEY) or {}
            if book.get(str(pid), {}).get("role") != role:
                book[str(pid)] = {"role": role, "since": time.time()}
                self._cache.set(_KEY, book)

    def live(self) -> dict[int, str]:
        """Return ``{pid: role}`` of registered processes that are still alive."""
        with self._cache.transact(retry=True):
            book = self._cache.get(_KEY) or {}
            alive = {pid: entry for pid, entry in book.items() if process_alive(int(pid))}
            if len(alive) != len(book):
                self._cache.set(_KEY, alive)
        return {int(pid): entry["role"] for pid, entry in alive.items()}

    def gate(self, name: str, every_s: float, now: float | None = None) -> bool:
        """Return True at most once every ``every_s`` seconds across all workers."""
        now = time.time() if now is None else now
        key = f"gate:{name}"
        with self._cache.transact(retry=True):
            last = self._cache.get(key)
            if last is not None and now - last < every_s:
                return False
            self._cache.set(key, now)
        return True
