"""Turn long, basket or one-hot tables into one sparse transaction × item matrix.

Whatever the layout, the result is the same `Transactions`: a boolean CSR matrix with one
row per transaction and one column per item, items named after cleaning and sorted by name.
So the same purchases give the same matrix, and the same rules, in every layout.

Conventions (the same in every layout, so the layouts agree):

* item names are trimmed; empty names and the placeholders ``nan``, ``none``, ``null`` (any
  case) are dropped; an item bought twice in one transaction counts once;
* a transaction whose items were all dropped is still a transaction (an empty basket), as a
  one-hot row of zeros is: supports are shares of *all* transactions, as in mlxtend;
* long layout: rows without a transaction id are ignored (they belong to no basket), and
  so are rows whose quantity is 0 or less when a quantity column is given (returns);
* basket layout spread over columns: the columns must share items, and none may hold a
  different value in almost every row (that is an id, not an item);
* one-hot layout: missing values are "not bought"; column names are cleaned as item names
  are (columns named like "no item" are left out, columns named alike after trimming are
  one item, bought when any of them says so).

Every problem the user can fix raises `InvalidParameter` with one plain sentence.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from dashboard.basket._detect import is_binary
from dashboard.errors import InvalidParameter

log = logging.getLogger(__name__)

PLACEHOLDERS = frozenset({"", "nan", "none", "null"})
"""Item names (after trimming, compared in lower case) that mean "no item"."""


@dataclass(frozen=True)
class Transactions:
    """Transactions as a sparse boolean matrix.

    Attributes:
        matrix: ``scipy.sparse.csr_matrix`` of bool, shape (transactions, items).
        items: Item names, sorted; ``items[j]`` names column ``j``.
        layout: The layout read: ``long``, ``basket`` or ``onehot``.
        dropped_names: Raw values dropped as empty or placeholders (counted once per row;
            one-hot layout: the purchases in columns named like placeholders).
        returned_rows: Long layout: rows left out for a quantity of 0 or less.
    """

    matrix: sp.csr_matrix
    items: tuple[str, ...]
    layout: str
    dropped_names: int = 0
    returned_rows: int = 0

    @property
    def n_transactions(self) -> int:
        """Number of transactions (rows), empty ones included."""
        return int(self.matrix.shape[0])

    @property
    def empty_transactions(self) -> int:
        """Transactions without any item."""
        return int(np.count_nonzero(np.diff(self.matrix.indptr) == 0))


def clean_name(value) -> str | None:
    """Return the item name of a raw value, or None when it means "no item"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)  # codes read as floats because of gaps: 1017.0 is item "1017"
    text = str(value).strip()
    return None if text.lower() in PLACEHOLDERS else text


def _clean_codes(values: pd.Series) -> tuple[np.ndarray, list[str], int]:
    """Return ``(codes, names)``: cleaned item names of ``values`` as codes into ``names``.

    Cleaning runs once per distinct value, not per row. Code -1 means "no item".
    """
    raw_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    cleaned = [clean_name(v) for v in uniques]
    names = sorted({c for c in cleaned if c is not None})
    position = {name: i for i, name in enumerate(names)}
    lookup = np.array([position[c] if c is not None else -1 for c in cleaned] + [-1], np.int64)
    codes = lookup[raw_codes]  # the sentinel -1 picks the trailing -1
    dropped = int(np.count_nonzero((codes < 0) & (raw_codes >= 0)))
    return codes, names, dropped


def _matrix(rows: np.ndarray, codes: np.ndarray, n_rows: int, n_items: int) -> sp.csr_matrix:
    keep = codes >= 0
    data = np.ones(int(keep.sum()), dtype=bool)
    matrix = sp.csr_matrix((data, (rows[keep], codes[keep])), shape=(n_rows, n_items))
    matrix.sum_duplicates()  # bool addition: an item bought twice counts once
    return matrix


