"""run_job in-process: registry record, progress, failures for the user, slot, admission.

The memory limit is set far above anything these tests use, so the watchdog never fires
(it would ``os._exit`` the test process).
"""

import multiprocessing
import os
import threading
import time

import pytest

from dashboard.errors import DataInsightsError, InvalidParameter, JobRejected
from dashboard.jobs import OUT_OF_MEMORY, SELFTEST, UNEXPECTED, JobFailed, JobKind, run_job
from dashboard.jobs._registry import BUSY_MESSAGE, JobState
from dashboard.jobs._selftest import run_selftest

FORK = multiprocessing.get_context("fork")
TEST_KIND = JobKind("test", lambda request: "Test", lambda *args: {})


def selftest_body(steps=3):
    return lambda progress: run_selftest(steps=steps, step_s=0, progress=progress)


def only_job(services, session):
    history = services.jobs.history(session)
    assert len(history) == 1
    return history[0]


# --- success ------------------------------------------------------------------------------


def test_runner001_success_returns_result_with_job_id_and_records_it(services, session):
    result = run_job(services, session, TEST_KIND, "Self-test (3 steps)", selftest_body(3))

    assert result["steps"] == 3 and result["allocated_mb"] == 0
    record = services.jobs.get(result["job_id"])
    assert record.state is JobState.DONE
    assert record.session == session and record.kind == "test"
    assert record.summary == "Self-test (3 steps)"
    assert record.result == {"steps": 3, "allocated_mb": 0}  # stored for a reloaded page
    assert record.error is None and record.duration_s is not None
    assert record.peak_rss_mb > 0  # the history shows the job's peak memory
    assert services.jobs.active_for(session) is None


def test_runner002_progress_snapshots_reach_registry_and_banner(services, session):
    shown = []
    result = run_job(
        services, session, TEST_KIND, "Self-test", selftest_body(3), shown.append, min_interval_s=0
    )

    progress = services.jobs.get(result["job_id"]).progress
    assert progress == {"done": 3, "total": 3, "step": "Finished", "percent": 100}
    assert [line for _, _, line in shown] == [
        "Self-test — Step 1 of 3",
        "Self-test — Step 2 of 3",
        "Self-test — Step 3 of 3",
        "Self-test — Finished",
    ]
    assert shown[0][:2] == (0, "")  # no "0 %" label at the start
    assert shown[1][:2] == (33, "33 %")
    assert shown[-1][:2] == (100, "100 %")


def test_runner003_throttled_progress_still_shows_first_and_last(services, session):
    shown = []
    run_job(
        services, session, TEST_KIND, "Self-test", selftest_body(5), shown.append, min_interval_s=60
    )
    assert [line for _, _, line in shown] == ["Self-test — Step 1 of 5", "Self-test — Finished"]


def test_runner004_slot_is_released_after_success(services, session):
    run_job(services, session, TEST_KIND, "x", selftest_body(1))
    assert services.slots.holders() == []
    # and the session may run its next job right away
    again = run_job(services, session, TEST_KIND, "y", selftest_body(1))
    assert services.jobs.get(again["job_id"]).state is JobState.DONE


# --- failures -----------------------------------------------------------------------------


def test_runner005_user_error_becomes_job_failed_with_its_message(services, session):
    def body(progress):
        raise InvalidParameter("Column 'price' does not exist.")

    with pytest.raises(JobFailed) as caught:
        run_job(services, session, TEST_KIND, "x", body)

    assert str(caught.value) == "Column 'price' does not exist."
    record = only_job(services, session)
    assert record.state is JobState.FAILED
    assert record.error == "Column 'price' does not exist."
    assert services.slots.holders() == []
    assert services.jobs.active_for(session) is None  # the session is unlocked


def test_runner006_unexpected_error_shows_generic_message_without_internals(services, session):
    def body(progress):
        raise ValueError("internal detail /srv/secret/path.parquet")

    with pytest.raises(JobFailed) as caught:
        run_job(services, session, TEST_KIND, "x", body)

    assert str(caught.value) == UNEXPECTED
    assert "secret" not in str(caught.value)
    record = only_job(services, session)
    assert record.state is JobState.FAILED and record.error == UNEXPECTED
    assert services.slots.holders() == []


