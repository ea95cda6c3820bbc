"""The cleaning operations behind :mod:`dashboard.cleaning`, one small class each.

Every operation runs in up to three phases, so one code path serves a frame in memory and a
Parquet file streamed a row group at a time:

* ``check(params, schema)`` validates the user's parameters against the columns (name ->
  kind) the step will see and returns them normalized (defaults filled in, JSON-able);
* ``start`` / ``update`` / ``finish`` gather the global statistics the step needs (a median,
  IQR bounds, the decimal convention of a column, which rows repeat...), chunk by chunk;
  operations that need none set ``needs_fit = False``;
* ``transform(df, params, fitted, start)`` is then row-wise: it changes one chunk using only
  the fitted statistics, keeps the index labels of the rows it keeps, and ``start`` is the
  position of the chunk's first row among all rows reaching this step.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from dashboard.errors import InvalidParameter

NUMBER, TEXT, CATEGORY, DATETIME, BOOL, OTHER = (
    "number",
    "text",
    "category",
    "datetime",
    "bool",
    "other",
)
_TEXTUAL = (TEXT, CATEGORY)
_KIND_WORDS = {
    NUMBER: "numbers",
    TEXT: "text",
    CATEGORY: "categories",
    DATETIME: "dates",
    BOOL: "true/false values",
    OTHER: "values of another kind",
}
_MAX_EXAMPLES = 3

Schema = dict[str, str]


def column_kind(dtype: Any) -> str:
    """Return the kind of a column dtype: number, text, category, datetime, bool or other."""
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORY
    if pd.api.types.is_bool_dtype(dtype):
        return BOOL
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMBER
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        return TEXT
    return OTHER


def schema_of(df: pd.DataFrame) -> Schema:
    """Return ``{column: kind}`` of ``df`` in column order."""
    return {str(name): column_kind(dtype) for name, dtype in df.dtypes.items()}


def _gone(column: str) -> InvalidParameter:
    return InvalidParameter(f"The column '{column}' is not in the dataset any more.")


def _columns(
    params: dict, schema: Schema, kinds: tuple[str, ...] | None, verb: str, *, required=True
) -> list[str] | None:
    """Validate ``params["columns"]``: a list of existing column names of allowed kinds."""
    columns = params.get("columns")
    if columns is None or columns == []:
        if required:
            raise InvalidParameter(f"Choose at least one column to {verb}.")
        return None
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidParameter("The columns must be given as a list of column names.")
    for column in columns:
        if column not in schema:
            raise _gone(column)
        if kinds is not None and schema[column] not in kinds:
            raise InvalidParameter(
                f"'{column}' holds {_KIND_WORDS[schema[column]]}, so it cannot {verb}."
            )
    return list(dict.fromkeys(columns))


def _number(params: dict, key: str, default: float, lo: float, hi: float, what: str) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidParameter(f"The {what} must be a number.")
    if not lo <= value <= hi:
        raise InvalidParameter(f"The {what} must be between {lo:g} and {hi:g}, not {value:g}.")
    return float(value)


def _choice(params: dict, key: str, options: tuple, default: Any) -> Any:
    value = params.get(key, default)
    if value not in options:
        shown = ", ".join(str(o) for o in options)
        raise InvalidParameter(f"'{value}' is not a valid choice for {key} (one of: {shown}).")
    return value


def _flag(params: dict, key: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise InvalidParameter(f"The setting {key} must be true or false.")
    return value


def _examples(values) -> str:
    return ", ".join(repr(str(v)) for v in list(values)[:_MAX_EXAMPLES])


class Operation:
    """Base class: a stateless, row-wise operation without parameters."""

    name = ""
    title = ""
    description = ""
    params: dict = {}
    needs_fit = False
    #: What ``finish`` returns is tied to row positions of the data it saw (which rows
    #: to keep), so it cannot be applied to another frame.
    positional = False

    def spec(self) -> dict:
        """Return the description the page renders: title, description, parameter schema."""
        return {"title": self.title, "description": self.description, "params": self.params}

    def check(self, params: dict, schema: Schema) -> dict:
        """Return normalized parameters; raise InvalidParameter when they are impossible."""
        return {}

    def next_schema(self, params: dict, schema: Schema) -> Schema:
        """Return the schema after this step, as far as it is known without the data."""
        return schema

    def touched(self, params: dict, columns: list[str]) -> list[str]:
        """Return the columns whose cells this step may change (for ``cells_changed``)."""
        return [c for c in params.get("columns") or columns if c in columns]

    def start(self, params: dict) -> Any:
        """Return an empty statistics state."""
        return None

    def update(self, state: Any, df: pd.DataFrame, params: dict) -> None:
        """Add one chunk to ``state``."""

    def finish(self, state: Any, params: dict) -> Any:
        """Turn the state into fitted statistics; raise InvalidParameter to refuse the step."""
        return state

    def transform(self, df: pd.DataFrame, params: dict, fitted: Any, start: int) -> pd.DataFrame:
        """Return the cleaned chunk (index labels of kept rows unchanged)."""
        return df

    def note(self, params: dict, fitted: Any) -> str:
        """Return a detail for the step's message ('' when none)."""
        return ""


