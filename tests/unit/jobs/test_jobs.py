import json
import multiprocessing
import os
import signal
import time

import pytest

from dashboard.errors import JobRejected
from dashboard.jobs._registry import STALE_JOB_MESSAGE, JobRegistry, JobState

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def registry(tmp_path, clock):
    reg = JobRegistry(tmp_path / "jobs", clock=clock)
    yield reg
    reg.close()


def test_jobs001_transitions(registry, clock):
    job = registry.create("s1", "ml", "Random Forest on data (1,000 rows)")
    assert job.state is JobState.QUEUED and job.active and job.duration_s is None
    assert registry.active_for("s1") == job

    clock.now += 1
    running = registry.start(job.job_id, os.getpid())
    assert running.state is JobState.RUNNING and running.pid == os.getpid()
    assert running.started == clock.now and running.heartbeat == clock.now

    clock.now += 2
    registry.heartbeat(job.job_id, progress={"done": 1, "total": 3, "step": "RF"}, rss_mb=120)
    registry.heartbeat(job.job_id, progress={"done": 2, "total": 3, "step": "LR"}, rss_mb=80)
    registry.add_results(job.job_id, ["k1"])
    current = registry.get(job.job_id)
    assert current.progress == {"done": 2, "total": 3, "step": "LR"}
    assert current.peak_rss_mb == 120 and current.heartbeat == clock.now

    clock.now += 1
    done = registry.finish(job.job_id, result_keys=("k1", "k2"))
    assert done.state is JobState.DONE and not done.active
    assert done.result_keys == ("k1", "k2") and done.duration_s == 3.0
    assert registry.active_for("s1") is None
    json.dumps(done.to_dict())
    assert done.to_dict()["state"] == "done"


def test_jobs002_terminal_states_are_sticky(registry):
    job = registry.create("s1", "ml", "x")
    registry.start(job.job_id, os.getpid())
    registry.heartbeat(job.job_id, progress={"done": 1, "total": 2, "step": "a"})
    cancelled = registry.cancel(job.job_id)
    assert cancelled.state is JobState.CANCELLED

    registry.heartbeat(job.job_id, progress={"done": 2, "total": 2, "step": "b"}, rss_mb=999)
    registry.start(job.job_id, 123)
    registry.finish(job.job_id, ["late"])
    registry.fail(job.job_id, "boom")
    registry.cancel(job.job_id)
    after = registry.get(job.job_id)
    assert after == cancelled
    assert after.progress == {"done": 1, "total": 2, "step": "a"} and after.result_keys == ()


def test_jobs003_invalid_transitions_are_ignored(registry):
    job = registry.create("s1", "ml", "x")
    assert registry.finish(job.job_id).state is JobState.QUEUED  # not started yet
    registry.start(job.job_id, os.getpid())
    assert registry.start(job.job_id, 1).pid == os.getpid()
    assert registry.start("nope", 1) is None
    registry.heartbeat("nope")
    assert registry.get("nope") is None


def test_jobs004_one_active_job_per_session(registry):
    job = registry.create("s1", "ml", "x")
    with pytest.raises(JobRejected, match="still running"):
        registry.create("s1", "rfm", "y")
    other = registry.create("s2", "rfm", "y")  # other sessions are independent
    registry.fail(job.job_id, "nope")
    again = registry.create("s1", "rfm", "z")
    assert registry.active_for("s1") == again
    assert registry.active_for("s2") == other


def test_jobs005_history_newest_first(registry, clock):
    ids = []
    for i in range(5):
        clock.now += 1
        job = registry.create("s1", "profile", f"run {i}")
        registry.cancel(job.job_id)
        ids.append(job.job_id)
    registry.create("s2", "profile", "elsewhere")
    assert [j.job_id for j in registry.history("s1")] == ids[::-1]
    assert [j.job_id for j in registry.history("s1", limit=2)] == ids[:-3:-1]
    assert registry.history("unknown") == []


