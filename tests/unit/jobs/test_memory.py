import json
import multiprocessing
import os
import threading
import time

import numpy as np
import pytest

from dashboard.jobs._memory import (
    MemoryWatchdog,
    Zone,
    budget_mb,
    cgroup_memory_limit_bytes,
    measure,
    process_tree_rss_mb,
    zone_for,
)

FORK = multiprocessing.get_context("fork")
MB = 1024 * 1024


@pytest.mark.parametrize(
    ("percent", "zone"),
    [
        (0, Zone.OK),
        (69.9, Zone.OK),
        (70, Zone.WATCH),
        (79.9, Zone.WATCH),
        (80, Zone.WARNING),
        (90, Zone.WARNING),
        (90.1, Zone.CRITICAL),
        (150, Zone.CRITICAL),
    ],
)
def test_mem001_zones_at_boundaries(percent, zone):
    assert zone_for(percent) is zone


def test_mem002_measure_current_process():
    status = measure({os.getpid(): "web"}, budget_mb=1024)
    assert status.used_mb > 0
    assert status.percent == pytest.approx(status.used_mb / 1024 * 100)
    assert status.zone is zone_for(status.percent)
    (proc,) = status.processes
    assert proc.pid == os.getpid() and proc.role == "web" and proc.rss_mb > 0
    assert proc.pss_mb is not None and proc.pss_mb <= proc.rss_mb  # Linux gives PSS
    assert json.loads(json.dumps(status.to_dict()))["processes"][0]["role"] == "web"


def test_mem003_measure_with_injected_budget_and_gone_process(tmp_path):
    dead = FORK.Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    tiny = measure({os.getpid(): "web", dead.pid: "job"}, budget_mb=1)
    assert len(tiny.processes) == 1 and tiny.zone is Zone.CRITICAL


def test_mem004_measure_falls_back_to_psutil_without_smaps_rollup(tmp_path):
    status = measure({os.getpid(): "web"}, budget_mb=1024, proc_root=tmp_path)
    assert status.used_mb > 0 and status.processes[0].uss_mb is not None


def test_mem005_shared_pages_counted_once():
    # A forked child shares its parent's pages: RSS counts them twice, PSS once.
    block = np.ones(40 * MB // 8)  # noqa: F841 - keep the pages resident in both
    ready = FORK.Event()
    child = FORK.Process(target=lambda: (ready.set(), time.sleep(30)), daemon=True)
    child.start()
    try:
        assert ready.wait(10)
        status = measure({os.getpid(): "web", child.pid: "job"}, budget_mb=1024)
        rss_sum = sum(p.rss_mb for p in status.processes)
        assert status.used_mb < rss_sum - 30
    finally:
        child.kill()
        child.join()


def test_mem006_process_tree_rss_includes_children():
    alone = process_tree_rss_mb(os.getpid())
    child = FORK.Process(target=time.sleep, args=(30,), daemon=True)
    child.start()
    try:
        assert process_tree_rss_mb(os.getpid()) > alone
        assert process_tree_rss_mb(child.pid) > 0
    finally:
        child.kill()
        child.join()
    assert process_tree_rss_mb(child.pid) == 0.0


def test_mem007_watchdog_records_peak():
    samples = []
    watchdog = MemoryWatchdog(None, interval_s=0.01, on_sample=samples.append).start()
    try:
        before = watchdog.peak_mb
        block = np.ones(100 * MB // 8)
        deadline = time.monotonic() + 5
        while watchdog.peak_mb < before + 80:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        del block
    finally:
        watchdog.stop()
    assert samples and max(samples) == watchdog.peak_mb and not watchdog.exceeded


def test_mem008_watchdog_calls_on_exceed_once():
    exceeded = []
    called = threading.Event()

    def on_exceed(rss):
        exceeded.append(rss)
        called.set()

    with MemoryWatchdog(1.0, interval_s=0.01, on_exceed=on_exceed) as watchdog:
        assert called.wait(5)
        time.sleep(0.05)
    assert len(exceeded) == 1 and exceeded[0] > 1.0 and watchdog.exceeded


def test_mem009_watchdog_survives_failing_callback():
    calls = []

    def broken(rss):
        calls.append(rss)
        raise RuntimeError("boom")

    with MemoryWatchdog(None, interval_s=0.01, on_sample=broken):
        time.sleep(0.05)
    assert len(calls) >= 2


def test_mem010_cgroup_v2_max_means_no_limit(tmp_path):
    (tmp_path / "memory.max").write_text("max\n")
    assert cgroup_memory_limit_bytes(tmp_path) is None
    assert budget_mb(1024, cgroup_root=tmp_path) == 1024


def test_mem011_cgroup_v2_number(tmp_path):
    (tmp_path / "memory.max").write_text(f"{512 * MB}\n")
    assert cgroup_memory_limit_bytes(tmp_path) == 512 * MB
    assert budget_mb(1024, cgroup_root=tmp_path) == 512


def test_mem012_cgroup_v1_huge_value_means_no_limit(tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert cgroup_memory_limit_bytes(tmp_path) is None
    assert budget_mb(2048, cgroup_root=tmp_path) == 2048
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(f"{256 * MB}\n")
    assert budget_mb(2048, cgroup_root=tmp_path) == 256


def test_mem013_no_cgroup_files(tmp_path):
    assert budget_mb(1024, cgroup_root=tmp_path) == 1024