def test_runner007_memory_error_says_out_of_memory(services, session):
    def body(progress):
        progress("Allocating", 1, 2)
        raise MemoryError

    with pytest.raises(JobFailed) as caught:
        run_job(services, session, TEST_KIND, "x", body)

    assert str(caught.value) == OUT_OF_MEMORY
    assert "smaller sample" in OUT_OF_MEMORY
    record = only_job(services, session)
    assert record.state is JobState.FAILED and record.error == OUT_OF_MEMORY
    assert record.progress["step"] == "Allocating"  # the last step stays visible
    assert services.slots.holders() == []


def test_runner008_failed_job_still_records_its_peak_memory(services, session):
    def body(progress):
        raise MemoryError

    with pytest.raises(JobFailed):
        run_job(services, session, TEST_KIND, "x", body)
    assert only_job(services, session).peak_rss_mb > 0


# --- refusals -----------------------------------------------------------------------------


def test_runner009_second_job_of_a_session_is_rejected(services, session, sleeper):
    running = services.jobs.create(session, "x", "y")
    services.jobs.start(running.job_id, sleeper.pid)
    ran = []

    with pytest.raises(JobRejected) as caught:
        run_job(services, session, TEST_KIND, "z", lambda progress: ran.append(1) or {})

    assert str(caught.value) == BUSY_MESSAGE
    assert ran == []  # the body never ran
    assert services.jobs.get(running.job_id).state is JobState.RUNNING  # untouched
    assert [r.job_id for r in services.jobs.history(session)] == [running.job_id]
    assert services.slots.holders() == []


def test_runner010_queued_record_of_the_session_also_blocks(services, session):
    services.jobs.create(session, "x", "y")  # queued, created by this (live) process
    with pytest.raises(JobRejected):
        run_job(services, session, TEST_KIND, "z", selftest_body(1))


def test_runner011_other_sessions_are_not_blocked(services, session, sleeper):
    other = services.signer.new()
    running = services.jobs.create(other, "x", "y")
    services.jobs.start(running.job_id, sleeper.pid)
    # the global slot is free (the other job holds none), so this one runs
    result = run_job(services, session, TEST_KIND, "z", selftest_body(1))
    assert services.jobs.get(result["job_id"]).state is JobState.DONE


def test_runner012_oversized_job_is_refused_with_advice(services, session):
    ran = []
    estimate = {"rows": 0, "bytes_memory": 50_000 << 20}

    with pytest.raises(DataInsightsError) as caught:
        run_job(
            services,
            session,
            SELFTEST,
            "Huge",
            lambda progress: ran.append(1) or {},
            estimate=estimate,
        )

    message = str(caught.value)
    assert "needs about 50,150 MB" in message
    assert "are free" in message
    assert "Try a smaller test job." in message
    assert ran == []
    record = only_job(services, session)
    assert record.state is JobState.FAILED and record.error == message
    assert record.started is None  # never ran
    assert services.slots.holders() == []
    assert services.jobs.active_for(session) is None


def test_runner013_oversized_job_raises_job_rejected_as_documented(services, session):
    with pytest.raises(JobRejected):
        run_job(
            services,
            session,
            SELFTEST,
            "Huge",
            selftest_body(1),
            estimate={"rows": 0, "bytes_memory": 50_000 << 20},
        )


def test_runner014_job_that_fits_runs(services, session):
    result = run_job(
        services,
        session,
        SELFTEST,
        "Small",
        selftest_body(1),
        estimate={"rows": 1_000, "dtypes": {"a": "float64"}},
    )
    assert services.jobs.get(result["job_id"]).state is JobState.DONE


