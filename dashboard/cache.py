"""A diskcache ``Cache`` whose operations never overlap a fork of this process.

Dash's diskcache manager forks a web worker for each background callback, and the forked
process writes Dash's progress and result into Dash's cache. SQLite keeps per-process lock
bookkeeping, which a child forked mid-operation inherits without the locks themselves. So
every operation of these caches runs under one process-wide lock that ``os.fork`` also
takes. This narrows the hazard for Dash's cache; it does not remove it (the bookkeeping of
an open database is still inherited), which is why our own databases are only ever used by
the job in a fresh interpreter (``callbacks.jobproc``), never by a forked process.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading

import diskcache

_GUARD = threading.RLock()


def _before_fork() -> None:
    _GUARD.acquire()


def _after_fork() -> None:
    _GUARD.release()


def _after_fork_in_child() -> None:
    global _GUARD  # noqa: PLW0603 - a fresh lock: other threads did not survive the fork
    _GUARD = threading.RLock()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork_in_child
)

_GUARDED = (
    "get",
    "set",
    "delete",
    "add",
    "pop",
    "incr",
    "decr",
    "touch",
    "read",
    "clear",
    "expire",
    "evict",
    "cull",
    "check",
    "volume",
    "stats",
    "push",
    "pull",
    "peek",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__contains__",
    "__len__",
)


def _guarded(name: str):
    method = getattr(diskcache.Cache, name)

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        with _GUARD:
            return method(self, *args, **kwargs)

    return call


class Cache(diskcache.Cache):
    """``diskcache.Cache`` whose operations never overlap a fork of this process."""

    @contextlib.contextmanager
    def transact(self, retry: bool = False):
        """Run a transaction while holding the process-wide fork guard."""
        with _GUARD, super().transact(retry=retry):
            yield

    def iterkeys(self, reverse: bool = False):
        """Return the keys (materialized, so the guard is not held by a generator)."""
        with _GUARD:
            return iter(list(super().iterkeys(reverse=reverse)))


for _name in _GUARDED:
    setattr(Cache, _name, _guarded(_name))
