"""Profile page layout: run the profile, then overview, issues, columns and charts."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import Profile as IDS
from components.widgets import (
    COUNT_COLUMN,
    NUMBER_COLUMN,
    Stat,
    card,
    data_grid,
    format_bytes,
    format_int,
    page_header,
    stat_cards,
)
from dashboard.data import EXCEL_TOO_LARGE

SEVERITY_COLORS = {"high": "danger", "medium": "warning", "low": "secondary"}


def layout() -> html.Div:
    """Return the Profile page (its body is filled from the stored profile)."""
    return html.Div(
        [
            page_header(
                "Profile",
                dbc.Button("Profile the data", id=IDS.RUN, color="primary", size="sm"),
            ),
            dcc.Store(id=IDS.CLEAN_STEPS, storage_type="session"),
            html.Div(id=IDS.STATUS),
            html.Div(id=IDS.CONTENT),
            # outside the content: the content is rebuilt after every job, the preview stays
            html.Div(id=IDS.CLEAN_REPORT, className="mt-3"),
        ]
    )


def status(message: str, color: str = "info") -> dbc.Alert:
    """Return the note above the profile (none yet, stale, from which version)."""
    return dbc.Alert(message, color=color, className="py-2")


def overview_cards(overview: dict) -> dbc.Row:
    """Return the overview cards; the quality score shows its formula on hover."""
    return stat_cards(
        [
            Stat("Rows", format_int(overview.get("rows"))),
            Stat("Columns", format_int(overview.get("columns"))),
            Stat("Missing cells", f"{overview.get('missing_cells_pct', 0):.1f} %"),
            Stat("Duplicate rows", format_int(overview.get("duplicate_rows"))),
            Stat("Memory", format_bytes(overview.get("memory_bytes"))),
            Stat(
                "Quality score",
                f"{overview.get('quality_score', 0):.0f} / 100",
                hint=overview.get("quality_formula"),
                id=IDS.SCORE,
            ),
        ],
        id=IDS.CARDS,
    )


def issues_card(issues: list[dict]) -> html.Div:
    """Return the quality issues, worst first, each with the step that fixes it."""
    if not issues:
        body = html.P("No quality issues found.", className="mb-0 text-success")
    else:
        body = html.Ul(
            [
                html.Li(
                    [
                        dbc.Badge(
                            i.get("severity", "low"),
                            className="me-2",
                            color=SEVERITY_COLORS.get(i.get("severity"), "secondary"),
                        ),
                        i.get("message", ""),
                        html.Span(f" Fix: {fix_text(i.get('fix'))}", className="text-muted small")
                        if i.get("fix")
                        else None,
                    ],
                    className="mb-1",
                )
                for i in issues
            ],
            className="list-unstyled mb-0",
        )
    return card("Quality issues", body, id=IDS.ISSUES)


def fix_text(fix: dict | None) -> str:
    """Describe a cleaning step in words."""
    if not fix:
        return ""
    op = str(fix.get("op", "")).replace("_", " ")
    columns = fix.get("columns")
    return f"{op} ({', '.join(map(str, columns))})" if columns else op


def _cell(value):
    """Return a statistic for the grid: a date at midnight without its time of day."""
    if isinstance(value, str) and value.endswith("T00:00:00"):
        return value[: -len("T00:00:00")]
    return value


def columns_card(columns: list[dict]) -> html.Div:
    """Return the per-column statistics table (the first and last date of date columns)."""
    rows = [
        {
            **{
                k: _cell(c.get(k))
                for k in (
                    "name",
                    "dtype",
                    "semantic",
                    "missing_pct",
                    "unique",
                    "min",
                    "max",
                    "mean",
                    "std",
                    "q25",
                    "q50",
                    "q75",
                )
            },
            "top": ", ".join(
                f"{t.get('value')} ({t.get('count'):,})" for t in (c.get("top") or [])[:3]
            ),
        }
        for c in columns
    ]
    return card(
        "Columns",
        data_grid(
            IDS.COLUMNS_GRID,
            rows,
            [
                {"field": "name", "headerName": "Column", "pinned": "left"},
                {"field": "dtype", "headerName": "Type"},
                {"field": "semantic", "headerName": "Kind"},
                {"field": "missing_pct", "headerName": "Missing %", **NUMBER_COLUMN},
                {"field": "unique", "headerName": "Unique", **COUNT_COLUMN},
                {"field": "min", "headerName": "Min", **NUMBER_COLUMN},
                {"field": "q25", "headerName": "25 %", **NUMBER_COLUMN},
                {"field": "q50", "headerName": "Median", **NUMBER_COLUMN},
                {"field": "q75", "headerName": "75 %", **NUMBER_COLUMN},
                {"field": "mean", "headerName": "Mean", **NUMBER_COLUMN},
                {"field": "std", "headerName": "Std", **NUMBER_COLUMN},
                {"field": "max", "headerName": "Max", **NUMBER_COLUMN},
                {"field": "top", "headerName": "Top values", "minWidth": 220},
            ],
        ),
    )


def charts(columns: list[str]) -> html.Div:
    """Return the distribution, correlation and missing-value charts."""
    return html.Div(
        [
            card(
                "Distribution",
                [
                    dcc.Dropdown(
                        id=IDS.DIST_COLUMN,
                        options=columns,
                        value=columns[0] if columns else None,
                        clearable=False,
                        className="mb-2",
                    ),
                    dcc.Graph(id=IDS.DIST_GRAPH, config={"displaylogo": False}),
                ],
            ),
            card(
                "Correlations",
                [
                    dbc.RadioItems(
                        id=IDS.CORR_METHOD,
                        inline=True,
                        value="pearson",
                        options=[
                            {"label": "Pearson", "value": "pearson"},
                            {"label": "Spearman", "value": "spearman"},
                        ],
                    ),
                    dcc.Graph(id=IDS.CORR_GRAPH, config={"displaylogo": False}),
                    html.Div(id=IDS.CORR_PAIRS, className="small"),
                ],
            ),
            card(
                "Missing values",
                [
                    dcc.Graph(id=IDS.MISSING_GRAPH, config={"displaylogo": False}),
                    dcc.Graph(id=IDS.PATTERN_GRAPH, config={"displaylogo": False}),
                ],
            ),
        ]
    )


def cleaning_card(operations: dict, columns: list[str], steps: list[dict]) -> html.Div:
    """Return the cleaning step builder: pick steps, preview them, apply, undo."""
    return card(
        "Clean the data",
        [
            html.P(
                "Add steps, preview what they change (rows and columns before → after, cells "
                "changed), then apply. Applying makes a new version of the data; Undo brings "
                "the previous one back.",
                className="small text-muted",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id=IDS.CLEAN_OP,
                            clearable=False,
                            value="remove_duplicates",
                            options=[
                                {"label": o["title"], "value": k} for k, o in operations.items()
                            ],
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        dcc.Dropdown(
                            id=IDS.CLEAN_COLUMNS,
                            options=columns,
                            multi=True,
                            placeholder="Columns (where the step takes them)",
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        dbc.Input(
                            id=IDS.CLEAN_NUMBER, type="number", placeholder="Threshold / k / t"
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        dcc.Dropdown(id=IDS.CLEAN_CHOICE, placeholder="Method / action"),
                        md=2,
                    ),
                    dbc.Col(dbc.Input(id=IDS.CLEAN_VALUE, placeholder="Fill value"), md=1),
                ],
                className="g-2 mb-2",
            ),
            dbc.Checklist(id=IDS.CLEAN_FLAGS, inline=True, className="small mb-1"),
            html.Div(id=IDS.CLEAN_HINT, className="small text-muted mb-2"),
            html.Div(
                [
                    dbc.Button("Add step", id=IDS.CLEAN_ADD, size="sm", className="me-2"),
                    dbc.Button(
                        "Clear steps",
                        id=IDS.CLEAN_CLEAR,
                        size="sm",
                        outline=True,
                        color="secondary",
                    ),
                ],
                className="mb-2",
            ),
            html.Ol(step_items(steps), id=IDS.CLEAN_LIST, className="mb-2"),
            dbc.Checkbox(id=IDS.CLEAN_FULL, label="Also clean the full data", value=False),
            html.Div(
                [
                    dbc.Button(
                        "Preview", id=IDS.CLEAN_PREVIEW, size="sm", color="info", className="me-2"
                    ),
                    dbc.Button(
                        "Apply", id=IDS.CLEAN_APPLY, size="sm", color="success", className="me-2"
                    ),
                    dbc.Button("Undo", id=IDS.CLEAN_UNDO, size="sm", color="warning", outline=True),
                ],
                className="mt-2",
            ),
        ],
    )


#: How the step builder shows an operation's choices and on/off settings.
CHOICE_LABELS = {
    "median": "Median",
    "mean": "Mean",
    "mode": "Most common value",
    "constant": "A constant (type it)",
    "absolute": "Make positive",
    "zero": "Set to zero",
    "drop_row": "Drop the row",
    "iqr": "IQR × k",
    "zscore": "|z| > t",
    "lower": "lower case",
    "upper": "UPPER CASE",
    "title": "Title Case",
    "keep": "Keep the case",
    "auto": "Decimal mark: detect",
    ".": "Decimal point (1.5)",
    ",": "Decimal comma (1,5)",
    "first": "Keep the first copy",
    "last": "Keep the last copy",
}
FLAG_LABELS = {
    "dayfirst": "Day first (31/12/2024)",
    "allow_missing": "Values that do not parse become missing",
    "strip": "Trim and collapse spaces",
    "percent": "Percentages as fractions (50 % → 0.5)",
}
_NUMBER_HINTS = {
    "drop_missing_columns": "Drop above this % missing (50)",
    "remove_outliers": "k (1.5) or t (3)",
}


def step_fields(name: str, spec: dict) -> dict:
    """Return what the step builder offers for one operation (from its parameter schema).

    Returns:
        ``{"choices": [{"label", "value"}], "choice": default, "choice_label": placeholder,
        "flags": [{"label", "value"}], "flags_on": [...], "number": placeholder or None,
        "value": bool (a fill value applies), "columns": bool, "hint": description}``.
    """
    params = spec.get("params", {})
    choice_param = next((k for k, p in params.items() if p.get("type") == "choice"), None)
    options, default = [], None
    if name == "fill_missing":
        options = params["columns"]["value"]["method"]["options"]
        default = "median"
    elif choice_param is not None:
        options = params[choice_param]["options"]
        default = params[choice_param].get("default", options[0])
    flags = [k for k, p in params.items() if p.get("type") == "bool"]
    flags_on = [k for k in flags if params[k].get("default")]
    if name == "convert_numeric":
        flags.append("percent")
    return {
        "choices": [
            {"label": CHOICE_LABELS.get(o or "keep", str(o)), "value": o or "keep"} for o in options
        ],
        "choice": (default or "keep") if options else None,
        "choice_label": "Method / action" if options else "—",
        "flags": [{"label": FLAG_LABELS.get(k, k), "value": k} for k in flags],
        "flags_on": flags_on,
        "number": _NUMBER_HINTS.get(name),
        "value": name == "fill_missing",
        "columns": "columns" in params,
        "hint": spec.get("description", ""),
    }


def step_text(step: dict) -> str:
    """Describe one cleaning step in words."""

    def shown(value) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k} → {shown(v)}" for k, v in value.items())
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return str(value)

    params = "; ".join(f"{k}: {shown(v)}" for k, v in step.items() if k != "op")
    return f"{step.get('op', '').replace('_', ' ')}" + (f" ({params})" if params else "")


def preview_table(reports: list[dict]) -> dbc.Table:
    """Return the preview: one row per step, before → after and cells changed."""
    header = html.Thead(
        html.Tr([html.Th(h) for h in ("Step", "Rows", "Columns", "Cells changed", "What it did")])
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(r.get("op", "").replace("_", " ")),
                    html.Td(f"{r.get('rows_before', 0):,} → {r.get('rows_after', 0):,}"),
                    html.Td(f"{r.get('columns_before', 0):,} → {r.get('columns_after', 0):,}"),
                    html.Td(f"{r.get('cells_changed', 0):,}"),
                    html.Td(r.get("message", "")),
                ]
            )
            for r in reports
        ]
    )
    return dbc.Table([header, body], size="sm", bordered=True, className="mb-0")


def step_items(steps: list[dict]) -> list:
    """Return the list items of the chosen cleaning steps."""
    if not steps:
        return [html.Li("No steps yet.", className="text-muted")]
    return [html.Li(step_text(s)) for s in steps]


def downloads_card(groups: list[tuple[str, str, dict[str, str | None]]]) -> html.Div:
    """Return the download buttons of the current data.

    Args:
        groups: ``(name, title, {format: url or None})`` per stored table (the analysis
            data, and the full data when it is sampled); a None url shows the format
            disabled with the reason on hover (Excel above its row cap).
    """
    labels = {"csv": "CSV", "xlsx": "Excel", "parquet": "Parquet"}
    rows = [
        html.Div(
            [html.Span(title, className="me-3 small fw-semibold")]
            + [
                dbc.Button(
                    labels[fmt],
                    href=href,
                    external_link=True,
                    outline=True,
                    color="primary",
                    size="sm",
                    className="me-2",
                    disabled=href is None,
                    title=EXCEL_TOO_LARGE if href is None else None,
                    id={"type": IDS.DOWNLOAD, "format": fmt, "item": name},
                )
                for fmt, href in links.items()
            ],
            className="d-flex align-items-center mb-2",
        )
        for name, title, links in groups
    ]
    return card(
        "Download the data (current version)",
        [
            *rows,
            html.P(
                "Cells that start with =, +, - or @ are escaped in CSV and Excel so a "
                "spreadsheet never runs them as formulas.",
                className="small text-muted mt-2 mb-0",
            ),
        ],
    )


def full_stats_card(stats: list[dict], rows: int) -> html.Div:
    """Return the statistics of the full data, streamed over its row groups on disk."""
    plain = {"type": "rightAligned"}  # min / max hold numbers, dates or text
    return card(
        f"Full data ({rows:,} rows, streamed from disk)",
        data_grid(
            IDS.FULL_STATS,
            stats,
            [
                {"field": "name", "headerName": "Column"},
                {"field": "kind", "headerName": "Kind"},
                {"field": "missing", "headerName": "Missing", **COUNT_COLUMN},
                {"field": "min", "headerName": "Min", **plain},
                {"field": "mean", "headerName": "Mean", **NUMBER_COLUMN},
                {"field": "std", "headerName": "Std", **NUMBER_COLUMN},
                {"field": "max", "headerName": "Max", **plain},
            ],
            height=420,
        ),
    )
