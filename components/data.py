"""Data page layout: load a file or a sample, then the report, sampling, preview and columns."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import Data as IDS
from components.widgets import COUNT_COLUMN, card, format_bytes, format_int


def upload_zone(max_upload_mb: int) -> html.Div:
    """Return the drop zone; ``assets/upload.js`` streams the chosen file to the server.

    The ``<input type=file>`` itself is created by that script (Dash has no file input
    component); this label opens it.
    """
    return html.Label(
        [
            html.Div("Drop a file here or click to choose one", className="fw-semibold"),
            html.Div(
                f"CSV, TSV, TXT, CSV.GZ, Excel (.xlsx) or Parquet — up to {max_upload_mb:,} MB",
                className="text-muted small",
            ),
        ],
        id=IDS.UPLOAD_ZONE,
        htmlFor=IDS.UPLOAD_INPUT,
        className="di-upload-zone w-100",
        **{"data-max-bytes": str(max_upload_mb * 1024 * 1024), "data-max-mb": str(max_upload_mb)},
    )


def sample_buttons(samples) -> html.Div:
    """Return one button per sample dataset."""
    return html.Div(
        [
            dbc.Button(
                s.title,
                id={"type": IDS.SAMPLE_BUTTON, "name": s.name},
                color="secondary",
                outline=True,
                size="sm",
                className="me-2 mb-2",
                title=s.description,
            )
            for s in samples
        ]
    )


def layout(*, max_upload_mb: int, samples) -> html.Div:
    """Return the Data page."""
    load_card = card(
        "Load data",
        [
            upload_zone(max_upload_mb),
            dbc.Progress(
                id=IDS.UPLOAD_PROGRESS, value=0, className="mt-2 d-none", style={"height": "1.2rem"}
            ),
            html.Div("…or try a sample dataset:", className="mt-3 mb-2 small text-muted"),
            sample_buttons(samples),
            html.Div(
                [
                    dbc.Label("Sheet", html_for=IDS.SHEET_SELECT, className="me-2 mb-0"),
                    dcc.Dropdown(id=IDS.SHEET_SELECT, clearable=False, className="di-sheet"),
                    dbc.Button("Load this sheet", id=IDS.SHEET_APPLY, size="sm", className="ms-2"),
                ],
                id=IDS.SHEET_ROW,
                className="d-none align-items-center mt-2",
            ),
            dcc.Store(id=IDS.UPLOAD_RESULT),
        ],
    )
    return html.Div(
        [
            html.H2("Data", className="mb-3"),
            load_card,
            dcc.Loading(html.Div(id=IDS.CONTENT), delay_show=300),
        ]
    )


def empty_content() -> html.Div:
    """Return what the page shows before any dataset is loaded."""
    return html.Div(
        "No dataset loaded yet. Upload a file or pick a sample above.",
        className="text-muted mt-4",
    )


def summary_cards(data_info, full_info, source: dict, report: dict) -> dbc.Row:
    """Return the cards at the top of a loaded dataset."""
    rows_full = full_info.rows if full_info else data_info.rows
    items = [
        ("Dataset", source.get("filename", "—")),
        ("Rows", format_int(rows_full)),
        ("Columns", format_int(data_info.columns)),
        ("In memory (optimized)", format_bytes(report.get("bytes_after", 0))),
        ("Saved by optimization", f"{report.get('saved_pct', 0):.0f} %"),
    ]
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(label, className="text-muted small"),
                            html.Div(value, className="fs-5 fw-semibold text-truncate"),
                        ]
                    ),
                    className="h-100",
                ),
                md=True,
            )
            for label, value in items
        ],
        className="g-3 mt-1",
        id=IDS.SUMMARY,
    )


def report_card(report: dict) -> html.Div:
    """Return the memory optimization report: totals and one row per column."""
    rows = [
        {
            "column": c["column"],
            "before": c["dtype_before"],
            "after": c["dtype_after"],
            "bytes_before": c["bytes_before"],
            "bytes_after": c["bytes_after"],
            "saved_pct": round(100 * (1 - c["bytes_after"] / c["bytes_before"]), 1)
            if c["bytes_before"]
            else 0.0,
        }
        for c in report.get("columns", [])
    ]
    bytes_fmt = {"function": "d3.format(',.0f')(params.value)"}
    total = (
        f"Before {format_bytes(report.get('bytes_before', 0))} → after "
        f"{format_bytes(report.get('bytes_after', 0))}: saved "
        f"{format_bytes(report.get('saved_bytes', 0))} ({report.get('saved_pct', 0):.1f} %)"
    )
    return card(
        "Memory optimization",
        [
            html.P(total, className="mb-2", id=IDS.REPORT),
            html.P(
                "Integers are downcast, floats only when every value survives, repeated text "
                "becomes categories. No value changes.",
                className="small text-muted",
            ),
            dag.AgGrid(
                id=IDS.REPORT_GRID,
                rowData=rows,
                columnDefs=[
                    {"field": "column", "headerName": "Column"},
                    {"field": "before", "headerName": "Type before"},
                    {"field": "after", "headerName": "Type after"},
                    {
                        "field": "bytes_before",
                        "headerName": "Bytes before",
                        "valueFormatter": bytes_fmt,
                        "type": "rightAligned",
                    },
                    {
                        "field": "bytes_after",
                        "headerName": "Bytes after",
                        "valueFormatter": bytes_fmt,
                        "type": "rightAligned",
                    },
                    {"field": "saved_pct", "headerName": "Saved %", "type": "rightAligned"},
                ],
                defaultColDef={"sortable": True, "resizable": True, "flex": 1},
                dashGridOptions={"domLayout": "autoHeight"} if len(rows) <= 15 else {},
                style={"height": "420px"} if len(rows) > 15 else {},
                className="ag-theme-alpine",
            ),
        ],
    )


def sampling_card(
    *,
    rows_full: int,
    rows_data: int,
    sampling: dict,
    columns: list[str],
    threshold: int,
    default_size: int,
) -> html.Div:
    """Return the sampling decision and the controls to change it."""
    if sampling.get("sampled"):
        how = f" stratified on “{sampling['stratify']}”" if sampling.get("stratify") else ""
        text = (
            f"Using {rows_data:,} sampled rows of {rows_full:,}{how} for analysis. "
            "The full data stays on disk."
        )
    elif rows_full > threshold:
        text = f"Using the full data ({rows_full:,} rows) for analysis."
    else:
        text = f"Using all {rows_full:,} rows (sampling starts above {threshold:,} rows)."
    body = [html.P(text, id=IDS.SAMPLING_TEXT, className="mb-2")]
    if rows_full > threshold:
        body.append(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Sample size (rows)", html_for=IDS.SAMPLE_SIZE),
                            dbc.Input(
                                id=IDS.SAMPLE_SIZE,
                                type="number",
                                min=1,
                                max=rows_full,
                                step=1,
                                value=sampling.get("size") or default_size,
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Stratify on (optional)", html_for=IDS.SAMPLE_STRATIFY),
                            dcc.Dropdown(
                                id=IDS.SAMPLE_STRATIFY,
                                options=columns,
                                value=sampling.get("stratify"),
                                placeholder="Random sample",
                            ),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Button("Resample", id=IDS.SAMPLE_APPLY, className="me-2"),
                            dbc.Button(
                                "Use the full data",
                                id=IDS.SAMPLE_FULL,
                                outline=True,
                                color="secondary",
                            ),
                        ],
                        md=5,
                        className="d-flex align-items-end",
                    ),
                ],
                className="g-2",
            )
        )
    return card("Sampling", body, id=IDS.SAMPLING)


def preview_card(key: str, columns: list[str], rows: int) -> html.Div:
    """Return the preview grid; its rows are fetched page by page from the store."""
    return card(
        f"Preview ({rows:,} rows)",
        dag.AgGrid(
            id={"type": IDS.PREVIEW_GRID, "key": key},
            rowModelType="infinite",
            columnDefs=[{"field": c, "headerName": c} for c in columns],
            defaultColDef={"resizable": True, "minWidth": 110, "sortable": False},
            dashGridOptions={
                "cacheBlockSize": 100,
                "maxBlocksInCache": 20,
                "rowBuffer": 0,
                "infiniteInitialRowCount": min(rows, 100),
                "suppressFieldDotNotation": True,  # "Sepal.Length" is a name, not a path
            },
            style={"height": "420px"},
            className="ag-theme-alpine",
        ),
        id=IDS.PREVIEW,
    )


def columns_card(columns: list[dict], note: str) -> html.Div:
    """Return the column table (one row per column)."""
    num = {"type": "rightAligned"}
    return card(
        "Columns",
        [
            html.P(note, className="small text-muted mb-2"),
            dag.AgGrid(
                id=IDS.COLUMNS_GRID,
                rowData=columns,
                columnDefs=[
                    {"field": "column", "headerName": "Name"},
                    {"field": "dtype", "headerName": "Type"},
                    {"field": "non_null", "headerName": "Non-null", **COUNT_COLUMN},
                    {"field": "missing_pct", "headerName": "Missing %", **num},
                    {"field": "unique", "headerName": "Unique", **COUNT_COLUMN},
                    {
                        "field": "memory",
                        "headerName": "Memory (bytes)",
                        **num,
                        "valueFormatter": {"function": "d3.format(',.0f')(params.value)"},
                    },
                ],
                defaultColDef={"sortable": True, "resizable": True, "flex": 1},
                dashGridOptions={"domLayout": "autoHeight"} if len(columns) <= 15 else {},
                style={"height": "420px"} if len(columns) > 15 else {},
                className="ag-theme-alpine",
            ),
        ],
    )
