"""Settings read from environment variables, with documented defaults.

Every variable is listed in docs/configuration.md; keep the two in step.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dashboard.errors import ConfigError
from dashboard.machine import cgroup_memory_limit_bytes

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Configuration of one app instance.

    Attributes:
        data_dir: Root of everything written at run time (store, uploads, caches).
        cache_dir: Background-job cache shared by all web workers (Dash's job results and
            job-signing secret live here); kept apart from the dataset store.
        memory_budget_mb: Memory the app and its jobs may use in total.
        max_upload_mb: Largest accepted upload.
        sample_threshold_rows: Datasets with more rows are sampled for analysis.
        sample_rows: Default size of that sample.
        large_item_mb: Stored items above this size are removed by cleanup (unless protected).
        category_max_unique_ratio: Text columns with fewer distinct values than this share
            of their non-null values become ``category``.
        session_ttl_hours: Sessions idle for longer are removed with their items.
        disk_quota_mb: Total size of the dataset store; least recently used unprotected
            items are evicted past it.
        max_concurrent_jobs: Jobs running at once across the server; more wait in a queue.
        job_memory_limit_mb: Memory limit of one job; 0 derives it from the budget minus
            what the web processes use.
        job_time_limit_s: Wall-time limit of every job, in seconds, counted from when it
            starts running (not while it waits in the queue); 0 keeps each kind's own
            default (``JobKind.time_limit_s``).
        enable_test_jobs: Allow the ``selftest`` job kind (used by the test suite and
            ``bench/jobs.py``; off in production).
        secret_key: Signs session ids and Flask sessions; shared by all workers.
        environment: ``production`` (default) or ``development``.
    """

    data_dir: Path
    cache_dir: Path
    memory_budget_mb: int = 1024
    max_upload_mb: int = 500
    sample_threshold_rows: int = 100_000
    sample_rows: int = 50_000
    large_item_mb: int = 50
    category_max_unique_ratio: float = 0.5
    session_ttl_hours: float = 24.0
    disk_quota_mb: int = 10_240
    max_concurrent_jobs: int = 1
    job_memory_limit_mb: int = 0
    job_time_limit_s: int = 0
    enable_test_jobs: bool = False
    secret_key: str = field(default="", repr=False)
    environment: str = "production"

    @property
    def store_dir(self) -> Path:
        """Parquet files and the item index."""
        return self.data_dir / "store"

    @property
    def upload_dir(self) -> Path:
        """Uploaded files waiting for ingest."""
        return self.data_dir / "uploads"

    @property
    def view_cache_dir(self) -> Path:
        """flask-caching file-system cache of read-only views (grid pages, figures).

        Under the shared cache folder, beside the job cache: every worker reads the same
        memoized views.
        """
        return self.cache_dir / "views"

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes."""
        return self.max_upload_mb * MB

    def with_overrides(self, **changes) -> Settings:
        """Return a copy with some fields changed (tests use this)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``DI_*`` environment variables.

        Raises:
            ConfigError: A value does not parse, or ``DI_SECRET_KEY`` is missing outside
                development.
        """
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("DI_DATA_DIR") or REPO_ROOT / ".data").resolve()
        cache_dir = Path(env.get("DI_CACHE_DIR") or data_dir / "jobs").resolve()
        environment = (env.get("DI_ENV") or "production").strip().lower()
        if environment not in ("production", "development"):
            raise ConfigError("DI_ENV must be 'production' or 'development'.")
        secret = env.get("DI_SECRET_KEY", "")
        if not secret:
            if environment != "development":
                raise ConfigError(
                    "DI_SECRET_KEY is not set. Set it to a long random string shared by every "
                    "web worker (for example: python -c 'import secrets; "
                    "print(secrets.token_hex(32))')."
                )
            secret = secrets.token_hex(32)
            log.warning(
                "DI_SECRET_KEY is not set: using a random key for this start only "
                "(development). Sessions do not survive a restart."
            )
        budget = _int(env, "DI_MEMORY_BUDGET_MB", None)
        if budget is None:
            limit = cgroup_memory_limit_bytes()
            budget = limit // MB if limit else 1024
        settings = cls(
            data_dir=data_dir,
            cache_dir=cache_dir,
            memory_budget_mb=budget,
            max_upload_mb=_int(env, "DI_MAX_UPLOAD_MB", 500),
            sample_threshold_rows=_int(env, "DI_SAMPLE_THRESHOLD_ROWS", 100_000),
            sample_rows=_int(env, "DI_SAMPLE_ROWS", 50_000),
            large_item_mb=_int(env, "DI_LARGE_ITEM_MB", 50),
            category_max_unique_ratio=_float(env, "DI_CATEGORY_MAX_UNIQUE_RATIO", 0.5),
            session_ttl_hours=_float(env, "DI_SESSION_TTL_HOURS", 24.0),
            disk_quota_mb=_int(env, "DI_DISK_QUOTA_MB", 10_240),
            max_concurrent_jobs=_int(env, "DI_MAX_CONCURRENT_JOBS", 1),
            job_memory_limit_mb=_int(env, "DI_JOB_MEMORY_LIMIT_MB", 0),
            job_time_limit_s=_int(env, "DI_JOB_TIME_LIMIT_S", 0),
            enable_test_jobs=_bool(env, "DI_ENABLE_TEST_JOBS"),
            secret_key=secret,
            environment=environment,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check ranges.

        Raises:
            ConfigError: A value is out of its range.
        """
        positive = {
            "DI_MEMORY_BUDGET_MB": self.memory_budget_mb,
            "DI_MAX_UPLOAD_MB": self.max_upload_mb,
            "DI_SAMPLE_THRESHOLD_ROWS": self.sample_threshold_rows,
            "DI_SAMPLE_ROWS": self.sample_rows,
            "DI_LARGE_ITEM_MB": self.large_item_mb,
            "DI_SESSION_TTL_HOURS": self.session_ttl_hours,
            "DI_DISK_QUOTA_MB": self.disk_quota_mb,
            "DI_MAX_CONCURRENT_JOBS": self.max_concurrent_jobs,
        }
        for name, value in positive.items():
            if not value > 0:  # also refuses NaN
                raise ConfigError(f"{name} must be positive, got {value}.")
        if self.sample_rows >= self.sample_threshold_rows:
            raise ConfigError(
                f"DI_SAMPLE_ROWS ({self.sample_rows:,}) must be smaller than "
                f"DI_SAMPLE_THRESHOLD_ROWS ({self.sample_threshold_rows:,})."
            )
        if self.job_memory_limit_mb < 0:
            raise ConfigError("DI_JOB_MEMORY_LIMIT_MB must be 0 (automatic) or positive.")
        if self.job_time_limit_s < 0:
            raise ConfigError("DI_JOB_TIME_LIMIT_S must be 0 (each kind's default) or positive.")
        if not 0 < self.category_max_unique_ratio <= 1:
            raise ConfigError("DI_CATEGORY_MAX_UNIQUE_RATIO must be in (0, 1].")


def _int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}.")
