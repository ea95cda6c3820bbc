import logging
import re
from pathlib import Path

import pytest

import dashboard.settings as settings_module
from dashboard.errors import ConfigError
from dashboard.settings import MB, REPO_ROOT, Settings

SECRET = {"DI_SECRET_KEY": "a-long-shared-secret"}


@pytest.fixture(autouse=True)
def no_cgroup_limit(monkeypatch):
    """The host's cgroup must not leak into the defaults; tests that need one set it."""
    monkeypatch.setattr(settings_module, "cgroup_memory_limit_bytes", lambda: None)


def test_set001_defaults():
    s = Settings.from_env(SECRET)
    assert s.data_dir == (REPO_ROOT / ".data").resolve()
    assert s.cache_dir == s.data_dir / "jobs"
    assert s.memory_budget_mb == 1024
    assert s.max_upload_mb == 500
    assert s.max_upload_bytes == 500 * MB
    assert s.sample_threshold_rows == 100_000
    assert s.sample_rows == 50_000
    assert s.large_item_mb == 50
    assert s.category_max_unique_ratio == 0.5
    assert s.session_ttl_hours == 24.0
    assert s.disk_quota_mb == 10_240
    assert s.max_concurrent_jobs == 1
    assert s.job_memory_limit_mb == 0
    assert s.enable_test_jobs is False
    assert s.environment == "production"
    assert s.secret_key == "a-long-shared-secret"
    assert (s.store_dir, s.upload_dir, s.view_cache_dir) == (
        s.data_dir / "store",
        s.data_dir / "uploads",
        s.cache_dir / "views",
    )


def test_set002_every_variable_is_read(tmp_path):
    env = {
        "DI_DATA_DIR": str(tmp_path / "d"),
        "DI_CACHE_DIR": str(tmp_path / "c"),
        "DI_ENV": " Development ",
        "DI_SECRET_KEY": "k",
        "DI_MEMORY_BUDGET_MB": "2048",
        "DI_MAX_UPLOAD_MB": " 12 ",
        "DI_SAMPLE_THRESHOLD_ROWS": "2000",
        "DI_SAMPLE_ROWS": "1000",
        "DI_LARGE_ITEM_MB": "7",
        "DI_CATEGORY_MAX_UNIQUE_RATIO": "0.25",
        "DI_SESSION_TTL_HOURS": "1.5",
        "DI_DISK_QUOTA_MB": "300",
        "DI_MAX_CONCURRENT_JOBS": "3",
        "DI_JOB_MEMORY_LIMIT_MB": "256",
        "DI_JOB_TIME_LIMIT_S": "900",
        "DI_ENABLE_TEST_JOBS": "1",
    }
    s = Settings.from_env(env)
    assert s == Settings(
        data_dir=tmp_path / "d",
        cache_dir=tmp_path / "c",
        memory_budget_mb=2048,
        max_upload_mb=12,
        sample_threshold_rows=2000,
        sample_rows=1000,
        large_item_mb=7,
        category_max_unique_ratio=0.25,
        session_ttl_hours=1.5,
        disk_quota_mb=300,
        max_concurrent_jobs=3,
        job_memory_limit_mb=256,
        job_time_limit_s=900,
        enable_test_jobs=True,
        secret_key="k",
        environment="development",
    )


@pytest.mark.parametrize(("raw", "expected"), [("yes", True), ("true", True), ("0", False)])
def test_set002b_test_jobs_switch(raw, expected):
    assert Settings.from_env({**SECRET, "DI_ENABLE_TEST_JOBS": raw}).enable_test_jobs is expected


def test_set003_relative_data_dir_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({**SECRET, "DI_DATA_DIR": "here"})
    assert s.data_dir == tmp_path.resolve() / "here"
    assert s.cache_dir == tmp_path.resolve() / "here" / "jobs"


