"""The frame around every page: sidebar navigation, session stores, page container."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import Shell as IDS


def nav_link(page) -> dbc.NavLink:
    """Return the sidebar link of a page; ``disabled`` is driven by the navigation lock."""
    return dbc.NavLink(
        page.label,
        href=page.path,
        active="exact",
        id={"type": IDS.NAV_LINK, "page": page.path},
        className="di-nav-link",
    )


def memory_widget() -> html.Div:
    """Return the sidebar's memory gauge: text, coloured bar, and Clean up when high."""
    return html.Div(
        [
            html.Div("Memory", className="small text-muted"),
            html.Div("…", id=IDS.MEMORY_TEXT, className="small fw-semibold"),
            dbc.Progress(
                id=IDS.MEMORY_BAR,
                value=0,
                color="success",
                className="my-1",
                style={"height": "0.6rem"},
            ),
            dbc.Button(
                "Clean up",
                id=IDS.MEMORY_CLEANUP,
                size="sm",
                color="warning",
                className="d-none mt-1",
            ),
            html.Div(id=IDS.MEMORY_NOTE, className="small text-muted mt-1"),
        ],
        className="di-memory mt-4 pt-3 border-top",
    )


def sidebar(pages) -> html.Div:
    """Return the sidebar: brand and navigation generated from ``pages`` (path, label)."""
    return html.Div(
        [
            html.Div(
                [html.Span("Data", className="fw-bold"), html.Span("Insights")],
                className="di-brand fs-4 mb-3",
            ),
            dbc.Nav([nav_link(p) for p in pages], vertical=True, pills=True, id=IDS.NAV),
            memory_widget(),
        ],
        className="di-sidebar p-3",
    )


BANNER_SHOWN = "di-job-banner mb-3"
#: Class of the page while a job runs: its links to other pages are locked (assets/app.css).
LOCKED_PAGE = "di-locked"
BANNER_HIDDEN = "di-job-banner mb-3 d-none"


def job_banner() -> html.Div:
    """Return the banner shown on every page while a job runs: what, progress, Cancel."""
    return html.Div(
        dbc.Alert(
            [
                html.Div(id=IDS.JOB_STATUS, className="fw-semibold mb-2"),
                html.Div(
                    [
                        dbc.Progress(id=IDS.JOB_PROGRESS, value=0, className="flex-grow-1 me-3"),
                        dbc.Button(
                            "Cancel",
                            id=IDS.JOB_CANCEL,
                            color="danger",
                            outline=True,
                            size="sm",
                            disabled=True,
                        ),
                    ],
                    className="d-flex align-items-center",
                ),
            ],
            color="info",
            className="mb-0",
        ),
        id=IDS.JOB_BANNER,
        className=BANNER_HIDDEN,
    )


def layout(pages) -> html.Div:
    """Return the app's root layout; ``pages`` (``callbacks.pages.PAGES``) make the navigation.

    Pages are rendered into ``IDS.PAGE``.
    """
    return html.Div(
        [
            dcc.Location(id=IDS.LOCATION),
            dcc.Store(id=IDS.SESSION, storage_type="session"),
            dcc.Store(id=IDS.DATASET, storage_type="session"),
            dcc.Store(id=IDS.NAV_LOCK, data=False),
            sidebar(pages),
            dcc.Store(id=IDS.JOB_REQUEST),
            dcc.Store(id=IDS.JOB_RESULT),
            dcc.Store(id=IDS.JOB_RELAYED),
            dcc.Store(id=IDS.JOB_SEEN, storage_type="session"),
            dcc.Interval(id=IDS.JOB_POLL, interval=500),
            dcc.Interval(id=IDS.MEMORY_POLL, interval=5000),
            html.Main(
                [job_banner(), html.Div(id=IDS.MESSAGE), html.Div(id=IDS.PAGE)],
                className="di-main p-4",
            ),
        ],
        className="di-shell",
    )
