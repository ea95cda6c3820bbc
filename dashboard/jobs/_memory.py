"""Memory budget and process memory of the app and its jobs.

The budget is the container's cgroup limit when one is set, else a setting. The app's use
is measured per process and summed without counting shared pages twice (PSS), and a
watchdog enforces a per-job limit from inside the job process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import psutil

from dashboard.machine import cgroup_memory_limit_bytes  # noqa: F401 - part of this API

log = logging.getLogger(__name__)


MB = 1024 * 1024


class Zone(StrEnum):
    """How full the memory budget is: below 70 %, 70-80, 80-90 (clean up), above 90."""

    OK = "ok"
    WATCH = "watch"
    WARNING = "warning"
    CRITICAL = "critical"


def zone_for(percent: float) -> Zone:
    """Return the zone of a budget use of ``percent`` (0-100, may exceed 100).

    Boundaries belong to the upper zone except 90, which is still a warning: 70 is WATCH,
    80 is WARNING, 90 is WARNING and anything above 90 is CRITICAL.
    """
    if percent > 90:
        return Zone.CRITICAL
    if percent >= 80:
        return Zone.WARNING
    if percent >= 70:
        return Zone.WATCH
    return Zone.OK


@dataclass(frozen=True)
class ProcessMemory:
    """Memory of one process of the app.

    Attributes:
        pid: Process id.
        role: What it is, e.g. ``web`` or ``job ml``.
        rss_mb: Resident set size (counts pages shared with other processes in full).
        uss_mb: Pages only this process uses (what its exit would free); None if unreadable.
        pss_mb: Its share of resident pages (shared pages split among their users); summing
            PSS over processes counts every page once. None if unreadable.
    """

    pid: int
    role: str
    rss_mb: float
    uss_mb: float | None
    pss_mb: float | None

    @property
    def used_mb(self) -> float:
        """The best figure available for summing: PSS, else USS, else RSS."""
        for value in (self.pss_mb, self.uss_mb):
            if value is not None:
                return value
        return self.rss_mb


@dataclass(frozen=True)
class MemoryStatus:
    """Memory of the app's processes against the budget.

    Attributes:
        used_mb: Sum of ``ProcessMemory.used_mb`` over the processes.
        budget_mb: The budget (see ``budget_mb``).
        percent: ``used_mb / budget_mb * 100``.
        zone: ``zone_for(percent)``.
        processes: One entry per process still alive.
    """

    used_mb: float
    budget_mb: float
    percent: float
    zone: Zone
    processes: tuple[ProcessMemory, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-able values (zone as its string, processes as a list of dicts)."""
        data = asdict(self)
        data["zone"] = self.zone.value
        data["processes"] = [asdict(p) for p in self.processes]
        return data


def budget_mb(setting_mb: float, *, cgroup_root: Path = Path("/sys/fs/cgroup")) -> float:
    """Return the memory budget in MB: the container's cgroup limit when set, else the setting."""
    limit = cgroup_memory_limit_bytes(cgroup_root)
    return limit / MB if limit is not None else float(setting_mb)


def process_tree_rss_mb(pid: int) -> float:
    """Return the RSS in MB of process ``pid`` plus all its descendants; 0 when it is gone."""
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        children = proc.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    for child in children:
        try:
            total += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # exited between the listing and the reading
    return total / MB


def measure(
    pids: Mapping[int, str], budget_mb: float, *, proc_root: Path = Path("/proc")
) -> MemoryStatus:
    """Measure the given processes against the budget.

    Args:
        pids: ``{pid: role}`` of the processes to count (web workers, job processes). Only
            these pids are read, not their children; pass every process to count.
        budget_mb: The budget to compare with (see ``budget_mb``); must be positive.
        proc_root: The ``/proc`` folder (injectable for tests).

    Returns:
        The status; processes that are gone are left out. ``used_mb`` sums PSS where the
        OS gives it (Linux ``/proc/<pid>/smaps_rollup``, or psutil), else USS, else RSS, so
        pages shared between forked workers are counted once.
    """
    if budget_mb <= 0:
        raise ValueError(f"budget_mb must be positive, got {budget_mb}")
    processes = []
    for pid, role in pids.items():
        memory = _process_memory(pid, role, proc_root)
        if memory is not None:
            processes.append(memory)
    used = sum(p.used_mb for p in processes)
    percent = used / budget_mb * 100
    return MemoryStatus(used, float(budget_mb), percent, zone_for(percent), tuple(processes))


