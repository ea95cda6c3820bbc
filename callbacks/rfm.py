"""Customer Value page wiring: the RFM job, the column mapping, results from the store.

The web process never reads the transactions: the mapping is proposed and checked from
the dataset's column table, the job reads the mapped columns (from the full data when the
analysis dataset is a sample, because RFM totals every transaction of a customer), and
the page shows the small stored aggregates. Only the scatter reads a stored table, the
sample of at most ``SCATTER_POINTS`` customers.
"""

from __future__ import annotations

import logging

from dash import Input, Output, State, no_update

from callbacks.actions import button_action
from callbacks.jobs import request_job
from callbacks.results import (
    download_links,
    stale_message,
    stored_result,
    wire_content,
    wire_sample_button,
)
from components import rfm as page
from components.ids import Rfm as IDS
from components.ids import Shell
from components.widgets import alert
from dashboard.errors import DataInsightsError, InvalidParameter
from dashboard.figures import empty_figure
from dashboard.rfm import (
    DEFAULT_K,
    SCATTER_POINTS,
    detect_columns,
)
from dashboard.rfm import plots as rfm_plots
from dashboard.rfm.job import RESULT_ITEMS, RFM, is_sampled, validate

log = logging.getLogger(__name__)

SAMPLE = "retail_transactions"
FIELDS = (
    "customer",
    "date",
    "amount",
    "invoice",
    "quantity",
    "unit_price",
    "returns",
    "as_of",
    "scheme",
    "k",
    "margin",
)


# --- the job ------------------------------------------------------------------------------


# --- plain handlers -----------------------------------------------------------------------


def stored_summary(services, session: str) -> tuple[dict | None, bool]:
    """Return ``(summary, stale)``: the stored RFM aggregates and whether ``data`` changed."""
    stored = stored_result(services, session, "rfm")
    return (stored.item.meta.get("rfm") if stored.item else None), stored.stale


def choices(services, session: str) -> dict | None:
    """Return the controls' options and values for the session's dataset.

    The values are the last run's settings when its columns still exist, otherwise the
    columns detected by name and type. Returns None without a dataset.
    """
    data = services.store.info_by_name(session, "data")
    if data is None:
        return None
    table = data.meta.get("column_table", [])
    names = [str(c["column"]) for c in table]
    values = {"returns": "net", "as_of": None, "scheme": "quintile", "k": DEFAULT_K, "margin": 100}
    values.update(detect_columns(table))
    summary, _ = stored_summary(services, session)
    previous = (summary or {}).get("settings")
    if previous:
        mapped = [previous.get(f) for f in ("customer", "date", "amount", "invoice")]
        if all(m is None or m in names for m in mapped):
            values.update({f: previous.get(f) for f in FIELDS if f in previous})
            values["margin"] = round(100 * float(previous.get("margin", 1.0)), 2)
    return {"options": names, "values": values}


def request_rfm(services, session: str, fields: dict, locked: bool | None):
    """Return ``(job request, message)`` for a click on Run, refusing bad choices at once."""
    try:
        validate(services, session, fields)
    except InvalidParameter as err:
        return no_update, alert(str(err))
    return request_job(locked, {"kind": RFM.name, **fields})


def _notes(summary: dict) -> list[str]:
    """Return what the user should know about the rows used."""
    notes = []
    source = summary.get("source") or {}
    if source.get("sampled"):
        notes.append(
            f"The analysis dataset is a sample of {source['analysis_rows']:,} rows; RFM adds "
            f"up every transaction of a customer, so it ran on all {source['rows']:,} rows."
        )
    n = summary.get("notes", {})
    left_out = {
        "missing_customer": "without a customer id",
        "missing_date": "without a date",
        "missing_amount": "without an amount",
        "after_as_of": "after the reference date",
    }
    for key, words in left_out.items():
        if n.get(key):
            notes.append(f"{n[key]:,} rows {words} were left out.")
    settings = summary.get("settings", {})
    if n.get("return_rows"):
        how = "netted per customer" if settings.get("returns") == "net" else "left out"
        notes.append(f"{n['return_rows']:,} return rows (negative amounts) were {how}.")
    if n.get("zero_rows"):
        notes.append(
            f"{n['zero_rows']:,} rows with an amount of 0 count as neither purchase nor return."
        )
    frequency = (
        f"distinct values of '{settings['invoice']}'"
        if settings.get("invoice")
        else "rows (transactions)"
    )
    notes.append(f"Frequency counts {frequency} with a positive amount.")
    if settings.get("scheme") == "quartile":
        notes.append("Scores are quartiles (1–4); segments use fifths of the same ranks.")
    return notes


