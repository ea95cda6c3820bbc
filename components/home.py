"""Home page layout: what is loaded, and the workflow."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import Home as IDS
from components.widgets import card

WORKFLOW = (
    ("1. Load", "Upload a CSV, TSV, Excel or Parquet file, or try a sample on the Data page."),
    ("2. Check", "See how much memory the optimized data takes and preview the rows."),
    (
        "3. Profile & clean",
        "Quality score, issues with their fixes, statistics and charts; clean with undo.",
    ),
    (
        "4. Analyse",
        "Compare machine-learning models, segment customers (RFM), find products bought "
        "together. Heavy work runs as background jobs, one at a time, with progress and "
        "Cancel.",
    ),
)


def layout(samples=()) -> html.Div:
    """Return the Home page."""
    return html.Div(
        [
            html.H2("DataInsights", className="mb-1"),
            html.P(
                "Profile your data, compare machine-learning models, segment customers and "
                "find products bought together — in the browser, without writing code.",
                className="lead",
            ),
            card("Loaded dataset", html.Div(id=IDS.STATUS)),
            card(
                "Sample datasets to try",
                html.Ul(
                    [
                        html.Li(
                            [html.Span(s.title, className="fw-semibold"), f" — {s.description}"]
                        )
                        for s in samples
                    ]
                    + [html.Li(dcc.Link("Load one on the Data page", href="/data"))],
                    className="mb-0",
                ),
            ),
            card(
                "How it works",
                dbc.Row(
                    [
                        dbc.Col([html.H5(t), html.P(d, className="text-muted mb-0")], md=3)
                        for t, d in WORKFLOW
                    ]
                ),
            ),
        ]
    )
