"""Shared fixtures: a fresh app on a temp folder per test, and cleanup of job processes."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

# `import app` (gunicorn's entry point) reads the environment at import time.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="di-tests-"))
os.environ.setdefault("DI_SECRET_KEY", "tests-only-secret")
os.environ.setdefault("DI_DATA_DIR", str(_SESSION_DIR / "data"))

from dashboard.settings import Settings  # noqa: E402


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