def _blank(s: pd.Series) -> np.ndarray:
    missing = s.isna().to_numpy()
    if column_kind(s.dtype) in _TEXTUAL:
        text = map_text(s, lambda v: v if v.strip() else None)
        missing = missing | text.isna().to_numpy()
    return missing


class RemoveEmptyRows(Operation):
    name = "remove_empty_rows"
    title = "Remove empty rows"
    description = "Remove rows where every cell is missing or blank text."

    def touched(self, params, columns):
        return []

    def transform(self, df, params, fitted, start):
        if df.shape[1] == 0:
            return df
        empty = np.logical_and.reduce([_blank(df[c]) for c in df.columns])
        return df[~empty]


class NormalizeColumnNames(Operation):
    name = "normalize_column_names"
    title = "Normalize column names"
    description = "Rename columns to unique snake_case names ('Order Date' -> 'order_date')."

    @staticmethod
    def mapping(columns) -> dict[str, str]:
        """Return ``{old: new}`` for every column; new names are unique."""
        taken: set[str] = set()
        result = {}
        for column in columns:
            base = snake_case(str(column))
            new, n = base, 1
            while new in taken:
                n += 1
                new = f"{base}_{n}"
            taken.add(new)
            result[column] = new
        return result

    def next_schema(self, params, schema):
        mapping = self.mapping(schema)
        return {mapping[c]: kind for c, kind in schema.items()}

    def touched(self, params, columns):
        return []

    def transform(self, df, params, fitted, start):
        return df.rename(columns=self.mapping(df.columns))


class RemoveConstantColumns(Operation):
    name = "remove_constant_columns"
    title = "Remove constant columns"
    description = (
        "Remove columns holding one value in every row (a column mixing one value and "
        "missing cells is kept: where it is missing may matter)."
    )
    needs_fit = True

    def touched(self, params, columns):
        return []

    def start(self, params):
        return {}

    def update(self, state, df, params):
        for column in df.columns:
            seen = state.setdefault(column, {"values": [], "null": False, "varies": False})
            if seen["varies"]:
                continue
            s = df[column]
            seen["null"] = seen["null"] or bool(s.isna().any())
            values = seen["values"] + list(s.dropna().unique()[:2])
            seen["values"] = list(pd.unique(pd.Series(values, dtype=object)))[:2]
            seen["varies"] = len(seen["values"]) > 1 or (seen["null"] and bool(seen["values"]))

    def finish(self, state, params):
        return [c for c, seen in state.items() if not seen["varies"]]

    def transform(self, df, params, fitted, start):
        return df.drop(columns=[c for c in fitted if c in df.columns])

    def note(self, params, fitted):
        return f"Removed {', '.join(fitted)}." if fitted else "No column is constant."


class DropMissingColumns(Operation):
    name = "drop_missing_columns"
    title = "Drop columns with many missing values"
    description = "Remove columns whose share of missing cells is above the threshold."
    params = {"threshold": {"type": "number", "min": 0, "max": 100, "default": 50, "unit": "%"}}
    needs_fit = True

    def check(self, params, schema):
        return {"threshold": _number(params, "threshold", 50, 0, 100, "missing-value threshold")}

    def touched(self, params, columns):
        return []

    def start(self, params):
        return {"rows": 0, "missing": {}}

    def update(self, state, df, params):
        state["rows"] += len(df)
        for column, n in df.isna().sum().items():
            state["missing"][column] = state["missing"].get(column, 0) + int(n)

    def finish(self, state, params):
        rows = max(state["rows"], 1)
        limit = params["threshold"]
        return [c for c, n in state["missing"].items() if 100 * n / rows > limit]

    transform = RemoveConstantColumns.transform

    def note(self, params, fitted):
        return f"Removed {', '.join(fitted)}." if fitted else "No column is above the threshold."


class TrimText(Operation):
    name = "trim_text"
    title = "Trim text"
    description = "Remove spaces at the start and end of text (all text columns by default)."
    params = {"columns": {"type": "columns", "kinds": list(_TEXTUAL), "required": False}}

    def check(self, params, schema):
        columns = _columns(params, schema, _TEXTUAL, "be trimmed", required=False)
        return {"columns": columns}

    def _targets(self, params, df):
        textual = [c for c in df.columns if column_kind(df[c].dtype) in _TEXTUAL]
        return params["columns"] or textual

    def touched(self, params, columns):
        return params["columns"] or columns

    def transform(self, df, params, fitted, start):
        out = df.copy(deep=False)
        for column in self._targets(params, df):
            out[column] = map_text(df[column], str.strip)
        return out


