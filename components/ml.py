"""Machine Learning page layout: the training settings, the results, the best model."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import ML as IDS
from components.widgets import NUMBER_COLUMN, card, data_grid, field

GRAPH_CONFIG = {"displaylogo": False}
STATUS_COLORS = {
    "ok": "success",
    "failed": "danger",
    "over time budget": "warning",
    "over memory limit": "warning",
    "skipped": "secondary",
}


def layout() -> html.Div:
    """Return the Machine Learning page (its parts are filled from the dataset and results)."""
    return html.Div(
        [
            html.H2("Machine Learning", className="mb-3"),
            dcc.Store(id=IDS.SEEN),
            html.Div(id=IDS.SETUP),
            html.Div(id=IDS.STATUS, className="mt-3"),
            html.Div(id=IDS.RESULTS),
        ]
    )


def note(message: str, color: str = "info", **kwargs) -> dbc.Alert:
    """Return a note above the results (none yet, running, stopped, stale)."""
    return dbc.Alert(message, color=color, className="py-2 mb-0", **kwargs)


def setup_card(columns: list[str], form: dict) -> dbc.Card:
    """Return the training settings.

    Args:
        columns: Every column of the dataset (target candidates).
        form: Initial values and options (``callbacks.ml.form_state``): ``data_note``,
            ``target``,
            ``task`` (``auto`` / ``classification`` / ``regression``), ``task_options``,
            ``task_note``, ``features`` / ``feature_options``, ``excluded`` (children),
            ``models`` / ``model_options``, ``models_note``, ``metric`` /
            ``metric_options``, ``test_percent``, ``folds``, ``budget``.
    """
    return card(
        "Train and compare models",
        [
            html.P(form.get("data_note", ""), className="small text-muted mb-2"),
            dbc.Row(
                [
                    field(
                        "Target (the column to predict)",
                        dcc.Dropdown(
                            id=IDS.TARGET, options=columns, value=form["target"], clearable=False
                        ),
                        md=4,
                    ),
                    field(
                        "Task",
                        dbc.RadioItems(
                            id=IDS.TASK,
                            options=form["task_options"],
                            value=form["task"],
                            inline=True,
                        ),
                        html.Span(form["task_note"], id=IDS.TASK_NOTE),
                        md=8,
                    ),
                ]
            ),
            dbc.Row(
                field(
                    "Features",
                    dcc.Dropdown(
                        id=IDS.FEATURES,
                        options=form["feature_options"],
                        value=form["features"],
                        multi=True,
                        placeholder="Every usable column",
                    ),
                    html.Div(form["excluded"], id=IDS.EXCLUDED),
                )
            ),
            dbc.Row(
                field(
                    "Models",
                    dbc.Checklist(
                        id=IDS.MODELS,
                        options=form["model_options"],
                        value=form["models"],
                        className="di-ml-models",
                    ),
                    html.Span(form["models_note"], id=IDS.MODELS_NOTE),
                )
            ),
            dbc.Row(
                [
                    field(
                        "Test share",
                        dcc.Slider(
                            id=IDS.TEST_SHARE,
                            min=10,
                            max=40,
                            step=5,
                            value=form["test_percent"],
                            marks={p: f"{p} %" for p in range(10, 41, 10)},
                        ),
                        "Rows held out to test the trained models.",
                        md=4,
                    ),
                    field(
                        "Cross-validation folds",
                        dbc.Input(
                            id=IDS.FOLDS, type="number", min=3, max=10, step=1, value=form["folds"]
                        ),
                        "3 to 10, on the training rows.",
                        md=2,
                    ),
                    field(
                        "Rank by",
                        dcc.Dropdown(
                            id=IDS.METRIC,
                            options=form["metric_options"],
                            value=form["metric"],
                            clearable=False,
                        ),
                        "Cross-validated mean.",
                        md=3,
                    ),
                    field(
                        "Time budget per model (s)",
                        dbc.Input(
                            id=IDS.BUDGET,
                            type="number",
                            min=1,
                            max=3600,
                            step=1,
                            value=form["budget"],
                        ),
                        "A model running longer is stopped.",
                        md=3,
                    ),
                ]
            ),
            dbc.Button("Train models", id=IDS.TRAIN, color="primary"),
        ],
        id=IDS.SETUP_CARD,
    )


def excluded_list(excluded: list[dict]):
    """Return the columns left out with their reasons (empty when none)."""
    if not excluded:
        return ""
    return html.Div(
        [
            html.Span("Left out: ", className="fw-semibold"),
            "; ".join(f"{e['column']} — {e['reason']}" for e in excluded),
        ],
        className="small text-muted mt-1",
    )


def results_grid(rows: list[dict], metric_columns: list[tuple[str, str]], best: str | None):
    """Return the sortable results table, the best model's row highlighted."""
    columns = [
        {"field": "rank", "headerName": "#", "width": 60, "flex": 0, "type": "rightAligned"},
        {"field": "model", "headerName": "Model", "pinned": "left", "minWidth": 230},
        {
            "field": "status",
            "headerName": "Status",
            "minWidth": 140,
            "cellClassRules": {
                f"text-{color} fw-semibold": f"params.value == '{status}'"
                for status, color in STATUS_COLORS.items()
            },
        },
        *[
            {
                "field": key,
                "headerName": label,
                "minWidth": 110,
                "wrapHeaderText": True,
                "autoHeaderHeight": True,
                **NUMBER_COLUMN,
            }
            for key, label in metric_columns
        ],
        {"field": "fit_seconds", "headerName": "Fit s", **NUMBER_COLUMN},
        {"field": "total_seconds", "headerName": "Total s", **NUMBER_COLUMN},
        {"field": "peak_mb", "headerName": "Peak MB", **NUMBER_COLUMN},
        {"field": "reason", "headerName": "Note", "minWidth": 320, "tooltipField": "reason"},
    ]
    style = {"styleConditions": []}
    if best:
        style["styleConditions"].append(
            {"condition": f"params.data.model == {best!r}", "style": {"backgroundColor": "#eaf4ea"}}
        )
    return data_grid(
        IDS.TABLE, rows, columns, getRowStyle=style, dashGridOptions={"tooltipShowDelay": 300}
    )