def render(services, session_id: str | None):
    """Return ``(status, content)`` of the Customer Value page."""
    try:
        session = services.signer.verify(session_id)
    except DataInsightsError:
        return page.status("Reload the page to start a session."), None
    data = services.store.info_by_name(session, "data")
    if data is None:
        return page.no_data_status(), None
    summary, stale = stored_summary(services, session)
    notes = []
    if is_sampled(data):
        full = services.store.info_by_name(session, "data_full")
        rows = f"{full.rows:,}" if full else "all"
        notes.append(
            page.status(
                f"The data is sampled for analysis ({data.rows:,} rows); RFM totals each "
                f"customer's transactions, so it runs on the full data ({rows} rows), "
                "including any cleaning applied to the full data."
            )
        )
    if summary is None:
        notes.append(page.status("Check the columns below, then click “Run the analysis”."))
        return notes, None
    if stale:
        notes.append(page.status(stale_message("RFM results", "Run the analysis"), color="warning"))
    session_links = download_links(
        services,
        session,
        {(name, fmt): (name, fmt) for name in RESULT_ITEMS for fmt in ("csv", "xlsx")},
    )
    labels = {name: label for name, (_download, label) in RESULT_ITEMS.items()}
    if not summary["overview"].get("excluded"):
        labels.pop("rfm_excluded")
    clusters = summary.get("clusters")
    bins = 5 if summary["settings"].get("scheme") != "quartile" else 4
    content = [
        page.overview_cards(summary["overview"], summary["as_of"]),
        page.summary_card(summary.get("sentences", []), _notes(summary)),
        page.segments_card(summary["segments"]),
        page.charts_row(
            rfm_plots.rf_heatmap(summary["grid"]),
            min(SCATTER_POINTS, summary["overview"]["customers"]),
            summary["overview"]["customers"],
        ),
        page.clusters_card(
            clusters,
            rfm_plots.elbow_figure(clusters["elbow"], clusters["k"]) if clusters else None,
            rfm_plots.cluster_figure(clusters["profiles"], bins) if clusters else None,
        ),
        page.clv_card(
            summary["segments"],
            summary.get("top_customers", []),
            summary.get("clv", {}),
            rfm_plots.clv_figure(summary["segments"]),
        ),
        page.excluded_card(summary["overview"].get("excluded", 0), summary.get("excluded", [])),
        page.downloads_card(session_links, labels),
    ]
    return notes, content


def segment_figure(services, session_id: str | None, kind: str | None):
    """Return the segment bar chart or treemap from the stored aggregates."""
    summary, _ = stored_summary(services, services.signer.verify(session_id))
    if summary is None:
        return empty_figure("No results yet.")
    if kind == "treemap":
        return rfm_plots.segment_treemap(summary["segments"])
    return rfm_plots.segment_bar(summary["segments"])


def scatter_figure(services, session_id: str | None, color_by: str | None):
    """Return the customer scatter from the stored sample (at most ``SCATTER_POINTS``)."""
    session = services.signer.verify(session_id)
    item = services.store.info_by_name(session, "rfm_scatter")
    if item is None:
        return empty_figure("No results yet.")
    points = services.store.read_frame(session, item.key)
    return rfm_plots.customer_scatter(
        points, color_by=color_by or "segment", total=int(item.meta.get("customers", 0))
    )


# --- wiring -------------------------------------------------------------------------------

_CONTROLS = (
    (IDS.CUSTOMER, "customer"),
    (IDS.DATE, "date"),
    (IDS.AMOUNT, "amount"),
    (IDS.INVOICE, "invoice"),
    (IDS.QUANTITY, "quantity"),
    (IDS.UNIT_PRICE, "unit_price"),
)
_OPTIONS = (
    (IDS.RETURNS, "returns"),
    (IDS.AS_OF, "as_of"),
    (IDS.SCHEME, "scheme"),
    (IDS.K, "k"),
    (IDS.MARGIN, "margin"),
)


def register(app, services) -> None:
    """Wire the Customer Value page."""

    @app.callback(
        [Output(ident, "options") for ident, _ in _CONTROLS]
        + [Output(ident, "value") for ident, _ in _CONTROLS + _OPTIONS]
        + [Output(IDS.SETTINGS, "className")],
        Input(Shell.DATASET, "data"),
        Input(Shell.SESSION, "data"),
    )
    def fill_choices(_dataset, session_id):
        try:
            found = choices(services, services.signer.verify(session_id))
        except DataInsightsError:
            found = None
        n = len(_CONTROLS) * 2 + len(_OPTIONS)
        if found is None:
            return [[]] * len(_CONTROLS) + [None] * (n - len(_CONTROLS)) + ["d-none"]
        values = found["values"]
        return (
            [found["options"]] * len(_CONTROLS)
            + [values.get(field) for _, field in _CONTROLS + _OPTIONS]
            + [""]
        )

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.RUN, "n_clicks"),
        State(Shell.SESSION, "data"),
        State(Shell.NAV_LOCK, "data"),
        *[State(ident, "value") for ident, _ in _CONTROLS + _OPTIONS],
        prevent_initial_call=True,
    )
    @button_action(services, outputs=2, message_at=1)
    def run(session, locked, *values):
        fields = dict(zip([f for _, f in _CONTROLS + _OPTIONS], values, strict=True))
        return request_rfm(services, session, fields, locked)

    wire_sample_button(app, IDS.LOAD_SAMPLE, SAMPLE)
    wire_content(
        app,
        lambda session_id: render(services, session_id),
        status=IDS.STATUS,
        content=IDS.CONTENT,
        kinds=(RFM.name,),
    )

    @app.callback(
        Output(IDS.SEGMENT_GRAPH, "figure"),
        Input(IDS.SEGMENT_KIND, "value"),
        State(Shell.SESSION, "data"),
    )
    def segments(kind, session_id):
        try:
            return segment_figure(services, session_id, kind)
        except DataInsightsError as err:
            return empty_figure(str(err))

    @app.callback(
        Output(IDS.SCATTER_GRAPH, "figure"),
        Input(IDS.SCATTER_COLOR, "value"),
        State(Shell.SESSION, "data"),
    )
    def scatter(color_by, session_id):
        try:
            return scatter_figure(services, session_id, color_by)
        except DataInsightsError as err:
            return empty_figure(str(err))
