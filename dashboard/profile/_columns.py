"""Per-column facts for the profile: storage kind, semantic type and summary statistics.

`describe_column` looks at one column once and returns both what the user sees (the
``summary`` dict of `Profile.columns`) and what the quality checks need (outliers, numbers
or dates stored as text, mixed types). Text checks live in `dashboard.profile._text`.

Storage kinds (how values are held): ``numeric``, ``bool``, ``datetime``, ``category`` and
``text`` (anything else is read as text). Semantic types (what the values mean):
``numeric``, ``categorical``, ``text``, ``datetime``, ``boolean`` and ``identifier``.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.profile._text import TextFindings, inspect_text

TOP_VALUES = 10
"""Top values listed per categorical / text / boolean column."""

LABEL_CHARS = 100
"""Longer text values are cut to this many characters in anything returned."""

IQR_K = 1.5
"""Tukey's fence: values beyond ``IQR_K`` interquartile ranges from the quartiles are outliers."""

MIN_IDENTIFIER_ROWS = 20
"""Fewer non-missing values never make an identifier (too little evidence)."""

_ID_NAME = re.compile(r"(?i)(^|[_\s.-])(id|key|uuid|guid)$|^(id|key)[_\s.-]|[a-z]Id$|^id$")
_OBJECT_NUMERIC = {"integer", "floating", "mixed-integer-float", "decimal"}
_OBJECT_DATES = {"datetime", "datetime64", "date"}


@dataclass(frozen=True)
class ColumnFacts:
    """One column as the profile sees it.

    Attributes:
        position: Position in the frame (names may repeat; positions do not).
        summary: The JSON-able dict shown in the column table.
        kind: Storage kind (``numeric``, ``bool``, ``datetime``, ``category``, ``text``).
        rows: Number of rows.
        missing: Missing values.
        unique: Distinct non-missing values.
        outliers: Values beyond Tukey's fences (numeric, non-identifier columns), else None.
        text: Findings on text values (numbers or dates stored as text, mixed types), or None.
    """

    position: int
    summary: dict
    kind: str
    rows: int
    missing: int
    unique: int
    outliers: int | None
    text: TextFindings | None

    @property
    def name(self) -> str:
        """Column name as shown to the user."""
        return self.summary["name"]

    @property
    def semantic(self) -> str:
        """Semantic type."""
        return self.summary["semantic"]

    @property
    def constant(self) -> bool:
        """Same value in every row (missing counts as a value), with two rows or more.

        Defined this way so that removing such a column never creates duplicate rows.
        """
        if self.rows < 2:
            return False
        return self.missing == self.rows or (self.missing == 0 and self.unique == 1)


def json_value(value: object) -> object:
    """Return ``value`` as a JSON-native value (text cut to `LABEL_CHARS`; NaN -> None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value if not isinstance(value, str) else clip(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | datetime.date | datetime.datetime):
        return value.isoformat()
    return clip(str(value))


def clip(text: str) -> str:
    """Cut ``text`` to `LABEL_CHARS` characters (an ellipsis marks the cut)."""
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def storage_kind(s: pd.Series) -> str:
    """Return how the values of ``s`` are held (see the module docstring)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "boolean":
            return "bool"
        if inferred in _OBJECT_NUMERIC:
            return "numeric"
        if inferred in _OBJECT_DATES:
            return "datetime"
    return "text"


