"""Profile a dataset: overview, column statistics, quality issues, correlations, missing values.

Everything returned is small and JSON-able, whatever the number of rows: a profile is
stored and sent to the browser, and figures carry aggregates, never rows.

* `compute_profile` summarises a frame in memory (the analysis dataset) as a `Profile`.
* `distribution` aggregates one column for a histogram, bar chart or timeline.
* `correlations` is the Pearson or Spearman matrix of the numeric columns.
* `streaming_column_stats` summarises a Parquet file (the full data) a batch of rows at a
  time, without loading it.

Semantic types: ``numeric``; ``boolean``; ``datetime``; ``categorical`` (a ``category``
column, or text with at most one distinct value per two rows); ``identifier`` (text whose
values are short tokens without spaces, distinct in 95 % of 20 or more rows, or an integer
column named like an id -- ``id``, ``customer_id``, ``orderId``, ``key`` -- with all values
distinct); ``text`` (other text, including any column of another type, read as text).

Statistics: missing values are ``None``/``NaN``/``NaT``/``NA``; infinite numbers count
neither as missing nor in the statistics (``infinite`` gives their number); ``std`` has one
degree of freedom removed (as pandas); quartiles interpolate linearly (as pandas).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from dashboard.cleaning import apply_steps
from dashboard.errors import DataInsightsError, InvalidParameter
from dashboard.profile._charts import (
    correlation_candidates,
    correlation_matrix,
    missing_summary,
)
from dashboard.profile._charts import distribution as _distribution
from dashboard.profile._columns import ColumnFacts, describe_column
from dashboard.profile._quality import QUALITY_FORMULA, find_issues, quality_score
from dashboard.profile._stream import streaming_column_stats as _streaming_column_stats
from dashboard.progress import Progress

log = logging.getLogger(__name__)

MAX_CORRELATION_COLUMNS = 30
"""Columns in the profile's correlation matrix (the most variable ones when there are more)."""

"""``progress(step, done, total)``: called as each phase starts, and once at the end."""

_PHASES = ("columns", "duplicates", "quality", "correlations", "missing")


