"""Overlap producing items with using them: a generator fed by a background thread."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def in_background(items: Iterator[T], *, depth: int = 1, name: str = "prefetch") -> Iterator[T]:
    """Yield ``items`` made by a background thread, at most ``depth`` ahead.

    Arrow releases the GIL while it parses, converts and encodes, so on two cores making the
    next item hides behind using this one. An error in the producer is re-raised here.
    Closing the generator stops the thread, and ``items`` is closed in that thread (where
    its open files live).
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in items:
                slots.put(item)
                if stop.is_set():
                    break
            else:
                slots.put(end)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            slots.put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while (item := slots.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.05)
        thread.join()
