"""Aggregates for the profile's figures: distributions, correlations and missing patterns.

Each function returns a small JSON-able dict whose size depends on the number of bins,
bars, periods or columns, never on the number of rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.errors import InvalidParameter
from dashboard.profile._columns import (
    ColumnFacts,
    as_datetime,
    as_float,
    is_numeric_identifier,
    json_value,
    storage_kind,
    value_counts,
)

MAX_BINS = 200
"""Most histogram bins a caller may ask for."""

TOP_BARS = 20
"""Bars of a categorical distribution; the remaining values are summed as ``other``."""

MAX_PERIODS = 200
"""Most points of a timeline."""

STRONGEST_PAIRS = 10
"""Pairs listed as the strongest correlations."""

PATTERN_COLUMNS = 10
"""Columns (those with most missing values) in the co-missing pattern."""

PATTERN_ROWS = 15
"""Most frequent patterns listed."""

_CHUNK_ROWS = 65_536  # rows converted to float64 at a time for correlations
_METHODS = ("pearson", "spearman")


def column_at(df: pd.DataFrame, column: str) -> tuple[int, pd.Series]:
    """Return the position and values of ``column`` (the first, if the name repeats).

    Raises:
        InvalidParameter: There is no such column.
    """
    names = [str(c) for c in df.columns]
    if column not in names:
        raise InvalidParameter(f"There is no column '{column}' in this dataset.")
    position = names.index(column)
    return position, df.iloc[:, position]


def distribution(df: pd.DataFrame, column: str, *, bins: int = 30) -> dict:
    """Aggregate one column for a figure (see `dashboard.profile.distribution`)."""
    if (
        isinstance(bins, bool)
        or not isinstance(bins, int | np.integer)
        or not 1 <= bins <= MAX_BINS
    ):
        raise InvalidParameter(f"The number of bins must be between 1 and {MAX_BINS}.")
    _, s = column_at(df, column)
    kind = storage_kind(s)
    if kind == "numeric":
        out = _histogram(s, bins)
    elif kind == "datetime":
        out = _timeline(as_datetime(s))
    else:
        out = _bars(s)
    return {"column": column, **out, "missing": int(s.isna().sum())}


def _histogram(s: pd.Series, bins: int) -> dict:
    values = as_float(s)
    finite = np.isfinite(values)
    infinite = int(np.count_nonzero(~finite & ~np.isnan(values)))
    values = values[finite]
    if values.size == 0:
        return {"kind": "histogram", "edges": [], "counts": [], "infinite": infinite}
    lo, hi = values.min(), values.max()
    if pd.api.types.is_integer_dtype(s.dtype) and hi - lo + 1 <= bins:
        edges = np.arange(lo - 0.5, hi + 1.0)  # one bar per whole number
        counts, edges = np.histogram(values, bins=edges)
    else:
        counts, edges = np.histogram(values, bins=bins)
    return {
        "kind": "histogram",
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "infinite": infinite,
    }


def _bars(s: pd.Series) -> dict:
    counts = value_counts(s)
    head = counts.iloc[:TOP_BARS]
    return {
        "kind": "bar",
        "values": [json_value(v) for v in head.index],
        "counts": [int(c) for c in head.to_numpy()],
        "other": int(counts.sum() - head.sum()),
    }


def _timeline(s: pd.Series) -> dict:
    """Counts per day, week (from Monday), month or year(s): the finest with ≤ 200 points."""
    days = s.dropna().to_numpy().astype("datetime64[D]")
    if days.size == 0:
        return {"kind": "timeline", "periods": [], "counts": [], "freq": "D"}
    day_codes = days.astype(np.int64)
    span = int(day_codes.max() - day_codes.min()) + 1
    if span <= MAX_PERIODS:
        codes, freq = day_codes, "D"
    elif span // 7 + 2 <= MAX_PERIODS:
        codes, freq = (day_codes + 3) // 7, "W"  # 1970-01-01 was a Thursday
    else:
        codes, freq = days.astype("datetime64[M]").astype(np.int64), "M"
        if codes.max() - codes.min() + 1 > MAX_PERIODS:
            years = days.astype("datetime64[Y]").astype(np.int64)
            step = -(-int(years.max() - years.min() + 1) // MAX_PERIODS)
            codes, freq = years // step, "Y" if step == 1 else f"{step}Y"
    first = int(codes.min())
    counts = np.bincount(codes - first)
    starts = np.arange(first, first + counts.size)
    if freq == "D":
        periods = starts.astype("datetime64[D]")
    elif freq == "W":
        periods = (starts * 7 - 3).astype("datetime64[D]")
    elif freq == "M":
        periods = starts.astype("datetime64[M]").astype("datetime64[D]")
    else:
        step = 1 if freq == "Y" else int(freq[:-1])
        periods = (starts * step).astype("datetime64[Y]").astype("datetime64[D]")
    return {
        "kind": "timeline",
        "periods": [str(p) for p in periods],
        "counts": [int(c) for c in counts],
        "freq": freq,
    }


def correlation_candidates(df: pd.DataFrame) -> list[int]:
    """Positions of numeric columns that are not identifiers (booleans are left out)."""
    positions = []
    for position in range(df.shape[1]):
        s = df.iloc[:, position]
        if storage_kind(s) != "numeric":
            continue
        if pd.api.types.is_integer_dtype(s.dtype):
            nonnull = int(s.notna().sum())
            if is_numeric_identifier(str(s.name), s, int(s.nunique()), nonnull):
                continue
        positions.append(position)
    return positions


def correlation_matrix(
    df: pd.DataFrame, positions: list[int], method: str, max_columns: int
) -> dict:
    """Correlations between the columns at ``positions`` (see `dashboard.profile.correlations`).

    Columns with fewer than two finite values or no variance are left out (their
    correlation is undefined); infinite values count as missing. When more columns remain
    than ``max_columns``, the ones with the largest coefficient of variation
    (std / |mean|, infinite when the mean is 0) are kept, in table order.
    """
    if method not in _METHODS:
        raise InvalidParameter("The correlation method must be 'pearson' or 'spearman'.")
    if isinstance(max_columns, bool) or not isinstance(max_columns, int) or max_columns < 2:
        raise InvalidParameter("At least 2 columns are needed to show correlations.")
    stats = {}
    for position in positions:
        values = _finite(as_float(df.iloc[:, position]))
        n = np.count_nonzero(~np.isnan(values))
        if n < 2:
            continue
        mean, std = np.nanmean(values), np.nanstd(values, ddof=1)
        if std > 0:
            stats[position] = std / abs(mean) if mean != 0 else np.inf
    candidates = list(stats)
    capped = len(candidates) > max_columns
    if capped:
        ranked = sorted(candidates, key=lambda p: (-stats[p], p))
        keep = set(ranked[:max_columns])
        candidates = [p for p in candidates if p in keep]
    matrix = _pairwise(df, candidates, method) if candidates else np.empty((0, 0))
    names = [str(df.columns[p]) for p in candidates]
    return {
        "method": method,
        "columns": names,
        "matrix": [[_rounded(r) for r in row] for row in matrix],
        "strongest": _strongest(names, matrix),
        "capped": capped,
        "candidates": len(stats),
    }


def _finite(values: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(values)
    if bad.any():
        values = values.copy()
        values[bad] = np.nan
    return values


def _rounded(r: float) -> float | None:
    return None if np.isnan(r) else round(float(r), 6)


def _pairwise(df: pd.DataFrame, positions: list[int], method: str) -> np.ndarray:
    """Pearson correlation over pairwise-complete rows (of ranks, for Spearman).

    Values are centred on their column mean, then sums over rows where both columns have a
    value give each pair's covariance; the rows are taken a chunk at a time (Spearman's
    ranks are computed over each whole column first).
    """
    k = len(positions)
    if method == "spearman":
        ranks = [pd.Series(_finite(as_float(df.iloc[:, p]))).rank().to_numpy() for p in positions]

        def chunk(a: int, b: int) -> np.ndarray:
            return np.column_stack([r[a:b] for r in ranks])

        means = np.array([np.nanmean(r) for r in ranks])
    else:

        def chunk(a: int, b: int) -> np.ndarray:
            return np.column_stack([_finite(as_float(df.iloc[a:b, p])) for p in positions])

        means = np.array([np.nanmean(_finite(as_float(df.iloc[:, p]))) for p in positions])
    n = np.zeros((k, k))
    sx = np.zeros((k, k))
    sxx = np.zeros((k, k))
    sxy = np.zeros((k, k))
    for a in range(0, len(df), _CHUNK_ROWS):
        x = chunk(a, a + _CHUNK_ROWS)
        valid = ~np.isnan(x)
        mask = valid.astype(np.float64)
        z = np.where(valid, x - means, 0.0)
        n += mask.T @ mask
        sx += z.T @ mask  # [i, j]: sum of column i over the rows where j has a value
        sxx += (z * z).T @ mask
        sxy += z.T @ z
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var_i = sxx - sx * sx / n
        r = cov / np.sqrt(var_i * var_i.T)
    r[(n < 2) | ~(var_i > 0) | ~(var_i.T > 0)] = np.nan
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


def _strongest(names: list[str], matrix: np.ndarray) -> list[dict]:
    pairs = [
        (abs(matrix[i, j]), i, j)
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if not np.isnan(matrix[i, j])
    ]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [
        {"a": names[i], "b": names[j], "r": _rounded(matrix[i, j])}
        for _, i, j in pairs[:STRONGEST_PAIRS]
    ]


def missing_summary(df: pd.DataFrame, facts: list[ColumnFacts]) -> dict:
    """Missing values per column, and the co-missing pattern of the worst columns.

    A pattern lists, for each of the (at most `PATTERN_COLUMNS`) columns with most missing
    values, 1 when the value is missing and 0 when present; ``rows`` holds the
    `PATTERN_ROWS` most frequent patterns with their row counts, ``other_rows`` the rest.
    """
    by_column = [
        {"column": f.name, "missing": f.missing, "pct": f.summary["missing_pct"]} for f in facts
    ]
    worst = sorted((f for f in facts if f.missing), key=lambda f: (-f.missing, f.position))
    worst = worst[:PATTERN_COLUMNS]
    rows: list[dict] = []
    other = 0
    if worst:
        code = np.zeros(len(df), dtype=np.int64)
        for bit, f in enumerate(worst):
            code |= df.iloc[:, f.position].isna().to_numpy().astype(np.int64) << bit
        counts = np.bincount(code, minlength=1 << len(worst))
        seen = np.flatnonzero(counts)
        order = seen[np.lexsort((seen, -counts[seen]))]
        for c in order[:PATTERN_ROWS]:
            pattern = [int(c >> bit) & 1 for bit in range(len(worst))]
            rows.append({"pattern": pattern, "count": int(counts[c])})
        other = int(counts[order[PATTERN_ROWS:]].sum())
    return {
        "by_column": by_column,
        "pattern": {"columns": [f.name for f in worst], "rows": rows, "other_rows": other},
    }