@dataclass(frozen=True)
class Profile:
    """A dataset's profile; every field is JSON-able.

    Attributes:
        overview: ``rows``, ``columns``, ``missing_cells``, ``missing_cells_pct``,
            ``duplicate_rows``, ``duplicate_pct``, ``memory_bytes``, ``quality_score``
            (0..100), ``quality_formula`` (text to show on hover) and ``quality_parts``
            (penalty name -> points taken off).
        columns: Per column, in table order: ``name``, ``dtype``, ``semantic``, ``missing``,
            ``missing_pct``, ``unique``; numeric and identifier numbers add ``min``,
            ``max``, ``mean``, ``std``, ``q25``, ``q50``, ``q75`` (None without values) and
            ``outliers`` (numeric only), plus ``infinite`` when there are any; datetime adds
            ``min``/``max`` (ISO text); other columns add ``top``, up to 10
            ``{"value", "count"}``, most frequent first.
        issues: Most severe first: ``column`` (None for the whole table), ``kind``,
            ``severity`` (``high``/``medium``/``low``), ``message`` and ``fix`` (the cleaning
            step ``{"op": ..., ...}``, or None when no cleaning applies).
        correlations: As returned by `correlations`.
        missing: ``by_column`` (``column``, ``missing``, ``pct``) and ``pattern``
            (``columns``: the 10 with most missing values; ``rows``: the 15 most frequent
            ``{"pattern": [1 = missing, 0 = present...], "count"}``; ``other_rows``).
        dataset_version: Version of the dataset profiled, if known.
    """

    overview: dict
    columns: list[dict]
    issues: list[dict]
    correlations: dict
    missing: dict
    dataset_version: int | None = None

    def to_dict(self) -> dict:
        """Return a JSON-able copy (``json.dumps`` accepts it with ``allow_nan=False``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Profile:
        """Rebuild a profile from `to_dict` output (for example after a JSON round trip).

        Raises:
            ValueError: ``data`` is not a profile (a field is missing or of the wrong type).
        """
        types = {
            "overview": dict,
            "columns": list,
            "issues": list,
            "correlations": dict,
            "missing": dict,
            "dataset_version": (int, type(None)),
        }
        if not isinstance(data, dict):
            raise ValueError("A profile must be a dict.")
        for field in fields(cls):
            if field.name not in data or not isinstance(data[field.name], types[field.name]):
                raise ValueError(f"Not a profile: field '{field.name}' is missing or invalid.")
        return cls(**{field.name: data[field.name] for field in fields(cls)})


def compute_profile(
    df: pd.DataFrame,
    *,
    dataset_version: int | None = None,
    correlation: str = "pearson",
    progress: Progress | None = None,
) -> Profile:
    """Profile ``df``: overview, columns, issues, correlations and missing values.

    Args:
        df: Any frame (it is not modified); column names are shown as text.
        dataset_version: Recorded in the profile, so a page can tell it is stale.
        correlation: ``"pearson"`` or ``"spearman"``.
        progress: Called as ``progress(step, done, total)`` when each phase starts
            (``done`` phases out of ``total``), then as ``("done", total, total)``.

    Returns:
        The profile. Its size grows with the number of columns, never with rows.

    Raises:
        InvalidParameter: ``correlation`` is not a known method.
    """
    if correlation not in ("pearson", "spearman"):
        raise InvalidParameter("The correlation method must be 'pearson' or 'spearman'.")
    started = time.perf_counter()
    total = float(len(_PHASES))

    def report(step: str) -> None:
        if progress is not None:
            progress(step, float(_PHASES.index(step) if step in _PHASES else total), total)

    report("columns")
    facts = [describe_column(df.iloc[:, i], i) for i in range(df.shape[1])]
    report("duplicates")
    duplicated = _duplicated(df)
    duplicate_rows = int(duplicated.sum())
    distinct_missing = _distinct_missing(df, facts, duplicated, duplicate_rows)
    report("quality")
    rows = len(df)
    issues = find_issues(facts, rows, duplicate_rows)
    distinct_missing += _unconvertible_cells(df, facts, issues, duplicated)
    score, parts = quality_score(facts, rows, duplicate_rows, distinct_missing)
    report("correlations")
    numeric = [f.position for f in facts if f.semantic == "numeric"]
    corr = correlation_matrix(df, numeric, correlation, MAX_CORRELATION_COLUMNS)
    report("missing")
    missing = missing_summary(df, facts)
    cells = rows * len(facts)
    missing_cells = sum(f.missing for f in facts)
    overview = {
        "rows": rows,
        "columns": len(facts),
        "missing_cells": missing_cells,
        "missing_cells_pct": round(100.0 * missing_cells / cells, 2) if cells else 0.0,
        "duplicate_rows": duplicate_rows,
        "duplicate_pct": round(100.0 * duplicate_rows / rows, 2) if rows else 0.0,
        "memory_bytes": int(df.memory_usage(deep=True, index=False).sum()),
        "quality_score": score,
        "quality_formula": QUALITY_FORMULA,
        "quality_parts": parts,
    }
    report("done")
    log.info(
        "profile of %d rows x %d columns in %.2f s: score %.1f, %d issues",
        rows,
        len(facts),
        time.perf_counter() - started,
        score,
        len(issues),
    )
    return Profile(
        overview=overview,
        columns=[f.summary for f in facts],
        issues=issues,
        correlations=corr,
        missing=missing,
        dataset_version=dataset_version,
    )


def _duplicated(df: pd.DataFrame) -> np.ndarray:
    """True for each row equal to an earlier row (missing values equal each other)."""
    if df.shape[0] == 0 or df.shape[1] == 0:
        return np.zeros(df.shape[0], dtype=bool)
    positional = df.set_axis(range(df.shape[1]), axis=1)  # names may repeat
    try:
        return _exact_duplicated(positional)
    except TypeError:  # unhashable values (lists, dicts) in an object column: compare as text
        return _exact_duplicated(positional.astype(str))


def _exact_duplicated(df: pd.DataFrame) -> np.ndarray:
    # Row hashes find the candidates fast and in little memory; only rows sharing a hash
    # are compared exactly (a hash also matches 1 and "1", or a collision).
    suspects = pd.util.hash_pandas_object(df, index=False).duplicated(keep=False).to_numpy()
    duplicated = np.zeros(df.shape[0], dtype=bool)
    if suspects.any():
        duplicated[suspects] = df[suspects].duplicated().to_numpy()
    return duplicated


def _unconvertible_cells(
    df: pd.DataFrame, facts: list[ColumnFacts], issues: list[dict], duplicated: np.ndarray
) -> int:
    """Cells that a suggested conversion to numbers would turn into missing values.

    They are counted as missing already (in the distinct rows), so applying the suggested
    fix never lowers the quality score: the values it removes were not usable numbers.
    """
    total = 0
    for issue in issues:
        fix = issue.get("fix") or {}
        if fix.get("op") != "convert_numeric" or not fix.get("allow_missing"):
            continue
        for name in fix.get("columns", []):
            fact = next((f for f in facts if f.name == name and not f.constant), None)
            if fact is None:
                continue
            column = df.iloc[:, [fact.position]]
            try:
                converted = apply_steps(column, [{**fix, "columns": [name]}]).frame.iloc[:, 0]
            except DataInsightsError:
                continue
            lost = (converted.isna() & column.iloc[:, 0].notna()).to_numpy()
            total += int(np.count_nonzero(lost[~duplicated]))
    return total


def _distinct_missing(
    df: pd.DataFrame, facts: list[ColumnFacts], duplicated: np.ndarray, duplicate_rows: int
) -> int:
    """Missing cells of the non-constant columns, in the first row of each distinct row."""
    varying = [f for f in facts if not f.constant]
    if not duplicate_rows:
        return sum(f.missing for f in varying)
    keep = ~duplicated
    return sum(
        int(np.count_nonzero(df.iloc[:, f.position].isna().to_numpy()[keep]))
        for f in varying
        if f.missing
    )


def distribution(df: pd.DataFrame, column: str, *, bins: int = 30) -> dict:
    """Aggregate one column for a figure; the result's size does not depend on rows.

    Args:
        df: The frame.
        column: Column name (the first column of that name, if it repeats).
        bins: Histogram bins, 1..200 (an integer column spanning fewer whole numbers gets
            one bin per number).

    Returns:
        Always ``column`` and ``missing``, plus by type:

        * numbers: ``{"kind": "histogram", "edges": [bins + 1], "counts": [bins],
          "infinite": n}``; counts sum to the finite values;
        * dates: ``{"kind": "timeline", "periods": [ISO dates], "counts", "freq"}``, with
          ``freq`` the finest of ``D`` (day), ``W`` (weeks from Monday), ``M`` (month),
          ``Y`` or ``<k>Y`` (k years) giving at most 200 periods; empty periods count 0;
        * anything else: ``{"kind": "bar", "values": [top 20], "counts", "other": n}``,
          with ``other`` the non-missing values outside the top 20.

    Raises:
        InvalidParameter: No such column, or ``bins`` out of range.
    """
    return _distribution(df, column, bins=bins)


def correlations(df: pd.DataFrame, *, method: str = "pearson", max_columns: int = 30) -> dict:
    """Correlation matrix of the numeric columns (booleans and identifiers left out).

    Each pair uses the rows where both columns have a finite value (pandas' ``corr``
    does the same). Columns with fewer than two values or no variance are left out. When
    more columns remain than ``max_columns``, those with the largest coefficient of
    variation (std / |mean|; a zero mean counts as infinitely variable) are kept, in table
    order. Spearman ranks each column over its own values (pandas re-ranks each pair's
    common rows, so the two differ slightly when values are missing).

    Returns:
        ``{"method", "columns": [names], "matrix": [[r or None]], "strongest": [up to 10
        {"a", "b", "r"} by |r|, largest first], "capped": bool, "candidates": n}``.

    Raises:
        InvalidParameter: Unknown method, or ``max_columns`` below 2.
    """
    return correlation_matrix(df, correlation_candidates(df), method, max_columns)


def streaming_column_stats(path: Path, *, columns: list[str] | None = None) -> list[dict]:
    """Statistics of each column of a Parquet file, reading 65,536 rows at a time.

    Memory stays bounded by one batch of the chosen columns (and one row group).

    Args:
        path: Parquet file (for example a store item).
        columns: Columns to summarise, in this order; all (but a stored index) by default.

    Returns:
        Per column: ``name``, ``dtype`` (Arrow type), ``kind`` (``numeric``, ``boolean``,
        ``datetime``, ``text``, ``other``), ``rows``, ``missing`` (nulls, and NaN in
        floats), ``min``, ``max`` (numbers, booleans, ISO dates or text; None when there
        are none), ``mean`` and ``std`` (numbers and booleans, ddof 1, infinite values left
        out and counted in ``infinite``), otherwise None.

    Raises:
        InvalidParameter: A column is not in the file.
        DataLoadError: The file is missing or not Parquet.
    """
    return _streaming_column_stats(path, columns=columns)
