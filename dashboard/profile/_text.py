"""What text values really hold: numbers, dates, identifiers, or a mix of Python types.

Every check works on the distinct values of a column with their counts (at most
`SAMPLE_VALUES` of them, drawn at random when there are more), so its cost does not grow
with the number of rows. Shares are weighted by counts: they are shares of rows.

Numbers are recognised in two styles:

* ``.`` decimal point, optional ``,`` thousands separators: ``1234.5``, ``1,234.5``, ``-1e3``;
* ``,`` decimal comma, optional ``.`` thousands separators: ``1.234,5``, ``12,5``.

A value such as ``1,234`` fits both; the point style wins ties. Values with a leading zero
(``007``, ``02134``) are codes, not numbers: such a column is never reported as numbers.
Blank values and spelled-out missing markers (``NA``, ``null``, ``-``...) count as missing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

SAMPLE_VALUES = 5_000
"""Distinct values examined per column."""

NUMBERS_MIN_SHARE = 0.8
"""Share of (non-blank) rows that must read as numbers for a column to count as numbers."""

DATES_MIN_SHARE = 0.8
"""Share of (non-blank) rows that must read as dates for a column to count as dates."""

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?", "#n/a"})

_POINT_STYLE = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?"
_COMMA_STYLE = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"
_LEADING_ZERO = r"[+-]?0\d.*"
_DATE_LIKE = (
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T].*)?"
    r"|\d{1,2}[ -][A-Za-z]{3,9}[ -,]+\d{2,4}"
    r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"
)
DATE_FORMATS = (
    "ISO8601",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
)
"""Date formats tried, in order of preference (the first wins a tie: day before month)."""


@dataclass(frozen=True)
class TextFindings:
    """What the values of a text (or category) column look like.

    Attributes:
        nonnull: Non-missing values in the column.
        token_like: Values are short and without spaces (codes, keys), not prose.
        numeric_share: Share of non-blank rows whose value reads as a number (0..1).
        numbers: When the column reads as numbers: ``share``, ``decimal`` (``.`` or ``,``),
            ``thousands`` (``,``, ``.`` or None), ``not_numbers`` (rows that would become
            missing) and ``examples`` of them; else None.
        dates: When the column reads as dates: ``share``, ``format`` (None when several
            formats are needed), ``formats`` used, ``consistent``, ``ambiguous`` (day and
            month could be swapped), ``unparsed`` rows and ``examples`` (one per format).
        mixed: For object columns holding several Python types: ``types`` (type name ->
            share of sampled values); else None.
    """

    nonnull: int
    token_like: bool
    numeric_share: float
    numbers: dict | None
    dates: dict | None
    mixed: dict | None


def inspect_text(s: pd.Series, counts: pd.Series, nonnull: int) -> TextFindings:
    """Inspect column ``s`` given its value counts (distinct non-missing values -> rows)."""
    values_are_text = _holds_strings(s)
    mixed = _mixed_types(s)
    if counts.empty or not (values_are_text or mixed):
        return TextFindings(nonnull, False, 0.0, None, None, mixed)
    counts = _sample(counts)
    labels = pd.Series([str(v) for v in counts.index], dtype="str").str.strip()
    weights = counts.to_numpy(dtype=np.int64)
    blank = labels.str.lower().isin(MISSING_MARKERS).to_numpy()
    present = weights[~blank].sum()
    numeric_share, numbers = _numbers(labels, weights, blank, present)
    dates = None if numbers or not present else _dates(labels, weights, blank, present)
    kept = labels[~blank]
    token_like = bool(
        len(kept) and (~kept.str.contains(r"\s")).mean() >= 0.9 and kept.str.len().mean() <= 40
    )
    return TextFindings(nonnull, token_like, numeric_share, numbers, dates, mixed)


def _holds_strings(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(s.cat.categories, skipna=True) == "string"
    if pd.api.types.is_object_dtype(s.dtype):
        return pd.api.types.infer_dtype(s, skipna=True) == "string"
    return pd.api.types.is_string_dtype(s.dtype)


def _mixed_types(s: pd.Series) -> dict | None:
    """Shares of Python types in an object column holding several (None when it does not)."""
    values = s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else s
    if not pd.api.types.is_object_dtype(values.dtype):
        return None
    if pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "mixed-integer"):
        return None
    present = pd.Series(values).dropna()
    if len(present) > SAMPLE_VALUES:
        present = present.sample(SAMPLE_VALUES, random_state=0)
    types = Counter(type(v).__name__ for v in present)
    total = sum(types.values())
    return {"types": {k: round(n / total, 3) for k, n in types.most_common()}}


def _sample(counts: pd.Series) -> pd.Series:
    if len(counts) <= SAMPLE_VALUES:
        return counts
    picked = np.random.default_rng(0).choice(len(counts), SAMPLE_VALUES, replace=False)
    return counts.iloc[np.sort(picked)]


def _numbers(
    labels: pd.Series, weights: np.ndarray, blank: np.ndarray, present: int
) -> tuple[float, dict | None]:
    if not present:
        return 0.0, None
    digits = labels.str.contains(r"\d").to_numpy() & ~blank
    point = labels.str.fullmatch(_POINT_STYLE).to_numpy() & digits
    comma = labels.str.fullmatch(_COMMA_STYLE).to_numpy() & digits
    point_share = weights[point].sum() / present
    comma_share = weights[comma].sum() / present
    use_comma = comma_share > point_share
    matched = comma if use_comma else point
    share = float(max(point_share, comma_share))
    codes = labels[matched].str.fullmatch(_LEADING_ZERO).any()
    if share < NUMBERS_MIN_SHARE or codes:
        return share, None
    thousands_sep, decimal = (".", ",") if use_comma else (",", ".")
    thousands = (
        thousands_sep if labels[matched].str.contains(thousands_sep, regex=False).any() else None
    )
    others = ~matched & ~blank
    return share, {
        "share": round(share, 4),
        "decimal": decimal,
        "thousands": thousands,
        "not_numbers": int(weights[others].sum()),
        "examples": labels[others].head(3).tolist(),
    }


def _dates(labels: pd.Series, weights: np.ndarray, blank: np.ndarray, present: int) -> dict | None:
    date_like = labels.str.fullmatch(_DATE_LIKE).to_numpy() & ~blank
    if weights[date_like].sum() < DATES_MIN_SHARE * present:
        return None
    candidates = labels.where(date_like)
    parsed = {}
    for fmt in DATE_FORMATS:
        ok = pd.to_datetime(candidates, format=fmt, errors="coerce").notna().to_numpy()
        if ok.any():
            parsed[fmt] = ok
    if not parsed:
        return None
    union = np.logical_or.reduce(list(parsed.values()))
    union_rows = int(weights[union].sum())
    if union_rows < DATES_MIN_SHARE * present:
        return None
    formats = _cover(parsed, weights)
    best = formats[0]
    consistent = len(formats) == 1
    rivals = [f for f in parsed if f != best and (parsed[f] == parsed[best]).all()]
    return {
        "share": round(union_rows / present, 4),
        "format": best if consistent else None,
        "formats": formats,
        "consistent": consistent,
        "ambiguous": bool(consistent and rivals),
        "unparsed": int(present - union_rows),
        "examples": [str(labels[np.argmax(parsed[f])]) for f in formats],
    }


def _cover(parsed: dict[str, np.ndarray], weights: np.ndarray) -> list[str]:
    """Formats that together read every parseable value, greedily, most rows first."""
    covered = np.zeros(len(weights), dtype=bool)
    chosen = []
    while True:
        gains = {f: weights[ok & ~covered].sum() for f, ok in parsed.items()}
        best = max(gains, key=lambda f: gains[f])  # first listed wins a tie
        if gains[best] == 0:
            return chosen
        chosen.append(best)
        covered |= parsed[best]