def as_float(s: pd.Series) -> np.ndarray:
    """Values of a numeric (or numeric object) column as float64, missing as NaN."""
    if pd.api.types.is_object_dtype(s.dtype):
        s = pd.to_numeric(s, errors="coerce")
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def as_datetime(s: pd.Series) -> pd.Series:
    """A datetime column (or an object column of dates) as timezone-naive ``datetime64``."""
    if pd.api.types.is_object_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce", utc=True)
    if getattr(s.dtype, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return s


def is_numeric_identifier(name: str, s: pd.Series, unique: int, nonnull: int) -> bool:
    """An integer column named like an id whose values are all distinct."""
    integer = pd.api.types.is_integer_dtype(s.dtype)
    return bool(
        integer and nonnull >= MIN_IDENTIFIER_ROWS and unique == nonnull and _ID_NAME.search(name)
    )


def describe_column(s: pd.Series, position: int) -> ColumnFacts:
    """Return the facts about column ``s`` (at ``position`` in its frame)."""
    name = str(s.name)
    kind = storage_kind(s)
    rows = len(s)
    missing = int(s.isna().sum())
    summary: dict = {"name": name, "dtype": str(s.dtype), "semantic": "", "missing": missing}
    summary["missing_pct"] = round(100.0 * missing / rows, 2) if rows else 0.0
    outliers = None
    text = None
    if kind == "numeric":
        stats, unique, outliers = _numeric(s)
        identifier = is_numeric_identifier(name, s, unique, rows - missing)
        semantic = "identifier" if identifier else "numeric"
        if identifier:
            outliers = None
            stats.pop("outliers", None)
    elif kind == "datetime":
        stats, unique = _datetimes(s)
        semantic = "datetime"
    else:
        counts = value_counts(s)
        unique = len(counts)
        stats = {"top": _top(counts)}
        if kind == "bool":
            semantic = "boolean"
        else:
            text = inspect_text(s, counts, rows - missing)
            semantic = "categorical" if kind == "category" else _text_semantic(text, unique)
    summary["semantic"] = semantic
    summary["unique"] = int(unique)
    summary.update(stats)
    return ColumnFacts(position, summary, kind, rows, missing, int(unique), outliers, text)


def _text_semantic(text: TextFindings, unique: int) -> str:
    nonnull = text.nonnull
    if nonnull == 0:
        return "text"
    if unique <= max(1, nonnull // 2):
        return "categorical"
    if nonnull >= MIN_IDENTIFIER_ROWS and unique >= 0.95 * nonnull and text.token_like:
        return "identifier"
    return "text"


def value_counts(s: pd.Series) -> pd.Series:
    """Counts of distinct non-missing values, most frequent first (unhashables as text)."""
    try:
        counts = s.value_counts(dropna=True, sort=True)
    except TypeError:  # lists, dicts... in an object column
        counts = s.dropna().astype(str).value_counts(sort=True)
    if isinstance(s.dtype, pd.CategoricalDtype):
        counts = counts[counts > 0]  # unused categories are listed with 0
    return counts


def _top(counts: pd.Series) -> list[dict]:
    head = counts.iloc[:TOP_VALUES]
    return [
        {"value": json_value(v), "count": int(c)}
        for v, c in zip(head.index, head.to_numpy(), strict=True)
    ]


def numeric_summary(values: np.ndarray) -> dict:
    """Min, max, mean, std (ddof 1), quartiles and Tukey outliers of finite float values."""
    n = values.size
    if n == 0:
        keys = ("min", "max", "mean", "std", "q25", "q50", "q75")
        return dict.fromkeys(keys) | {"outliers": 0}
    q25, q50, q75 = (float(q) for q in np.quantile(values, [0.25, 0.5, 0.75]))
    iqr = q75 - q25
    outliers = 0
    if iqr > 0:  # a column whose middle half is one value has no spread to measure against
        lo, hi = q25 - IQR_K * iqr, q75 + IQR_K * iqr
        outliers = int(np.count_nonzero((values < lo) | (values > hi)))
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if n > 1 else None,
        "q25": q25,
        "q50": q50,
        "q75": q75,
        "outliers": outliers,
    }


def _numeric(s: pd.Series) -> tuple[dict, int, int]:
    values = as_float(s)
    finite = np.isfinite(values)
    infinite = int(np.count_nonzero(~finite & ~np.isnan(values)))
    stats = numeric_summary(values[finite] if not finite.all() else values)
    if pd.api.types.is_integer_dtype(s.dtype) and stats["min"] is not None:
        stats["min"], stats["max"] = int(s.min()), int(s.max())  # exact beyond 2**53
    if infinite:
        stats["infinite"] = infinite
    unique = (
        s.nunique(dropna=True)
        if not pd.api.types.is_object_dtype(s.dtype)
        else pd.Series(values).nunique()
    )
    return stats, int(unique), stats["outliers"]


def _datetimes(s: pd.Series) -> tuple[dict, int]:
    s = as_datetime(s)
    lo, hi = s.min(), s.max()
    return {"min": json_value(lo), "max": json_value(hi)}, int(s.nunique(dropna=True))
