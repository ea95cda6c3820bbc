"""Recognise how a table holds transactions: long, basket (delimited or spread) or one-hot.

Only pandas is used here (no scipy, no mlxtend): the page calls `detect_layout` in the web
process on the first rows of the dataset to pre-fill its pickers.

The rules, tried in this order (the first that fits wins):

1. **one-hot** — at least two columns hold only 0/1 or true/false, and they are at least
   half of the columns or five or more (a couple of flags beside a long table do not count);
2. **basket, delimited** — a text column where at least 30 % of the values contain a
   separator (``,`` ``;`` ``|``) between short names (a median of three words at most:
   sentences have commas too);
3. **basket, spread** — two or more text columns that share their values (``item1``,
   ``item2``…: the same products appear in several columns);
4. **long** — an item column (text with repeated values, preferably named like *product*,
   *item*, *sku*…) and a transaction column whose values repeat (preferably named like
   *invoice*, *order*, *transaction*…, never a measure such as *quantity* or *price*);
   a numeric column named like *quantity* or *qty*
   that holds negative values is proposed as the quantity (its returns are left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

LAYOUTS = ("long", "basket", "onehot")
"""The layouts `find_rules` reads."""

SEPARATORS = (",", ";", "|")
"""Separators tried when looking for delimited baskets."""

_ITEM_NAME = re.compile(r"item|product|sku|article|goods|description|name|genre|tag", re.I)
_QUANTITY_NAME = re.compile(r"quantity|qty|units|amount_sold", re.I)
# measures repeat too, but never identify a transaction ('quantity' once made 45 of them)
_MEASURE_NAME = re.compile(r"quantity|qty|units|amount|price|cost|total|sales|revenue", re.I)
_TRANSACTION_NAME = re.compile(
    r"invoice|order|transaction|basket|receipt|ticket|bill|txn|trans|session|visit|cart|id$",
    re.I,
)


@dataclass(frozen=True)
class LayoutGuess:
    """The recognised layout and the columns it uses.

    Attributes:
        layout: ``long``, ``basket``, ``onehot``, or None when nothing fits.
        transaction: Long layout: the transaction id column.
        item: Long layout: the item column.
        columns: Basket layout: the item column(s); one-hot layout: the 0/1 columns.
        sep: Basket layout with one column: the separator between items.
        quantity: Long layout: a quantity column with negative values (returns), if any.
        reason: One sentence for the user: what was recognised and why.
    """

    layout: str | None
    transaction: str | None = None
    item: str | None = None
    columns: tuple[str, ...] = ()
    sep: str | None = None
    quantity: str | None = None
    reason: str = ""


def is_binary(series: pd.Series) -> bool:
    """Return True when the column holds only 0/1 or true/false (missing values allowed)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return True
    if not pd.api.types.is_numeric_dtype(series.dtype):
        return False
    values = series.dropna()
    return len(values) > 0 and bool(values.isin([0, 1]).all())


def is_text(series: pd.Series) -> bool:
    """Return True for text and category columns."""
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    )


def delimited_separator(series: pd.Series) -> str | None:
    """Return the separator of a column of delimited baskets, or None if it is not one."""
    if not is_text(series):
        return None
    values = series.dropna().astype(str)
    if values.empty:
        return None
    best, best_share = None, 0.0
    for sep in SEPARATORS:
        share = float(values.str.contains(sep, regex=False).mean())
        if share > best_share:
            best, best_share = sep, share
    if best is None or best_share < 0.3:
        return None
    tokens = values.str.split(best, regex=False).explode().str.strip()
    # free text has commas too: baskets are lists of short names, not sentences
    words = tokens.str.split().str.len()
    return best if tokens.str.len().median() <= 40 and words.median() <= 3 else None


def spread_columns(df: pd.DataFrame) -> tuple[str, ...]:
    """Return the text columns that share their values (items spread over columns)."""
    text = [c for c in df.columns if is_text(df[c])]
    values = {c: set(df[c].dropna().astype(str).str.strip()) - {""} for c in text}
    shared = []
    for c in text:
        others = set().union(*(values[o] for o in text if o != c)) if len(text) > 1 else set()
        if values[c] and len(values[c] & others) >= 0.3 * len(values[c]):
            shared.append(c)
    return tuple(shared) if len(shared) >= 2 else ()


def _repeats(series: pd.Series) -> bool:
    non_null = series.dropna()
    return 1 < non_null.nunique() < len(non_null)


def _long_columns(df: pd.DataFrame) -> tuple[str | None, str | None]:
    """Return ``(transaction, item)`` column guesses for the long layout."""
    text = [c for c in df.columns if is_text(df[c]) and _repeats(df[c])]
    named_items = [c for c in text if _ITEM_NAME.search(str(c))]
    candidates = named_items or text
    # of the candidates, the one with most distinct values: products vary more than flags
    item = max(candidates, key=lambda c: df[c].nunique(), default=None)
    others = [
        c
        for c in df.columns
        if c != item
        and not _MEASURE_NAME.search(str(c))
        and _repeats(df[c])
        and (is_text(df[c]) or pd.api.types.is_integer_dtype(df[c].dtype))
    ]
    named = [c for c in others if _TRANSACTION_NAME.search(str(c))]
    pool = named or others
    # a transaction id has many distinct values (one per basket), a category few
    transaction = max(pool, key=lambda c: df[c].nunique(), default=None)
    return transaction, item


def returns_column(df: pd.DataFrame) -> str | None:
    """Return a quantity column holding negative values (returned lines), or None."""
    for c in df.columns:
        series = df[c]
        if _QUANTITY_NAME.search(str(c)) and pd.api.types.is_numeric_dtype(series.dtype):
            if not pd.api.types.is_bool_dtype(series.dtype) and bool((series < 0).any()):
                return str(c)
    return None


def detect_layout(df: pd.DataFrame) -> LayoutGuess:
    """Recognise the layout of ``df`` (the first few hundred rows are enough).

    Returns:
        The guess; ``layout`` is None when no rule fits (the user then picks).
    """
    columns = [str(c) for c in df.columns]
    binary = tuple(c for c in columns if is_binary(df[c]))
    if len(binary) >= 2 and (len(binary) >= 5 or 2 * len(binary) >= len(columns)):
        return LayoutGuess(
            "onehot",
            columns=binary,
            reason=f"{len(binary)} columns hold only 0/1 or true/false: one column per item.",
        )
    for c in columns:
        sep = delimited_separator(df[c])
        if sep is not None:
            return LayoutGuess(
                "basket",
                columns=(c,),
                sep=sep,
                reason=f"Column '{c}' lists several items per row, separated by '{sep}'.",
            )
    spread = spread_columns(df)
    if spread:
        return LayoutGuess(
            "basket",
            columns=spread,
            reason=f"Items are spread over {len(spread)} columns that share their values.",
        )
    transaction, item = _long_columns(df)
    if transaction and item:
        quantity = returns_column(df)
        returns = (
            f" Rows with a '{quantity}' of 0 or less (returns) are left out." if quantity else ""
        )
        return LayoutGuess(
            "long",
            transaction=transaction,
            item=item,
            quantity=quantity,
            reason=f"One row per item bought: '{item}' grouped by '{transaction}'.{returns}",
        )
    return LayoutGuess(
        None,
        transaction=transaction,
        item=item,
        reason="The layout was not recognised: choose it and its columns.",
    )
