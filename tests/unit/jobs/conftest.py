"""Fixtures shared by the job-runtime unit tests: a clock the test moves by hand."""

from __future__ import annotations

import pytest


class FakeClock:
    """A ``time.time`` stand-in; tests advance ``now`` themselves."""

    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
