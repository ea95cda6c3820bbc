"""System page layout: memory per process, stored items, columns, job history, cleanup."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import System as IDS
from components.widgets import COUNT_COLUMN, card

_NUM = {"type": "rightAligned"}
_MB = {"valueFormatter": {"function": "d3.format(',.1f')(params.value)"}, **_NUM}


def _grid(grid_id: str, columns: list[dict]) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        rowData=[],
        columnDefs=columns,
        defaultColDef={"sortable": True, "resizable": True, "flex": 1},
        dashGridOptions={"domLayout": "autoHeight"},
        className="ag-theme-alpine",
    )


def layout() -> html.Div:
    """Return the System page."""
    return html.Div(
        [
            html.H2("System", className="mb-3"),
            dcc.Interval(id=IDS.REFRESH, interval=3000),
            html.Div(id=IDS.SUMMARY),
            html.Div(id=IDS.NOTE, className="mt-3"),
            card(
                "Memory per process",
                _grid(
                    IDS.PROCESSES_GRID,
                    [
                        {"field": "role", "headerName": "Process"},
                        {"field": "pid", "headerName": "PID", **_NUM},
                        {"field": "rss_mb", "headerName": "RSS (MB)", **_MB},
                        {"field": "uss_mb", "headerName": "Unique (MB)", **_MB},
                        {"field": "pss_mb", "headerName": "Proportional (MB)", **_MB},
                    ],
                ),
            ),
            card(
                "Stored items of this session",
                [
                    html.P(
                        "Clean up removes unprotected items above the large-item size and expired "
                        "sessions. The dataset (data, data_full) and its profile are protected.",
                        className="small text-muted",
                    ),
                    dbc.Button(
                        "Clean up", id=IDS.CLEANUP, color="warning", size="sm", className="mb-2"
                    ),
                    _grid(
                        IDS.ITEMS_GRID,
                        [
                            {"field": "name", "headerName": "Name"},
                            {"field": "rows", "headerName": "Rows", **COUNT_COLUMN},
                            {"field": "columns", "headerName": "Columns", **COUNT_COLUMN},
                            {"field": "disk_mb", "headerName": "On disk (MB)", **_MB},
                            {"field": "memory_mb", "headerName": "In memory (MB)", **_MB},
                            {"field": "protected", "headerName": "Protected"},
                            {"field": "version", "headerName": "Version", **_NUM},
                        ],
                    ),
                ],
            ),
            card(
                "Jobs",
                [
                    html.Div(
                        [
                            dbc.Button(
                                "Emergency unlock",
                                id=IDS.UNLOCK,
                                color="danger",
                                outline=True,
                                size="sm",
                                className="me-2",
                            ),
                            dbc.Button(
                                "Cancel the running job",
                                id=IDS.CANCEL_JOB,
                                color="danger",
                                size="sm",
                                className="d-none",
                            ),
                        ],
                        className="mb-2",
                    ),
                    _grid(
                        IDS.JOBS_GRID,
                        [
                            {"field": "kind", "headerName": "Kind"},
                            {"field": "summary", "headerName": "What", "flex": 2},
                            {"field": "state", "headerName": "State"},
                            {"field": "duration_s", "headerName": "Duration (s)", **_MB},
                            {"field": "peak_rss_mb", "headerName": "Peak memory (MB)", **_MB},
                            {"field": "error", "headerName": "Error", "flex": 2},
                        ],
                    ),
                ],
            ),
            card(
                "Memory per column of the active dataset",
                _grid(
                    IDS.COLUMNS_GRID,
                    [
                        {"field": "column", "headerName": "Column"},
                        {"field": "dtype", "headerName": "Type"},
                        {
                            "field": "memory",
                            "headerName": "Bytes",
                            **_NUM,
                            "valueFormatter": {"function": "d3.format(',.0f')(params.value)"},
                        },
                    ],
                ),
            ),
        ]
    )
