"""ProcessBook: the app's web processes shared across workers, and the once-per-interval gate."""

import multiprocessing
import os
import time

import pytest

from dashboard.jobs._processes import ProcessBook

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def book(tmp_path):
    return ProcessBook(tmp_path / "registry")


def test_proc001_registered_processes_are_listed_with_their_role(book, sleeper):
    book.register()  # this process, as a web worker by default
    book.register(sleeper.pid, "web")
    assert book.live() == {os.getpid(): "web", sleeper.pid: "web"}


def test_proc002_every_worker_sees_the_same_book(book, tmp_path, sleeper):
    book.register(sleeper.pid, "web")
    other_worker = ProcessBook(tmp_path / "registry")
    assert other_worker.live() == {sleeper.pid: "web"}


def test_proc003_dead_processes_are_dropped(book, tmp_path, sleeper):
    book.register(os.getpid(), "web")
    book.register(sleeper.pid, "web")
    sleeper.kill()
    sleeper.join()

    assert book.live() == {os.getpid(): "web"}
    # dropped for good, not only hidden from this reader
    book.register(os.getpid(), "web")
    assert ProcessBook(tmp_path / "registry").live() == {os.getpid(): "web"}


def test_proc004_zombie_counts_as_dead(book):
    proc = FORK.Process(target=time.sleep, args=(0,), daemon=True)
    proc.start()
    book.register(proc.pid, "web")
    deadline = time.monotonic() + 5
    while proc.pid in book.live() and time.monotonic() < deadline:
        time.sleep(0.02)  # it exits at once but is not joined yet: a zombie
    assert proc.pid not in book.live()
    proc.join()


def test_proc005_registering_again_updates_the_role(book, sleeper):
    book.register(sleeper.pid, "web")
    book.register(sleeper.pid, "job")
    assert book.live() == {sleeper.pid: "job"}


def test_proc006_gate_opens_once_per_interval(book):
    assert book.gate("auto-cleanup:s1", 60, now=1_000) is True
    assert book.gate("auto-cleanup:s1", 60, now=1_001) is False
    assert book.gate("auto-cleanup:s1", 60, now=1_059.9) is False
    assert book.gate("auto-cleanup:s1", 60, now=1_060) is True
    assert book.gate("auto-cleanup:s1", 60, now=1_061) is False


def test_proc007_gates_are_independent_by_name(book):
    assert book.gate("auto-cleanup:s1", 60, now=1_000) is True
    assert book.gate("auto-cleanup:s2", 60, now=1_000) is True
    assert book.gate("auto-cleanup:s1", 60, now=1_010) is False


def test_proc008_gate_is_shared_by_workers(book, tmp_path):
    assert book.gate("g", 60, now=1_000) is True
    assert ProcessBook(tmp_path / "registry").gate("g", 60, now=1_030) is False


def test_proc009_gate_uses_the_clock_by_default(book):
    assert book.gate("g", 60) is True
    assert book.gate("g", 60) is False
    assert book.gate("g", 0) is True
