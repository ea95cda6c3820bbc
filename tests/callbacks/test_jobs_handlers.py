"""Job handlers in-process: execute, reconcile (the lock's truth), outcome, cancel, request."""

import multiprocessing
import os
import signal
import subprocess
import time

import dash_bootstrap_components as dbc
import pytest
from dash import no_update

from callbacks import jobs
from callbacks.jobs import (
    BUSY,
    FAST_POLL_MS,
    SLOW_POLL_MS,
    reconcile,
    request_job,
)
from components.shell import BANNER_HIDDEN, BANNER_SHOWN
from dashboard.errors import AccessDenied
from dashboard.jobs import CANCELLED, cancel_active, execute, outcome
from dashboard.jobs._registry import STALE_JOB_MESSAGE, JobState
from dashboard.jobs._slots import process_alive

FORK = multiprocessing.get_context("fork")
INVALID_SESSION = "Your session is not valid any more. Reload the page to start a new one."
IDLE = (False, BANNER_HIDDEN, "", 0, "", True, None, SLOW_POLL_MS)


def running_job(services, session, pid, kind="selftest", summary="Training Random Forest"):
    record = services.jobs.create(session, kind, summary)
    services.jobs.start(record.job_id, pid)
    return record


def selftest(**params):
    return {"kind": "selftest", "steps": 2, "step_s": 0, **params}


# --- request_job --------------------------------------------------------------------------


def test_cbjobs001_request_while_locked_says_busy():
    request, message = request_job(True, {"kind": "selftest"})
    assert request is no_update
    assert isinstance(message, dbc.Alert) and message.color == "warning"
    assert message.children == BUSY


def test_cbjobs002_request_when_free_is_stamped_with_the_time():
    before = time.time()
    request, message = request_job(False, {"kind": "selftest", "steps": 3})
    assert message == ""
    assert request["kind"] == "selftest" and request["steps"] == 3
    assert before <= request["t"] <= time.time()


# --- execute ------------------------------------------------------------------------------


def test_cbjobs003_selftest_runs_and_names_the_session(services, session):
    shown = []
    result = execute(services, session, selftest(), shown.append)

    assert result["ok"] is True and result["kind"] == "selftest"
    assert result["message"] == f"Self-test finished for session …{session[-6:]}."
    assert result["steps"] == 2
    record = services.jobs.get(result["job_id"])
    assert record.state is JobState.DONE and record.session == session
    assert shown[0] == (0, "", "Self-test (2 steps) — starting")
    assert shown[-1] == (100, "100 %", "Self-test (2 steps) — Finished")


def test_cbjobs004_two_sessions_get_their_own_results(services, session):
    other = services.signer.new()
    first = execute(services, session, selftest())
    second = execute(services, other, selftest())
    assert first["job_id"] != second["job_id"]
    assert session[-6:] in first["message"] and other[-6:] in second["message"]
    assert services.jobs.latest(other).job_id == second["job_id"]


def test_cbjobs005_unknown_kind_is_refused_with_a_message(services, session):
    result = execute(services, session, {"kind": "nope"})
    assert result["ok"] is False
    assert result["message"] == "Unknown job kind 'nope'."
    assert result["job_id"] is None
    assert services.jobs.history(session) == []  # nothing was registered


def test_cbjobs006_selftest_kind_missing_without_the_setting(make_app):
    services = make_app().services  # enable_test_jobs off
    result = execute(services, services.signer.new(), selftest())
    assert result["ok"] is False and "Unknown job kind 'selftest'" in result["message"]


def test_cbjobs007_invalid_session_is_refused(services):
    result = execute(services, "forged.session", selftest())
    assert result["ok"] is False
    assert result["message"] == INVALID_SESSION
    assert result["job_id"] is None


def test_cbjobs008_invalid_parameters_fail_the_job_with_their_message(services, session):
    result = execute(services, session, selftest(steps=0))
    assert result["ok"] is False
    assert result["message"] == "The self-test needs 1–1000 steps of 0–60 s."
    record = services.jobs.get(result["job_id"])
    assert record.state is JobState.FAILED and record.error == result["message"]


def test_cbjobs009_oversized_selftest_is_refused_with_advice(services, session):
    result = execute(services, session, selftest(estimate_mb=50_000))
    assert result["ok"] is False
    assert "needs about 50,150 MB" in result["message"]


