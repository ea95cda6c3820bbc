"""Market Basket page wiring: the basket job, the stored rules, the filter and the look-up.

The web process never mines and never loads the transactions: it reads the column table
and the first rows to pre-fill the layout pickers, and reads stored rules a batch at a time
(``dashboard._basket_results``) for the grid and the look-up. The job reads only the
columns it needs — from the full data when the analysis dataset is a sample, because a
row sample of a long table splits baskets — and stores ``basket_rules`` (its meta holds the
summary and chart aggregates) and ``basket_itemsets``.
"""

from __future__ import annotations

import logging
import secrets

import psutil
from dash import Input, Output, State, html, no_update

from callbacks.jobs import JobKind, request_job
from callbacks.results import (
    active_data,
    download_links,
    stale_message,
    stored_result,
    wire_content,
    wire_sample_button,
)
from callbacks.runner import job_limit_mb
from components import basket as page
from components.ids import Basket as IDS
from components.ids import Shell
from components.widgets import alert
from dashboard import basket_plots as plots
from dashboard._basket_results import MAX_GRID_ROWS, pairs_with, query_rules
from dashboard.basket import check_parameters, detect_layout
from dashboard.errors import DataInsightsError, InvalidParameter

log = logging.getLogger(__name__)

RULES, ITEMSETS = "basket_rules", "basket_itemsets"
DETECT_ROWS = 1_000  # rows read in the web process to recognise the layout
WORKING_SHARE = 0.9  # of the job's memory limit, the rest is headroom for the allocator
LOOKUP_ROWS = 8


# --- the request -------------------------------------------------------------------------


def _number(value, label: str, *, required: bool = True):
    if value in (None, ""):
        if required:
            raise InvalidParameter(f"{label} is missing.")
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{label} must be a number.") from None


def build_request(values: dict, columns: list[str]) -> dict:
    """Return the job request for the page's choices, or refuse impossible ones.

    Everything that can be checked without the data is checked here, so a bad choice
    never starts a job; the job checks the data itself before mining.

    Args:
        values: The controls' values (keys as in ``components.basket.settings_panel``).
        columns: The analysis dataset's columns.

    Raises:
        InvalidParameter: A missing or impossible choice, in one sentence.
    """
    layout = values.get("layout")
    if layout not in ("long", "basket", "onehot"):
        raise InvalidParameter("Choose how the transactions are laid out.")
    count_unit = values.get("support_unit") == "count"
    support = _number(values.get("min_support"), "Minimum support")
    if not count_unit and support is not None and support > 1:
        raise InvalidParameter(
            f"Minimum support is a share of the transactions, between 0 and 1 (got {support:g}); "
            "to give a number of transactions, choose “transactions” next to it."
        )
    request = {
        "kind": "basket",
        "layout": layout,
        "min_support": None if count_unit else support,
        "min_count": support if count_unit else None,
        "min_confidence": _number(values.get("min_confidence"), "Minimum confidence"),
        "min_lift": _number(values.get("min_lift"), "Minimum lift"),
        "max_len": _number(values.get("max_len"), "Maximum length", required=False),
        "single_consequent": not values.get("multi_consequent"),
        "algorithm": values.get("algorithm") or "fpgrowth",
    }
    check_parameters(
        min_support=request["min_support"] if not count_unit else 0.01,
        min_count=request["min_count"],
        min_confidence=request["min_confidence"],
        min_lift=request["min_lift"],
        max_len=request["max_len"],
        algorithm=request["algorithm"],
        layout=layout,
    )
    if request["max_len"] is not None:
        request["max_len"] = int(request["max_len"])
    if request["min_count"] is not None:
        request["min_count"] = int(request["min_count"])
    known = set(columns)
    if layout == "long":
        transaction, item = values.get("transaction"), values.get("item")
        if not transaction or not item:
            raise InvalidParameter("Choose the transaction column and the item column.")
        if transaction == item:
            raise InvalidParameter("The transaction column and the item column must differ.")
        quantity = values.get("quantity") or None
        if quantity in (transaction, item):
            raise InvalidParameter("The quantity column must differ from the other two.")
        chosen = [transaction, item] + ([quantity] if quantity else [])
        request.update(transaction=transaction, item=item, quantity=quantity)
    elif layout == "basket":
        chosen = list(values.get("basket_columns") or [])
        if not chosen:
            raise InvalidParameter("Choose the column (or columns) that hold the items.")
        sep = values.get("sep") or ""
        if len(chosen) == 1 and not sep:
            raise InvalidParameter("Give the separator between the items (for example ',').")
        request.update(columns=chosen, sep=sep)
    else:
        chosen = list(values.get("onehot_columns") or [])
        if len(chosen) == 1:
            raise InvalidParameter("Choose at least two item columns (or none to use all 0/1).")
        request.update(columns=chosen)
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise InvalidParameter(f"Column '{unknown[0]}' is not in the dataset any more.")
    return request


