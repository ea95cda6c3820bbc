"""Data page wiring: upload → ingest job → report, sampling, preview, columns."""

from __future__ import annotations

import logging

from dash import ALL, MATCH, Input, Output, State, ctx, html, no_update

from callbacks.jobs import request_job
from components import data as page
from components.ids import Data as IDS
from components.ids import Shell
from components.widgets import alert
from dashboard.data.job import INGEST
from dashboard.errors import AccessDenied, DataInsightsError, ItemNotFound

log = logging.getLogger(__name__)


# --- plain handlers (testable without a browser) ---------------------------------------


def request_from_upload(result: dict | None, locked: bool | None = False):
    """Return ``(job request, message)`` for what ``assets/upload.js`` reported."""
    if not result:
        return no_update, no_update
    if result.get("error"):
        return no_update, alert(result["error"])
    return request_job(
        locked,
        {
            "kind": INGEST.name,
            "source": "upload",
            "upload_id": result["upload_id"],
            "filename": result.get("filename"),
        },
    )


def render_content(services, session_id: str | None, dataset: dict | None):
    """Return the page body for the active dataset (reads metadata only, never the frame)."""
    if not dataset or not session_id:
        return page.empty_content()
    try:
        session = services.signer.verify(session_id)
        info = services.store.info(session, dataset["data_key"])
        full = (
            services.store.info(session, dataset["full_key"]) if dataset.get("full_key") else None
        )
    except (ItemNotFound, AccessDenied):
        return page.empty_content()
    meta = info.meta
    sampling = meta.get("sampling", {})
    rows_full = full.rows if full else info.rows
    columns = [c["column"] for c in meta.get("column_table", [])]
    settings = services.settings
    note = (
        f"Computed on the analysis dataset ({info.rows:,} rows)."
        if full
        else f"Computed on all {info.rows:,} rows."
    )
    return html.Div(
        [
            page.summary_cards(info, full, meta.get("source", {}), meta.get("report", {})),
            page.report_card(meta.get("report", {})),
            page.sampling_card(
                rows_full=rows_full,
                rows_data=info.rows,
                sampling=sampling,
                columns=columns,
                threshold=settings.sample_threshold_rows,
                default_size=settings.sample_rows,
            ),
            page.preview_card(info.key, columns, info.rows),
            page.columns_card(meta.get("column_table", []), note),
        ]
    )


def rows_page(services, session_id: str | None, key: str, request: dict | None) -> dict:
    """Return one page of rows for the infinite-scrolling preview grid."""
    session = services.signer.verify(session_id)
    info = services.store.info(session, key)
    start = int((request or {}).get("startRow", 0))
    end = min(int((request or {}).get("endRow", start + 100)), start + 500)
    cached = _cached_rows(services, session, key, info.version, start, end)
    return {"rowData": cached, "rowCount": info.rows}


def _cached_rows(services, session: str, key: str, version: int, start: int, end: int):
    cache = services.view_cache
    cache_key = f"rows2:{key}:{version}:{start}:{end}"
    rows = cache.get(cache_key)
    if rows is None:
        frame = services.store.read_rows(session, key, start, end)
        rows = _json_rows(frame)
        cache.set(cache_key, rows)
    return rows


def _json_rows(frame) -> list[dict]:
    # to_json handles NaN and categories; the grid only needs display values. Dates read as
    # a person writes them: "2024-01-05", or "2024-01-05 14:30:00" when a time is set.
    import json

    import pandas as pd

    shown = frame.copy(deep=False)
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            present = col.dropna()
            midnight = bool((present == present.dt.normalize()).all())
            text = col.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
            shown[name] = text.astype(object).where(col.notna(), None)
    return json.loads(shown.to_json(orient="records", date_format="iso"))


# --- wiring -------------------------------------------------------------------------------


def register(app, services) -> None:
    """Wire the Data page callbacks."""

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.UPLOAD_RESULT, "data"),
        State(Shell.NAV_LOCK, "data"),
        prevent_initial_call=True,
    )
    def on_upload(result, locked):
        return request_from_upload(result, locked)

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input({"type": IDS.SAMPLE_BUTTON, "name": ALL}, "n_clicks"),
        State(Shell.NAV_LOCK, "data"),
        prevent_initial_call=True,
    )
    def on_sample(clicks, locked):
        if not ctx.triggered_id or not any(clicks):
            return no_update, no_update
        return request_job(
            locked, {"kind": INGEST.name, "source": "sample", "name": ctx.triggered_id["name"]}
        )

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.SHEET_APPLY, "n_clicks"),
        State(IDS.SHEET_SELECT, "value"),
        State(Shell.DATASET, "data"),
        State(Shell.SESSION, "data"),
        State(Shell.NAV_LOCK, "data"),
        prevent_initial_call=True,
    )
    def on_sheet(clicks, sheet, dataset, session_id, locked):
        source = _source_meta(services, session_id, dataset)
        if not clicks or not source.get("upload_id") or not sheet:
            return no_update, no_update
        return request_job(
            locked,
            {
                "kind": INGEST.name,
                "source": "upload",
                "upload_id": source["upload_id"],
                "sheet": sheet,
                "filename": source.get("filename"),
            },
        )

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.SAMPLE_APPLY, "n_clicks"),
        Input(IDS.SAMPLE_FULL, "n_clicks"),
        State(IDS.SAMPLE_SIZE, "value"),
        State(IDS.SAMPLE_STRATIFY, "value"),
        State(Shell.NAV_LOCK, "data"),
        prevent_initial_call=True,
    )
    def on_resample(apply_clicks, full_clicks, size, stratify, locked):
        if not (apply_clicks or full_clicks):
            return no_update, no_update
        use_full = ctx.triggered_id == IDS.SAMPLE_FULL
        return request_job(
            locked,
            {
                "kind": INGEST.name,
                "source": "resample",
                "size": size,
                "stratify": stratify,
                "use_full": use_full,
            },
        )

    @app.callback(
        Output(IDS.CONTENT, "children"),
        Input(Shell.DATASET, "data"),
        State(Shell.SESSION, "data"),
    )
    def content(dataset, session_id):
        return render_content(services, session_id, dataset)

    @app.callback(
        Output(IDS.SHEET_ROW, "className"),
        Output(IDS.SHEET_SELECT, "options"),
        Output(IDS.SHEET_SELECT, "value"),
        Input(Shell.DATASET, "data"),
        State(Shell.SESSION, "data"),
    )
    def sheets(dataset, session_id):
        source = _source_meta(services, session_id, dataset)
        names = source.get("sheets") or []
        if len(names) < 2:
            return "d-none", [], None
        return "d-flex align-items-center mt-2", names, source.get("sheet")

    @app.callback(
        Output({"type": IDS.PREVIEW_GRID, "key": MATCH}, "getRowsResponse"),
        Input({"type": IDS.PREVIEW_GRID, "key": MATCH}, "getRowsRequest"),
        State(Shell.SESSION, "data"),
        prevent_initial_call=True,
    )
    def preview_rows(request, session_id):
        try:
            return rows_page(services, session_id, ctx.triggered_id["key"], request)
        except DataInsightsError:
            return {"rowData": [], "rowCount": 0}


def _source_meta(services, session_id, dataset) -> dict:
    if not dataset or not session_id:
        return {}
    try:
        session = services.signer.verify(session_id)
        return services.store.info(session, dataset["data_key"]).meta.get("source", {})
    except DataInsightsError:
        return {}
