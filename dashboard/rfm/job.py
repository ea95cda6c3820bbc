"""The RFM job (kind ``rfm``): score, segment and cluster customers, store the tables."""

from __future__ import annotations

import pandas as pd

from dashboard.data import active_data
from dashboard.errors import InvalidParameter
from dashboard.jobs import JobKind
from dashboard.rfm._compute import (
    ELBOW_KS,
    add_clusters,
    check_columns,
    scatter_sample,
    score_transactions,
    settings_from_request,
)
from dashboard.rfm._read import read_columns

RESULT_ITEMS = {
    "rfm_customers": ("rfm-customers", "Customer table (one row per customer)"),
    "rfm_segments": ("rfm-segments", "Segment summary"),
    "rfm_excluded": ("rfm-not-scored", "Customers not scored"),
}


def is_sampled(data) -> bool:
    """Whether the analysis dataset ``data`` is a sample of the full data."""
    return bool(data.meta.get("sampling", {}).get("sampled"))


def _source(store, session: str, data):
    """Return the item RFM reads: the full data when ``data`` is a sample of it.

    Raises:
        InvalidParameter: The data is a sample and the full data is gone (a row sample
            would understate every customer's frequency and total).
    """
    if not is_sampled(data):
        return data
    full = store.info_by_name(session, "data_full")
    if full is None:
        raise InvalidParameter(
            "The analysis dataset is a sample and the full data is not available any more; "
            "RFM needs every transaction of a customer. Load the file again."
        )
    return full


def validate(services, session: str, fields: dict):
    """Check the page's choices against the dataset's column table (no data is read).

    Returns:
        ``(data item, settings)``.

    Raises:
        InvalidParameter: No dataset, or a choice that cannot work.
    """
    data = active_data(services.store, session)
    settings = settings_from_request(fields)
    check_columns(settings, data.meta.get("column_table", []), sampled=is_sampled(data))
    _source(services.store, session, data)
    return data, settings


def run_rfm(services, session: str, request: dict, progress) -> dict:
    """Job body: score the customers, cluster them, store the tables and the aggregates.

    Everything is computed before anything is stored, so a refused or failed run leaves
    the earlier results as they were.
    """
    store = services.store
    data, settings = validate(services, session, request)
    source = _source(store, session, data)
    total = 4 + len(ELBOW_KS)
    progress(f"Reading {source.rows:,} transactions", 0, total)
    frame = read_columns(store.parquet_path(session, source.key), settings.columns)
    result = score_transactions(
        frame, settings, progress=lambda step, done, steps: progress(step, 1 + done / steps, total)
    )
    del frame
    progress(f"Clustering: k = {ELBOW_KS[0]}…{ELBOW_KS[-1]}", 2, total)
    result = add_clusters(
        result,
        progress=lambda done, steps: progress(
            f"Clustering: k = {ELBOW_KS[0]}…{ELBOW_KS[-1]} ({done} of {steps})", 2 + done, total
        ),
    )
    progress("Saving the results", total - 1, total)
    version = data.version
    summary = result.summary()
    summary["source"] = {
        "sampled": source.key != data.key,
        "rows": source.rows,
        "analysis_rows": data.rows,
    }
    for name, (download, _label) in RESULT_ITEMS.items():
        frame = {
            "rfm_customers": result.customers,
            "rfm_segments": result.segments,
            "rfm_excluded": result.excluded,
        }[name]
        store.put_frame(
            session, name, frame, meta={"dataset_version": version, "download_name": download}
        )
    store.put_frame(
        session,
        "rfm_scatter",
        scatter_sample(result.customers),
        meta={"dataset_version": version, "customers": len(result.customers)},
    )
    # written last: the page shows a run once its summary is there
    store.put_frame(
        session,
        "rfm",
        pd.DataFrame({"rfm": [version]}),
        meta={"rfm": summary, "dataset_version": version},
        protected=True,
    )
    segments = sum(1 for s in summary["segments"] if s["customers"])
    scored, total = len(result.customers), summary["overview"]["customers_total"]
    of = f" of {total:,}" if total != scored else ""
    return {
        "message": (
            f"Scored {scored:,}{of} customers: {segments} segments, {result.clusters.k} clusters."
        )
    }


def estimate_rfm(services, session: str, request: dict) -> dict | None:
    """Return admission's view of an RFM job: the rows and dtypes of the mapped columns."""
    store = services.store
    data = store.info_by_name(session, "data")
    if data is None:
        return None
    try:
        source = _source(store, session, data)
    except InvalidParameter:
        return None  # the job refuses it with the message
    wanted = {request.get(f) for f in ("customer", "date", "amount", "invoice")}
    if not request.get("amount"):
        wanted |= {request.get("quantity"), request.get("unit_price")}
    dtypes = {
        str(c["column"]): str(c["dtype"])
        for c in data.meta.get("column_table", [])
        if str(c["column"]) in wanted
    }
    return {"rows": source.rows, "dtypes": dtypes or {"_": "float64"}}


RFM = JobKind(
    name="rfm",
    describe=lambda r: "Scoring customers (RFM)",
    run=run_rfm,
    estimate=estimate_rfm,
    # 6.0 over a fixed 170 MB: the mapped columns read from the full data, their arrays
    # (codes, days, amounts), per-customer aggregates, K-Means inputs; the fixed part is
    # scikit-learn (about 55 MB) and what Arrow's reader keeps after decoding the customer
    # dictionary of every row group. bench/rfm.py, 200,000 / 500,000 / 1,000,000
    # transactions (3.8 / 9.5 / 19.1 MB of mapped columns): job peaks 331 / 348 / 408 MB,
    # estimated 343 / 377 / 435 MB; with an invoice column (22.9 MB) 421–447 MB against
    # 457 MB.
    factor=6.0,
    overhead_mb=170.0,
    advice="Try a smaller sample or fewer customers.",
    time_limit_s=600.0,
)
