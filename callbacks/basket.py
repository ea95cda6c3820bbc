"""Market Basket page wiring: the basket job, the stored rules, the filter and the look-up.

The web process never mines and never loads the transactions: it reads the column table
and the first rows to pre-fill the layout pickers, and reads stored rules a batch at a time
(``dashboard.basket._results``) for the grid and the look-up. The job reads only the
columns it needs — from the full data when the analysis dataset is a sample, because a
row sample of a long table splits baskets — and stores ``basket_rules`` (its meta holds the
summary and chart aggregates) and ``basket_itemsets``.
"""

from __future__ import annotations

import logging

from dash import Input, Output, State, html, no_update

from callbacks.jobs import request_job
from callbacks.results import (
    download_links,
    stale_message,
    stored_result,
    wire_content,
    wire_sample_button,
)
from components import basket as page
from components.ids import Basket as IDS
from components.ids import Shell
from components.widgets import alert
from dashboard.basket import (
    MAX_GRID_ROWS,
    BasketSettings,
    detect_layout,
    pairs_with,
    plots,
    query_rules,
)
from dashboard.basket.job import BASKET, ITEMSETS, RULES, build_request
from dashboard.data import active_data
from dashboard.errors import DataInsightsError, InvalidParameter

log = logging.getLogger(__name__)

DETECT_ROWS = 1_000  # rows read in the web process to recognise the layout
LOOKUP_ROWS = 8


# --- the request -------------------------------------------------------------------------


# --- the job ------------------------------------------------------------------------------


# --- plain handlers -----------------------------------------------------------------------


def _detected(services, session: str, data) -> tuple[dict, str]:
    """Return the detected layout as control values, and its sentence (memoized)."""
    key = f"basket-detect:{data.key}:{data.version}"
    cache = services.view_cache
    cached = cache.get(key) if cache else None
    if cached is None:
        head = services.store.read_rows(session, data.key, 0, DETECT_ROWS)
        guess = detect_layout(head)
        del head
        values = {
            "layout": guess.layout,
            "transaction": guess.transaction,
            "item": guess.item,
            "quantity": guess.quantity,
            "basket_columns": list(guess.columns) if guess.layout == "basket" else [],
            "sep": guess.sep or ",",
            "onehot_columns": list(guess.columns) if guess.layout == "onehot" else [],
        }
        sentence = f"Detected: {guess.reason}" if guess.layout else guess.reason
        cached = (values, sentence)
        if cache:
            cache.set(key, cached)
    return cached


def render_settings(services, session_id: str | None):
    """Return the settings panel (the last run's choices, else the detected layout)."""
    try:
        session = services.signer.verify(session_id)
    except DataInsightsError:
        return page.status("Reload the page to start a session.")
    data = services.store.info_by_name(session, "data")
    if data is None:
        return page.no_data()
    columns = [c["column"] for c in data.meta.get("column_table", [])]
    values, sentence = _detected(services, session, data)
    last = services.store.info_by_name(session, RULES)
    if last is not None and last.meta.get("request"):
        previous = BasketSettings.form_from_request(last.meta["request"])
        picked = [
            previous.get("transaction"),
            previous.get("item"),
            previous.get("quantity"),
            *(previous.get("basket_columns") or []),
            *(previous.get("onehot_columns") or []),
        ]
        if all(c in columns for c in picked if c):
            values = {**values, **previous}
            sentence = f"{sentence} The choices of the last run are shown."
    return page.settings_panel(columns, values, sentence)


def render(services, session_id: str | None):
    """Return ``(status, content)`` of the results part of the page."""
    try:
        session = services.signer.verify(session_id)
    except DataInsightsError:
        return None, None
    stored = stored_result(services, session, RULES)
    if stored.data is None:
        return None, None
    if stored.item is None:
        return page.status("No rules yet: check the layout and click “Find rules”."), None
    meta = stored.item.meta
    notes = []
    if stored.stale:
        notes.append(page.status(stale_message("rules", "Find rules"), color="warning"))
    if meta.get("full_data"):
        notes.append(
            page.status(
                f"The analysis dataset is a sample, so every one of the "
                f"{meta['counts'].get('rows') or 0:,} rows of the full data was mined: a row "
                "sample would split baskets and undercount what is bought together."
            )
        )
    for key in ("source_note", "note"):
        if meta.get(key):
            notes.append(page.status(meta[key], color="warning"))
    items = meta.get("item_options", [])
    files = {"rules": ("Rules (CSV)", RULES)}
    itemsets = services.store.info_by_name(session, ITEMSETS)
    if itemsets is not None and itemsets.meta.get("run") == meta.get("run"):
        files["itemsets"] = ("Frequent itemsets (CSV)", ITEMSETS)
    links = download_links(services, session, {k: (v[1], "csv") for k, v in files.items()})
    content = html.Div(
        [
            page.summary_cards(meta),
            page.summary_card(meta.get("summary", [])),
            page.rules_card(items, MAX_GRID_ROWS),
            page.charts(
                plots.scatter_figure(meta.get("scatter", {})),
                plots.network_figure(meta.get("network", {})),
                plots.top_items_figure(meta.get("top_items", [])),
            ),
            page.lookup_card(items),
            page.downloads_card(
                {k: (files[k][0], links[k]) for k in files}, meta.get("item_separator", ", ")
            ),
        ]
    )
    return html.Div(notes) if notes else None, content


def _rules_source(services, session_id: str | None):
    session = services.signer.verify(session_id)
    info = services.store.info_by_name(session, RULES)
    if info is None:
        raise InvalidParameter("No rules yet: click “Find rules”.")
    return session, info


