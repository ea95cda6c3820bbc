"""The collaborators a job (and every page) uses, built once per app from the settings.

No Dash here: the job interpreter builds a ``JobContext`` from the settings it is given;
the web process builds ``callbacks.services.Services``, a ``JobContext`` plus the Dash
background manager and the view cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import psutil

from dashboard.data import UploadArea
from dashboard.jobs._memory import MemoryStatus, measure
from dashboard.jobs._processes import ProcessBook
from dashboard.jobs._registry import JobRegistry
from dashboard.jobs._slots import JobSlots
from dashboard.sessions import SessionSigner
from dashboard.settings import Settings
from dashboard.store import DatasetStore


@dataclass
class _PerProcess:
    """Holds one instance per process: SQLite handles must not cross a fork.

    The parent's instance is kept (never closed or garbage-collected) in a forked child:
    closing a SQLite file there would drop the child's POSIX locks on that file, including
    those of the child's own connection, and transactions would stop excluding each other.
    """

    factory: object
    _pid: int = -1
    _value: object = None
    _inherited: list = field(default_factory=list)

    def get(self):
        if self._pid != os.getpid():
            if self._value is not None:
                self._inherited.append(self._value)
            self._value = self.factory()
            self._pid = os.getpid()
        return self._value


@dataclass
class JobContext:
    """Settings, signer, store, uploads, job registry, slots and process book of one app.

    What every job body receives, and what the web side's ``Services`` extends (with the
    Dash background manager and the view cache). Each collaborator is opened once per
    process, on first use.
    """

    settings: Settings
    signer: SessionSigner
    job_kinds: dict = field(default_factory=dict)  # name -> JobKind (``dashboard.kinds``)
    _store: _PerProcess = field(init=False)
    _uploads: _PerProcess = field(init=False)
    _jobs: _PerProcess = field(init=False)
    _slots: _PerProcess = field(init=False)
    _processes: _PerProcess = field(init=False)
    _registered_pid: int = field(init=False, default=-1)

    def __post_init__(self) -> None:
        s = self.settings
        self._store = _PerProcess(
            lambda: DatasetStore(
                s.store_dir,
                session_ttl_s=s.session_ttl_hours * 3600,
                disk_quota_bytes=s.disk_quota_mb * 1024 * 1024,
            )
        )
        self._uploads = _PerProcess(lambda: UploadArea(s.upload_dir, max_bytes=s.max_upload_bytes))
        # A killed local job is caught at once by its pid; the heartbeat limit only has to
        # catch jobs on other machines, so it leaves room for long GIL-holding steps.
        self._jobs = _PerProcess(lambda: JobRegistry(s.cache_dir / "registry", stale_after_s=15))
        self._slots = _PerProcess(
            lambda: JobSlots(s.cache_dir / "registry", capacity=s.max_concurrent_jobs)
        )
        self._processes = _PerProcess(lambda: ProcessBook(s.cache_dir / "registry"))

    @property
    def store(self) -> DatasetStore:
        """The dataset store of this process."""
        return self._store.get()

    @property
    def uploads(self) -> UploadArea:
        """The upload area of this process."""
        return self._uploads.get()

    @property
    def jobs(self) -> JobRegistry:
        """The job registry of this process."""
        return self._jobs.get()

    @property
    def slots(self) -> JobSlots:
        """The global job slots (``DI_MAX_CONCURRENT_JOBS``)."""
        return self._slots.get()

    @property
    def processes(self) -> ProcessBook:
        """The app's web processes."""
        return self._processes.get()

    def register_web_process(self) -> None:
        """Record this web worker in the shared process book (once per process)."""
        if self._registered_pid != os.getpid():
            self.processes.register(os.getpid(), "web")
            self._registered_pid = os.getpid()
            master = _gunicorn_master()
            if master is not None:  # it holds the preloaded app: it counts too
                self.processes.register(master, "web master")

    def app_pids(self, exclude: frozenset[int] = frozenset()) -> dict[int, str]:
        """Return ``{pid: role}`` of the web workers and of queued or running job processes.

        Args:
            exclude: Job pids left out (a job sizing itself is already in its estimate).
        """
        pids = self.processes.live()
        for pid in self.jobs.running_pids():
            if pid in exclude:
                continue
            pids.setdefault(pid, "job")
            relay = _parent_pid(pid)  # Dash's forked process that relays the job's progress
            if relay and relay not in pids:
                pids[relay] = "job relay"
        return pids

    def memory_status(self, exclude: frozenset[int] = frozenset()) -> MemoryStatus:
        """Measure the app's processes (but ``exclude``) against the memory budget."""
        return measure(self.app_pids(exclude), self.settings.memory_budget_mb)


def _gunicorn_master() -> int | None:
    """Return the pid of the gunicorn master this worker belongs to (None outside gunicorn)."""
    try:
        parent = psutil.Process(os.getppid())
        command = " ".join(parent.cmdline())
    except psutil.Error:
        return None
    return parent.pid if "gunicorn" in command else None


def _parent_pid(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None
