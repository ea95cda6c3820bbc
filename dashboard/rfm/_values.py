"""RFM transaction values: the mapped columns as plain arrays, refused when unusable.

`prepare_transactions` runs in the job, on the mapped columns only. It turns them into
customer codes, day numbers, amounts and invoice codes, and refuses, with one sentence
for the user and before any aggregation, amounts that are not numbers (or are dates),
dates that cannot be read or are mostly missing, and data with a single customer.
Text and category columns are parsed one distinct value at a time, so a million rows of
a few hundred dates cost a few hundred parses.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.errors import InvalidParameter
from dashboard.rfm._columns import ONE_CUSTOMER, RfmSettings

log = logging.getLogger(__name__)

MAX_MISSING_SHARE = 0.5
"""Above this share of rows without a date (or amount), the column is refused; below it,
those rows are left out and counted in the notes."""

_NUMERIC_KINDS = "iuf"


@dataclass(frozen=True)
class Transactions:
    """The usable transactions as plain arrays (one entry per kept row).

    Attributes:
        customer: Customer code of each row, 0..n_customers-1 (int32).
        ids: Customer id of each code (sorted), as a pandas Index.
        day: Transaction day, days since 1970-01-01 (int64).
        amount: Money of each row (float64); returns are negative.
        invoice: Invoice code of each row (int64), or None.
        as_of_day: Reference day (days since 1970-01-01).
        notes: Row counts: ``rows``, ``missing_customer``, ``missing_date``,
            ``missing_amount``, ``after_as_of``, ``used``.
    """

    customer: np.ndarray
    ids: pd.Index
    day: np.ndarray
    amount: np.ndarray
    invoice: np.ndarray | None
    as_of_day: int
    notes: dict = field(default_factory=dict)

    @property
    def n_customers(self) -> int:
        """Number of distinct customers."""
        return len(self.ids)


_NAT = np.iinfo(np.int64).min


def _numbers(series: pd.Series, column: str, role: str) -> np.ndarray:
    """Return ``series`` as float64 (NaN where missing), or refuse it."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise InvalidParameter(f"Column '{column}' holds true/false values, not the {role}.")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        raise InvalidParameter(
            f"Column '{column}' holds dates, not amounts: choose the column with the money "
            f"spent as the {role}."
        )
    if dtype.kind in _NUMERIC_KINDS and not isinstance(dtype, pd.CategoricalDtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    # Text or categories: parse each distinct value once (few of them, whatever the rows).
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.strip()
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(parsed))
    if bad.size:
        rows = int(np.isin(codes, bad).sum())
        example = text.iloc[bad[0]]
        if _mostly_dates(text.iloc[bad]):
            raise InvalidParameter(
                f"Column '{column}' holds dates, not amounts: choose the column with the "
                f"money spent as the {role}."
            )
        raise InvalidParameter(
            f"Column '{column}' is not numeric: {_rows(rows)} text such as '{example}'. "
            f"Choose a column of numbers as the {role}, or convert it on the Profile page."
        )
    values = parsed[codes]
    values[codes < 0] = np.nan
    return values


def _rows(n: int) -> str:
    return "1 row holds" if n == 1 else f"{n:,} rows hold"


def _mostly_dates(text: pd.Series) -> bool:
    sample = text.head(50)
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.8)