def test_cbjobs010_selftest_with_a_small_estimate_runs(services, session):
    result = execute(services, session, selftest(estimate_mb=1))
    assert result["ok"] is True, result["message"]


def test_cbjobs011_busy_session_gets_the_busy_message(services, session, sleeper):
    running_job(services, session, sleeper.pid, kind="ingest")
    result = execute(services, session, selftest())
    assert result["ok"] is False
    assert "Another analysis is still running" in result["message"]


def test_cbjobs012_busy_rejection_does_not_hide_the_running_jobs_outcome(
    services, session, sleeper
):
    running = running_job(services, session, sleeper.pid, kind="selftest")
    rejected = execute(services, session, selftest())
    assert rejected["ok"] is False

    services.jobs.finish(running.job_id, result={"message": "Done!"})
    # the browser stores the rejected result's job_id as "seen" (show_result)
    result = reconcile(services, session, rejected["job_id"], None)[6]
    assert result is not None and result["job_id"] == running.job_id


# --- reconcile ----------------------------------------------------------------------------


def test_cbjobs013_no_session_is_unlocked_and_idle(services):
    assert reconcile(services, None, None, None) == IDLE
    assert reconcile(services, "forged", None, None) == IDLE


def test_cbjobs014_session_without_jobs_is_idle(services, session):
    assert reconcile(services, session, None, None) == IDLE


def test_cbjobs015_active_job_locks_and_shows_progress(services, session, sleeper):
    job = running_job(services, session, sleeper.pid)
    services.jobs.heartbeat(
        job.job_id, progress={"done": 4, "total": 10, "step": "4 of 10", "percent": 40}
    )

    locked, banner, status, pct, label, cancel_off, result, poll = reconcile(
        services, session, None, None
    )
    assert locked is True and banner == BANNER_SHOWN
    assert status.startswith("Training Random Forest — 4 of 10 — ")
    assert status.endswith(" s")
    assert (pct, label) == (40, "40 %")
    assert cancel_off is False  # Cancel is enabled
    assert result is None
    assert poll == FAST_POLL_MS < SLOW_POLL_MS


def test_cbjobs016_reload_reattaches_whatever_the_browser_remembers(services, session, sleeper):
    running_job(services, session, sleeper.pid)
    # a reloaded page has no request and an old "seen": still locked
    state = reconcile(services, session, "some-old-job", {"kind": "selftest", "t": 1.0})
    assert state[0] is True and state[1] == BANNER_SHOWN


def test_cbjobs017_queued_job_locks_without_percent(services, session):
    services.jobs.create(session, "selftest", "Self-test (2 steps)")
    locked, banner, status, pct, label, *_ = reconcile(services, session, None, None)
    assert locked is True and banner == BANNER_SHOWN
    assert status == "Self-test (2 steps) — starting — 0 s"
    assert (pct, label) == (0, "")


def test_cbjobs018_another_sessions_job_does_not_lock(services, session, sleeper):
    running_job(services, services.signer.new(), sleeper.pid)
    assert reconcile(services, session, None, None) == IDLE


def test_cbjobs019_dead_job_is_reaped_and_unlocks_with_a_message(services, session):
    proc = FORK.Process(target=time.sleep, args=(30,), daemon=True)
    proc.start()
    job = running_job(services, session, proc.pid)
    assert reconcile(services, session, None, None)[0] is True

    os.kill(proc.pid, signal.SIGKILL)
    proc.join()

    locked, banner, status, pct, label, cancel_off, result, poll = reconcile(
        services, session, None, None
    )
    assert (locked, banner, status, cancel_off, poll) == (
        False,
        BANNER_HIDDEN,
        "",
        True,
        SLOW_POLL_MS,
    )
    assert result["ok"] is False and result["job_id"] == job.job_id
    assert "stopped unexpectedly" in result["message"]
    assert result["message"] == STALE_JOB_MESSAGE
    assert services.jobs.get(job.job_id).state is JobState.FAILED


def test_cbjobs020_just_requested_job_keeps_the_lock(services, session):
    request = {"kind": "selftest", "t": time.time()}
    state = reconcile(services, session, None, request)
    assert all(value is no_update for value in state[:6])
    assert state[6] is None and state[7] == FAST_POLL_MS


def test_cbjobs021_request_newer_than_last_job_keeps_the_lock(services, session):
    earlier = execute(services, session, selftest())
    request = {"kind": "selftest", "t": time.time() + 0.001}
    state = reconcile(services, session, None, request)
    assert state[0] is no_update
    assert state[6] is None  # the earlier job's outcome is not shown as the new one's
    assert earlier["ok"]