def _process_memory(pid: int, role: str, proc_root: Path) -> ProcessMemory | None:
    rollup = _read_smaps_rollup(proc_root / str(pid) / "smaps_rollup")
    if rollup is not None and "Rss" in rollup:
        uss = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
        pss = rollup.get("Pss")
        return ProcessMemory(
            pid, role, rollup["Rss"] / MB, uss / MB, None if pss is None else pss / MB
        )
    try:
        proc = psutil.Process(pid)
        try:
            full = proc.memory_full_info()
            pss = getattr(full, "pss", None)
            return ProcessMemory(
                pid, role, full.rss / MB, full.uss / MB, None if pss is None else pss / MB
            )
        except psutil.AccessDenied:
            return ProcessMemory(pid, role, proc.memory_info().rss / MB, None, None)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _read_smaps_rollup(path: Path) -> dict[str, int] | None:
    """Parse ``smaps_rollup`` into bytes per field; None when it cannot be read."""
    try:
        text = path.read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            values[name.strip()] = int(parts[0]) * 1024
    return values


class MemoryWatchdog:
    """Watch the memory of the current process tree from a daemon thread.

    Runs inside a job process: every ``interval_s`` it samples the RSS of this process and
    its children, keeps the peak, reports each sample to ``on_sample`` and, the first time
    the sample exceeds ``limit_mb``, calls ``on_exceed`` once. It stops nothing itself: the
    caller decides (e.g. record the failure in the job registry, then ``os._exit``).

    RSS counts pages the forked job still shares with its parent web worker, so the limit
    should include the size of the process at fork. An allocation faster than one interval
    can still meet the kernel's OOM killer first; the job registry reaps such jobs.

    Callbacks run in the watchdog thread; an exception in one is logged and sampling goes on.

    Args:
        limit_mb: Limit on the tree's RSS; None only records the peak.
        interval_s: Time between samples.
        on_sample: Called with every sample in MB (e.g. to heartbeat; throttle it there).
        on_exceed: Called once with the first sample above the limit.
    """

    def __init__(
        self,
        limit_mb: float | None,
        *,
        interval_s: float = 0.1,
        on_sample: Callable[[float], None] | None = None,
        on_exceed: Callable[[float], None] | None = None,
    ) -> None:
        self.limit_mb = limit_mb
        self.interval_s = interval_s
        self.on_sample = on_sample
        self.on_exceed = on_exceed
        self._peak_mb = 0.0
        self._exceeded = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    @property
    def peak_mb(self) -> float:
        """Highest RSS sampled so far, in MB."""
        return self._peak_mb

    @property
    def exceeded(self) -> bool:
        """True once a sample went over the limit."""
        return self._exceeded

    def start(self) -> MemoryWatchdog:
        """Take a first sample now, then keep sampling in a daemon thread; returns self."""
        if self._thread is not None:
            return self
        self._pid = os.getpid()
        self._stop.clear()
        self._sample()
        self._thread = threading.Thread(target=self._run, name="memory-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling and wait for the thread (unless called from the thread itself)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> MemoryWatchdog:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        rss = process_tree_rss_mb(self._pid)
        self._peak_mb = max(self._peak_mb, rss)
        if self.on_sample is not None:
            self._call(self.on_sample, rss)
        if self.limit_mb is not None and rss > self.limit_mb and not self._exceeded:
            self._exceeded = True
            log.warning("Memory %.0f MB is over the job limit of %.0f MB", rss, self.limit_mb)
            if self.on_exceed is not None:
                self._call(self.on_exceed, rss)

    @staticmethod
    def _call(callback: Callable[[float], None], rss: float) -> None:
        try:
            callback(rss)
        except Exception:
            log.exception("Memory watchdog callback failed")
