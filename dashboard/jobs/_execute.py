"""Run one requested job, and read a finished one back, in terms the shell can show.

``execute`` runs in the job interpreter (``python -m dashboard.jobs``); ``outcome`` and
``status_line`` turn registry records into what the banner and the message area show;
``cancel_active`` stops a session's job by its pid (works after a reload).
"""

from __future__ import annotations

import time

import psutil

from dashboard.errors import DataInsightsError
from dashboard.jobs._registry import JobRecord, JobState
from dashboard.jobs._runner import JobFailed, run_job, time_left_note

CANCELLED = "Cancelled. Anything the job had already finished is kept."


def execute(context, session_id: str | None, request: dict, set_progress=None) -> dict:
    """Run one requested job to its end and return the result for the job-result store."""
    kind_name = request.get("kind")
    kind = context.job_kinds.get(kind_name)
    started = time.time()
    try:
        session = context.signer.verify(session_id)
        if kind is None:
            raise DataInsightsError(f"Unknown job kind {kind_name!r}.")
        summary = kind.describe(request)
        if set_progress is not None:
            set_progress((0, "", f"{summary} — starting"))
        estimate = kind.estimate(context, session, request) if kind.estimate else None
        result = run_job(
            context,
            session,
            kind,
            summary,
            lambda progress: kind.run(context, session, request, progress),
            set_progress,
            estimate=estimate,
            time_limit_s=kind.time_limit_for(request, context.settings.job_time_limit_s),
        )
    except (JobFailed, DataInsightsError) as err:
        job_id = getattr(err, "job_id", None)
        return {"kind": kind_name, "ok": False, "message": str(err), "t": started, "job_id": job_id}
    return {"kind": kind_name, "ok": True, **result, "t": started}


def outcome(record: JobRecord) -> dict:
    """Return the job-result payload of a finished job read from the registry."""
    base = {"kind": record.kind, "job_id": record.job_id, "t": record.created}
    if record.state is JobState.DONE:
        return {**base, "ok": True, **(record.result or {})}
    if record.state is JobState.CANCELLED:
        return {**base, "ok": False, "message": CANCELLED, "cancelled": True}
    return {**base, "ok": False, "message": record.error or "The job failed."}


def status_line(record: JobRecord) -> str:
    """Return the banner line of a running job: what, which step, how long.

    The job's progress may carry its own ``summary`` (see ``runner._Progress``).
    """
    progress = record.progress or {}
    step = progress.get("step") or "starting"
    elapsed = record.duration_s or 0
    left = time_left_note(elapsed, progress.get("limit_s"))
    return f"{progress.get('summary') or record.summary} — {step} — {int(elapsed)} s{left}"


def cancel_active(context, session_id: str | None) -> JobRecord | None:
    """Stop the session's running job by its pid (works after a reload) and mark it cancelled."""
    session = context.signer.verify(session_id)
    record = context.jobs.active_for(session)
    if record is None:
        return None
    if record.pid:
        kill_tree(record.pid)
    return context.jobs.cancel(record.job_id)


def kill_tree(pid: int) -> None:
    """SIGKILL a job process and its children (as Dash's own cancel does)."""
    try:
        parent = psutil.Process(pid)
        victims = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for proc in victims:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