def test_cbjobs022_request_that_never_registered_unlocks_after_the_grace(services, session):
    request = {"kind": "selftest", "t": time.time() - jobs.START_GRACE_S - 1}
    assert reconcile(services, session, None, request) == IDLE


def test_cbjobs023_finished_job_result_until_seen(services, session):
    done = execute(services, session, selftest())
    request = {"kind": "selftest", "t": done["t"]}

    state = reconcile(services, session, None, request)
    assert state[:6] == IDLE[:6] and state[7] == SLOW_POLL_MS
    result = state[6]
    assert result["ok"] is True and result["job_id"] == done["job_id"]
    assert result["message"] == done["message"]  # shown even if the page reloaded

    assert reconcile(services, session, done["job_id"], request) == IDLE


def test_cbjobs024_only_the_newest_job_is_offered(services, session):
    first = execute(services, session, selftest())
    second = execute(services, session, selftest(steps=0))  # fails
    result = reconcile(services, session, first["job_id"], None)[6]
    assert result["job_id"] == second["job_id"] and result["ok"] is False
    assert reconcile(services, session, second["job_id"], None)[6] is None


# --- outcome ------------------------------------------------------------------------------


def test_cbjobs025_outcome_of_a_done_job_carries_its_result(services, session, sleeper):
    job = running_job(services, session, sleeper.pid, kind="ingest")
    record = services.jobs.finish(
        job.job_id, result={"message": "Loaded sales.csv", "dataset": {"data_key": "k"}}
    )
    assert outcome(record) == {
        "kind": "ingest",
        "job_id": job.job_id,
        "t": job.created,
        "ok": True,
        "message": "Loaded sales.csv",
        "dataset": {"data_key": "k"},
    }


def test_cbjobs026_outcome_of_a_cancelled_job(services, session, sleeper):
    job = running_job(services, session, sleeper.pid)
    result = outcome(services.jobs.cancel(job.job_id))
    assert result["ok"] is False and result["cancelled"] is True
    assert result["message"] == CANCELLED
    assert "already finished is kept" in result["message"]


def test_cbjobs027_outcome_of_a_failed_job(services, session, sleeper):
    job = running_job(services, session, sleeper.pid)
    result = outcome(services.jobs.fail(job.job_id, "Column 'x' does not exist."))
    assert result["ok"] is False and "cancelled" not in result
    assert result["message"] == "Column 'x' does not exist."


# --- cancel_active ------------------------------------------------------------------------


def _parent_of_a_sleeper(queue):
    child = subprocess.Popen(["sleep", "30"])
    queue.put(child.pid)
    time.sleep(30)


def test_cbjobs028_cancel_kills_the_job_and_keeps_partial_results(services, session, sleeper):
    job = running_job(services, session, sleeper.pid)
    services.jobs.add_results(job.job_id, ["partial-key"])

    record = cancel_active(services, session)

    sleeper.join(5)
    assert sleeper.exitcode == -signal.SIGKILL
    assert record.state is JobState.CANCELLED and record.job_id == job.job_id
    assert record.result_keys == ("partial-key",)
    assert services.jobs.active_for(session) is None
    result = reconcile(services, session, None, None)
    assert result[0] is False and result[6]["message"] == CANCELLED


def test_cbjobs029_cancel_kills_the_jobs_children_too(services, session):
    queue = FORK.Queue()
    proc = FORK.Process(target=_parent_of_a_sleeper, args=(queue,))
    proc.start()
    grandchild = queue.get(timeout=5)
    try:
        running_job(services, session, proc.pid)
        cancel_active(services, session)
        proc.join(5)
        assert proc.exitcode == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while process_alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not process_alive(grandchild)
    finally:
        for pid in (grandchild, proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.join(5)


def test_cbjobs030_cancel_without_a_job_does_nothing(services, session):
    assert cancel_active(services, session) is None


def test_cbjobs031_cancel_with_an_invalid_session_is_refused(services):
    with pytest.raises(AccessDenied):
        cancel_active(services, "forged")


def test_cbjobs032_cancel_only_stops_its_own_sessions_job(services, session, sleeper):
    job = running_job(services, services.signer.new(), sleeper.pid)
    assert cancel_active(services, session) is None
    assert sleeper.is_alive()
    assert services.jobs.get(job.job_id).state is JobState.RUNNING
