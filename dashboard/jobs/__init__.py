"""The job runtime: kinds, registry, slots, admission, memory, processes, runner. No Dash."""

from __future__ import annotations

from dashboard.jobs._admission import (
    JOB_PROCESS_MB,
    Estimate,
    check_admission,
    estimate_job,
)
from dashboard.jobs._context import JobContext
from dashboard.jobs._execute import (
    CANCELLED,
    cancel_active,
    execute,
    kill_tree,
    outcome,
    status_line,
)
from dashboard.jobs._kind import JobKind
from dashboard.jobs._launch import launch, settings_from_json, settings_to_json
from dashboard.jobs._memory import (
    MemoryStatus,
    MemoryWatchdog,
    Zone,
    cgroup_memory_limit_bytes,
    measure,
    process_tree_rss_mb,
)
from dashboard.jobs._processes import (
    ProcessBook,
    prefer_oom_kill,
)
from dashboard.jobs._registry import (
    STALE_JOB_MESSAGE,
    JobRecord,
    JobRegistry,
    JobState,
)
from dashboard.jobs._runner import OUT_OF_MEMORY, UNEXPECTED, JobFailed, job_limit_mb, run_job
from dashboard.jobs._selftest import SELFTEST, run_selftest
from dashboard.jobs._slots import (
    JobSlots,
)

__all__ = [
    "OUT_OF_MEMORY",
    "UNEXPECTED",
    "settings_from_json",
    "settings_to_json",
    "CANCELLED",
    "Estimate",
    "JOB_PROCESS_MB",
    "JobContext",
    "JobFailed",
    "JobKind",
    "JobRecord",
    "JobRegistry",
    "JobSlots",
    "JobState",
    "MemoryStatus",
    "MemoryWatchdog",
    "ProcessBook",
    "SELFTEST",
    "STALE_JOB_MESSAGE",
    "Zone",
    "cancel_active",
    "cgroup_memory_limit_bytes",
    "check_admission",
    "estimate_job",
    "execute",
    "job_limit_mb",
    "kill_tree",
    "launch",
    "measure",
    "outcome",
    "prefer_oom_kill",
    "process_tree_rss_mb",
    "run_job",
    "run_selftest",
    "status_line",
]
