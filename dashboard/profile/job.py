"""The profile job (kind ``profile``): profile the analysis dataset, store it as ``profile``."""

from __future__ import annotations

import pandas as pd

from dashboard.data import active_data
from dashboard.jobs import JobKind
from dashboard.profile._compute import (
    compute_profile,
    correlations,
    distribution,
    streaming_column_stats,
)

#: Columns whose distribution the profile job stores (a few KB each, in the profile's meta).
MAX_DISTRIBUTIONS = 200


def run_profile(services, session: str, request: dict, progress) -> dict:
    """Job body: profile the analysis dataset and store it as ``profile`` (protected)."""
    store = services.store
    data = active_data(services.store, session)
    frame = store.read_frame(session, data.key)
    profile = compute_profile(frame, dataset_version=data.version, progress=progress).to_dict()
    progress("Spearman correlations", 0, 1)
    profile["correlations_spearman"] = correlations(frame, method="spearman")
    progress("Distributions", 0, 1)
    profile["distributions"] = {
        str(name): distribution(frame, name) for name in list(frame.columns)[:MAX_DISTRIBUTIONS]
    }
    del frame
    full = store.info_by_name(session, "data_full")
    if full is not None and data.meta.get("sampling", {}).get("sampled"):
        progress("Statistics of the full data", 0, 1)
        stats = streaming_column_stats(store.parquet_path(session, full.key))
        profile["full"] = {"rows": full.rows, "stats": stats}
    store.put_frame(
        session,
        "profile",
        pd.DataFrame({"profile": [data.version]}),
        meta={"profile": profile, "dataset_version": data.version},
    )
    return {"message": f"Profiled {data.rows:,} rows × {data.columns} columns."}


def estimate_profile(services, session: str, request: dict) -> dict | None:
    """Return admission's view of a profile job: the analysis dataset's size."""
    data = services.store.info_by_name(session, "data")
    return None if data is None else {"rows": data.rows, "bytes_memory": data.bytes_memory}


PROFILE = JobKind(
    name="profile",
    describe=lambda r: "Profiling the data",
    run=run_profile,
    estimate=estimate_profile,
    # 3.5: per-column statistics, value counts, row hashes for duplicates and a numeric
    # copy for correlations (bench/profile.py: 1M×20, 139 MB frame, job peak 677 MB).
    factor=3.5,
    overhead_mb=40.0,
    advice="Try a smaller sample or fewer columns.",
    time_limit_s=600.0,
)
