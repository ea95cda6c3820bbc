"""System page and sidebar memory widget wiring: measure, clean up, unlock."""

from __future__ import annotations

import logging

from dash import Input, Output, State, ctx, html, no_update

from callbacks.actions import button_action
from components.ids import Shell
from components.ids import System as IDS
from components.widgets import alert, format_bytes
from dashboard.errors import AccessDenied, DataInsightsError
from dashboard.jobs import MemoryStatus, Zone, cancel_active

log = logging.getLogger(__name__)
MB = 1024 * 1024
AUTO_CLEANUP_EVERY_S = 60
ZONE_COLORS = {
    Zone.OK: "success",
    Zone.WATCH: "warning",
    Zone.WARNING: "#fd7e14",
    Zone.CRITICAL: "danger",
}


def memory_text(status: MemoryStatus) -> str:
    """Return "Memory 312 MB of 1,024 MB (30 %)"-style text."""
    return f"{status.used_mb:,.0f} MB of {status.budget_mb:,.0f} MB ({status.percent:.0f} %)"


def cleanup_session(services, session: str) -> str:
    """Remove this session's large unprotected items and expired sessions; say what it freed."""
    store = services.store
    report = store.cleanup(session, min_bytes=services.settings.large_item_mb * MB)
    expired = store.expire_idle_sessions()
    freed = report.freed_bytes + expired.freed_bytes
    count = len(report.removed) + len(expired.removed)
    if not count:
        return "Nothing to clean up: no large unprotected items and no expired sessions."
    return f"Cleaned up {count} item(s), freed {format_bytes(freed)} on disk."


def widget_state(services, session_id: str | None, cleanup_clicked: bool):
    """Return ``(text, percent, color, cleanup_class, note)`` of the sidebar widget."""
    services.register_web_process()
    status = services.memory_status()
    note = ""
    session = None
    try:
        session = services.signer.verify(session_id)
    except AccessDenied:
        pass
    if session and (
        cleanup_clicked
        or (
            status.zone is Zone.CRITICAL
            and services.processes.gate(f"auto-cleanup:{session}", AUTO_CLEANUP_EVERY_S)
        )
    ):
        prefix = "" if cleanup_clicked else "Memory above 90 %: automatic cleanup. "
        note = prefix + cleanup_session(services, session)
    shown = status.zone in (Zone.WARNING, Zone.CRITICAL)
    return (
        memory_text(status),
        min(100, round(status.percent)),
        ZONE_COLORS[status.zone],
        "mt-1" if shown else "d-none mt-1",
        note,
    )


def page_state(services, session_id: str | None, dataset: dict | None) -> dict:
    """Return the rows of the System page's grids and its summary line."""
    services.register_web_process()
    status = services.memory_status()
    session = services.signer.verify(session_id)
    processes = [
        {"role": p.role, "pid": p.pid, "rss_mb": p.rss_mb, "uss_mb": p.uss_mb, "pss_mb": p.pss_mb}
        for p in status.processes
    ]
    items = [
        {
            "name": i.name,
            "rows": i.rows,
            "columns": i.columns,
            "disk_mb": i.bytes_disk / MB,
            "memory_mb": i.bytes_memory / MB,
            "protected": "yes" if i.protected else "no",
            "version": i.version,
        }
        for i in services.store.items(session)
    ]
    jobs = [
        {
            "kind": r.kind,
            "summary": r.summary,
            "state": r.state.value,
            "duration_s": r.duration_s,
            "peak_rss_mb": r.peak_rss_mb,
            "error": r.error or "",
        }
        for r in services.jobs.history(session, limit=50)
    ]
    columns = []
    if dataset and dataset.get("data_key"):
        try:
            meta = services.store.info(session, dataset["data_key"]).meta
            columns = [
                {"column": c["column"], "dtype": c["dtype"], "memory": c["memory"]}
                for c in meta.get("column_table", [])
            ]
        except DataInsightsError:
            columns = []
    active = services.jobs.active_for(session)
    summary = f"Memory {memory_text(status)} · {len(items)} stored item(s) · " + (
        f"running: {active.summary}" if active else "no job running"
    )
    return {
        "processes": processes,
        "items": items,
        "jobs": jobs,
        "columns": columns,
        "summary": summary,
        "active": active is not None,
    }


def emergency_unlock(services, session_id: str | None):
    """Clear the lock when no live job holds it; otherwise offer to cancel the job.

    Returns:
        ``(unlock, message, cancel_button_class)``.
    """
    session = services.signer.verify(session_id)
    services.jobs.reap_stale()
    active = services.jobs.active_for(session)
    if active is not None:
        return (
            no_update,
            alert(
                f"A job is still running ({active.summary}). Cancel it to unlock.", color="warning"
            ),
            "",
        )
    return False, alert("Unlocked: no job is running.", color="success"), "d-none"


def register(app, services) -> None:
    """Wire the memory widget and the System page."""

    @app.callback(
        Output(Shell.MEMORY_TEXT, "children"),
        Output(Shell.MEMORY_BAR, "value"),
        Output(Shell.MEMORY_BAR, "color"),
        Output(Shell.MEMORY_CLEANUP, "className"),
        Output(Shell.MEMORY_NOTE, "children"),
        Input(Shell.MEMORY_POLL, "n_intervals"),
        Input(Shell.MEMORY_CLEANUP, "n_clicks"),
        State(Shell.SESSION, "data"),
    )
    def memory_widget(_n, _clicks, session_id):
        clicked = ctx.triggered_id == Shell.MEMORY_CLEANUP and bool(_clicks)
        return widget_state(services, session_id, clicked)

    @app.callback(
        Output(IDS.PROCESSES_GRID, "rowData"),
        Output(IDS.ITEMS_GRID, "rowData"),
        Output(IDS.JOBS_GRID, "rowData"),
        Output(IDS.COLUMNS_GRID, "rowData"),
        Output(IDS.SUMMARY, "children"),
        Input(IDS.REFRESH, "n_intervals"),
        Input(Shell.DATASET, "data"),
        State(Shell.SESSION, "data"),
    )
    def refresh(_n, dataset, session_id):
        try:
            state = page_state(services, session_id, dataset)
        except AccessDenied:
            return [], [], [], [], ""
        return (
            state["processes"],
            state["items"],
            state["jobs"],
            state["columns"],
            html.P(state["summary"]),
        )

    @app.callback(
        Output(IDS.NOTE, "children", allow_duplicate=True),
        Input(IDS.CLEANUP, "n_clicks"),
        State(Shell.SESSION, "data"),
        prevent_initial_call=True,
    )
    @button_action(services)
    def cleanup(session):
        return alert(cleanup_session(services, session), color="info")

    @app.callback(
        Output(Shell.NAV_LOCK, "data", allow_duplicate=True),
        Output(IDS.NOTE, "children", allow_duplicate=True),
        Output(IDS.CANCEL_JOB, "className"),
        Input(IDS.UNLOCK, "n_clicks"),
        State(Shell.SESSION, "data"),
        prevent_initial_call=True,
    )
    @button_action(services, outputs=3, message_at=1)
    def unlock(session):
        return emergency_unlock(services, session)

    @app.callback(
        Output(IDS.NOTE, "children", allow_duplicate=True),
        Input(IDS.CANCEL_JOB, "n_clicks"),
        State(Shell.SESSION, "data"),
        prevent_initial_call=True,
    )
    @button_action(services)
    def cancel_job(session):
        record = cancel_active(services, session)
        if record is None:
            return alert("No job was running.", color="info")
        return alert("The job was cancelled.", color="secondary")
