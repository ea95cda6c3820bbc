"""The frame around every page: sidebar navigation, session stores, page container."""

from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import Shell as IDS


@dataclass(frozen=True)
class Page:
    """One navigation entry."""

    path: str
    label: str
    description: str


PAGES: tuple[Page, ...] = (
    Page("/", "Home", "What is loaded and where to start"),
    Page("/data", "Data", "Upload, optimize, sample and preview"),
    Page("/profile", "Profile", "Quality, statistics, distributions, correlations"),
    Page("/ml", "Machine Learning", "Compare classification and regression models"),
    Page("/rfm", "Customer Value", "RFM scores, segments, clusters, lifetime value"),
    Page("/basket", "Market Basket", "Products bought together: itemsets and rules"),
    Page("/system", "System", "Memory, stored items, jobs, cleanup"),
)


def nav_link(page: Page) -> dbc.NavLink:
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


def sidebar() -> html.Div:
    """Return the sidebar: brand and navigation generated from ``PAGES``."""
    return html.Div(
        [
            html.Div(
                [html.Span("Data", className="fw-bold"), html.Span("Insights")],
                className="di-brand fs-4 mb-3",
            ),
            dbc.Nav([nav_link(p) for p in PAGES], vertical=True, pills=True, id=IDS.NAV),
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


def layout() -> html.Div:
    """Return the app's root layout (pages are rendered into ``IDS.PAGE``)."""
    return html.Div(
        [
            dcc.Location(id=IDS.LOCATION),
            dcc.Store(id=IDS.SESSION, storage_type="session"),
            dcc.Store(id=IDS.DATASET, storage_type="session"),
            dcc.Store(id=IDS.NAV_LOCK, data=False),
            sidebar(),
            dcc.Store(id=IDS.JOB_REQUEST),
            dcc.Store(id=IDS.JOB_RESULT),
            dcc.Store(id=IDS.JOB_SEEN, storage_type="session"),
            dcc.Interval(id=IDS.JOB_POLL, interval=1000),
            dcc.Interval(id=IDS.MEMORY_POLL, interval=5000),
            html.Main(
                [job_banner(), html.Div(id=IDS.MESSAGE), html.Div(id=IDS.PAGE)],
                className="di-main p-4",
            ),
        ],
        className="di-shell",
    )
