"""The progress callbacks every analysis takes, so a job can show where it is.

Analyses are plain functions; they report through one of these callables and never know
whether a job banner, a notebook or nothing listens.
"""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(step, done, total)``: a step's name ("Reading the transactions") and how far
#: the whole analysis is (``done`` of ``total``; fractions allowed).
Progress = Callable[[str, float, float], None]

#: ``progress(done, total)`` in bytes: how much of a file a reader has consumed.
ByteProgress = Callable[[int, int], None]


def no_progress(step: str, done: float, total: float) -> None:
    """Ignore a progress report (the default when nobody listens)."""