def test_jobs006_queue_positions(registry, clock):
    jobs = []
    for session in ("a", "b", "c"):
        clock.now += 1
        jobs.append(registry.create(session, "ml", session))
    assert [registry.queue_position(j.job_id) for j in jobs] == [1, 2, 3]
    registry.start(jobs[0].job_id, os.getpid())
    assert [registry.queue_position(j.job_id) for j in jobs] == [0, 1, 2]
    registry.cancel(jobs[1].job_id)
    assert [registry.queue_position(j.job_id) for j in jobs] == [0, 0, 1]
    assert registry.queue_position("unknown") == 0


def test_jobs007_reap_sigkilled_job(registry, sleeper):
    job = registry.create("s1", "ml", "x")
    registry.start(job.job_id, sleeper.pid)
    assert registry.reap_stale() == []

    os.kill(sleeper.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    reaped = []
    while not reaped and time.monotonic() < deadline:  # the kill lands asynchronously
        reaped = registry.reap_stale()
        time.sleep(0.01)
    assert [r.job_id for r in reaped] == [job.job_id]  # still an unreaped zombie here
    failed = registry.get(job.job_id)
    assert failed.state is JobState.FAILED and failed.error == STALE_JOB_MESSAGE
    assert registry.active_for("s1") is None
    assert registry.reap_stale() == []


def test_jobs008_reap_by_old_heartbeat(registry, clock):
    job = registry.create("s1", "ml", "x")
    registry.start(job.job_id, os.getpid())  # alive, but stops beating
    clock.now += 3
    registry.heartbeat(job.job_id)
    clock.now += 3.9
    assert registry.reap_stale() == []
    clock.now += 0.2
    assert [r.job_id for r in registry.reap_stale()] == [job.job_id]
    assert registry.get(job.job_id).state is JobState.FAILED


def test_jobs009_reap_queued_job_of_dead_creator(registry, sleeper):
    job = registry.create("s1", "ml", "x", pid=sleeper.pid)
    assert registry.reap_stale() == []
    sleeper.kill()
    sleeper.join()
    assert [r.job_id for r in registry.reap_stale()] == [job.job_id]


def test_jobs010_stale_active_job_does_not_block_create(registry, clock):
    job = registry.create("s1", "ml", "x")
    registry.start(job.job_id, os.getpid())
    clock.now += 10
    fresh = registry.create("s1", "ml", "y")
    assert registry.get(job.job_id).error == STALE_JOB_MESSAGE
    assert registry.active_for("s1") == fresh


def _run_in_child(directory, job_id):
    reg = JobRegistry(directory)
    reg.start(job_id, os.getpid())
    reg.heartbeat(job_id, progress={"done": 1, "total": 1, "step": "child"})
    reg.finish(job_id, ["child-result"])


def test_jobs011_other_processes_share_the_registry(tmp_path):
    registry = JobRegistry(tmp_path / "jobs")
    job = registry.create("s1", "test", "x")
    registry.get(job.job_id)  # open the connection before forking, as a web worker does
    child = FORK.Process(target=_run_in_child, args=(tmp_path / "jobs", job.job_id))
    child.start()
    child.join(10)
    assert child.exitcode == 0
    done = registry.get(job.job_id)
    assert done.state is JobState.DONE and done.pid == child.pid
    assert done.result_keys == ("child-result",) and done.progress["step"] == "child"


def test_jobs012_prune_keeps_newest_and_active(registry, clock):
    ids = []
    for i in range(4):
        clock.now += 1
        job = registry.create("s1", "profile", str(i))
        registry.cancel(job.job_id)
        ids.append(job.job_id)
    active = registry.create("s1", "profile", "active")
    assert registry.prune(keep_per_session=2) == 3
    assert [j.job_id for j in registry.history("s1")] == [active.job_id, ids[-1]]
    assert registry.get(ids[0]) is None
