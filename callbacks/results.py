"""What the analysis pages share: a session's stored result, its staleness, download links.

Every derived result is stored with the ``dataset_version`` of the ``data`` it came from
(in its meta). When ``data`` changes (new upload, cleaning, undo, resample), the result is
*stale*: pages show it with a note and offer to re-run, never as current.
"""

from __future__ import annotations

from dataclasses import dataclass

from dash import Input, Output, State, ctx, no_update

from callbacks.jobs import request_job
from callbacks.routes import download_token
from components.ids import Shell
from dashboard.data import EXCEL_MAX_ROWS
from dashboard.data.job import INGEST
from dashboard.store import ItemInfo


@dataclass(frozen=True)
class StoredResult:
    """A page's stored result and the analysis dataset it is compared with.

    Attributes:
        item: The stored result (None when the page has not run yet).
        data: The session's analysis dataset (None when nothing is loaded).
        stale: The result was computed from another version of ``data``.
    """

    item: ItemInfo | None
    data: ItemInfo | None
    stale: bool


def stored_result(services, session: str, name: str) -> StoredResult:
    """Return the session's stored item ``name`` and whether ``data`` changed since."""
    store = services.store
    item = store.info_by_name(session, name)
    data = store.info_by_name(session, "data")
    stale = item is not None and (data is None or item.meta.get("dataset_version") != data.version)
    return StoredResult(item, data, stale)


def stale_message(what: str, button: str) -> str:
    """Return the note shown above a result computed from an earlier version of the data."""
    return (
        f"These {what} are from an earlier version of the data (it changed since). "
        f"Click “{button}” to run it again."
    )


def download_links(services, session: str, files: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Return ``{label: url}`` of signed, expiring download links.

    Args:
        services: The app's services (the secret key signs the links).
        session: The session whose stored items are offered.
        files: ``{label: (item name, format)}``; formats are those of ``/api/download``.

    Returns:
        One url per label, except Excel for tables above ``EXCEL_MAX_ROWS`` (left out: the
        download would be refused).
    """
    links = {}
    for label, (name, fmt) in files.items():
        if fmt == "xlsx":
            info = services.store.info_by_name(session, name)
            if info is not None and info.rows > EXCEL_MAX_ROWS:
                continue
        links[label] = f"/api/download/{download_token(services, session, name, fmt)}"
    return links


# --- wiring shared by the analysis pages ----------------------------------------------------


def wire_content(app, render, *, status: str, content: str, kinds: tuple[str, ...], states=()):
    """Re-render a page's status and content when the dataset changes or one of its jobs ends.

    Args:
        app: The Dash app.
        render: ``(session_id, *state values) -> (status, content)``.
        status: Id of the page's status area.
        content: Id of the page's content area.
        kinds: Job kinds whose results this page shows (other jobs leave it as it is).
        states: Further ``State`` objects passed to ``render``.
    """

    @app.callback(
        Output(status, "children"),
        Output(content, "children"),
        Input(Shell.DATASET, "data"),
        Input(Shell.JOB_RESULT, "data"),
        State(Shell.SESSION, "data"),
        *states,
    )
    def refresh(_dataset, result, session_id, *values):
        if ctx.triggered_id == Shell.JOB_RESULT and (result or {}).get("kind") not in kinds:
            return no_update, no_update
        return render(session_id, *values)


def wire_sample_button(app, button: str, sample: str) -> None:
    """Make ``button`` load the sample dataset ``sample`` (an ingest job)."""

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(button, "n_clicks"),
        State(Shell.NAV_LOCK, "data"),
        prevent_initial_call=True,
    )
    def load_sample(clicks, locked):
        if not clicks:
            return no_update, no_update
        return request_job(locked, {"kind": INGEST.name, "source": "sample", "name": sample})
