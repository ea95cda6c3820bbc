"""Quality issues (each with the cleaning step that fixes it) and the quality score."""

from __future__ import annotations

from dashboard.profile._columns import ColumnFacts
from dashboard.profile._text import NUMBERS_MIN_SHARE

MISSING_HIGH_PCT = 50.0
"""A column missing more than this share of its values is a high-severity issue."""

MISSING_MEDIUM_PCT = 20.0
"""A column missing more than this share (up to `MISSING_HIGH_PCT`) is a medium issue."""

DUPLICATES_HIGH_PCT = 10.0
"""Duplicate rows are a high-severity issue from this share of rows on (medium below)."""

OUTLIERS_MEDIUM_PCT = 5.0
"""Outliers are a medium issue above this share of a column's values (low below)."""

SCORE_WEIGHTS = {
    "missing": (1.0, 40.0),
    "duplicates": (1.0, 20.0),
    "constant_columns": (5.0, 15.0),
    "mixed_types": (5.0, 15.0),
}
"""Penalty name -> (points per unit, maximum points); units: %, %, columns, columns."""

QUALITY_FORMULA = (
    "100 − min(40, 1 × % missing cells) − min(20, 1 × % duplicate rows)"
    " − min(15, 5 × constant or empty columns) − min(15, 5 × mixed-type columns)."
    " Missing cells are counted in the distinct rows of the columns that are not constant,"
    " so removing duplicate rows or constant columns never lowers the score. Values that the"
    " suggested conversion of a text column to numbers would turn into missing cells count as"
    " missing already, so converting never lowers it either. Filling missing"
    " cells or dropping mostly-empty columns raises it. Removing rows for another reason"
    " (outliers, negative values) changes the share of missing cells in the rows that remain."
)

#: Text columns whose values read as numbers this often (and less than
#: ``NUMBERS_MIN_SHARE``) are reported as mixing numbers and text.
MIXED_MIN_SHARE = 0.5
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def quality_score(
    facts: list[ColumnFacts],
    rows: int,
    duplicate_rows: int,
    distinct_missing: int,
) -> tuple[float, dict]:
    """Return the score (0..100, one decimal) and its penalties by name.

    Args:
        facts: Every column.
        rows: Rows in the frame.
        duplicate_rows: Rows equal to an earlier row.
        distinct_missing: Missing cells of the non-constant columns, counted in the
            distinct rows only (the first of each set of duplicates).

    Why these bases: a constant column holds one value in every row, so it never tells
    two rows apart; dropping it changes neither the duplicates nor the distinct rows. And
    removing duplicates leaves the distinct rows as they were. Each penalty is a
    non-decreasing function of a count that these cleanings can only lower.
    """
    distinct_rows = rows - duplicate_rows
    varying = [f for f in facts if not f.constant]
    cells = distinct_rows * len(varying)
    units = {
        "missing": 100.0 * distinct_missing / cells if cells else 0.0,
        "duplicates": 100.0 * duplicate_rows / rows if rows else 0.0,
        "constant_columns": float(sum(f.constant for f in facts)),
        "mixed_types": float(sum(f.text is not None and f.text.mixed is not None for f in facts)),
    }
    parts = {}
    for name, (weight, cap) in SCORE_WEIGHTS.items():
        parts[name] = round(min(cap, weight * units[name]), 2)
    score = round(max(0.0, 100.0 - sum(parts.values())), 1)
    return score, parts


def find_issues(facts: list[ColumnFacts], rows: int, duplicate_rows: int) -> list[dict]:
    """Return the quality issues, most severe first (dataset-wide ones first, then by column)."""
    issues = []
    if rows == 0:
        issues.append(_issue(None, "no_rows", "high", "The dataset has no rows.", None))
    if duplicate_rows:
        pct = 100.0 * duplicate_rows / rows
        severity = "high" if pct >= DUPLICATES_HIGH_PCT else "medium"
        copies = "is an exact copy" if duplicate_rows == 1 else "are exact copies"
        message = (
            f"{_count(duplicate_rows, 'row')} ({pct:.1f}%) {copies} of an earlier row."
            " Removing them keeps the first of each."
        )
        issues.append(_issue(None, "duplicates", severity, message, {"op": "remove_duplicates"}))
    for f in facts:
        issues.extend(_column_issues(f))
    issues.sort(key=lambda issue: _SEVERITY_ORDER[issue["severity"]])
    return issues


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _issue(column: str | None, kind: str, severity: str, message: str, fix: dict | None) -> dict:
    return {"column": column, "kind": kind, "severity": severity, "message": message, "fix": fix}


