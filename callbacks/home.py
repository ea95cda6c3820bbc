"""Home page wiring: what is loaded."""

from __future__ import annotations

from dash import Input, Output, State, dcc, html

from components.ids import Home as IDS
from components.ids import Shell
from dashboard.errors import DataInsightsError


def running_line(services, session_id: str | None):
    """Return what runs now in this session (or None)."""
    try:
        active = services.jobs.active_for(services.signer.verify(session_id))
    except DataInsightsError:
        return None
    if active is None:
        return None
    return html.Div(f"Running now: {active.summary}", className="mt-2 text-primary")


def loaded_status(services, session_id: str | None, dataset: dict | None):
    """Return a short description of the active dataset, or how to load one."""
    running = running_line(services, session_id)
    return html.Div([_dataset_line(services, session_id, dataset), running])


def _dataset_line(services, session_id: str | None, dataset: dict | None):
    if dataset and session_id:
        try:
            session = services.signer.verify(session_id)
            info = services.store.info(session, dataset["data_key"])
        except DataInsightsError:
            info = None
        if info is not None:
            source = info.meta.get("source", {})
            rows_full = info.meta.get("sampling", {}).get("rows_full", info.rows)
            return html.Div(
                [
                    html.Span(source.get("filename", "Dataset"), className="fw-semibold"),
                    html.Span(f" — {rows_full:,} rows × {info.columns} columns"),
                    html.Span(" (sampled for analysis)" if dataset.get("sampled") else ""),
                    html.Div(dcc.Link("Open the Data page", href="/data"), className="mt-2"),
                ]
            )
    return html.Div(
        [
            "Nothing loaded yet. ",
            dcc.Link("Upload a file or try a sample dataset", href="/data"),
            ".",
        ]
    )


def register(app, services) -> None:
    """Wire the Home page callbacks."""

    @app.callback(
        Output(IDS.STATUS, "children"),
        Input(Shell.DATASET, "data"),
        State(Shell.SESSION, "data"),
    )
    def status(dataset, session_id):
        return loaded_status(services, session_id, dataset)