def test_set004_empty_values_mean_default():
    s = Settings.from_env({**SECRET, "DI_MAX_UPLOAD_MB": "", "DI_SESSION_TTL_HOURS": "  "})
    assert (s.max_upload_mb, s.session_ttl_hours) == (500, 24.0)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DI_MAX_UPLOAD_MB", "1.5", "DI_MAX_UPLOAD_MB must be a whole number, got '1.5'."),
        ("DI_MEMORY_BUDGET_MB", "lots", "DI_MEMORY_BUDGET_MB must be a whole number, got 'lots'"),
        ("DI_SAMPLE_ROWS", "50k", "DI_SAMPLE_ROWS must be a whole number, got '50k'."),
        ("DI_SAMPLE_THRESHOLD_ROWS", "0", "DI_SAMPLE_THRESHOLD_ROWS must be positive, got 0."),
        ("DI_LARGE_ITEM_MB", "-1", "DI_LARGE_ITEM_MB must be positive, got -1."),
        ("DI_DISK_QUOTA_MB", "0", "DI_DISK_QUOTA_MB must be positive, got 0."),
        ("DI_SESSION_TTL_HOURS", "a day", "DI_SESSION_TTL_HOURS must be a number, got 'a day'."),
        ("DI_SESSION_TTL_HOURS", "-2", "DI_SESSION_TTL_HOURS must be positive, got -2.0."),
        ("DI_CATEGORY_MAX_UNIQUE_RATIO", "1.5", "DI_CATEGORY_MAX_UNIQUE_RATIO must be in (0, 1]."),
        ("DI_CATEGORY_MAX_UNIQUE_RATIO", "0", "DI_CATEGORY_MAX_UNIQUE_RATIO must be in (0, 1]."),
        ("DI_CATEGORY_MAX_UNIQUE_RATIO", "nan", "DI_CATEGORY_MAX_UNIQUE_RATIO must be in (0, 1]."),
        ("DI_MAX_CONCURRENT_JOBS", "0", "DI_MAX_CONCURRENT_JOBS must be positive, got 0."),
        (
            "DI_JOB_MEMORY_LIMIT_MB",
            "-1",
            "DI_JOB_MEMORY_LIMIT_MB must be 0 (automatic) or positive",
        ),
        ("DI_JOB_TIME_LIMIT_S", "-5", "DI_JOB_TIME_LIMIT_S must be 0 (each kind's default)"),
        ("DI_JOB_TIME_LIMIT_S", "10m", "DI_JOB_TIME_LIMIT_S must be a whole number, got '10m'."),
        ("DI_ENV", "staging", "DI_ENV must be 'production' or 'development'."),
    ],
)
def test_set005_bad_values_are_refused_with_a_readable_message(name, value, message):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**SECRET, name: value})
    assert str(caught.value).startswith(message)
    assert "Traceback" not in str(caught.value)


def test_set006_nan_session_ttl_is_refused():
    with pytest.raises(ConfigError, match="DI_SESSION_TTL_HOURS"):
        Settings.from_env({**SECRET, "DI_SESSION_TTL_HOURS": "nan"})


@pytest.mark.parametrize("env", [{}, {"DI_ENV": "production"}, {"DI_SECRET_KEY": ""}])
def test_set007_production_requires_a_secret_key(env):
    with pytest.raises(ConfigError, match="DI_SECRET_KEY is not set") as caught:
        Settings.from_env(env)
    assert "secrets.token_hex(32)" in str(caught.value)  # tells the user how to make one


def test_set008_development_uses_a_random_key_and_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="dashboard.settings"):
        first = Settings.from_env({"DI_ENV": "development"})
        second = Settings.from_env({"DI_ENV": "development"})
    assert len(first.secret_key) >= 32
    assert first.secret_key != second.secret_key
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "DI_SECRET_KEY is not set" in warnings[0].getMessage()


def test_set009_development_with_a_key_keeps_it_and_does_not_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="dashboard.settings"):
        s = Settings.from_env({"DI_ENV": "development", "DI_SECRET_KEY": "fixed"})
    assert s.secret_key == "fixed"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_set010_memory_budget_defaults_to_the_cgroup_limit(monkeypatch):
    monkeypatch.setattr(settings_module, "cgroup_memory_limit_bytes", lambda: 3 * 1024 * MB)
    assert Settings.from_env(SECRET).memory_budget_mb == 3072


def test_set011_explicit_memory_budget_wins_over_the_cgroup_limit(monkeypatch):
    monkeypatch.setattr(settings_module, "cgroup_memory_limit_bytes", lambda: 3 * 1024 * MB)
    env = {**SECRET, "DI_MEMORY_BUDGET_MB": "512"}
    assert Settings.from_env(env).memory_budget_mb == 512


def test_set012_secret_key_is_not_shown_in_repr():
    s = Settings(data_dir=Path("/d"), cache_dir=Path("/c"), secret_key="do-not-print-me")
    assert "do-not-print-me" not in repr(s)


def test_set013_with_overrides_returns_a_changed_copy(settings):
    smaller = settings.with_overrides(max_upload_mb=1)
    assert (smaller.max_upload_mb, smaller.max_upload_bytes) == (1, MB)
    assert settings.max_upload_mb == 500
    assert smaller.data_dir == settings.data_dir


def test_set014_sample_size_above_the_threshold_is_refused():
    env = {**SECRET, "DI_SAMPLE_THRESHOLD_ROWS": "1000", "DI_SAMPLE_ROWS": "5000"}
    with pytest.raises(ConfigError, match="DI_SAMPLE_ROWS"):
        Settings.from_env(env)


def test_set015_every_variable_is_documented_in_docs_configuration():
    source = Path(settings_module.__file__).read_text()
    readme = (REPO_ROOT / "docs" / "configuration.md").read_text()
    read = set(re.findall(r'"(DI_[A-Z_]+)"', source))
    documented = set(re.findall(r"^\| `(DI_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert len(read) >= 12
    assert read - documented == set()