def _column_issues(f: ColumnFacts) -> list[dict]:
    found = []
    name = f.name
    if f.missing:
        found.append(_missing_issue(f))
    if f.constant and f.missing < f.rows:
        top = f.summary.get("top")
        value = top[0]["value"] if top else f.summary.get("min")
        shown = f" ({value!r})" if value is not None else ""
        message = f"'{name}' has the same value{shown} in every row, so it tells rows nothing."
        found.append(_issue(name, "constant", "medium", message, {"op": "remove_constant_columns"}))
    if f.semantic == "identifier" and f.kind != "numeric":
        pct = 100.0 * f.unique / max(1, f.rows - f.missing)
        message = (
            f"'{name}' has a different value in {pct:.1f}% of its rows: it looks like an"
            " identifier (a key), useful to join or look up rows but not to analyse. No"
            " cleaning needed: the Machine Learning page leaves such columns out."
        )
        found.append(_issue(name, "identifier", "low", message, None))
    if f.text is not None:
        found.extend(_text_issues(f))
    if f.outliers:
        present = f.rows - f.missing - f.summary.get("infinite", 0)
        pct = 100.0 * f.outliers / present
        severity = "medium" if pct > OUTLIERS_MEDIUM_PCT else "low"
        message = (
            f"'{name}' has {_count(f.outliers, 'outlier')} ({pct:.1f}% of its values), beyond 1.5"
            " interquartile ranges from the quartiles."
        )
        fix = {"op": "remove_outliers", "columns": [name], "method": "iqr", "k": 1.5}
        found.append(_issue(name, "outliers", severity, message, fix))
    return found


def _missing_issue(f: ColumnFacts) -> dict:
    pct = 100.0 * f.missing / f.rows
    name = f.name
    if f.missing == f.rows:
        message = f"'{name}' is empty: it has no values at all."
    else:
        message = f"'{name}' is missing {_count(f.missing, 'value')} ({pct:.1f}% of its rows)."
    if pct > MISSING_HIGH_PCT:
        return _issue(
            name, "missing", "high", message, {"op": "drop_missing_columns", "threshold": 50}
        )
    method = "median" if f.semantic == "numeric" else "mode"
    fix = {"op": "fill_missing", "columns": {name: {"method": method}}}
    severity = "medium" if pct > MISSING_MEDIUM_PCT else "low"
    return _issue(name, "missing", severity, message, fix)


def _text_issues(f: ColumnFacts) -> list[dict]:
    text = f.text
    name = f.name
    if text.mixed is not None:
        types = ", ".join(f"{t} ({100 * share:.0f}%)" for t, share in text.mixed["types"].items())
        message = f"'{name}' mixes kinds of values: {types}."
        fix = None
        if text.numeric_share < 0.5:
            message += (
                " Fewer than half read as numbers, so no cleaning step makes them one kind"
                " without losing most of them: correct the source file."
            )
        else:
            message += " Most read as numbers; converting turns the rest into missing values."
            decimal = text.numbers["decimal"] if text.numbers is not None else "auto"
            fix = {
                "op": "convert_numeric",
                "columns": [name],
                "decimal": decimal,
                "allow_missing": True,
            }
        return [_issue(name, "mixed_types", "medium", message, fix)]
    if text.numbers is not None:
        return [_numbers_issue(name, text.numbers)]
    if MIXED_MIN_SHARE <= text.numeric_share < NUMBERS_MIN_SHARE:
        # text values, most of them numbers: too few for "numbers stored as text"
        pct = 100 * text.numeric_share
        message = (
            f"'{name}' mixes numbers and text: {pct:.0f}% of its values read as numbers, the"
            " rest do not. Converting turns the rest into missing values."
        )
        fix = {"op": "convert_numeric", "columns": [name], "decimal": "auto", "allow_missing": True}
        return [_issue(name, "mixed_types", "medium", message, fix)]
    if text.dates is not None:
        return [_dates_issue(name, text.dates)]
    return []


def _numbers_issue(name: str, numbers: dict) -> dict:
    style = "a decimal comma" if numbers["decimal"] == "," else "a decimal point"
    if numbers["thousands"]:
        style += f" and '{numbers['thousands']}' between thousands"
    message = f"'{name}' holds numbers stored as text (written with {style})."
    if numbers["not_numbers"]:
        examples = ", ".join(repr(e) for e in numbers["examples"])
        message += (
            f" {_count(numbers['not_numbers'], 'value')} not numbers (e.g. {examples}) would"
            " become missing."
        )
    fix = {
        "op": "convert_numeric",
        "columns": [name],
        "decimal": numbers["decimal"],
        "allow_missing": bool(numbers["not_numbers"]),
    }
    return _issue(name, "numbers_as_text", "medium", message, fix)


def _dates_issue(name: str, dates: dict) -> dict:
    examples = " and ".join(repr(e) for e in dates["examples"][:3])
    dayfirst = str(dates.get("format") or "").startswith("%d")
    fix = {
        "op": "parse_dates",
        "columns": [name],
        "dayfirst": dayfirst,
        "allow_missing": bool(dates["unparsed"]),
    }
    if dates["consistent"]:
        message = f"'{name}' holds dates stored as text, all in one format (e.g. {examples})."
        if dates["ambiguous"]:
            message += (
                " Day and month could be either way round; the suggested step reads them day"
                " first (untick “Day first” to read them month first)."
            )
        kind, severity = "dates_as_text", "medium" if dates["ambiguous"] else "low"
    else:
        message = (
            f"'{name}' holds dates stored as text in {len(dates['formats'])} different"
            f" formats (e.g. {examples}), so they do not parse consistently; check the"
            " result after parsing."
        )
        kind, severity = "inconsistent_dates", "medium"
    if dates["unparsed"]:
        message += f" {_count(dates['unparsed'], 'value')} not dates would become missing."
    return _issue(name, kind, severity, message, fix)
