"""Aggregates of an RFM result for tables and charts; their size never grows with customers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.rfm._segments import SEGMENT_NAMES, SEGMENT_RULES

SCATTER_POINTS = 5_000
"""Customers drawn in the scatter (a random sample when there are more)."""
TOP_CUSTOMERS = 20


def segment_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Return one row per segment, in rule order, including empty segments.

    Columns: ``segment``, ``customers``, ``share_pct``, ``revenue``, ``revenue_share_pct``,
    ``mean_recency``, ``mean_frequency``, ``mean_monetary``, ``mean_r``, ``mean_f``,
    ``mean_m`` (scores of the chosen scheme), ``avg_order_value``, ``mean_predicted_clv``,
    ``total_predicted_clv``, ``meaning``, ``action``.
    """
    total = len(customers)
    revenue_total = float(customers["monetary"].sum())
    grouped = customers.groupby("segment", observed=False, sort=False)
    stats = grouped.agg(
        customers=("monetary", "size"),
        revenue=("monetary", "sum"),
        orders=("frequency", "sum"),
        mean_recency=("recency", "mean"),
        mean_frequency=("frequency", "mean"),
        mean_monetary=("monetary", "mean"),
        mean_r=("r_score", "mean"),
        mean_f=("f_score", "mean"),
        mean_m=("m_score", "mean"),
        mean_predicted_clv=("predicted_clv", "mean"),
        total_predicted_clv=("predicted_clv", "sum"),
    ).reindex(list(SEGMENT_NAMES))
    stats["customers"] = stats["customers"].fillna(0).astype(int)
    stats["revenue"] = stats["revenue"].fillna(0.0)
    orders = stats.pop("orders").fillna(0)
    stats["avg_order_value"] = np.where(orders > 0, stats["revenue"] / orders.where(orders > 0), 0)
    stats["share_pct"] = 100 * stats["customers"] / total if total else 0.0
    stats["revenue_share_pct"] = 100 * stats["revenue"] / revenue_total if revenue_total else 0.0
    stats["total_predicted_clv"] = stats["total_predicted_clv"].fillna(0.0)
    table = stats.reset_index(names="segment")
    table["meaning"] = [r.meaning for r in SEGMENT_RULES]
    table["action"] = [r.action for r in SEGMENT_RULES]
    order = [
        "segment",
        "customers",
        "share_pct",
        "revenue",
        "revenue_share_pct",
        "mean_recency",
        "mean_frequency",
        "mean_monetary",
        "mean_r",
        "mean_f",
        "mean_m",
        "avg_order_value",
        "mean_predicted_clv",
        "total_predicted_clv",
        "meaning",
        "action",
    ]
    table = table[order]
    rounding = {c: 2 for c in order if c not in ("segment", "customers", "meaning", "action")}
    rounding.update(share_pct=1, revenue_share_pct=1, mean_recency=1)
    return table.round(rounding)


def rf_grid(customers: pd.DataFrame, bins: int) -> dict:
    """Return customer counts and mean monetary per (R score, F score) cell.

    Returns:
        ``{"r": [1..bins], "f": [1..bins], "counts": [[per F, per R]],
        "mean_monetary": [[...]]}`` (rows are F scores, columns R scores; None where empty).
    """
    counts = np.zeros((bins, bins), dtype=np.int64)
    money = np.zeros((bins, bins), dtype=np.float64)
    f = customers["f_score"].to_numpy(np.int64) - 1
    r = customers["r_score"].to_numpy(np.int64) - 1
    np.add.at(counts, (f, r), 1)
    np.add.at(money, (f, r), customers["monetary"].to_numpy(np.float64))
    mean = np.where(counts > 0, money / np.maximum(counts, 1), np.nan)
    return {
        "r": list(range(1, bins + 1)),
        "f": list(range(1, bins + 1)),
        "counts": counts.tolist(),
        "mean_monetary": [
            [None if np.isnan(v) else round(float(v), 2) for v in row] for row in mean
        ],
    }


def scatter_sample(customers: pd.DataFrame, *, points: int = SCATTER_POINTS) -> pd.DataFrame:
    """Return at most ``points`` random customers (seed 0) for the scatter chart."""
    columns = [
        c for c in ("recency", "frequency", "monetary", "segment", "cluster") if c in customers
    ]
    if len(customers) <= points:
        return customers[columns].reset_index(drop=True)
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(len(customers), points, replace=False))
    return customers[columns].iloc[chosen].reset_index(drop=True)


def top_customers(customers: pd.DataFrame, *, n: int = TOP_CUSTOMERS) -> list[dict]:
    """Return the ``n`` customers with the highest predicted CLV, as JSON-able rows."""
    columns = [
        "customer",
        "segment",
        "recency",
        "frequency",
        "monetary",
        "avg_order_value",
        "orders_per_year",
        "predicted_clv",
    ]
    top = customers.nlargest(n, "predicted_clv")[columns]
    return _records(top)


def _records(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for record in frame.to_dict("records"):
        rows.append({k: _plain(v) for k, v in record.items()})
    return rows


def _plain(value):
    """Make one cell JSON-able (numpy numbers, timestamps, NaN)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date().isoformat()
    if value is pd.NaT:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def records(frame: pd.DataFrame, limit: int | None = None) -> list[dict]:
    """Return up to ``limit`` rows of ``frame`` as JSON-able dicts."""
    return _records(frame if limit is None else frame.head(limit))


def overview(customers: pd.DataFrame, excluded: pd.DataFrame) -> dict:
    """Return the summary cards' figures."""
    one_time = customers["frequency"] == 1
    return {
        "customers": len(customers),
        "excluded": len(excluded),
        "customers_total": len(customers) + len(excluded),
        "revenue": round(float(customers["monetary"].sum()), 2),
        "median_recency": float(customers["recency"].median()),
        "median_frequency": float(customers["frequency"].median()),
        "median_monetary": round(float(customers["monetary"].median()), 2),
        "mean_predicted_clv": round(float(customers["predicted_clv"].mean()), 2),
        "one_time_share": float(one_time.mean()),
        # frequency ties are ranked by money: the highest F score a one-time buyer gets
        "one_time_top_f": int(customers.loc[one_time, "f_score"].max()) if one_time.any() else 0,
    }
