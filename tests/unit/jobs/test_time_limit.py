"""The wall-time limit of a job: per-kind defaults, the setting, the banner, the stop.

A job over its limit ends its own process (``os._exit``), so the stop is tested through
``launch``, which runs the job in a fresh interpreter as the app does.
"""

import time

import pytest

from dashboard.jobs import SELFTEST, launch
from dashboard.jobs._execute import status_line
from dashboard.jobs._registry import JobState
from dashboard.jobs._runner import duration_text, over_time_message, time_left_note
from dashboard.kinds import JOB_KINDS
from dashboard.ml.job import FIXED_TIME_S, ML


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (44.6, "45 s"),
        (119, "119 s"),
        (600, "10 min"),
        (5400, "90 min"),
        (9000, "2 h 30 min"),
    ],
)
def test_limit001_durations_read_as_a_person_says_them(seconds, text):
    assert duration_text(seconds) == text


def test_limit002_the_banner_names_the_time_left_only_near_the_end():
    assert time_left_note(10, 600) == ""  # far from the end
    assert time_left_note(470, 600) == ""  # 130 s left of 600: more than a fifth
    assert time_left_note(490, 600) == " — stops in 110 s (time limit)"
    assert time_left_note(40, 60) == " — stops in 20 s (time limit)"  # 30 s floor
    assert time_left_note(40, None) == ""


def test_limit003_every_kind_has_a_limit_and_the_setting_replaces_it():
    for kind in (*JOB_KINDS, SELFTEST):
        assert kind.time_limit_for({}) > 0, kind.name
        assert kind.time_limit_for({}, setting_s=7) == 7.0
    assert SELFTEST.time_limit_for({"steps": 3}) == 600.0


def test_limit004_ml_limit_is_its_models_budgets_plus_a_fixed_part():
    request = {"models": ["Ridge", "Lasso", "Random Forest"], "time_budget_s": 30}
    assert ML.time_limit_for(request) == 3 * 30 + FIXED_TIME_S
    # no budget given: the default 60 s a model; nonsense budgets are clamped, not trusted
    assert ML.time_limit_for({"models": ["Ridge"]}) == 60 + FIXED_TIME_S
    assert ML.time_limit_for({"models": ["Ridge"], "time_budget_s": "x"}) == 60 + FIXED_TIME_S
    assert ML.time_limit_for({"models": ["Ridge"], "time_budget_s": 10**9}) == 3600 + 180


def test_limit005_message_says_what_to_change():
    message = over_time_message(600, "Try a smaller sample or fewer columns.")
    assert message == (
        "This job ran longer than its time limit of 10 min and was stopped. "
        "Try a smaller sample or fewer columns. Your data and earlier results are safe."
    )


def test_limit006_job_over_its_limit_fails_with_the_message_and_frees_the_slot(make_app):
    services = make_app(
        enable_test_jobs=True, job_memory_limit_mb=100_000, job_time_limit_s=2
    ).services
    session = services.signer.new()
    shown = []
    started = time.monotonic()
    result = launch(
        services, session, {"kind": "selftest", "steps": 100, "step_s": 0.1}, shown.append
    )
    took = time.monotonic() - started

    assert result["ok"] is False
    assert result["message"] == (
        "This job ran longer than its time limit of 2 s and was stopped. "
        "Try a smaller test job. Your data and earlier results are safe."
    )
    assert took < 10
    record = services.jobs.latest(services.signer.verify(session))
    assert record.state is JobState.FAILED and record.error == result["message"]
    assert services.slots.holders() == []
    # the banner said how long was left (the whole limit is within the last 30 s)
    assert any("(time limit)" in line for _, _, line in shown), shown
    # the next job runs at once
    again = launch(services, session, {"kind": "selftest", "steps": 2, "step_s": 0})
    assert again["ok"] is True, again


def test_limit007_the_shell_status_line_counts_down_near_the_limit(services, session):
    job = services.jobs.create(services.signer.verify(session), "selftest", "Self-test (3 steps)")
    services.jobs.start(job.job_id, pid=0)
    services.jobs.heartbeat(
        job.job_id, progress={"step": "Step 2 of 3", "percent": 50, "limit_s": 20}
    )
    line = status_line(services.jobs.get(job.job_id))
    assert line.startswith("Self-test (3 steps) — Step 2 of 3 — ")
    assert line.endswith("(time limit)") and "stops in" in line