def _binary_candidates(column_table: list[dict]) -> list[str]:
    """Columns that the column table marks as 0/1 or true/false (``zero_one``).

    The table is computed where the data is (ingest, cleaning), so a column holding {3, 7}
    is not taken for flags and the web process reads no rows. The job reads the candidates
    and keeps those that hold only 0/1 in every row of the data it mines.
    """
    return [c["column"] for c in column_table if c.get("zero_one")]


def columns_to_read(request: dict, column_table: list[dict]) -> list[str]:
    """Return the columns the job reads for ``request``.

    Args:
        request: From `build_request`.
        column_table: The analysis dataset's ``meta["column_table"]``.
    """
    if request["layout"] == "long":
        quantity = [request["quantity"]] if request.get("quantity") else []
        return [request["transaction"], request["item"], *quantity]
    if request["layout"] == "basket":
        return list(request["columns"])
    if request.get("columns"):
        return list(request["columns"])
    return _binary_candidates(column_table)


def _source(store, session: str, data, needed: list[str]):
    """Return ``(item, full, note)``: the full data when the analysis data is a sample.

    Falls back to the sample, with a note saying why, when the full data lacks a column
    (the sample was cleaned without it).
    """
    if not data.meta.get("sampling", {}).get("sampled"):
        return data, False, None
    full = store.info_by_name(session, "data_full")
    if full is None:
        return data, False, None
    import pyarrow.parquet as pq  # noqa: PLC0415 - the job only

    names = set(pq.ParquetFile(store.parquet_path(session, full.key)).schema_arrow.names)
    missing = [c for c in needed if c not in names]
    if missing:
        note = (
            f"The full data has no column '{missing[0]}' (the sample was changed without it), "
            f"so only the {data.rows:,}-row sample was mined: baskets may be split. Clean the "
            "full data too, or choose other columns, to mine every row."
        )
        return data, False, note
    return full, True, None


# --- the job ------------------------------------------------------------------------------


def _working_mb(services) -> float:
    """Return the memory this job's mining may use: its limit minus what it holds now."""
    status = services.memory_status()
    web = sum(p.used_mb for p in status.processes if p.role == "web")
    limit = job_limit_mb(services, web)
    own = psutil.Process().memory_info().rss / (1 << 20)
    return max(32.0, limit * WORKING_SHARE - own)