class StandardizeCategories(TrimText):
    name = "standardize_categories"
    title = "Standardize categories"
    description = (
        "Make spellings of the same category identical: letter case and spaces "
        "(' new  york' and 'New York' become 'new york')."
    )
    params = {
        "columns": {"type": "columns", "kinds": list(_TEXTUAL), "required": True},
        "case": {"type": "choice", "options": ["lower", "upper", "title", None], "default": None},
        "strip": {"type": "bool", "default": True},
    }

    def check(self, params, schema):
        return {
            "columns": _columns(params, schema, _TEXTUAL, "be standardized"),
            "case": _choice(params, "case", ("lower", "upper", "title", None), None),
            "strip": _flag(params, "strip", True),
        }

    def transform(self, df, params, fitted, start):
        case, strip = params["case"], params["strip"]

        def standard(value: str) -> str:
            if strip:
                value = " ".join(value.split())
            return getattr(value, case)() if case else value

        out = df.copy(deep=False)
        for column in params["columns"]:
            out[column] = map_text(df[column], standard)
        return out


class ParseDates(Operation):
    name = "parse_dates"
    title = "Parse dates"
    description = (
        "Turn text such as '2024-03-01' or '01/03/2024' into dates. Text that is not a "
        "date stops the step unless you allow it to become missing."
    )
    params = {
        "columns": {"type": "columns", "kinds": list(_TEXTUAL), "required": True},
        "dayfirst": {"type": "bool", "default": False},
        "allow_missing": {"type": "bool", "default": False},
    }
    needs_fit = True

    def check(self, params, schema):
        return {
            "columns": _columns(params, schema, (*_TEXTUAL, DATETIME), "be read as dates"),
            "dayfirst": _flag(params, "dayfirst", False),
            "allow_missing": _flag(params, "allow_missing", False),
        }

    def next_schema(self, params, schema):
        return {c: DATETIME if c in params["columns"] else k for c, k in schema.items()}

    def start(self, params):
        return {"formats": {}, "bad": {}}

    def update(self, state, df, params):
        for column in params["columns"]:
            s = df[column]
            if column_kind(s.dtype) == DATETIME:
                continue
            fmt = state["formats"].get(column, "")
            parsed, fmt = self._parse(s, fmt, params["dayfirst"])
            if fmt:
                state["formats"][column] = fmt
            failed = s.notna().to_numpy() & pd.isna(parsed) & ~_blank(s)
            _count_bad(state["bad"], column, s, failed)

    @staticmethod
    def _parse(s: pd.Series, fmt: str, dayfirst: bool) -> tuple[Any, str]:
        codes, uniques = factorized(s)
        if uniques.size == 0:
            return pd.array(np.full(len(s), np.datetime64("NaT", "us"))), fmt
        parsed, fmt = parse_dates_array(uniques, fmt, dayfirst)
        return take(parsed, codes), fmt

    def finish(self, state, params):
        _refuse_bad(state["bad"], params["allow_missing"], "dates", "a date")
        return state

    def transform(self, df, params, fitted, start):
        out = df.copy(deep=False)
        for column in params["columns"]:
            s = df[column]
            if column_kind(s.dtype) != DATETIME:
                parsed, _ = self._parse(s, fitted["formats"].get(column, ""), params["dayfirst"])
                out[column] = pd.Series(parsed, index=df.index)
        return out

    def note(self, params, fitted):
        return _bad_note(fitted["bad"])


def _count_bad(bad: dict, column: str, before: pd.Series, failed: np.ndarray) -> None:
    if failed.any():
        entry = bad.setdefault(column, {"count": 0, "examples": []})
        entry["count"] += int(failed.sum())
        values = pd.unique(before[failed].astype(object))
        entry["examples"] = list(dict.fromkeys(entry["examples"] + [str(v) for v in values]))[
            :_MAX_EXAMPLES
        ]


def _refuse_bad(bad: dict, allowed: bool, plural: str, singular: str) -> None:
    if bad and not allowed:
        column, entry = next(iter(bad.items()))
        raise InvalidParameter(
            f"{entry['count']:,} value(s) of '{column}' are not {plural}, for example "
            f"{_examples(entry['examples'])}. Fix them first, or allow values that are not "
            f"{singular} to become missing."
        )


def _bad_note(bad: dict) -> str:
    return " ".join(
        f"{e['count']:,} value(s) of '{c}' became missing ({_examples(e['examples'])})."
        for c, e in bad.items()
    )


