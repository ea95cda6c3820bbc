"""The basket job (kind ``basket``): mine rules from the analysis data and store them.

The job reads only the columns it needs — from the full data when the analysis dataset is
a sample, because a row sample of a long table splits baskets — and stores
``basket_rules`` (its meta holds the summary and chart aggregates) and ``basket_itemsets``.
``BasketSettings`` checks the page's choices once, before any job starts; the job checks
them again against the data it reads.
"""

from __future__ import annotations

import secrets

import psutil

from dashboard.basket._settings import BasketSettings, _columns_to_read
from dashboard.data import active_data
from dashboard.errors import InvalidParameter
from dashboard.jobs import JobKind, job_limit_mb

RULES, ITEMSETS = "basket_rules", "basket_itemsets"


WORKING_SHARE = 0.9  # of the job's memory limit, the rest is headroom for the allocator


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
    import pyarrow.parquet as pq  # the job only

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
    from dashboard.basket import find_rules, result_tables

    store = services.store
    data = active_data(services.store, session)
    column_table = data.meta.get("column_table", [])
    settings = BasketSettings.from_request(request, [c["column"] for c in column_table])
    needed = settings.columns_to_read(column_table)
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
        **settings.find_rules_options(),
        "memory_limit_mb": _working_mb(services),
        "progress": progress,
    }
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
        meta={**common, **meta, "request": settings.to_request(), "download_name": "basket-rules"},
    )
    where = f" of the full data ({rows:,} rows)" if full else ""
    return {
        "message": f"Found {len(result.rules):,} rules in {result.n_transactions:,} "
        f"transactions{where}."
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
    needed = _columns_to_read(request, column_table)
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


BASKET = JobKind(
    name="basket",
    describe=describe,
    run=run_basket,
    estimate=estimate_basket,
    # 4.0: the columns read and their encoding (codes per row, the sparse matrix); the
    # mined matrix and FP-tree are added from ``extra`` (transactions × items cells, see
    # ``BASKET_MATRIX_BYTES_PER_CELL``). bench/basket.py, 100,000 transactions × 2,000 items
    # (790,269 lines, 4.6 MB): estimate 409 MB, job peak 313 MB; 20,000 × 2,500: 241 MB
    # estimated, 218 MB measured. The job's own guard then checks the exact figures.
    factor=4.0,
    overhead_mb=50.0,
    advice="Try a smaller sample, fewer items or a higher minimum support.",
    time_limit_s=600.0,
)


def build_request(values: dict, columns: list[str]) -> dict:
    """Return the job request for the page's control ``values`` (``BasketSettings``).

    Raises:
        InvalidParameter: A missing or impossible choice, in one sentence.
    """
    return BasketSettings.from_form(values, columns).to_request()
