"""Profile page wiring: the profile job, the stored profile, charts from aggregates."""

from __future__ import annotations

import logging

from dash import Input, Output, State, html, no_update

from callbacks.jobs import request_job
from callbacks.results import (
    download_links,
    stale_message,
    stored_result,
    wire_content,
)
from components import profile as page
from components.ids import Profile as IDS
from components.ids import Shell
from dashboard.cleaning import OPERATIONS
from dashboard.cleaning.job import CLEAN, UNDO
from dashboard.data import EXCEL_MAX_ROWS, NO_DATA
from dashboard.errors import DataInsightsError, InvalidParameter
from dashboard.profile import (
    plots,
)
from dashboard.profile.job import MAX_DISTRIBUTIONS, PROFILE

log = logging.getLogger(__name__)

#: Formats the data downloads in (``/api/download`` also serves a model as joblib).
TABLE_FORMATS = ("csv", "xlsx", "parquet")


# --- the job ------------------------------------------------------------------------------


# --- plain handlers -----------------------------------------------------------------------


def stored_profile(services, session: str) -> tuple[dict | None, bool]:
    """Return ``(profile, stale)``: the stored profile and whether ``data`` changed since."""
    stored = stored_result(services, session, "profile")
    return (stored.item.meta.get("profile") if stored.item else None), stored.stale


def render(services, session_id: str | None, steps: list[dict] | None = None):
    """Return ``(status, content)`` of the Profile page."""
    try:
        session = services.signer.verify(session_id)
    except DataInsightsError:
        return page.status("Reload the page to start a session."), None
    if services.store.info_by_name(session, "data") is None:
        return page.status(NO_DATA), None
    profile, stale = stored_profile(services, session)
    if profile is None:
        return page.status("No profile yet: click “Profile the data”."), None
    note = None
    if stale:
        note = page.status(stale_message("profile results", "Profile the data"), color="warning")
    names = [c["name"] for c in profile.get("columns", [])]
    content = html.Div(
        [
            page.overview_cards(profile.get("overview", {})),
            page.issues_card(profile.get("issues", [])),
            page.columns_card(profile.get("columns", [])),
            page.charts(names),
            page.full_stats_card(profile["full"]["stats"], profile["full"]["rows"])
            if profile.get("full")
            else None,
            # steps apply to the data as it is now, which a stale profile does not describe
            page.cleaning_card(OPERATIONS, current_columns(services, session), steps or []),
            page.downloads_card(data_downloads(services, session)),
        ]
    )
    return note, content


def current_columns(services, session: str) -> list[str]:
    """Return the column names of the session's analysis data as it is now (from its meta)."""
    data = services.store.info_by_name(session, "data")
    return [] if data is None else [c["column"] for c in data.meta.get("column_table", [])]


def data_downloads(services, session: str) -> list[tuple[str, str, dict[str, str | None]]]:
    """Return the download groups of the Profile page: the data, and the full data if sampled."""
    store = services.store
    groups = []
    data = store.info_by_name(session, "data")
    full = store.info_by_name(session, "data_full")
    sampled = data is not None and data.meta.get("sampling", {}).get("sampled")
    tables = [("data", data, "Analysis data" if sampled else "Data")]
    if sampled and full is not None:
        tables.append(("data_full", full, "Full data"))
    for name, info, title in tables:
        if info is None:
            continue
        links = download_links(services, session, {f: (name, f) for f in TABLE_FORMATS})
        if info.rows > EXCEL_MAX_ROWS:
            links["xlsx"] = None
        groups.append((name, f"{title} ({info.rows:,} rows)", links))
    return groups


def distribution_for(services, session_id: str | None, column: str | None) -> dict:
    """Return the distribution aggregates of one column, from the stored profile.

    The profile job computes them (the web process never reads the data).

    Raises:
        InvalidParameter: Nothing loaded, no profile yet, or a column it has none for.
    """
    session = services.signer.verify(session_id)
    if services.store.info_by_name(session, "data") is None or not column:
        raise InvalidParameter(NO_DATA)
    profile, _stale = stored_profile(services, session)
    if profile is None:
        raise InvalidParameter("No profile yet: click “Profile the data”.")
    found = (profile.get("distributions") or {}).get(column)
    if found is None:
        raise InvalidParameter(
            f"No distribution for “{column}”: only the first {MAX_DISTRIBUTIONS} columns "
            "have one, and the profile must be run again after the data changed."
        )
    return found


def strongest_pairs(corr: dict) -> html.Ul | str:
    """Return the strongest correlated pairs as a short list."""
    pairs = corr.get("strongest") or []
    if not pairs:
        return ""
    return html.Ul(
        [html.Li(f"{p['a']} × {p['b']}: {p['r']:+.2f}") for p in pairs[:10]], className="mb-0"
    )


# --- wiring -------------------------------------------------------------------------------


def register(app, services) -> None:
    """Wire the Profile page."""

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.RUN, "n_clicks"),
        State(Shell.NAV_LOCK, "data"),
        prevent_initial_call=True,
    )
    def run(clicks, locked):
        if not clicks:
            return no_update, no_update
        return request_job(locked, {"kind": PROFILE.name})

    wire_content(
        app,
        lambda session_id, steps: render(services, session_id, steps),
        status=IDS.STATUS,
        content=IDS.CONTENT,
        kinds=(PROFILE.name, CLEAN.name, UNDO.name),  # not a preview: the page stays as it is
        states=(State(IDS.CLEAN_STEPS, "data"),),
    )

    @app.callback(
        Output(IDS.DIST_GRAPH, "figure"),
        Input(IDS.DIST_COLUMN, "value"),
        State(Shell.SESSION, "data"),
    )
    def dist(column, session_id):
        try:
            return plots.distribution_figure(column, distribution_for(services, session_id, column))
        except DataInsightsError as err:
            return plots.empty_figure(str(err))

    @app.callback(
        Output(IDS.CORR_GRAPH, "figure"),
        Output(IDS.CORR_PAIRS, "children"),
        Output(IDS.MISSING_GRAPH, "figure"),
        Output(IDS.PATTERN_GRAPH, "figure"),
        Input(IDS.CORR_METHOD, "value"),
        State(Shell.SESSION, "data"),
    )
    def corr(method, session_id):
        try:
            profile, _ = stored_profile(services, services.signer.verify(session_id))
        except DataInsightsError as err:
            empty = plots.empty_figure(str(err))
            return empty, "", empty, empty
        if profile is None:
            empty = plots.empty_figure("No profile yet.")
            return empty, "", empty, empty
        chosen = profile.get("correlations_spearman" if method == "spearman" else "correlations")
        chosen = chosen or {}
        missing = profile.get("missing", {})
        return (
            plots.correlation_figure(chosen),
            strongest_pairs(chosen),
            plots.missing_figure(missing),
            plots.missing_pattern_figure(missing.get("pattern", {})),
        )