class ConvertNumeric(Operation):
    name = "convert_numeric"
    title = "Convert text to numbers"
    description = (
        "Read numbers written as text: thousands separators ('1,234', '1.234,5'), decimal "
        "commas ('3,5'), spaces, currency symbols, '%' and '(12)' for negatives. Text that "
        "is not a number stops the step unless you allow it to become missing."
    )
    params = {
        "columns": {"type": "columns", "kinds": list(_TEXTUAL), "required": True},
        "decimal": {"type": "choice", "options": ["auto", ".", ","], "default": "auto"},
        "percent": {"type": "choice", "options": ["number", "fraction"], "default": "number"},
        "allow_missing": {"type": "bool", "default": False},
    }
    needs_fit = True

    def check(self, params, schema):
        return {
            "columns": _columns(params, schema, (*_TEXTUAL, NUMBER), "be read as numbers"),
            "decimal": _choice(params, "decimal", ("auto", ".", ","), "auto"),
            "percent": _choice(params, "percent", ("number", "fraction"), "number"),
            "allow_missing": _flag(params, "allow_missing", False),
        }

    def next_schema(self, params, schema):
        return {c: NUMBER if c in params["columns"] else k for c, k in schema.items()}

    def start(self, params):
        # Per column: decimal-mark votes, and per possible mark whether some value has a
        # fraction, so the convention can be decided at the end without a second pass.
        return {"votes": {}, "fractional": {}, "missing": set(), "bad": {}}

    def update(self, state, df, params):
        fraction = params["percent"] == "fraction"
        for column in params["columns"]:
            s = df[column]
            if column_kind(s.dtype) == NUMBER:
                continue
            votes = state["votes"].setdefault(column, {".": 0, ",": 0})
            fractional = state["fractional"].setdefault(column, {".": False, ",": False})
            codes, uniques = factorized(s)
            texts = [str(v) for v in uniques]
            for text in texts:
                mark = decimal_evidence(text)
                if mark:
                    votes[mark] += 1
            bad = np.zeros(len(texts), bool)
            for mark in (".", ","):
                parsed = [parse_number(t, mark, fraction) for t in texts]
                values = np.array([v for v, _ in parsed], float)
                bad = np.array([b for _, b in parsed], bool)
                fractional[mark] |= bool((values[~np.isnan(values)] % 1 != 0).any())
                if np.isnan(values).any() or (codes < 0).any():
                    state["missing"].add(column)
            _count_bad(state["bad"], column, s, take(bad, codes, False).astype(bool))

    def finish(self, state, params):
        marks = {}
        for column, votes in state["votes"].items():
            if params["decimal"] != "auto":
                marks[column] = params["decimal"]
            else:
                marks[column] = "," if votes[","] > votes["."] else "."
        _refuse_bad(state["bad"], params["allow_missing"], "numbers", "a number")
        whole = {
            c: not state["fractional"][c][mark] and c not in state["missing"]
            for c, mark in marks.items()
        }
        return {"decimal": marks, "whole": whole, "bad": state["bad"]}

    def transform(self, df, params, fitted, start):
        out = df.copy(deep=False)
        fraction = params["percent"] == "fraction"
        for column, mark in fitted["decimal"].items():
            codes, uniques = factorized(df[column])
            parsed = np.array([parse_number(str(t), mark, fraction)[0] for t in uniques], float)
            values = take(parsed, codes, np.nan)
            if fitted["whole"][column] and (np.abs(values) < 2**62).all():
                values = values.astype(np.int64)
            out[column] = pd.Series(values, index=df.index)
        return out

    def note(self, params, fitted):
        commas = [c for c, mark in fitted["decimal"].items() if mark == ","]
        note = f"Read a comma as the decimal mark in {', '.join(commas)}. " if commas else ""
        return (note + _bad_note(fitted["bad"])).strip()


class FixNegative(Operation):
    name = "fix_negative"
    title = "Fix negative values"
    description = "Replace negative numbers by their absolute value or zero, or drop the row."
    params = {
        "columns": {"type": "columns", "kinds": [NUMBER], "required": True},
        "action": {"type": "choice", "options": ["absolute", "zero", "drop_row"]},
    }

    def check(self, params, schema):
        return {
            "columns": _columns(params, schema, (NUMBER,), "hold negative numbers"),
            "action": _choice(params, "action", ("absolute", "zero", "drop_row"), "absolute"),
        }

    def transform(self, df, params, fitted, start):
        columns, action = params["columns"], params["action"]
        if action == "drop_row":
            negative = np.logical_or.reduce([(df[c] < 0).fillna(False).to_numpy() for c in columns])
            return df[~negative]
        out = df.copy(deep=False)
        for column in columns:
            s = df[column]
            if action == "zero":
                out[column] = s.mask((s < 0).fillna(False).astype(bool), 0)
                continue
            dtype = s.dtype
            if (
                pd.api.types.is_signed_integer_dtype(dtype)
                and (s == np.iinfo(dtype.type).min).any()
            ):
                s = s.astype(
                    "Int64" if isinstance(dtype, pd.api.extensions.ExtensionDtype) else "int64"
                )
            out[column] = s.abs()
        return out


