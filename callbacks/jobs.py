"""The one background callback that runs every job, and the banner it drives.

Pages do not own background callbacks: they put a request ``{"kind": ..., ...}`` into the
shell's job-request store, and the runner here looks the kind up in ``services.job_kinds``.
So there is one job at a time per browser session, one banner with progress and Cancel on
every page, and the navigation lock is set while any job runs. The job's small result
(keys and summaries, never data) lands in the job-result store, where pages pick it up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from dash import Input, Output, State, no_update

from callbacks.runner import JobFailed, run_job
from components.ids import Shell as IDS
from components.shell import BANNER_HIDDEN, BANNER_SHOWN
from components.widgets import alert
from dashboard.errors import DataInsightsError

log = logging.getLogger(__name__)

BUSY = "Another job is still running. Wait for it to finish or cancel it first."


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job.

    Attributes:
        name: The kind, as written in requests and in the job history.
        describe: ``request -> str``, the line shown in the banner ("Loading sales.csv").
        run: ``(services, session, request, progress) -> dict``, runs in the job process
            and returns a small JSON-able result. A ``"dataset"`` entry becomes the
            session's active dataset; a ``"message"`` entry is shown to the user.
    """

    name: str
    describe: Callable[[dict], str]
    run: Callable[..., dict]


def request_job(locked: bool | None, request: dict):
    """Return ``(request, message)``: the request, or a "busy" message while a job runs."""
    if locked:
        return no_update, alert(BUSY, color="warning")
    return {**request, "t": time.time()}, ""


def execute(services, session_id: str | None, request: dict, set_progress=None) -> dict:
    """Run one requested job to its end and return the result for the job-result store."""
    kind_name = request.get("kind")
    kind = services.job_kinds.get(kind_name)
    started = time.time()
    try:
        session = services.signer.verify(session_id)
        if kind is None:
            raise DataInsightsError(f"Unknown job kind {kind_name!r}.")
        summary = kind.describe(request)
        if set_progress is not None:
            set_progress((0, "", f"{summary}…"))
        result = run_job(
            services,
            session,
            kind.name,
            summary,
            lambda progress: kind.run(services, session, request, progress),
            set_progress,
        )
    except (JobFailed, DataInsightsError) as err:
        return {"kind": kind_name, "ok": False, "message": str(err), "t": started}
    return {"kind": kind_name, "ok": True, **result, "t": started}


def register(app, services) -> None:
    """Wire the job runner, the banner and the result handling."""

    @app.callback(
        Output(IDS.JOB_RESULT, "data"),
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
        ],
        cancel=[Input(IDS.JOB_CANCEL, "n_clicks")],
        prevent_initial_call=True,
    )
    def run(set_progress, request, session_id):
        if not request:
            return no_update
        return execute(services, session_id, request, set_progress)

    @app.callback(
        Output(IDS.MESSAGE, "children", allow_duplicate=True),
        Output(IDS.DATASET, "data", allow_duplicate=True),
        Input(IDS.JOB_RESULT, "data"),
        prevent_initial_call=True,
    )
    def show_result(result):
        if not result:
            return no_update, no_update
        if not result.get("ok"):
            return alert(result.get("message", "The job failed.")), no_update
        message = result.get("message")
        shown = alert(message, color="success") if message else ""
        return shown, result.get("dataset", no_update)
