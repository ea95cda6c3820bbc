"""Runs a job's work in a fresh Python process (``python -m dashboard.jobs``).

Dash's diskcache manager forks the web worker to run a background callback. A forked child
inherits SQLite's per-process lock bookkeeping for every database the worker has open (the
dataset index, the job registry, the slots) without the locks themselves, so its
transactions would no longer exclude the web workers' and updates get lost. The forked job
process therefore only relays: it starts this module as a new interpreter, which opens
every database itself, runs the job through ``dashboard.jobs.execute``, and prints progress
and the result as JSON lines. If the relaying process dies (Cancel), this one exits too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

from dashboard.jobs._execute import outcome
from dashboard.jobs._registry import STALE_JOB_MESSAGE
from dashboard.machine import job_cpus, thread_environment
from dashboard.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)
MARK = "@@datainsights-job "


def settings_to_json(settings: Settings) -> dict:
    """Return the settings as JSON-able values (paths as strings)."""
    return {
        k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(settings).items()
    }


def settings_from_json(data: dict) -> Settings:
    """Rebuild settings written by ``settings_to_json``."""
    return Settings(
        **{**data, "data_dir": Path(data["data_dir"]), "cache_dir": Path(data["cache_dir"])}
    )


def launch(context, session_id: str | None, request: dict, set_progress=None) -> dict:
    """Run ``request`` in a fresh process and return its result (as ``execute`` does).

    Called inside Dash's forked job process; relays progress to ``set_progress``.
    """
    spec = {
        "settings": settings_to_json(context.settings),
        "session_id": session_id,
        "request": request,
    }
    proc = subprocess.Popen(  # noqa: S603 - our own module, no user text on the command line
        [sys.executable, "-m", "dashboard.jobs"],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        # its OpenMP / BLAS pools: the job's share of the cores (see dashboard.machine)
        env=thread_environment(job_cpus(context.settings.max_concurrent_jobs)),
    )
    proc.stdin.write(json.dumps(spec))
    proc.stdin.close()
    result = None
    for line in proc.stdout:
        if not line.startswith(MARK):
            continue
        message = json.loads(line[len(MARK) :])
        if "progress" in message and set_progress is not None:
            set_progress(tuple(message["progress"]))
        elif "result" in message:
            result = message["result"]
    proc.wait()
    if result is None:
        # killed (memory limit, kill -9) before it could answer: the registry knows why
        latest = _latest(context, session_id)
        if latest is not None and latest.state.terminal:
            return outcome(latest)
        return {
            "kind": request.get("kind"),
            "ok": False,
            "message": STALE_JOB_MESSAGE,
            "job_id": latest.job_id if latest else None,
            "t": time.time(),
        }
    return result


def _latest(context, session_id):
    try:
        return context.jobs.latest(context.signer.verify(session_id))
    except Exception:  # noqa: BLE001 - best effort for the failure message only
        return None