class RemoveDuplicates(Operation):
    name = "remove_duplicates"
    title = "Remove duplicate rows"
    description = "Keep one row of each group of identical rows (compared on the chosen columns)."
    params = {
        "columns": {"type": "columns", "kinds": None, "required": False},
        "keep": {"type": "choice", "options": ["first", "last"], "default": "first"},
    }
    needs_fit = True
    positional = True

    def check(self, params, schema):
        return {
            "columns": _columns(params, schema, None, "be compared", required=False),
            "keep": _choice(params, "keep", ("first", "last"), "first"),
        }

    def touched(self, params, columns):
        return []

    @staticmethod
    def _hashes(df, params):
        part = df[params["columns"]] if params["columns"] else df
        # Two independent 64-bit hashes per row: a false match needs both to collide.
        a = pd.util.hash_pandas_object(part, index=False).to_numpy()
        b = pd.util.hash_pandas_object(part, index=False, hash_key="di-cleaning-dup2").to_numpy()
        return a, b

    def start(self, params):
        return []

    def update(self, state, df, params):
        state.append(self._hashes(df, params))

    def finish(self, state, params):
        a = np.concatenate([h[0] for h in state]) if state else np.empty(0, np.uint64)
        b = np.concatenate([h[1] for h in state]) if state else np.empty(0, np.uint64)
        state.clear()
        pairs = pd.DataFrame({"a": a, "b": b})
        return ~pairs.duplicated(keep=params["keep"]).to_numpy()

    def transform(self, df, params, fitted, start):
        return df[fitted[start : start + len(df)]]


class RemoveOutliers(Operation):
    name = "remove_outliers"
    title = "Remove outliers"
    description = (
        "Drop rows whose value lies outside Q1 - k x IQR .. Q3 + k x IQR, or whose |z-score| "
        "is above t, in any of the chosen columns. Missing values are kept."
    )
    params = {
        "columns": {"type": "columns", "kinds": [NUMBER], "required": True},
        "method": {"type": "choice", "options": ["iqr", "zscore"], "default": "iqr"},
        "k": {"type": "number", "min": 0.1, "max": 100, "default": 1.5},
        "t": {"type": "number", "min": 0.5, "max": 100, "default": 3.0},
    }
    needs_fit = True

    def check(self, params, schema):
        return {
            "columns": _columns(params, schema, (NUMBER,), "have outliers"),
            "method": _choice(params, "method", ("iqr", "zscore"), "iqr"),
            "k": _number(params, "k", 1.5, 0.1, 100, "IQR multiplier k"),
            "t": _number(params, "t", 3.0, 0.5, 100, "z-score threshold t"),
        }

    def touched(self, params, columns):
        return []

    def start(self, params):
        return {c: [] for c in params["columns"]}

    def update(self, state, df, params):
        for column in params["columns"]:
            values = df[column].to_numpy(dtype=np.float64, na_value=np.nan)
            state[column].append(values[~np.isnan(values)])

    def finish(self, state, params):
        bounds = {}
        for column, parts in state.items():
            values = np.concatenate(parts) if parts else np.empty(0)
            if values.size == 0:
                continue
            if params["method"] == "iqr":
                q1, q3 = np.quantile(values, [0.25, 0.75])
                spread = params["k"] * (q3 - q1)
                bounds[column] = (float(q1 - spread), float(q3 + spread))
            elif values.size > 1:
                mean, std = float(values.mean()), float(values.std(ddof=1))
                bounds[column] = (mean - params["t"] * std, mean + params["t"] * std)
        return bounds

    def transform(self, df, params, fitted, start):
        outside = np.zeros(len(df), bool)
        for column, (lo, hi) in fitted.items():
            values = df[column].to_numpy(dtype=np.float64, na_value=np.nan)
            outside |= (values < lo) | (values > hi)
        return df[~outside]

    def note(self, params, fitted):
        return " ".join(
            f"'{c}' kept within {lo:.6g} .. {hi:.6g}." for c, (lo, hi) in fitted.items()
        )