def run_basket(services, session: str, request: dict, progress) -> dict:
    """Job body: mine the rules of the analysis dataset and store them.

    Stores ``basket_itemsets`` then ``basket_rules`` (both with ``dataset_version`` and the
    same ``run``); a refused or failed run stores nothing, so earlier results stay.
    """
    from dashboard.basket import find_rules, result_tables  # noqa: PLC0415

    store = services.store
    data = active_data(services, session)
    column_table = data.meta.get("column_table", [])
    request = {**request, "kind": "basket"}
    build_request(_as_values(request), [c["column"] for c in column_table])  # re-check
    needed = columns_to_read(request, column_table)
    if not needed:
        raise InvalidParameter(
            "No column holds only 0/1 or true/false values, so this is not one-hot data: "
            "choose the long or basket layout."
        )
    source, full, source_note = _source(store, session, data, needed)
    progress("Reading the transactions" + (" (full data)" if full else ""), 0, 4)
    frame = store.read_frame(session, source.key, columns=needed)
    rows = len(frame)
    options = {
        "layout": request["layout"],
        "transaction": request.get("transaction"),
        "item": request.get("item"),
        "quantity": request.get("quantity"),
        "columns": request.get("columns") or None,
        "sep": request.get("sep") or ",",
        "min_confidence": request["min_confidence"],
        "min_lift": request["min_lift"],
        "max_len": request.get("max_len"),
        "single_consequent": request["single_consequent"],
        "algorithm": request["algorithm"],
        "memory_limit_mb": _working_mb(services),
        "progress": progress,
    }
    if request.get("min_count") is not None:
        options["min_count"] = request["min_count"]
    else:
        options["min_support"] = request["min_support"]
    result = find_rules(frame, **options)
    del frame
    progress("Storing the rules", 4, 4)
    rules, itemsets, meta = result_tables(result, mined_rows=rows, full_data=full)
    meta["source_note"] = source_note
    run = secrets.token_hex(8)
    common = {"dataset_version": data.version, "run": run}
    store.put_frame(
        session,
        ITEMSETS,
        itemsets,
        meta={
            **common,
            "download_name": "basket-itemsets",
            "item_separator": meta["item_separator"],
        },
    )
    store.put_frame(
        session,
        RULES,
        rules,
        meta={**common, **meta, "request": request, "download_name": "basket-rules"},
    )
    where = f" of the full data ({rows:,} rows)" if full else ""
    return {
        "message": f"Found {len(result.rules):,} rules in {result.n_transactions:,} "
        f"transactions{where}."
    }


def _as_values(request: dict) -> dict:
    """Return the page's control values that produce ``request`` (for re-checks)."""
    count = request.get("min_count") is not None
    return {
        "layout": request.get("layout"),
        "transaction": request.get("transaction"),
        "item": request.get("item"),
        "quantity": request.get("quantity"),
        "basket_columns": request.get("columns") if request.get("layout") == "basket" else None,
        "sep": request.get("sep"),
        "onehot_columns": request.get("columns") if request.get("layout") == "onehot" else None,
        "min_support": request.get("min_count") if count else request.get("min_support"),
        "support_unit": "count" if count else "share",
        "min_confidence": request.get("min_confidence"),
        "min_lift": request.get("min_lift"),
        "max_len": request.get("max_len"),
        "multi_consequent": not request.get("single_consequent", True),
        "algorithm": request.get("algorithm"),
    }


def estimate_basket(services, session: str, request: dict) -> dict | None:
    """Return admission's view of a basket job: the columns read and the matrix size.

    The mined matrix has one row per transaction and one column per frequent item; the
    item supports add up to the purchases per transaction, so at most ``1 / support``
    columns per purchase per transaction are frequent: cells ≤ purchases / support.
    """
    store = services.store
    data = store.info_by_name(session, "data")
    if data is None:
        return None
    column_table = data.meta.get("column_table", [])
    needed = columns_to_read(request, column_table)
    source, _full, _note = _source(store, session, data, needed)
    scale = source.rows / max(1, data.rows)
    by_name = {c["column"]: c for c in column_table}
    bytes_memory = int(sum(by_name.get(c, {}).get("memory", 0) for c in needed) * scale)
    rows = source.rows
    if request.get("min_count"):
        support = max(1, int(request["min_count"])) / max(1, rows)
    else:
        support = float(request.get("min_support") or 0.01)
    if request.get("layout") == "onehot":
        items = len(needed)
    else:
        per_row = 1 if request.get("layout") == "long" else 8  # purchases per row
        items = int(min(max(1, rows * per_row), per_row / max(support, 1e-9)))
    return {
        "rows": rows,
        "bytes_memory": bytes_memory,
        "extra": {"transactions": rows, "items": items},
    }


def describe(request: dict) -> str:
    """Return the banner line of a basket job."""
    name = "Apriori" if request.get("algorithm") == "apriori" else "FP-Growth"
    return f"Finding association rules ({name})"


BASKET = JobKind(name="basket", describe=describe, run=run_basket, estimate=estimate_basket)
KINDS = (BASKET,)


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
        previous = _as_values(last.meta["request"])
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
    services.job_kinds.update({kind.name: kind for kind in KINDS})

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
            data = active_data(services, session)
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
        kinds=("basket",),
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