def test_runner015_waits_for_a_slot_showing_its_queue_position(services, session, sleeper):
    services.slots.acquire("someone-else", sleeper.pid)  # global cap 1: slot taken
    outcome = {}

    def run():
        try:
            outcome["result"] = run_job(services, session, TEST_KIND, "Waiting", selftest_body(1))
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = err

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        record = None
        while time.monotonic() < deadline:
            record = services.jobs.active_for(session)
            if record and record.progress.get("step") == "Queued, position 1":
                break
            time.sleep(0.02)
        assert record is not None and record.state is JobState.QUEUED
        assert record.progress["step"] == "Queued, position 1"
        assert worker.is_alive()
    finally:
        services.slots.release("someone-else")
    worker.join(5)
    assert not worker.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert services.jobs.get(outcome["result"]["job_id"]).state is JobState.DONE
    assert services.slots.holders() == []


def test_runner016_job_runs_in_this_process_while_it_holds_the_slot(services, session):
    seen = {}

    def body(progress):
        seen["holders"] = services.slots.holders()
        seen["record"] = services.jobs.active_for(session)
        return {}

    result = run_job(services, session, TEST_KIND, "x", body)
    assert [h[:2] for h in seen["holders"]] == [(result["job_id"], os.getpid())]
    assert seen["record"].state is JobState.RUNNING and seen["record"].pid == os.getpid()


def _hold_memory(mb, ready):
    block = bytearray(mb << 20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page: real RSS
    ready.set()
    time.sleep(60)


def test_runner017_queued_job_is_admitted_on_memory_measured_once_its_slot_is_free(
    make_app, session
):
    services = make_app(
        enable_test_jobs=True, job_memory_limit_mb=100_000, memory_budget_mb=1000
    ).services
    ready = FORK.Event()
    hog = FORK.Process(target=_hold_memory, args=(450, ready), daemon=True)
    hog.start()
    assert ready.wait(20)
    other = services.signer.new()
    running = services.jobs.create(other, "selftest", "Hog", pid=hog.pid)
    services.jobs.start(running.job_id, hog.pid)
    services.slots.acquire(running.job_id, hog.pid)
    # while the hog runs: ~450 MB used, 900 - 450 free; this job needs 150 + 400 MB
    assert services.memory_status().used_mb > 400
    estimate = {"rows": 0, "bytes_memory": 400 << 20}
    outcome = {}

    def run():
        try:
            outcome["result"] = run_job(
                services, session, SELFTEST, "After the hog", selftest_body(1), estimate=estimate
            )
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = err

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            record = services.jobs.active_for(session)
            if record and record.progress.get("step") == "Queued, position 1":
                break
            time.sleep(0.02)
        assert services.jobs.active_for(session).state is JobState.QUEUED
    finally:
        hog.kill()
        hog.join()
        services.jobs.cancel(running.job_id)
        services.slots.release(running.job_id)
    worker.join(10)
    assert "error" not in outcome, outcome.get("error")
    assert services.jobs.get(outcome["result"]["job_id"]).state is JobState.DONE


def test_runner018_a_queued_job_process_counts_in_the_memory_gauge(services, session, sleeper):
    record = services.jobs.create(session, "selftest", "Waiting", pid=sleeper.pid)
    assert services.jobs.get(record.job_id).state is JobState.QUEUED
    assert services.app_pids().get(sleeper.pid) == "job"


def test_runner019_result_keys_name_what_the_job_stored_even_before_it_ends(services, session):
    import pandas as pd

    seen = {}

    def body(progress):
        info = services.store.put_frame(session, "partial", pd.DataFrame({"a": [1]}))
        seen["key"] = info.key
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # a Cancel now (no finally) must keep it findable
            record = services.jobs.active_for(session)
            if info.key in record.result_keys:
                seen["while_running"] = True
                break
            time.sleep(0.1)
        return {}

    before = services.store.put_frame(session, "older", pd.DataFrame({"a": [0]}))
    result = run_job(services, session, TEST_KIND, "Stores", body)
    assert seen.get("while_running") is True
    record = services.jobs.get(result["job_id"])
    assert record.result_keys == (seen["key"],)
    assert before.key not in record.result_keys
