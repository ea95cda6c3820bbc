"""The one background callback that runs every job, the banner, and the lock's truth.

Pages do not own background callbacks: they put a request ``{"kind": ..., ...}`` into the
shell's job-request store, and the job process looks the kind up in ``dashboard.kinds``.
So there is one banner with progress and Cancel on every page, and the navigation lock is
set (through ``running=``) while a job runs.

``running=`` lives in the browser only, so a poll reconciles the lock, the banner and the
outcome with the server's job registry: after a reload the banner and lock come back
attached to the running job; a job that died unlocks with a message within seconds; and the
outcome of a job that finished while nobody listened is still shown.

The poll is the only way an outcome reaches the page. What the background callback returns
goes to a store nothing reads (``JOB_RELAYED``): Dash holds back every callback that reads,
even as ``State``, an output of a callback waiting on a running background callback, so a
result shown through it would hold the poll back until the relay returns — and a stuck or
killed relay would never return (the page then missed outcomes the registry already had).
"""

from __future__ import annotations

import logging
import time

from dash import Input, Output, State, no_update

from callbacks.actions import button_action
from components.ids import Shell as IDS
from components.shell import BANNER_HIDDEN, BANNER_SHOWN
from components.widgets import alert
from dashboard.errors import AccessDenied
from dashboard.jobs import (
    CANCELLED,
    cancel_active,
    execute,  # noqa: F401 - the shell's runner, for tests and benches
    launch,
    outcome,
    status_line,
)

log = logging.getLogger(__name__)

BUSY = "Another job is still running. Wait for it to finish or cancel it first."
#: While a job runs the poll ticks fast: it also delivers the outcome (within about 0.5 s).
FAST_POLL_MS, SLOW_POLL_MS = 500, 5000
START_GRACE_S = 10.0  # a requested job has this long to register before the lock is dropped


def request_job(locked: bool | None, request: dict):
    """Return ``(request, message)``: the request, or a "busy" message while a job runs."""
    if locked:
        return no_update, alert(BUSY, color="warning")
    return {**request, "t": time.time()}, ""


def reconcile(services, session_id: str | None, seen: str | None, request: dict | None):
    """Return the shell's job state as the registry knows it.

    Returns:
        ``(locked, banner_class, status, percent, label, cancel_disabled, result, poll_ms)``;
        ``result`` is the outcome of the newest finished job not yet shown (``seen``), or
        None.
    """
    idle = (False, BANNER_HIDDEN, "", 0, "", True, None, SLOW_POLL_MS)
    try:
        session = services.signer.verify(session_id)
    except AccessDenied:
        return idle
    registry = services.jobs
    registry.reap_stale()
    active = registry.active_for(session)
    if active is not None:
        pct = int((active.progress or {}).get("percent", 0))
        return (
            True,
            BANNER_SHOWN,
            status_line(active),
            pct,
            f"{pct} %" if pct else "",
            False,
            None,
            FAST_POLL_MS,
        )
    latest = registry.latest(session)
    requested_at = (request or {}).get("t") or 0
    if (latest is None or latest.created < requested_at) and time.time() - requested_at < (
        START_GRACE_S
    ):
        # the requested job is still starting: keep the lock Dash's running= has set
        return (
            no_update,
            no_update,
            no_update,
            no_update,
            no_update,
            no_update,
            None,
            FAST_POLL_MS,
        )
    result = None
    if latest is not None and latest.job_id != seen and latest.state.terminal:
        result = outcome(latest)
    return idle[:6] + (result, SLOW_POLL_MS)


def register(app, services) -> None:
    """Wire the job runner, the banner, the registry poll, Cancel and result handling."""

    @app.callback(
        Output(IDS.JOB_RELAYED, "data"),  # read by nobody: the poll delivers the outcome
        Input(IDS.JOB_REQUEST, "data"),
        State(IDS.SESSION, "data"),
        background=True,
        progress=[
            Output(IDS.JOB_PROGRESS, "value"),
            Output(IDS.JOB_PROGRESS, "label"),
            Output(IDS.JOB_STATUS, "children"),
        ],
        running=[
            (Output(IDS.NAV_LOCK, "data"), True, False),
            (Output(IDS.JOB_BANNER, "className"), BANNER_SHOWN, BANNER_HIDDEN),
            (Output(IDS.JOB_CANCEL, "disabled"), False, True),
            # the poll ticks fast from the start: it delivers the outcome (the next idle
            # poll slows it down again)
            (Output(IDS.JOB_POLL, "interval"), FAST_POLL_MS, FAST_POLL_MS),
        ],
        cancel=[Input(IDS.JOB_CANCEL, "n_clicks")],
        interval=400,  # how often the browser asks for progress and the result
        prevent_initial_call=True,
    )
    def run(set_progress, request, session_id):
        if not request:
            return no_update
        return launch(services, session_id, request, set_progress)

    @app.callback(
        Output(IDS.NAV_LOCK, "data", allow_duplicate=True),
        Output(IDS.JOB_BANNER, "className", allow_duplicate=True),
        Output(IDS.JOB_STATUS, "children", allow_duplicate=True),
        Output(IDS.JOB_PROGRESS, "value", allow_duplicate=True),
        Output(IDS.JOB_PROGRESS, "label", allow_duplicate=True),
        Output(IDS.JOB_CANCEL, "disabled", allow_duplicate=True),
        Output(IDS.JOB_RESULT, "data"),
        Output(IDS.JOB_POLL, "interval"),
        Input(IDS.JOB_POLL, "n_intervals"),
        Input(IDS.SESSION, "data"),
        State(IDS.JOB_SEEN, "data"),
        State(IDS.JOB_REQUEST, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def poll(_n, session_id, seen, request):
        locked, banner, status, pct, label, cancel_off, result, every = reconcile(
            services, session_id, seen, request
        )
        return (
            locked,
            banner,
            status,
            pct,
            label,
            cancel_off,
            result if result is not None else no_update,
            every,
        )

    @app.callback(
        Output(IDS.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.JOB_CANCEL, "n_clicks"),
        State(IDS.SESSION, "data"),
        prevent_initial_call=True,
    )
    @button_action(services)
    def cancel(session):
        # Dash's own cancel stops the job it launched from this page; this one also stops
        # a job this page re-attached to after a reload.
        cancel_active(services, session)
        return alert(CANCELLED, color="secondary")

    @app.callback(
        Output(IDS.MESSAGE, "children", allow_duplicate=True),
        Output(IDS.DATASET, "data", allow_duplicate=True),
        Output(IDS.JOB_SEEN, "data"),
        Input(IDS.JOB_RESULT, "data"),
        State(IDS.JOB_SEEN, "data"),
        prevent_initial_call=True,
    )
    def show_result(result, seen):
        if not result or (result.get("job_id") and result.get("job_id") == seen):
            return no_update, no_update, no_update
        seen_now = result.get("job_id") or seen
        if not result.get("ok"):
            color = "secondary" if result.get("cancelled") else "danger"
            return alert(result.get("message", "The job failed."), color=color), no_update, seen_now
        message = result.get("message")
        shown = alert(message, color="success") if message else ""
        return shown, result.get("dataset", no_update), seen_now
