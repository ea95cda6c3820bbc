"""The deterministic self-test job: progress, hold and release, parameter checks."""

import threading
import time

import pytest

from dashboard.errors import InvalidParameter
from dashboard.jobs._selftest import run_selftest, set_hold


class Recorder:
    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, step, done, total):
        with self.lock:
            self.calls.append((step, done, total))

    def steps(self):
        with self.lock:
            return [step for step, _, _ in self.calls]


def test_selftest001_reports_every_step_then_finished():
    progress = Recorder()
    result = run_selftest(steps=3, step_s=0, progress=progress)
    assert result == {"steps": 3, "allocated_mb": 0}
    assert progress.calls == [
        ("Step 1 of 3", 0, 3),
        ("Step 2 of 3", 1, 3),
        ("Step 3 of 3", 2, 3),
        ("Finished", 3, 3),
    ]


def test_selftest002_allocates_at_every_step():
    result = run_selftest(steps=2, step_s=0, allocate_mb=1, progress=Recorder())
    assert result == {"steps": 2, "allocated_mb": 2}


def test_selftest003_step_duration_is_respected():
    started = time.monotonic()
    run_selftest(steps=2, step_s=0.05, progress=Recorder())
    assert time.monotonic() - started >= 0.1


def test_selftest004_hold_stops_it_mid_run_until_released(tmp_path):
    hold_dir = tmp_path / "selftest"
    set_hold(hold_dir, True)
    progress = Recorder()
    outcome = {}
    worker = threading.Thread(
        target=lambda: outcome.update(
            result=run_selftest(steps=2, step_s=0, hold_dir=hold_dir, progress=progress)
        ),
        daemon=True,
    )
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while not progress.steps() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        assert worker.is_alive()  # held at its first step
        assert progress.steps() == ["Step 1 of 2"]
    finally:
        set_hold(hold_dir, False)
    worker.join(5)
    assert not worker.is_alive()
    assert outcome["result"] == {"steps": 2, "allocated_mb": 0}
    assert progress.steps() == ["Step 1 of 2", "Step 2 of 2", "Finished"]


def test_selftest005_hold_folder_without_a_hold_runs_through(tmp_path):
    set_hold(tmp_path / "selftest", False)  # releasing when nothing is held is fine
    result = run_selftest(steps=1, step_s=0, hold_dir=tmp_path / "selftest", progress=Recorder())
    assert result["steps"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"steps": 0, "step_s": 0},
        {"steps": 1001, "step_s": 0},
        {"steps": 1, "step_s": -0.1},
        {"steps": 1, "step_s": 61},
        {"steps": 1, "step_s": 0, "allocate_mb": -1},
        {"steps": 1, "step_s": 0, "allocate_mb": 100_001},
    ],
)
def test_selftest006_invalid_parameters_are_refused_before_any_step(params):
    progress = Recorder()
    with pytest.raises(InvalidParameter) as caught:
        run_selftest(progress=progress, **params)
    assert str(caught.value) == "The self-test needs 1–1000 steps of 0–60 s."
    assert progress.calls == []


def test_selftest007_bounds_are_accepted():
    assert run_selftest(steps=1, step_s=0, progress=Recorder())["steps"] == 1
    assert run_selftest(steps=1000, step_s=0, progress=Recorder())["steps"] == 1000
