"""The collaborators every page uses, built once per app from the settings.

Pages never construct storage or job backends themselves: they receive a ``Services``
object, so that another job backend (Celery + Redis) or another storage location can be
chosen here without touching any page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import psutil
from dash import DiskcacheManager
from flask_caching import Cache as ViewCache

from dashboard._cache import Cache
from dashboard.jobs import JobRegistry
from dashboard.memory import MemoryStatus, measure
from dashboard.processes import ProcessBook
from dashboard.sessions import SessionSigner
from dashboard.settings import Settings
from dashboard.slots import JobSlots
from dashboard.store import DatasetStore
from dashboard.uploads import UploadArea


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
class Services:
    """Store, uploads, job registry, session signer and caches of one app."""

    settings: Settings
    signer: SessionSigner
    manager: object = None
    view_cache: ViewCache | None = None
    job_kinds: dict = field(default_factory=dict)  # name -> callbacks.jobs.JobKind
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


#: Page modules (imported by name: they import this one) whose ``KINDS`` are job kinds.
JOB_MODULES = (
    "callbacks.data",
    "callbacks.profile",
    "callbacks.cleaning",
    "callbacks.ml",
    "callbacks.rfm",
    "callbacks.basket",
)


def make_background_manager(settings: Settings):
    """Return the Dash background-callback manager for these settings.

    The embedded default is diskcache on an explicit folder shared by every web worker: job
    results and Dash's job-signing secret live there, so any worker can poll or cancel any
    job. Another backend (Celery + Redis) plugs in here without touching any page.
    """
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(Cache(str(settings.cache_dir / "dash")), expire=24 * 3600)


def build_services(settings: Settings) -> Services:
    """Build the services of one app instance (no data is read)."""
    view_cache = ViewCache(
        config={
            "CACHE_TYPE": "FileSystemCache",
            "CACHE_DIR": str(settings.view_cache_dir),
            "CACHE_DEFAULT_TIMEOUT": 3600,
            "CACHE_THRESHOLD": 2000,
        }
    )
    return Services(
        settings=settings,
        signer=SessionSigner(settings.secret_key),
        manager=make_background_manager(settings),
        view_cache=view_cache,
    )


def build_job_services(settings: Settings) -> Services:
    """Build the services of a job process: storage and registry, every enabled job kind.

    Every page module that runs jobs lists them in its ``KINDS``.
    """
    import importlib  # noqa: PLC0415

    from callbacks.jobs import SELFTEST  # noqa: PLC0415 - avoid an import cycle

    kinds = {}
    for name in JOB_MODULES:
        kinds.update({kind.name: kind for kind in importlib.import_module(name).KINDS})
    if settings.enable_test_jobs:
        kinds[SELFTEST.name] = SELFTEST
    return Services(settings=settings, signer=SessionSigner(settings.secret_key), job_kinds=kinds)