class FillMissing(Operation):
    name = "fill_missing"
    title = "Fill missing values"
    description = (
        "Fill missing cells, per column, with its median, mean, most common value or a constant."
    )
    params = {
        "columns": {
            "type": "column_map",
            "value": {
                "method": {"type": "choice", "options": ["median", "mean", "mode", "constant"]},
                "value": {"type": "any", "required_when": {"method": "constant"}},
            },
        }
    }
    needs_fit = True

    def check(self, params, schema):
        columns = params.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise InvalidParameter("Choose at least one column to fill.")
        normalized = {}
        for column, spec in columns.items():
            if column not in schema:
                raise _gone(column)
            if not isinstance(spec, dict):
                raise InvalidParameter(f"Choose how to fill '{column}'.")
            method = _choice(spec, "method", ("median", "mean", "mode", "constant"), "median")
            kind = schema[column]
            if method in ("median", "mean") and kind != NUMBER:
                raise InvalidParameter(
                    f"'{column}' holds {_KIND_WORDS[kind]}; a {method} needs numbers. "
                    "Use the most common value or a constant instead."
                )
            entry = {"method": method}
            if method == "constant":
                entry["value"] = fill_value(spec.get("value"), column, kind)
            normalized[column] = entry
        return {"columns": normalized}

    def touched(self, params, columns):
        return list(params["columns"])

    def start(self, params):
        return {c: [] for c, spec in params["columns"].items() if spec["method"] != "constant"}

    def update(self, state, df, params):
        for column, parts in state.items():
            method, s = params["columns"][column]["method"], df[column]
            if method == "mode":
                parts.append(s.value_counts(dropna=True))
            else:
                values = s.to_numpy(dtype=np.float64, na_value=np.nan)
                parts.append(values[~np.isnan(values)])

    def finish(self, state, params):
        fills = {}
        for column, spec in params["columns"].items():
            method, parts = spec["method"], state.get(column, [])
            if method == "constant":
                fills[column] = spec["value"]
            elif method == "mode":
                counts = pd.concat(parts).groupby(level=0, observed=True).sum() if parts else None
                if counts is not None:
                    counts = counts[counts > 0]  # a category's unused labels count 0
                if counts is not None and len(counts):
                    top = counts[counts == counts.max()].index
                    fills[column] = _plain(sorted(top)[0] if len(top) > 1 else top[0])
            else:
                values = np.concatenate(parts) if parts else np.empty(0)
                if values.size:
                    fills[column] = float(
                        np.median(values) if method == "median" else values.mean()
                    )
        return fills

    def transform(self, df, params, fitted, start):
        out = df.copy(deep=False)
        for column, value in fitted.items():
            out[column] = _fill(df[column], value)
        return out

    def note(self, params, fitted):
        parts = [f"'{c}' with {v!r}" for c, v in fitted.items()]
        empty = [c for c in params["columns"] if c not in fitted]
        note = f"Filled {', '.join(parts)}." if parts else ""
        if empty:
            note += f" {', '.join(empty)} had no values to compute a fill value from."
        return note.strip()


def _plain(value: Any) -> Any:
    """Return a JSON-able Python scalar for a numpy/pandas scalar."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if isinstance(value, np.generic) else value


def _category_value(s: pd.Series, value: Any) -> Any:
    """Return ``value`` as the type of the categories of ``s`` (numbers stay numbers)."""
    categories = s.cat.categories
    if isinstance(value, str) and pd.api.types.is_numeric_dtype(categories.dtype):
        number = pd.to_numeric(pd.Series([value.strip()]), errors="coerce").iloc[0]
        if pd.isna(number):
            raise InvalidParameter(
                f"'{value}' is not a number, but the categories of '{s.name}' are numbers."
            )
        return number.item() if hasattr(number, "item") else number
    return value


def _stamp_for(dtype: Any, value: Any) -> pd.Timestamp:
    """Return ``value`` as a timestamp of ``dtype``'s time zone and unit."""
    stamp = pd.Timestamp(value)
    tz = getattr(dtype, "tz", None)
    if tz is not None:
        stamp = stamp.tz_localize(tz) if stamp.tzinfo is None else stamp.tz_convert(tz)
    elif stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    unit = getattr(dtype, "unit", None)
    if unit is None and isinstance(dtype, np.dtype):
        unit = np.datetime_data(dtype)[0]
    return stamp.as_unit(unit) if unit in ("s", "ms", "us", "ns") else stamp


def _fill(s: pd.Series, value: Any) -> pd.Series:
    """Fill the missing cells of ``s`` with ``value``, widening the dtype only when needed."""
    if not s.isna().any():
        return s
    kind = column_kind(s.dtype)
    if kind == CATEGORY:
        value = _category_value(s, value)
        if value not in s.cat.categories:
            s = s.cat.add_categories([value])
        return s.fillna(value)
    if kind == DATETIME:
        return s.fillna(_stamp_for(s.dtype, value))
    if kind == NUMBER and pd.api.types.is_float_dtype(s.dtype):
        if s.dtype.itemsize < 8 and float(np.float32(value)) != value:
            s = s.astype(
                "Float64" if isinstance(s.dtype, pd.api.extensions.ExtensionDtype) else "float64"
            )
        return s.fillna(value)
    if kind == NUMBER:  # nullable integers
        masked = isinstance(s.dtype, pd.api.extensions.ExtensionDtype)
        info = np.iinfo(s.dtype.numpy_dtype if masked else s.dtype)
        if float(value) != int(value):
            s = s.astype("Float64" if masked else "float64")
        elif not info.min <= value <= info.max:
            s = s.astype("Int64" if masked else "int64")
        else:
            value = int(value)
        return s.fillna(value)
    return s.fillna(value)


