"""One settings object for a market-basket run: the page, the job and the form share it.

``BasketSettings.from_form`` validates the page's controls once (everything that can be
checked without the data), ``to_request`` is what the job request carries,
``from_request`` rebuilds and re-checks it in the job, ``to_form`` pre-fills the page with
the last run, and ``find_rules_options`` are the keyword arguments of ``find_rules``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from dashboard.basket._find import check_parameters
from dashboard.errors import InvalidParameter


@dataclass(frozen=True)
class BasketSettings:
    """What to mine and how (see ``find_rules`` for each parameter's meaning).

    Attributes:
        layout: ``long``, ``basket`` or ``onehot``.
        min_support: Share of the transactions (None when ``min_count`` is given).
        min_count: Number of transactions (None when ``min_support`` is given).
        min_confidence: Lowest confidence of a kept rule.
        min_lift: Lowest lift of a kept rule.
        max_len: Largest itemset, or None for no limit.
        single_consequent: Rules with one item on the right only.
        algorithm: ``fpgrowth`` or ``apriori``.
        transaction: Transaction id column (long layout).
        item: Item column (long layout).
        quantity: Optional quantity column (long layout).
        columns: Item columns (basket and one-hot layouts; empty: every 0/1 column).
        sep: Separator between the items of one cell (basket layout, one column).
    """

    layout: str
    min_support: float | None
    min_count: int | None
    min_confidence: float
    min_lift: float
    max_len: int | None = None
    single_consequent: bool = True
    algorithm: str = "fpgrowth"
    transaction: str | None = None
    item: str | None = None
    quantity: str | None = None
    columns: tuple[str, ...] = ()
    sep: str = ""

    @classmethod
    def from_form(cls, values: dict, columns: list[str]) -> BasketSettings:
        """Validate the page's control values against the dataset's ``columns``.

        Raises:
            InvalidParameter: A missing or impossible choice, in one sentence.
        """
        request = _checked_request(values, columns)
        fields = {k: request.get(k) for k in cls.__dataclass_fields__ if k in request}
        fields["columns"] = tuple(request.get("columns") or ())
        fields["sep"] = request.get("sep") or ""
        return cls(**fields)

    @classmethod
    def from_request(cls, request: dict, columns: list[str]) -> BasketSettings:
        """Rebuild (and check again) the settings a job request carries."""
        return cls.from_form(_form_values(request), columns)

    def to_request(self) -> dict:
        """Return the JSON-able job request (kind ``basket``)."""
        request = {"kind": "basket", **asdict(self)}
        request["columns"] = list(self.columns)
        return request

    @staticmethod
    def form_from_request(request: dict) -> dict:
        """Return the control values of a stored request, unchecked.

        The columns it names may be gone: the form then shows what can still be chosen.
        """
        return _form_values(request)

    def to_form(self) -> dict:
        """Return the page's control values that give these settings (the pre-filled form)."""
        return _form_values(self.to_request())

    def columns_to_read(self, column_table: list[dict]) -> list[str]:
        """Return the columns a job reads, given the dataset's ``meta["column_table"]``."""
        return _columns_to_read(self.to_request(), column_table)

    def find_rules_options(self) -> dict:
        """Return the keyword arguments of ``find_rules`` (without memory and progress)."""
        options = {
            "layout": self.layout,
            "transaction": self.transaction,
            "item": self.item,
            "quantity": self.quantity,
            "columns": list(self.columns) or None,
            "sep": self.sep or ",",
            "min_confidence": self.min_confidence,
            "min_lift": self.min_lift,
            "max_len": self.max_len,
            "single_consequent": self.single_consequent,
            "algorithm": self.algorithm,
        }
        if self.min_count is not None:
            options["min_count"] = self.min_count
        else:
            options["min_support"] = self.min_support
        return options


def _number(value, label: str, *, required: bool = True):
    if value in (None, ""):
        if required:
            raise InvalidParameter(f"{label} is missing.")
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{label} must be a number.") from None


def _checked_request(values: dict, columns: list[str]) -> dict:
    """Return the job request for the page's choices, or refuse impossible ones.

    Everything that can be checked without the data is checked here, so a bad choice
    never starts a job; the job checks the data itself before mining.

    Args:
        values: The controls' values (keys as in ``components.basket.settings_panel``).
        columns: The analysis dataset's columns.

    Raises:
        InvalidParameter: A missing or impossible choice, in one sentence.
    """
    layout = values.get("layout")
    if layout not in ("long", "basket", "onehot"):
        raise InvalidParameter("Choose how the transactions are laid out.")
    count_unit = values.get("support_unit") == "count"
    support = _number(values.get("min_support"), "Minimum support")
    if not count_unit and support is not None and support > 1:
        raise InvalidParameter(
            f"Minimum support is a share of the transactions, between 0 and 1 (got {support:g}); "
            "to give a number of transactions, choose “transactions” next to it."
        )
    request = {
        "kind": "basket",
        "layout": layout,
        "min_support": None if count_unit else support,
        "min_count": support if count_unit else None,
        "min_confidence": _number(values.get("min_confidence"), "Minimum confidence"),
        "min_lift": _number(values.get("min_lift"), "Minimum lift"),
        "max_len": _number(values.get("max_len"), "Maximum length", required=False),
        "single_consequent": not values.get("multi_consequent"),
        "algorithm": values.get("algorithm") or "fpgrowth",
    }
    check_parameters(
        min_support=request["min_support"] if not count_unit else 0.01,
        min_count=request["min_count"],
        min_confidence=request["min_confidence"],
        min_lift=request["min_lift"],
        max_len=request["max_len"],
        algorithm=request["algorithm"],
        layout=layout,
    )
    if request["max_len"] is not None:
        request["max_len"] = int(request["max_len"])
    if request["min_count"] is not None:
        request["min_count"] = int(request["min_count"])
    known = set(columns)
    if layout == "long":
        transaction, item = values.get("transaction"), values.get("item")
        if not transaction or not item:
            raise InvalidParameter("Choose the transaction column and the item column.")
        if transaction == item:
            raise InvalidParameter("The transaction column and the item column must differ.")
        quantity = values.get("quantity") or None
        if quantity in (transaction, item):
            raise InvalidParameter("The quantity column must differ from the other two.")
        chosen = [transaction, item] + ([quantity] if quantity else [])
        request.update(transaction=transaction, item=item, quantity=quantity)
    elif layout == "basket":
        chosen = list(values.get("basket_columns") or [])
        if not chosen:
            raise InvalidParameter("Choose the column (or columns) that hold the items.")
        sep = values.get("sep") or ""
        if len(chosen) == 1 and not sep:
            raise InvalidParameter("Give the separator between the items (for example ',').")
        request.update(columns=chosen, sep=sep)
    else:
        chosen = list(values.get("onehot_columns") or [])
        if len(chosen) == 1:
            raise InvalidParameter("Choose at least two item columns (or none to use all 0/1).")
        request.update(columns=chosen)
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise InvalidParameter(f"Column '{unknown[0]}' is not in the dataset any more.")
    return request


def _binary_candidates(column_table: list[dict]) -> list[str]:
    """Columns that the column table marks as 0/1 or true/false (``zero_one``).

    The table is computed where the data is (ingest, cleaning), so a column holding {3, 7}
    is not taken for flags and the web process reads no rows. The job reads the candidates
    and keeps those that hold only 0/1 in every row of the data it mines.
    """
    return [c["column"] for c in column_table if c.get("zero_one")]


def _columns_to_read(request: dict, column_table: list[dict]) -> list[str]:
    """Return the columns the job reads for ``request``.

    Args:
        request: From `_checked_request`.
        column_table: The analysis dataset's ``meta["column_table"]``.
    """
    if request["layout"] == "long":
        quantity = [request["quantity"]] if request.get("quantity") else []
        return [request["transaction"], request["item"], *quantity]
    if request["layout"] == "basket":
        return list(request["columns"])
    if request.get("columns"):
        return list(request["columns"])
    return _binary_candidates(column_table)


def _form_values(request: dict) -> dict:
    """Return the page's control values that produce ``request`` (for re-checks)."""
    count = request.get("min_count") is not None
    return {
        "layout": request.get("layout"),
        "transaction": request.get("transaction"),
        "item": request.get("item"),
        "quantity": request.get("quantity"),
        "basket_columns": request.get("columns") if request.get("layout") == "basket" else None,
        "sep": request.get("sep"),
        "onehot_columns": request.get("columns") if request.get("layout") == "onehot" else None,
        "min_support": request.get("min_count") if count else request.get("min_support"),
        "support_unit": "count" if count else "share",
        "min_confidence": request.get("min_confidence"),
        "min_lift": request.get("min_lift"),
        "max_len": request.get("max_len"),
        "multi_consequent": not request.get("single_consequent", True),
        "algorithm": request.get("algorithm"),
    }