def graph(graph_id: str, figure) -> dcc.Graph:
    """Return a chart of the page."""
    return dcc.Graph(id=graph_id, figure=figure, config=GRAPH_CONFIG)


def downloads(links: dict[str, str]) -> html.Div:
    """Return the download links (signed, expiring)."""
    return html.Div(
        [
            dbc.Button(
                label,
                href=url,
                external_link=True,
                color="secondary",
                outline=True,
                size="sm",
                className="me-2 mb-1",
            )
            for label, url in links.items()
        ],
        id=IDS.DOWNLOADS,
        className="mt-3",
    )


def summary(sentences: list[str]) -> html.Ul:
    """Return the plain-language summary."""
    return html.Ul([html.Li(s) for s in sentences], id=IDS.SUMMARY, className="mb-3")


def report_grid(rows: list[dict]):
    """Return the per-class precision / recall / F1 / support table."""
    return data_grid(
        IDS.REPORT_GRID,
        rows,
        [
            {"field": "class", "headerName": "Class", "minWidth": 140},
            {"field": "precision", "headerName": "Precision", **NUMBER_COLUMN},
            {"field": "recall", "headerName": "Recall", **NUMBER_COLUMN},
            {"field": "f1", "headerName": "F1", **NUMBER_COLUMN},
            {"field": "support", "headerName": "Rows", **NUMBER_COLUMN},
        ],
    )


def results_section(parts: dict) -> html.Div:
    """Return the results: summary, table, downloads, charts, then the best model's details.

    Args:
        parts: ``summary`` (children), ``table`` (grid), ``downloads`` (children),
            ``charts`` (list of graphs), ``best_title`` and ``best`` (children or None).
    """
    children = [
        card(
            "Results",
            [parts.get("summary") or "", parts["table"], parts.get("downloads") or ""],
            id=IDS.RESULTS_CARD,
        ),
        card("Comparison", dbc.Row([dbc.Col(g, lg=6) for g in parts["charts"]])),
    ]
    if parts.get("best") is not None:
        children.append(card(parts["best_title"], parts["best"], id=IDS.BEST))
    return html.Div(children)


def best_details(graphs: list, extra=None) -> html.Div:
    """Return the best model's charts, two per row, and an optional table under them."""
    return html.Div(
        [dbc.Row([dbc.Col(g, lg=6) for g in graphs]), html.Div(extra, className="mt-3")]
    )