def _days(series: pd.Series, column: str) -> np.ndarray:
    """Return the day number (days since 1970-01-01) of each value; ``_NAT`` where missing."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or (
        dtype.kind in _NUMERIC_KINDS and not isinstance(dtype, pd.CategoricalDtype)
    ):
        raise InvalidParameter(
            f"Column '{column}' holds numbers, not dates: choose the transaction date."
        )
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.DatetimeIndex(series)
        if stamps.tz is not None:
            stamps = stamps.tz_convert(None)
        return _to_days(stamps)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.strip()
    with warnings.catch_warnings():  # "could not infer format": the retry below handles it
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(text, errors="coerce")
    if parsed.isna().any():  # several formats in one column: parse each value on its own
        retry = pd.to_datetime(text[parsed.isna()], errors="coerce", format="mixed")
        parsed = parsed.fillna(retry)
    parsed = pd.DatetimeIndex(parsed)
    if parsed.tz is not None:
        parsed = parsed.tz_convert(None)
    bad = np.flatnonzero(parsed.isna())
    if bad.size:
        rows = int(np.isin(codes, bad).sum())
        raise InvalidParameter(
            f"Column '{column}' has {rows:,} row{'' if rows == 1 else 's'} whose date cannot "
            "be read, such as "
            f"'{text.iloc[bad[0]]}'. Choose the transaction date column, or fix those values."
        )
    days = _to_days(parsed)[codes]
    days[codes < 0] = _NAT
    return days


def _to_days(stamps: pd.DatetimeIndex) -> np.ndarray:
    values = stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    values[stamps.isna()] = _NAT
    return values


def _refuse_mostly_missing(missing: np.ndarray, column: str, what: str) -> None:
    share = float(missing.mean()) if missing.size else 1.0
    if share > MAX_MISSING_SHARE:
        count = int(missing.sum())
        raise InvalidParameter(
            f"Column '{column}' has no {what} in {count:,} of {missing.size:,} rows "
            f"({100 * share:.0f} %): choose the column with the {what} of every transaction."
        )


def prepare_transactions(df: pd.DataFrame, settings: RfmSettings) -> Transactions:
    """Check the mapped columns' values and return the usable transactions as arrays.

    Rows without a customer are left out; so are rows without a date or amount while they
    are at most half of the rows (more refuses the column), and rows after a chosen
    reference date. Every left-out row is counted in ``notes``.

    Raises:
        InvalidParameter: A column is missing from ``df``; amounts that are not numbers
            (or are dates); dates that cannot be read, or mostly missing; no customer, or
            only one; a reference date before the first transaction.
    """
    missing = [c for c in settings.columns if c not in df.columns]
    if missing:
        raise InvalidParameter(f"Column '{missing[0]}' is not in the dataset.")
    rows = len(df)
    if rows == 0:
        raise InvalidParameter("The dataset has no rows.")
    if settings.amount is not None:
        amount = _numbers(df[settings.amount], settings.amount, "amount")
        amount_name = settings.amount
    else:
        quantity = _numbers(df[settings.quantity], settings.quantity, "quantity")
        price = _numbers(df[settings.unit_price], settings.unit_price, "unit price")
        amount = quantity * price
        del quantity, price
        amount_name = f"{settings.quantity} × {settings.unit_price}"
    day = _days(df[settings.date], settings.date)
    missing_date = day == _NAT
    missing_amount = ~np.isfinite(amount)
    missing_customer = df[settings.customer].isna().to_numpy()
    _refuse_mostly_missing(missing_date, settings.date, "date")
    _refuse_mostly_missing(missing_amount, amount_name, "amount")
    if missing_customer.all():
        raise InvalidParameter(f"Column '{settings.customer}' has no customer ids.")
    usable = ~(missing_date | missing_amount | missing_customer)
    last_day = int(day[usable].max()) if usable.any() else None
    if last_day is None:
        raise InvalidParameter("No transaction has a customer, a date and an amount.")
    first_day = int(day[usable].min())
    if settings.as_of is None:
        as_of_day = last_day + 1  # the day after the last transaction
    else:
        as_of_day = int(np.datetime64(settings.as_of, "D").astype(np.int64))
        if as_of_day < first_day:
            first = np.datetime64(first_day, "D")
            raise InvalidParameter(
                f"The reference date {settings.as_of} is before the first transaction "
                f"({first}): choose a later date or leave it empty."
            )
    after = usable & (day > as_of_day)
    keep = usable & ~after
    codes, ids = _customer_codes(df[settings.customer], keep)
    if len(ids) < 2:
        only = ids[0] if len(ids) else "?"
        raise InvalidParameter(
            ONE_CUSTOMER.format(column=settings.customer).replace(
                "only one customer", f"only one customer ({only})"
            )
        )
    invoice = None
    if settings.invoice is not None:
        invoice_codes, _ = pd.factorize(df[settings.invoice][keep], use_na_sentinel=True)
        invoice = invoice_codes.astype(np.int64, copy=False)
    notes = {
        "rows": rows,
        "missing_customer": int(missing_customer.sum()),
        "missing_date": int((missing_date & ~missing_customer).sum()),
        "missing_amount": int((missing_amount & ~missing_customer & ~missing_date).sum()),
        "after_as_of": int(after.sum()),
        "used": int(keep.sum()),
    }
    return Transactions(
        customer=codes,
        ids=ids,
        day=day[keep],
        amount=amount[keep],
        invoice=invoice,
        as_of_day=as_of_day,
        notes=notes,
    )


def _customer_codes(series: pd.Series, keep: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Return int32 customer codes of the kept rows and the sorted customer ids."""
    kept = series[keep]
    if kept.dtype.kind == "f":
        whole = kept.dropna()
        if len(whole) and bool((whole == np.floor(whole)).all()):
            kept = kept.astype("Int64")  # 12346.0 -> 12346: ids read as floats look wrong
    codes, ids = pd.factorize(kept, sort=True, use_na_sentinel=True)
    ids = pd.Index(ids)
    if isinstance(ids.dtype, pd.CategoricalDtype):
        ids = pd.Index(ids.astype(ids.dtype.categories.dtype))
    return codes.astype(np.int32, copy=False), ids
