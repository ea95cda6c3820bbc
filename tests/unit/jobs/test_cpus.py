"""The cores a job may use: cgroup CPU quota and affinity, one core left to the web."""

import os
import threading
from pathlib import Path

import pytest

from dashboard.jobs import launch
from dashboard.jobs._selftest import set_hold
from dashboard.machine import (
    THREAD_VARIABLES,
    cgroup_cpu_limit,
    job_cpus,
    thread_environment,
    usable_cpus,
)
from tests.integration.helpers import wait_until


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cpu001_cgroup_v2_quota_in_cores(tmp_path):
    write(tmp_path, "cpu.max", "150000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5
    write(tmp_path, "cpu.max", "max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_cpu002_cgroup_v1_quota_and_no_quota(tmp_path):
    write(tmp_path, "cpu/cpu.cfs_quota_us", "50000\n")
    write(tmp_path, "cpu/cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_limit(tmp_path) == 0.5
    write(tmp_path, "cpu/cpu.cfs_quota_us", "-1\n")
    assert cgroup_cpu_limit(tmp_path) is None
    assert cgroup_cpu_limit(tmp_path / "nothing-here") is None


def test_cpu003_usable_cores_are_the_affinity_capped_by_the_quota(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    assert usable_cpus(tmp_path) == affinity  # no quota file: the affinity
    write(tmp_path, "cpu.max", "50000 100000\n")
    assert usable_cpus(tmp_path) == 1  # half a core still runs one thread
    write(tmp_path, "cpu.max", f"{(affinity + 4) * 100000} 100000\n")
    assert usable_cpus(tmp_path) == affinity  # a quota above the cores changes nothing


@pytest.mark.parametrize(
    ("cores", "jobs", "threads"), [(1, 1, 1), (2, 1, 1), (8, 1, 7), (8, 2, 3), (2, 4, 1)]
)
def test_cpu004_a_job_gets_the_cores_but_one_shared_by_the_concurrent_jobs(cores, jobs, threads):
    assert job_cpus(jobs, cores=cores) == threads


def test_cpu005_thread_environment_sets_every_pool():
    env = thread_environment(3, {"PATH": "/bin", "OMP_NUM_THREADS": "64"})
    assert env == {"PATH": "/bin", **dict.fromkeys(THREAD_VARIABLES, "3")}


def test_cpu006_the_job_interpreter_starts_with_its_share(services, session):
    folder = services.settings.cache_dir / "selftest"
    set_hold(folder, True)
    outcome = {}
    thread = threading.Thread(
        target=lambda: outcome.update(
            launch(services, session, {"kind": "selftest", "steps": 2, "step_s": 0})
        )
    )
    thread.start()
    try:
        record = wait_until(lambda: services.jobs.active_for(services.signer.verify(session)))
        pid = wait_until(lambda: services.jobs.get(record.job_id).pid)
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        expected = str(job_cpus(services.settings.max_concurrent_jobs)).encode()
        for name in THREAD_VARIABLES:
            assert name.encode() + b"=" + expected in environ
    finally:
        set_hold(folder, False)
        thread.join(timeout=30)
    assert outcome["ok"] is True