AMOUNT_WORDS = frozenset(
    {
        "quantity", "quantities", "qty", "qnt", "amount", "amounts", "amt", "price", "prices",
        "total", "totals", "subtotal", "cost", "costs", "value", "values", "revenue",
        "sales", "sale", "spend", "spent", "turnover", "profit", "margin", "discount",
        "tax", "vat", "net", "gross", "weight", "volume", "units", "count", "sum",
    }
)  # fmt: skip
"""Word parts of a column name that say it holds amounts (compared in lower case)."""


def name_parts(column: str) -> list[str]:
    """Return the lower-case word parts of a column name (``unitPrice`` → unit, price)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(column))
    return [part for part in re.split(r"[^a-z]+", spaced.lower()) if part]


def looks_like_amount(column: str) -> bool:
    """Return True when a word part of the column name names an amount (price, qty…)."""
    return any(part in AMOUNT_WORDS for part in name_parts(column))


def check_not_amounts(series: pd.Series, column: str) -> None:
    """Refuse a column of numeric amounts (prices, quantities) as an item column.

    Whole numbers are accepted as product codes (SKUs, also when read as floats because of
    gaps), unless the column is named like an amount (``quantity``, ``unit_price``…);
    fractions or negative numbers are never item names.
    """
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        return
    values = series.dropna()
    odd = values < 0
    if pd.api.types.is_float_dtype(values.dtype):
        odd |= values != np.floor(values)
    named = looks_like_amount(column)
    if bool(odd.any()) or (named and len(values)):
        example = values[odd].iloc[0] if bool(odd.any()) else values.iloc[0]
        why = f"for example {example:g}" + (
            f"; the name '{column}' says so too" if named and not bool(odd.any()) else ""
        )
        raise InvalidParameter(
            f"Column '{column}' holds numeric amounts ({why}), not item names: choose the "
            "column that names or codes the products (product, item, SKU…) instead."
        )


def check_not_flags(series: pd.Series, column: str) -> None:
    """Refuse a 0/1 or true/false column as an item column: that is one-hot data."""
    if series.notna().any() and is_binary(series):
        raise InvalidParameter(
            f"Column '{column}' holds only 0/1 or true/false values: that is one flag per "
            "item (the one-hot layout), not item names. Choose the one-hot layout, or the "
            "column that names the products."
        )


def _require(df: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidParameter(f"Column '{missing[0]}' is not in the dataset.")


def encode_long(
    df: pd.DataFrame, transaction: str | None, item: str | None, quantity: str | None = None
) -> Transactions:
    """Encode one row per item bought: ``transaction`` groups the rows, ``item`` names them.

    With ``quantity``, rows whose quantity is 0 or less (returns, cancellations) are left
    out before grouping, so a transaction of returns only is no transaction; rows without a
    quantity are kept.
    """
    if not transaction or not item:
        raise InvalidParameter(
            "The long layout needs a transaction column and an item column: choose both."
        )
    if transaction == item:
        raise InvalidParameter("The transaction column and the item column must differ.")
    _require(df, [transaction, item])
    check_not_amounts(df[item], item)
    check_not_flags(df[item], item)
    ids = df[transaction]
    keep = ids.notna().to_numpy().copy()  # to_numpy may be a read-only view
    returned = 0
    if quantity:
        if quantity in (transaction, item):
            raise InvalidParameter("The quantity column must differ from the other two.")
        _require(df, [quantity])
        amounts = df[quantity]
        if pd.api.types.is_bool_dtype(amounts.dtype) or not pd.api.types.is_numeric_dtype(
            amounts.dtype
        ):
            raise InvalidParameter(f"The quantity column '{quantity}' must hold numbers.")
        out = (amounts <= 0).fillna(False).to_numpy(dtype=bool)
        returned = int((out & keep).sum())
        keep &= ~out
    tx_codes, tx_uniques = pd.factorize(ids[keep], sort=False)
    codes, names, dropped = _clean_codes(df.loc[keep, item])
    matrix = _matrix(tx_codes, codes, len(tx_uniques), len(names))
    return Transactions(matrix, tuple(names), "long", dropped, returned)


def encode_basket(df: pd.DataFrame, columns: list[str], sep: str | None) -> Transactions:
    """Encode one row per transaction: items in one delimited column or across columns."""
    if not columns:
        raise InvalidParameter("The basket layout needs the column(s) that hold the items.")
    _require(df, list(columns))
    for column in columns:
        check_not_amounts(df[column], column)
        check_not_flags(df[column], column)
    n_rows = len(df)
    if len(columns) == 1:
        column = columns[0]
        if not sep:
            raise InvalidParameter("Give the separator between the items (for example ',').")
        values = df[column]
        text = values.astype("str").where(values.notna()).reset_index(drop=True)
        if n_rows > 1 and not bool(text.str.contains(sep, regex=False).fillna(False).any()):
            raise InvalidParameter(
                f"No value of '{column}' contains the separator '{sep}', so every basket "
                "would hold a single item: choose the right separator, or the long or "
                "one-hot layout."
            )
        tokens = text.str.split(sep, regex=False).explode()
        rows = np.asarray(tokens.index, dtype=np.int64)  # row positions (index was reset)
        tokens = tokens.reset_index(drop=True)
    else:
        stacked = pd.concat(
            [df[c].reset_index(drop=True).astype("object") for c in columns], ignore_index=True
        )
        rows = np.tile(np.arange(n_rows, dtype=np.int64), len(columns))
        tokens = stacked
    codes, names, dropped = _clean_codes(tokens)
    if len(columns) > 1:
        _check_spread(codes.reshape(len(columns), n_rows), list(columns), names)
    matrix = _matrix(rows, codes, n_rows, len(names))
    return Transactions(matrix, tuple(names), "basket", dropped)


ID_SHARE = 0.95
"""A spread item column with a different value in this share of the rows is an id."""
ID_MIN_ROWS = 20
"""Fewer rows than this cannot tell an id from a column of varied items."""


def _check_spread(codes: np.ndarray, columns: list[str], names: list[str]) -> None:
    """Refuse item columns that cannot be items spread over columns.

    Args:
        codes: Item codes (``-1`` = no item), one row per column, one column per table row.
        columns: The column names, in the order of ``codes``.
        names: The item names the codes point to.
    """
    n_rows = codes.shape[1]
    distinct = [np.unique(row[row >= 0]) for row in codes]
    if n_rows >= ID_MIN_ROWS:
        for column, values in zip(columns, distinct, strict=True):
            if len(values) >= ID_SHARE * n_rows:
                raise InvalidParameter(
                    f"Column '{column}' has a different value in almost every row: it is an "
                    "id (of the transaction or of the row), not an item name. Leave it out of "
                    "the item columns; for a table with one row per item bought, choose the "
                    "long layout with the transaction id as its transaction column."
                )
    if not len(names):
        return
    in_columns = np.bincount(np.concatenate(distinct), minlength=len(names))
    if int(in_columns.max()) < 2:
        listed = ", ".join(f"'{c}'" for c in columns)
        raise InvalidParameter(
            f"The columns {listed} have no value in common, so they do not list the same "
            "kind of items (items spread over columns share their products). Choose only "
            "the columns that hold item names, or, if one of them identifies the "
            "transaction (one row per item bought), the long layout."
        )


def encode_onehot(df: pd.DataFrame, columns: list[str] | None) -> Transactions:
    """Encode one row per transaction and one 0/1 (or true/false) column per item."""
    if columns:
        _require(df, list(columns))
        for column in columns:
            if not is_binary(df[column]) and df[column].notna().any():
                values = df[column].dropna()
                bad = values[~values.isin([0, 1, True, False])]
                example = bad.iloc[0] if len(bad) else values.iloc[0]
                raise InvalidParameter(
                    f"Column '{column}' holds values other than 0/1 or true/false (for "
                    f"example {example!s}): the one-hot layout needs one 0/1 column per item."
                )
    else:
        columns = [c for c in df.columns if is_binary(df[c])]
        if not columns:
            raise InvalidParameter(
                "No column holds only 0/1 or true/false values, so this is not one-hot data: "
                "choose the long or basket layout."
            )
    # the item cleaning of the other layouts: columns named alike are one item (bought
    # when any of them is 1), columns named like "no item" are left out
    merged: dict[str, np.ndarray] = {}
    dropped = 0
    for column in columns:
        bought = df[column].astype("boolean").fillna(False).to_numpy(dtype=bool)
        name = clean_name(column)
        if name is None:
            dropped += int(bought.sum())
        elif name in merged:
            merged[name] = merged[name] | bought
        else:
            merged[name] = bought
    names = sorted(merged)
    blocks = [sp.csc_matrix(merged[name].reshape(-1, 1)) for name in names]
    matrix = sp.hstack(blocks, format="csr", dtype=bool) if blocks else sp.csr_matrix((len(df), 0))
    matrix.eliminate_zeros()
    return Transactions(matrix, tuple(names), "onehot", dropped)


def encode(
    df: pd.DataFrame,
    layout: str,
    *,
    transaction: str | None = None,
    item: str | None = None,
    columns: list[str] | None = None,
    sep: str | None = ",",
    quantity: str | None = None,
) -> Transactions:
    """Encode ``df`` in ``layout`` (see the module docstring for the conventions).

    Raises:
        InvalidParameter: Unknown layout, missing or unsuitable columns, data that does not
            match the layout, fewer than two transactions or fewer than two items.
    """
    if quantity and layout != "long":
        raise InvalidParameter("A quantity column applies to the long layout only.")
    if layout == "long":
        tx = encode_long(df, transaction, item, quantity)
    elif layout == "basket":
        tx = encode_basket(df, list(columns or ([item] if item else [])), sep)
    elif layout == "onehot":
        tx = encode_onehot(df, list(columns) if columns else None)
    else:
        raise InvalidParameter(f"Unknown layout '{layout}': choose long, basket or one-hot.")
    if tx.n_transactions < 2:
        raise InvalidParameter(
            "There is only one transaction: association rules need many baskets to compare."
        )
    bought = int(np.count_nonzero(np.asarray(tx.matrix.sum(axis=0)).ravel()))
    if bought < 2:
        only = f" ('{tx.items[0]}')" if len(tx.items) == 1 else ""
        raise InvalidParameter(
            f"Only one distinct item{only} was found: rules need at least two different items."
        )
    if int(np.diff(tx.matrix.indptr).max()) < 2:
        raise InvalidParameter(_single_item_message(layout, transaction, columns))
    if layout == "long":
        _check_baskets(tx, transaction)
    log.info(
        "encoded %s layout: %d transactions × %d items, %d purchases",
        tx.layout,
        tx.n_transactions,
        len(tx.items),
        tx.matrix.nnz,
    )
    return tx


#: A long layout with at most this many transactions whose average basket holds more items
#: than there are transactions (and at least `_HUGE_BASKET` items) groups by a column that
#: is not a transaction id: a category, a quantity, a date.
_FEW_TRANSACTIONS = 1_000
_HUGE_BASKET = 50


def _check_baskets(tx: Transactions, transaction: str | None) -> None:
    """Refuse a grouping that makes a handful of huge "baskets" (no rule would mean much).

    Mining it is also the worst case of the itemset bounds: every subset of a basket of
    thousands of items reaches the minimum count.
    """
    n = tx.n_transactions
    mean = float(np.diff(tx.matrix.indptr).mean())
    if n <= _FEW_TRANSACTIONS and mean >= _HUGE_BASKET and n < mean:
        raise InvalidParameter(
            f"'{transaction}' has only {n:,} distinct values, so it makes {n:,} "
            f"transactions of {mean:,.0f} items each on average: that is not one transaction "
            "per order or basket. Choose the column that identifies an order (an invoice or "
            "order number) as the transaction column."
        )


def _single_item_message(layout: str, transaction: str | None, columns) -> str:
    """Say why every basket holds one item, for the layout that was chosen."""
    if layout == "long":
        return (
            f"Every value of '{transaction}' has a single item, so nothing is bought together: "
            "this does not look like long data (one row per item bought). Choose another "
            "transaction column, or the basket or one-hot layout."
        )
    if layout == "basket":
        return (
            "Every row holds a single item, so nothing is bought together: choose the "
            "columns (or the separator) that list several items, or the long layout."
        )
    return (
        "Every row has a single 1, so nothing is bought together: this does not look like "
        "one-hot data; choose the long or basket layout."
    )