OPERATIONS_BY_NAME: dict[str, Operation] = {
    op.name: op
    for op in (
        RemoveEmptyRows(),
        NormalizeColumnNames(),
        RemoveConstantColumns(),
        DropMissingColumns(),
        TrimText(),
        ParseDates(),
        ConvertNumeric(),
        FixNegative(),
        RemoveDuplicates(),
        RemoveOutliers(),
        FillMissing(),
        StandardizeCategories(),
    )
}


# --- value helpers ------------------------------------------------------------------------


def factorized(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(codes, uniques)``: missing cells get code -1, uniques as an object array."""
    codes, uniques = pd.factorize(s)
    return codes, np.asarray(uniques, dtype=object)


def take(values: Any, codes: np.ndarray, fill: Any = None) -> Any:
    """Pick ``values[codes]``, with ``fill`` (or the dtype's missing value) where code is -1."""
    if isinstance(values, np.ndarray):
        return pd.api.extensions.take(values, codes, allow_fill=True, fill_value=fill)
    return pd.api.extensions.take(values, codes, allow_fill=True)


def map_text(s: pd.Series, func) -> pd.Series:
    """Apply ``func`` (str -> str or None) to every text cell of ``s``, keeping its dtype.

    Each distinct value is transformed once. A ``category`` column gets its categories
    renamed, and categories that become equal are merged; None becomes a missing cell.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        categories = s.cat.categories
        renamed = pd.Series(
            [func(c) if isinstance(c, str) else c for c in categories], dtype=object
        )
        new_codes, new_categories = pd.factorize(renamed)
        codes = s.cat.codes.to_numpy()
        mapped = np.where(codes >= 0, new_codes[np.maximum(codes, 0)], -1)
        categorical = pd.Categorical.from_codes(
            mapped, categories=pd.Index(list(new_categories)), ordered=s.cat.ordered
        )
        return pd.Series(categorical, index=s.index, name=s.name)
    codes, uniques = factorized(s)
    mapped = np.array([func(v) if isinstance(v, str) else v for v in uniques], dtype=object)
    return pd.Series(take(mapped, codes), index=s.index, name=s.name, dtype=s.dtype)


def snake_case(name: str) -> str:
    """Return ``name`` as snake_case ('Order Date' -> 'order_date', 'unitPrice' -> 'unit_price')."""
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[\W_]+", "_", text.lower()).strip("_")
    return text or "column"


_NA_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "?", "#n/a"})
_CURRENCY = "$€£¥₹₽₩₺₪฿₫₴₦¢"
_INNER = re.compile(r"[\s\u00a0\u202f\u2009\u2007'’_]")
_SCIENTIFIC = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_GROUPED = {
    ",": re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+"),
    ".": re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+"),
}
_AMBIGUOUS = re.compile(r"[1-9][0-9]{0,2}[.,][0-9]{3}")
_DIGITS = re.compile(r"[0-9]*")


def _number_parts(text: str) -> tuple[float, str, bool] | None:
    """Split number-like text into (sign, digits with separators, percent); None if missing."""
    t = text.strip()
    if t.lower() in _NA_TOKENS:
        return None
    sign = 1.0
    if t.startswith("(") and t.endswith(")"):
        sign, t = -1.0, t[1:-1].strip()
    t = t.replace("\u2212", "-")
    percent = t.endswith("%")
    if percent:
        t = t[:-1].strip()
    t = t.strip(_CURRENCY + " ")
    if t[:1] in ("+", "-"):
        sign = -sign if t[0] == "-" else sign
        t = t[1:].strip().strip(_CURRENCY + " ")
    return sign, _INNER.sub("", t), percent


def decimal_evidence(text: str) -> str | None:
    """Return the decimal mark ``text`` proves ('.' or ','), or None when it is ambiguous."""
    parts = _number_parts(text)
    if parts is None:
        return None
    body = parts[1]
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        return "." if body.rfind(".") > body.rfind(",") else ","
    if (dots or commas) and _AMBIGUOUS.fullmatch(body):
        return None
    if commas:
        return "." if commas > 1 else ","
    if dots:
        return "," if dots > 1 else "."
    return None


def _to_float(body: str, mark: str) -> float | None:
    if mark == "." and _SCIENTIFIC.fullmatch(body):
        return float(body)
    head, sep, tail = body.partition(mark)
    if not _DIGITS.fullmatch(tail) or not (head or tail):
        return None
    thousands = "," if mark == "." else "."
    if thousands in head:
        if not _GROUPED[thousands].fullmatch(head):
            return None
        head = head.replace(thousands, "")
    if not _DIGITS.fullmatch(head):
        return None
    return float(f"{head or 0}.{tail or 0}")


def parse_number(text: str, mark: str, fraction: bool) -> tuple[float, bool]:
    """Read number-like text; return ``(value, bad)``.

    ``mark`` is the column's decimal mark; a value only readable with the other mark is
    read that way. Missing-value words ('', 'n/a', '-') give ``(nan, False)``; text that is
    not a number gives ``(nan, True)``. With ``fraction``, '15%' reads as 0.15, else 15.
    """
    parts = _number_parts(text)
    if parts is None:
        return math.nan, False
    sign, body, percent = parts
    value = _to_float(body, mark)
    if value is None:
        value = _to_float(body, "," if mark == "." else ".")
    if value is None:
        return math.nan, True
    value *= sign
    return (value / 100 if percent and fraction else value), False


def parse_dates_array(texts: np.ndarray, fmt: str, dayfirst: bool) -> tuple[Any, str]:
    """Parse distinct texts as dates; return (datetime array with NaT, format used).

    ``fmt`` "" means "not decided yet": it is guessed from the first values, then kept, so
    every chunk of a streamed file is read the same way. Values the format does not fit are
    read one by one (``format="mixed"``). Mixed time zones are converted to UTC.
    """
    values = pd.Series([str(v) for v in texts], dtype=object)
    if fmt == "":
        # The data settles the order when it can: a first field above 12 (31/01) proves
        # day-first, a second one (01/31) month-first; ``dayfirst`` only decides when every
        # value could be read either way. One column is never read both ways.
        dayfirst = _date_order(values, dayfirst)
        guesses = Counter(
            # Year-first text (ISO) is never day-first.
            pd.tseries.api.guess_datetime_format(v, dayfirst=dayfirst and not _YEAR.match(v))
            for v in values[:100]
        )
        guesses.pop(None, None)
        fmt = guesses.most_common(1)[0][0] if guesses else "mixed"
    try:
        parsed = _to_datetime(values, fmt, dayfirst, utc=False)
    except (ValueError, TypeError):
        parsed = _to_datetime(values, fmt, dayfirst, utc=True)
    return parsed.array, fmt


_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})[-/.](\d{1,2})[-/.]\d{2,4}\b")


def _date_order(values: pd.Series, dayfirst: bool) -> bool:
    """Return True to read ``dd/mm`` dates, from the values when they prove an order.

    Raises:
        InvalidParameter: Some values prove day-first and others month-first.
    """
    parts = values.str.extract(_NUMERIC_DATE).dropna().astype(int)
    if parts.empty:
        return dayfirst
    day_first = bool((parts[0] > 12).any())
    month_first = bool((parts[1] > 12).any())
    if day_first and month_first:
        raise InvalidParameter(
            "These dates are written both day first (e.g. 31/01) and month first (e.g. "
            "01/31), so they cannot all be read the same way; fix the column at its source."
        )
    return True if day_first else False if month_first else dayfirst


def _to_datetime(values: pd.Series, fmt: str, dayfirst: bool, *, utc: bool) -> pd.Series:
    parsed = pd.to_datetime(values, format=fmt, dayfirst=dayfirst, errors="coerce", utc=utc)
    failed = parsed.isna().to_numpy()
    if failed.any() and fmt != "mixed":
        retry = pd.to_datetime(
            values[failed], format="mixed", dayfirst=dayfirst, errors="coerce", utc=utc
        )
        parsed = parsed.copy()
        parsed[failed] = retry
    return parsed


_YEAR = re.compile(r"\s*[0-9]{4}[-/.]")
_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})


def fill_value(value: Any, column: str, kind: str) -> Any:
    """Check a constant fill value against the column's kind; return it normalized.

    Raises:
        InvalidParameter: No value, or a value of the wrong type ('abc' for numbers...).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidParameter(f"Type the value to fill '{column}' with.")
    if kind == NUMBER:
        number, bad = parse_number(value, ".", False) if isinstance(value, str) else (value, False)
        if bad or isinstance(value, bool) or not isinstance(number, int | float):
            raise InvalidParameter(f"'{value}' is not a number, but '{column}' holds numbers.")
        if math.isnan(number) or math.isinf(number):
            raise InvalidParameter(f"'{value}' is not a number, but '{column}' holds numbers.")
        return int(number) if float(number).is_integer() and abs(number) < 2**53 else number
    if kind in _TEXTUAL:
        return value if isinstance(value, str) else str(value)
    if kind == DATETIME:
        try:
            return pd.Timestamp(str(value)).isoformat()
        except (ValueError, TypeError):
            raise InvalidParameter(
                f"'{value}' is not a date, but '{column}' holds dates."
            ) from None
    if kind == BOOL:
        word = str(value).strip().lower()
        if isinstance(value, bool) or word in _TRUE | _FALSE:
            return value if isinstance(value, bool) else word in _TRUE
        raise InvalidParameter(f"'{value}' is not true or false, but '{column}' holds true/false.")
    raise InvalidParameter(f"'{column}' cannot be filled with a constant.")
