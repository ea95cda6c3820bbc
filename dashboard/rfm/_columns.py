"""RFM settings and column mapping, checked from the dataset's column table alone.

The web process never reads the frame, so these work on ``meta["column_table"]`` (name,
dtype, unique...):

* `detect_columns` guesses the mapping from names and dtypes;
* `settings_from_request` validates the user's choices (ranges, required columns);
* `check_columns` refuses choices that cannot work (a date column chosen as the amount,
  the same column twice, a single customer) before any job starts.

The values themselves are checked in the job by ``dashboard.rfm._values``.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass

import pandas as pd

from dashboard.errors import InvalidParameter

log = logging.getLogger(__name__)

SCHEMES = {"quintile": 5, "quartile": 4}
RETURNS = ("net", "exclude")
K_RANGE = (2, 10)
DEFAULT_K = 4


@dataclass(frozen=True)
class RfmSettings:
    """What the user chose on the page (or a notebook passes to ``compute_rfm``).

    Attributes:
        customer: Column identifying the customer.
        date: Column with the transaction date.
        amount: Column with the money of each transaction; None to use
            ``quantity × unit_price``.
        invoice: Optional invoice / order id column: frequency counts distinct invoices
            (otherwise transactions, i.e. rows).
        quantity: Column multiplied by ``unit_price`` into the amount when ``amount`` is
            None.
        unit_price: See ``quantity``.
        returns: ``"net"`` (returns, i.e. negative amounts, are subtracted from the
            customer's total) or ``"exclude"`` (negative amounts are left out).
        as_of: Reference date (ISO text); None for the day after the last transaction.
        scheme: ``"quintile"`` (scores 1-5) or ``"quartile"`` (scores 1-4).
        k: Number of K-Means clusters (2..10).
        margin: Share of revenue that is profit, for the predicted CLV (0 < margin <= 1).
    """

    customer: str
    date: str
    amount: str | None
    invoice: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    returns: str = "net"
    as_of: str | None = None
    scheme: str = "quintile"
    k: int = DEFAULT_K
    margin: float = 1.0

    @property
    def columns(self) -> list[str]:
        """The dataset columns the analysis reads, without repeats."""
        names = [self.customer, self.date, self.amount, self.invoice]
        if self.amount is None:
            names += [self.quantity, self.unit_price]
        return list(dict.fromkeys(n for n in names if n))

    @property
    def bins(self) -> int:
        """Number of score levels of the scheme."""
        return SCHEMES[self.scheme]

    def to_dict(self) -> dict:
        """Return the settings as JSON-able values."""
        return asdict(self)


def _clean_name(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def settings_from_request(request: dict) -> RfmSettings:
    """Validate the page's (or a notebook's) choices and return them as settings.

    Args:
        request: ``customer``, ``date``, ``amount`` (or ``quantity`` and ``unit_price``),
            optional ``invoice``, ``returns``, ``as_of`` (``YYYY-MM-DD``), ``scheme``,
            ``k`` and ``margin`` (in percent, 1..100).

    Raises:
        InvalidParameter: A required column is missing or a value is out of range.
    """
    customer, date = _clean_name(request.get("customer")), _clean_name(request.get("date"))
    amount = _clean_name(request.get("amount"))
    quantity, unit_price = (
        _clean_name(request.get("quantity")),
        _clean_name(request.get("unit_price")),
    )
    if not customer:
        raise InvalidParameter("Choose the column that identifies the customer.")
    if not date:
        raise InvalidParameter("Choose the column with the transaction date.")
    if not amount and not (quantity and unit_price):
        raise InvalidParameter(
            "Choose the amount column, or both a quantity and a unit price column."
        )
    returns = request.get("returns") or "net"
    if returns not in RETURNS:
        raise InvalidParameter("Returns must be netted or excluded.")
    scheme = request.get("scheme") or "quintile"
    if scheme not in SCHEMES:
        raise InvalidParameter("The scoring scheme must be quintiles or quartiles.")
    k = _whole_number(request.get("k", DEFAULT_K))
    if k is None or not K_RANGE[0] <= k <= K_RANGE[1]:
        raise InvalidParameter(
            f"The number of clusters must be a whole number from {K_RANGE[0]} to {K_RANGE[1]}."
        )
    margin_pct = request.get("margin", 100)
    try:
        margin = float(100 if margin_pct in (None, "") else margin_pct)
    except (TypeError, ValueError):
        margin = math.nan
    if not 0 < margin <= 100:
        raise InvalidParameter("The profit margin must be a percentage above 0 and up to 100.")
    return RfmSettings(
        customer=customer,
        date=date,
        amount=amount,
        invoice=_clean_name(request.get("invoice")),
        quantity=None if amount else quantity,
        unit_price=None if amount else unit_price,
        returns=returns,
        as_of=_iso_date(request.get("as_of")),
        scheme=scheme,
        k=k,
        margin=margin / 100.0,
    )


def _whole_number(value) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _iso_date(value) -> str | None:
    if value in (None, ""):
        return None
    try:
        stamp = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise InvalidParameter(f"The reference date '{value}' is not a date (use YYYY-MM-DD).")
    return stamp.date().isoformat()


# --- the column table (metadata only) ------------------------------------------------------


def _kind(dtype: str) -> str:
    """Classify a dtype name: ``number``, ``bool``, ``datetime``, ``text``."""
    name = str(dtype).lower()
    if name.startswith(("datetime", "timestamp")):
        return "datetime"
    if name in ("bool", "boolean"):
        return "bool"
    if re.match(r"^(u?int|float)\d*$", name):
        return "number"
    return "text"


def check_columns(settings: RfmSettings, column_table: list[dict], *, sampled: bool) -> None:
    """Refuse column choices that cannot work, from the column table alone.

    Args:
        settings: The user's choices.
        column_table: ``meta["column_table"]`` of the dataset (name, dtype, unique...).
        sampled: The table describes a sample; the number of customers is then checked on
            the full data by the job, not here.

    Raises:
        InvalidParameter: Unknown column, the same column for two roles, a date, text or
            true/false column as the amount, a number column as the date, or a single
            customer.
    """
    by_name = {str(c["column"]): c for c in column_table}
    roles = {
        "customer": settings.customer,
        "date": settings.date,
        "amount": settings.amount,
        "invoice": settings.invoice,
        "quantity": settings.quantity,
        "unit price": settings.unit_price,
    }
    chosen = {role: name for role, name in roles.items() if name}
    for role, name in chosen.items():
        if name not in by_name:
            raise InvalidParameter(f"Column '{name}' (the {role}) is not in the dataset any more.")
    for role in ("amount", "quantity", "unit price"):
        name = chosen.get(role)
        if name is None:
            continue
        kind = _kind(by_name[name]["dtype"])
        if kind == "datetime":
            raise InvalidParameter(
                f"Column '{name}' holds dates, not amounts: choose the column with the money "
                f"spent as the {role}."
            )
        if kind == "bool":
            raise InvalidParameter(f"Column '{name}' holds true/false values, not the {role}.")
    # after the type checks, which say more ("holds dates") than "two roles"
    names = list(chosen.values())
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidParameter(
            f"Column '{repeated[0]}' is chosen for two roles: give each role its own column."
        )
    for role in ("amount", "quantity", "unit price"):
        name = chosen.get(role)
        if name is not None and _kind(by_name[name]["dtype"]) == "text":
            # ingest turns text that reads as numbers into numbers, so what is still text
            # here is not a number (or uses separators the profile's conversion handles)
            raise InvalidParameter(
                f"Column '{name}' holds text, not numbers: choose a column of numbers as the "
                f"{role}, or convert it on the Profile page ('Convert text to numbers')."
            )
    date_kind = _kind(by_name[settings.date]["dtype"])
    if date_kind in ("number", "bool"):
        raise InvalidParameter(
            f"Column '{settings.date}' holds numbers, not dates: choose the transaction date."
        )
    if _kind(by_name[settings.customer]["dtype"]) == "datetime":
        raise InvalidParameter(
            f"Column '{settings.customer}' holds dates: choose the column that identifies "
            "the customer."
        )
    if not sampled and int(by_name[settings.customer].get("unique") or 0) < 2:
        raise InvalidParameter(ONE_CUSTOMER.format(column=settings.customer))


ONE_CUSTOMER = (
    "RFM compares customers with each other, but column '{column}' has only one customer: "
    "choose the column that identifies the customer."
)

# Name patterns, best first; a column is matched on its normalized name (lower case, words
# separated by "_").
_PATTERNS = {
    "customer": (
        r"^(customer|client|cust)(_?(id|no|number|key|code))?$",
        r"(customer|client|cust(omer)?|shopper|buyer|member|consumer|patron)",
        r"^(user|account)(_?(id|no|number|key))?$",
    ),
    "date": (
        r"(order|invoice|purchase|transaction|sale)s?_?(date|time|timestamp|day)",
        r"(^|_)(date|datetime|timestamp|day)($|_)",
        r"(date|time)",
    ),
    "amount": (
        r"^(amount|revenue|sales|monetary|spend|spent|turnover|gmv)$",
        r"(amount|revenue|sales|monetary|spend|spent|turnover|gmv|payment|paid)",
        r"(^|_)(total|value|net|sum)($|_)",
    ),
    "invoice": (
        r"^(invoice|order|transaction|receipt|basket|ticket|bill)s?(_?(id|no|number|key|code))?$",
        r"(invoice|order|transaction|receipt|basket|ticket)",
    ),
    "quantity": (r"^(quantity|qty|units|items)$", r"(quantity|qty)"),
    "unit_price": (r"^(unit_?price|price_?each|price)$", r"price"),
}


def _normalize(name: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()  # CustomerID -> customer_id
    return re.sub(r"[^a-z0-9]+", "_", words).strip("_")


def _match_rank(role: str, name: str) -> int | None:
    normal = _normalize(name)
    for rank, pattern in enumerate(_PATTERNS[role]):
        if re.search(pattern, normal):
            return rank
    return None


def detect_columns(column_table: list[dict]) -> dict[str, str | None]:
    """Guess which column is the customer, date, amount, invoice, quantity and unit price.

    Uses names (``customer_id``, ``order_date``, ``amount``, ``InvoiceNo``...) and dtypes
    (a datetime column is a date; amounts, quantities and prices are numbers; a date is
    never an amount). Each column gets at most one role.

    Returns:
        ``{"customer", "date", "amount", "invoice", "quantity", "unit_price"}`` mapped to a
        column name or None. ``amount`` is None when only a quantity and a unit price were
        found (the amount is then their product).
    """
    columns = [(str(c["column"]), _kind(c.get("dtype", ""))) for c in column_table]
    taken: set[str] = set()
    found: dict[str, str | None] = {}

    def pick(role: str, kinds: tuple[str, ...], exclude: str | None = None) -> str | None:
        best: tuple[int, int, str] | None = None
        for position, (name, kind) in enumerate(columns):
            if name in taken or kind not in kinds:
                continue
            if exclude and re.search(exclude, _normalize(name)):
                continue
            rank = _match_rank(role, name)
            if role == "date" and kind == "datetime":
                rank = -1 if rank is None else rank - 10  # a real datetime wins
            if rank is None:
                continue
            if best is None or (rank, position) < best[:2]:
                best = (rank, position, name)
        if best is not None:
            taken.add(best[2])
            return best[2]
        return None

    found["date"] = pick("date", ("datetime", "text"))
    found["customer"] = pick("customer", ("number", "text"), exclude=r"(name|date|time)")
    found["quantity"] = pick("quantity", ("number",))
    found["unit_price"] = pick("unit_price", ("number",), exclude=r"(total|amount)")
    found["amount"] = pick("amount", ("number",), exclude=r"(price|qty|quantity|count|id$)")
    found["invoice"] = pick("invoice", ("number", "text"), exclude=r"(date|time|day|line)")
    if found["amount"] is not None:  # the product is only used without an amount
        found["quantity"] = found["unit_price"] = None
    return found
