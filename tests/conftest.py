"""Shared fixtures: a fresh app on a temp folder per test, and cleanup of job processes."""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

# `import app` (gunicorn's entry point) reads the environment at import time.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="di-tests-"))
os.environ.setdefault("DI_SECRET_KEY", "tests-only-secret")
os.environ.setdefault("DI_DATA_DIR", str(_SESSION_DIR / "data"))

from dashboard.settings import Settings  # noqa: E402

#: Reference data (real, not ours) kept beside the repository: ``../shared/data``.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of the reference data sets (CDNOW, diamonds, german credit, movies)."""
    if not (SHARED_DATA / "cdnow_transactions.csv").is_file():
        pytest.fail(f"The reference data is missing: expected it in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings on a fresh temp folder (store, uploads, job cache)."""
    return Settings(
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "jobs",
        secret_key="tests-only-secret",
        environment="development",
    )


@pytest.fixture
def make_app(settings):
    """Return a factory building an app on the test's settings (with overrides)."""
    from app import create_app

    def build(**overrides):
        return create_app(settings.with_overrides(**overrides) if overrides else settings)

    return build


def _job_processes() -> list[psutil.Process]:
    me = psutil.Process()
    found = []
    for child in me.children(recursive=True):
        try:
            if child.exe() == os.path.realpath(sys.executable) or "python" in child.name():
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.fixture(autouse=True)
def kill_leftover_jobs():
    """Kill background-job processes a test left running (as Dash's own tests do)."""
    yield
    for proc in _job_processes():
        try:
            proc.kill()
        except psutil.Error:
            pass


@pytest.fixture
def services(make_app):
    """Services of an app with the self-test job kind and no practical job memory limit."""
    return make_app(enable_test_jobs=True, job_memory_limit_mb=100_000).services


@pytest.fixture
def session(services):
    """A valid signed session id."""
    return services.signer.new()


@pytest.fixture
def sleeper():
    """A real child process that sleeps (a stand-in for a job process to kill or watch)."""
    proc = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,), daemon=True)
    proc.start()
    yield proc
    if proc.is_alive():
        proc.kill()
    proc.join()