def rule_rows(services, session_id: str | None, item: str | None, side: str = "any"):
    """Return ``(rows, note)``: the strongest stored rules holding ``item`` (memoized)."""
    session, info = _rules_source(services, session_id)
    key = f"basket-rules:{info.key}:{item}:{side}"
    cache = services.view_cache
    cached = cache.get(key) if cache else None
    if cached is None:
        rows, matching = query_rules(
            services.store.parquet_path(session, info.key),
            sep=info.meta.get("item_separator", ", "),
            item=item or None,
            side=side or "any",
        )
        cached = (rows, matching)
        if cache:
            cache.set(key, cached)
    rows, matching = cached
    where = {"antecedent": " in the antecedent", "consequent": " in the consequent"}
    what = f"with {item}{where.get(side, '')}" if item else "in all"
    if matching > len(rows):
        note = f"Showing the {len(rows):,} strongest of {matching:,} rules {what}."
    else:
        note = f"{matching:,} rules {what}." if item else f"{matching:,} rules."
    return rows, note


def lookup(services, session_id: str | None, item: str | None):
    """Return what goes with ``item``: rules from it alone, rules to it, frequent pairs."""
    if not item:
        return html.P("Choose an item to see what is bought with it.", className="text-muted")
    session, info = _rules_source(services, session_id)
    sep = info.meta.get("item_separator", ", ")
    path = services.store.parquet_path(session, info.key)

    def by_confidence(rows):
        return sorted(rows, key=lambda r: (-r["confidence"], -r["lift"]))[:LOOKUP_ROWS]

    also, _ = query_rules(path, sep=sep, item=item, side="antecedent", exact=True, limit=200)
    leads, _ = query_rules(path, sep=sep, item=item, side="consequent", limit=200)
    pairs = []
    itemsets = services.store.info_by_name(session, ITEMSETS)
    if itemsets is not None and itemsets.meta.get("run") == info.meta.get("run"):
        pairs = pairs_with(
            services.store.parquet_path(session, itemsets.key), item, sep=sep, limit=LOOKUP_ROWS
        )
    support = info.meta.get("item_support", {}).get(item)
    return page.lookup_result(item, support, by_confidence(also), by_confidence(leads), pairs)


# --- wiring -------------------------------------------------------------------------------

_CONTROLS = {
    "layout": IDS.LAYOUT,
    "transaction": IDS.TRANSACTION,
    "item": IDS.ITEM,
    "quantity": IDS.QUANTITY,
    "basket_columns": IDS.BASKET_COLUMNS,
    "sep": IDS.SEP,
    "onehot_columns": IDS.ONEHOT_COLUMNS,
    "min_support": IDS.MIN_SUPPORT,
    "support_unit": IDS.SUPPORT_UNIT,
    "min_confidence": IDS.MIN_CONFIDENCE,
    "min_lift": IDS.MIN_LIFT,
    "max_len": IDS.MAX_LEN,
    "algorithm": IDS.ALGORITHM,
    "multi_consequent": IDS.MULTI_CONSEQUENT,
}


def register(app, services) -> None:
    """Wire the Market Basket page."""

    @app.callback(
        Output(IDS.SETTINGS, "children"),
        Input(Shell.DATASET, "data"),
        State(Shell.SESSION, "data"),
    )
    def settings(_dataset, session_id):
        return render_settings(services, session_id)

    @app.callback(
        Output(IDS.LONG_GROUP, "style"),
        Output(IDS.BASKET_GROUP, "style"),
        Output(IDS.ONEHOT_GROUP, "style"),
        Input(IDS.LAYOUT, "value"),
    )
    def show_layout_fields(layout):
        return tuple(page.SHOWN if layout == name else page.HIDDEN for name in page.LAYOUTS)

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.RUN, "n_clicks"),
        [State(ident, "value") for ident in _CONTROLS.values()],
        State(Shell.NAV_LOCK, "data"),
        State(Shell.SESSION, "data"),
        prevent_initial_call=True,
    )
    def run(clicks, *states):
        if not clicks:
            return no_update, no_update
        *values, locked, session_id = states
        try:
            session = services.signer.verify(session_id)
            data = active_data(services.store, session)
            columns = [c["column"] for c in data.meta.get("column_table", [])]
            request = build_request(dict(zip(_CONTROLS, values, strict=True)), columns)
        except DataInsightsError as err:
            return no_update, alert(str(err), color="danger")
        return request_job(locked, request)

    wire_sample_button(app, IDS.SAMPLE, page.SAMPLE_NAME)
    wire_content(
        app,
        lambda session_id: render(services, session_id),
        status=IDS.STATUS,
        content=IDS.CONTENT,
        kinds=(BASKET.name,),
    )

    @app.callback(
        Output(IDS.RULES_GRID, "rowData"),
        Output(IDS.FILTER_NOTE, "children"),
        Input(IDS.FILTER_ITEM, "value"),
        Input(IDS.FILTER_SIDE, "value"),
        State(Shell.SESSION, "data"),
    )
    def rules_grid(item, side, session_id):
        try:
            return rule_rows(services, session_id, item, side)
        except DataInsightsError as err:
            return [], str(err)

    @app.callback(
        Output(IDS.LOOKUP_RESULT, "children"),
        Input(IDS.LOOKUP_ITEM, "value"),
        State(Shell.SESSION, "data"),
    )
    def look_up(item, session_id):
        try:
            return lookup(services, session_id, item)
        except DataInsightsError as err:
            return html.P(str(err), className="text-muted")
