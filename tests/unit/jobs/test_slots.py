import multiprocessing
import os
import signal
import threading
import time

import pytest

from dashboard.jobs._slots import JobSlots, process_alive, process_start_time

FORK = multiprocessing.get_context("fork")
ME = os.getpid()


@pytest.fixture
def slots(tmp_path, clock):
    pool = JobSlots(tmp_path / "slots", capacity=1, lease_s=30, clock=clock)
    yield pool
    pool.close()


def test_slots001_capacity_one_blocks_second(slots):
    assert slots.try_acquire("a", ME)
    assert slots.try_acquire("a", ME)  # holding already: renews
    assert not slots.try_acquire("b", ME)
    assert [h[:2] for h in slots.holders()] == [("a", ME)]
    slots.release("a")
    assert slots.try_acquire("b", ME)


def test_slots002_fifo_order_of_waiters(slots):
    assert slots.try_acquire("holder", ME)
    for job_id in ("w1", "w2", "w3"):
        slots.enqueue(job_id, ME)
    assert [slots.position(j) for j in ("holder", "w1", "w2", "w3", "x")] == [0, 1, 2, 3, 0]
    assert not slots.try_acquire("late", ME)  # not enqueued: behind every waiter

    slots.release("holder")
    assert not slots.try_acquire("w3", ME)
    assert not slots.try_acquire("w2", ME)
    assert slots.try_acquire("w1", ME)
    assert [slots.position(j) for j in ("w2", "w3")] == [1, 2]

    slots.release("w1")
    assert not slots.try_acquire("w3", ME)
    assert slots.try_acquire("w2", ME)
    slots.release("w2")
    assert slots.try_acquire("w3", ME)


def _hold_slot(directory, ready):
    JobSlots(directory, lease_s=3600).try_acquire("victim", os.getpid())
    ready.set()
    time.sleep(30)


def test_slots003_slot_of_sigkilled_holder_is_reclaimed(tmp_path):
    slots = JobSlots(tmp_path / "slots", lease_s=3600)
    ready = FORK.Event()
    holder = FORK.Process(target=_hold_slot, args=(tmp_path / "slots", ready), daemon=True)
    holder.start()
    try:
        assert ready.wait(10)
        assert not slots.try_acquire("next", ME)
        os.kill(holder.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while not slots.try_acquire("next", ME):  # no lease has expired: the pid check does it
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert [h[0] for h in slots.holders()] == ["next"]
    finally:
        holder.kill()
        holder.join()


def test_slots004_lease_expires_when_holder_never_renews(slots, clock):
    assert slots.try_acquire("stuck", ME)  # alive pid (e.g. reused) that never renews
    clock.now += 29
    assert not slots.try_acquire("b", ME)
    assert slots.reclaim() == []
    clock.now += 2
    assert slots.reclaim() == ["stuck"]
    assert slots.try_acquire("b", ME)
    assert not slots.renew("stuck")


def test_slots005_renew_keeps_the_slot(slots, clock):
    assert slots.try_acquire("a", ME)
    for _ in range(3):
        clock.now += 20
        assert slots.renew("a")
    assert not slots.try_acquire("b", ME)
    assert slots.holders()[0][2] == clock.now + 30


def test_slots006_capacity_two(tmp_path, clock):
    slots = JobSlots(tmp_path / "slots", capacity=2, clock=clock)
    slots.enqueue("a", ME)
    slots.enqueue("b", ME)
    slots.enqueue("c", ME)
    assert slots.try_acquire("b", ME)  # two free slots: the first two waiters may take them
    assert not slots.try_acquire("c", ME)
    assert slots.try_acquire("a", ME)
    assert not slots.try_acquire("c", ME)
    assert sorted(h[0] for h in slots.holders()) == ["a", "b"]
    slots.release("a")
    assert slots.try_acquire("c", ME)


def test_slots007_dead_waiter_does_not_block_the_queue(slots):
    dead = FORK.Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    slots.enqueue("ghost", dead.pid)
    slots.enqueue("alive", ME)
    assert slots.try_acquire("alive", ME)
    assert slots.position("ghost") == 0


def test_slots008_acquire_waits_and_reports_position(tmp_path):
    slots = JobSlots(tmp_path / "slots")
    assert slots.try_acquire("first", ME)
    positions = []
    got = []
    waiter = threading.Thread(
        target=lambda: got.append(
            slots.acquire("second", ME, poll_s=0.01, on_wait=positions.append)
        )
    )
    waiter.start()
    deadline = time.monotonic() + 5
    while not positions:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert slots.position("second") == 1
    slots.release("first")
    waiter.join(5)
    assert got == [True] and set(positions) == {1}
    assert [h[0] for h in slots.holders()] == ["second"]


def test_slots009_acquire_timeout_leaves_the_queue(slots):
    assert slots.try_acquire("first", ME)
    assert not slots.acquire("second", ME, poll_s=0.01, timeout_s=0.05)
    assert slots.position("second") == 0
    slots.release("first")
    assert slots.try_acquire("third", ME)


def test_slots010_process_alive():
    assert process_alive(ME, process_start_time(ME))
    assert not process_alive(ME, process_start_time(ME) - 100)  # a reused pid
    assert not process_alive(None)
    child = FORK.Process(target=time.sleep, args=(30,))
    child.start()
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while process_alive(child.pid):  # a zombie until joined: counted as gone
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child.join()
    assert not process_alive(child.pid)


def _contend(directory, name, inside, peak, guard):
    slots = JobSlots(directory)
    for i in range(10):
        job_id = f"{name}-{i}"
        assert slots.acquire(job_id, os.getpid(), poll_s=0.002, timeout_s=20)
        with guard:
            inside.value += 1
            peak.value = max(peak.value, inside.value)
        time.sleep(0.002)
        with guard:
            inside.value -= 1
        slots.release(job_id)


def test_slots011_processes_never_exceed_capacity(tmp_path):
    guard = FORK.Lock()
    inside, peak = FORK.Value("i", 0), FORK.Value("i", 0)
    workers = [
        FORK.Process(target=_contend, args=(tmp_path / "slots", n, inside, peak, guard))
        for n in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert peak.value == 1
    assert JobSlots(tmp_path / "slots").holders() == []
