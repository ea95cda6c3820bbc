"""Market basket analysis: frequent itemsets and association rules from transaction tables.

`find_rules` reads transactions in any of three layouts (see `dashboard.basket._detect`):

* **long** — one row per item bought: a transaction id column and an item column;
* **basket** — one row per transaction: items in one column separated by ``sep``, or
  spread over several columns (empty cells ignored);
* **one-hot** — one row per transaction, one 0/1 or true/false column per item.

The same purchases give the same rules in every layout (the encoding conventions are in
`dashboard.basket._layouts`). Before mining, the items below the minimum support are
dropped and the itemset count is bounded (`dashboard.basket._guard`): a run that would
not fit in memory is limited to shorter itemsets when no maximum length was asked, and
refused with the support and length that would fit otherwise. Itemsets and rules come
from mlxtend (FP-Growth by default, Apriori as an option) and equal what mlxtend returns
on the same one-hot matrix.

This module is light to import (pandas only): the page uses `detect_layout` and
`check_parameters` in the web process. The mining stack (scipy, mlxtend) is imported when
`find_rules` runs, which the app does only inside a job.
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.basket._detect import LAYOUTS, LayoutGuess, detect_layout, returns_column
from dashboard.errors import InvalidParameter
from dashboard.progress import Progress, no_progress

__all__ = [
    "ALGORITHMS",
    "LAYOUTS",
    "BasketResult",
    "LayoutGuess",
    "check_parameters",
    "detect_layout",
    "find_rules",
]

log = logging.getLogger(__name__)

ALGORITHMS = ("fpgrowth", "apriori")
DETECT_ROWS = 2_000
"""Rows `find_rules` looks at when it detects the layout itself."""
DEFAULT_SEP = ","
"""`find_rules`' separator; another one given is kept over the detected one."""


@dataclass(frozen=True)
class BasketResult:
    """Frequent itemsets and association rules of a set of transactions.

    Attributes:
        rules: One row per rule, strongest lift first: ``antecedents`` and ``consequents``
            (tuples of item names, alphabetical), ``antecedent_support``,
            ``consequent_support``, ``support``, ``confidence``, ``lift``, ``leverage``,
            ``conviction`` (``inf`` when the confidence is 1) and ``count`` (transactions
            holding every item of the rule).
        itemsets: The frequent itemsets, most frequent first: ``itemset`` (tuple),
            ``length``, ``support``, ``count``.
        items: Every distinct item bought: ``item``, ``count``, ``support``, most
            frequent first.
        layout: The layout read (``long``, ``basket`` or ``onehot``).
        n_transactions: Transactions, empty ones included (supports are shares of them).
        empty_transactions: Transactions without any item after cleaning.
        returned_rows: Long layout with a quantity: rows left out as returns (quantity ≤ 0).
        n_frequent_items: Items reaching the minimum support (the others were dropped
            before mining).
        parameters: ``min_support``, ``min_count``, ``min_confidence``, ``min_lift``,
            ``max_len`` (the one used), ``single_consequent``, ``algorithm``.
        note: Set when the run was adapted to fit in memory (a shorter maximum length).
        estimate: The guard's figures: ``pairs`` (frequent pairs counted exactly, or None
            when too costly to count), ``certain_mb`` (memory of the mined matrix, its
            FP-tree, the single items and the pairs with their rules, in MB),
            ``max_itemsets`` (mining stops beyond this many itemsets) and ``budget_mb``
            (the working memory allowed).
    """

    rules: pd.DataFrame
    itemsets: pd.DataFrame
    items: pd.DataFrame
    layout: str
    n_transactions: int
    empty_transactions: int
    n_frequent_items: int
    returned_rows: int = 0
    parameters: dict = field(default_factory=dict)
    note: str | None = None
    estimate: dict = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        """Distinct items bought."""
        return len(self.items)


def _number(value, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise InvalidParameter(f"{label} must be a number.")
    return float(value)


def check_parameters(
    *,
    min_support: float = 0.01,
    min_count: int | None = None,
    min_confidence: float = 0.3,
    min_lift: float = 1.0,
    max_len: int | None = None,
    algorithm: str = "fpgrowth",
    layout: str | None = None,
) -> None:
    """Refuse impossible parameters before any data is read.

    Raises:
        InvalidParameter: One sentence naming the parameter and its valid range.
    """
    if layout is not None and layout not in LAYOUTS:
        raise InvalidParameter(f"Unknown layout '{layout}': choose long, basket or one-hot.")
    if min_count is not None:
        count = _number(min_count, "The minimum support count")
        if count < 1 or not count.is_integer():
            raise InvalidParameter(
                "The minimum support count must be a whole number of transactions, at least 1."
            )
    else:
        support = _number(min_support, "Minimum support")
        if support > 1:
            raise InvalidParameter(
                f"Minimum support is a share of the transactions, between 0 and 1 (got "
                f"{support:g}); to give a number of transactions, use a count instead."
            )
        if support <= 0:
            raise InvalidParameter(f"Minimum support must be above 0 (got {support:g}).")
    confidence = _number(min_confidence, "Minimum confidence")
    if not 0 <= confidence <= 1:
        raise InvalidParameter(f"Minimum confidence must be between 0 and 1 (got {confidence:g}).")
    if _number(min_lift, "Minimum lift") < 0:
        raise InvalidParameter(f"Minimum lift cannot be negative (got {min_lift:g}).")
    if max_len is not None:
        length = _number(max_len, "The maximum length")
        if length < 2 or not length.is_integer():
            raise InvalidParameter(
                "The maximum length must be a whole number of at least 2 items (a rule "
                "needs an item on each side)."
            )
    if algorithm not in ALGORITHMS:
        raise InvalidParameter(f"Unknown algorithm '{algorithm}': choose fpgrowth or apriori.")


def _resolve_layout(df, layout, transaction, item, columns, sep, quantity):
    """Return ``(layout, transaction, item, columns, sep, quantity)``, detecting the rest."""
    if layout is not None:
        return layout, transaction, item, columns, sep, quantity
    if transaction and item:  # the two columns of the long layout: nothing to guess
        if quantity is None:
            others = [c for c in df.columns if c not in (transaction, item)]
            quantity = returns_column(df[others].head(DETECT_ROWS))
        log.info("long layout: a transaction and an item column were given")
        return "long", transaction, item, columns, sep, quantity
    guess = detect_layout(df.head(DETECT_ROWS))
    if guess.layout is None:
        raise InvalidParameter(
            "The layout of this table was not recognised: give layout='long' (with the "
            "transaction and item columns), 'basket' or 'onehot'."
        )
    log.info("detected layout: %s", guess.reason)
    return (
        guess.layout,
        transaction or guess.transaction,
        item or guess.item,
        columns or (list(guess.columns) or None),
        sep if sep != DEFAULT_SEP else (guess.sep or sep),  # a separator given wins
        quantity or guess.quantity,
    )


def _limited_note(length: int) -> str:
    return (
        f"Itemsets were limited to {length} items so that the run fits in memory. Raise the "
        "minimum support, or set a maximum length, to choose the limit yourself."
    )


def find_rules(
    df: pd.DataFrame,
    *,
    layout: str | None = None,
    transaction: str | None = None,
    item: str | None = None,
    sep: str = DEFAULT_SEP,
    min_support: float = 0.01,
    min_confidence: float = 0.3,
    min_lift: float = 1.0,
    max_len: int | None = None,
    single_consequent: bool = True,
    columns: list[str] | None = None,
    quantity: str | None = None,
    min_count: int | None = None,
    algorithm: str = "fpgrowth",
    memory_limit_mb: float | None = None,
    progress: Progress | None = None,
) -> BasketResult:
    """Find the frequent itemsets and association rules of the transactions in ``df``.

    Args:
        df: The transactions, in one of `LAYOUTS`.
        layout: ``long``, ``basket`` or ``onehot``; None means ``long`` when both
            ``transaction`` and ``item`` are given, and detects it (`detect_layout`)
            otherwise.
        transaction: Long layout: the column identifying the transaction.
        item: Long layout: the item column (basket layout: the delimited column).
        sep: Basket layout with one column: the separator between items; a separator
            other than the default ``,`` is kept when the layout is detected.
        min_support: Minimum share of transactions holding an itemset, in (0, 1].
        min_confidence: Minimum confidence of a rule, in [0, 1].
        min_lift: Minimum lift of a rule (1 = no better than chance).
        max_len: Longest itemset mined (at least 2); None = no limit (the guard may then
            choose a limit to fit in memory, and says so in ``note``).
        single_consequent: Keep only rules with one item on the right-hand side (as the
            R package arules does).
        columns: Basket layout: the item column(s); one-hot layout: the 0/1 columns
            (default: every 0/1 column).
        quantity: Long layout: a quantity column; rows with 0 or less (returns) are left
            out. Detected with the layout when ``layout`` is None.
        min_count: Minimum support as a number of transactions (replaces ``min_support``).
        algorithm: ``fpgrowth`` (default) or ``apriori``.
        memory_limit_mb: Working memory the run may use (default 600 MB).
        progress: ``progress(step, done, total)`` called at each phase.

    Returns:
        The `BasketResult`.

    Raises:
        InvalidParameter: Impossible parameters, a layout or columns that do not match
            the data, a single transaction or a single item, or a run that cannot fit in
            memory (with the support and maximum length that would). Raised before mining.
    """
    check_parameters(
        min_support=min_support,
        min_count=min_count,
        min_confidence=min_confidence,
        min_lift=min_lift,
        max_len=max_len,
        algorithm=algorithm,
        layout=layout,
    )
    # The mining stack is heavy (scipy, mlxtend): only a run of the analysis loads it.
    import dashboard.basket._guard as guard
    import dashboard.basket._rules as mining
    from dashboard.basket._layouts import encode

    progress = progress or no_progress
    progress("Reading the transactions", 0, 4)
    layout, transaction, item, columns, sep, quantity = _resolve_layout(
        df, layout, transaction, item, columns, sep, quantity
    )
    tx = encode(
        df,
        layout,
        transaction=transaction,
        item=item,
        columns=columns,
        sep=sep,
        quantity=quantity,
    )
    n = tx.n_transactions
    if min_count is not None:
        if min_count > n:
            raise InvalidParameter(
                f"The minimum support count ({int(min_count):,}) is more than the {n:,} "
                "transactions."
            )
        min_support = int(min_count) / n
    progress("Estimating the itemsets", 1, 4)
    budget = float(memory_limit_mb or guard.DEFAULT_MEMORY_MB)
    max_len = int(max_len) if max_len else None
    checker = guard.Guard(tx.matrix, min_support)
    plan = checker.check(max_len, budget)  # refuses before mining what cannot fit
    counts = checker.counts
    items = pd.DataFrame({"item": list(tx.items), "count": counts})
    items = items[items["count"] > 0].assign(support=lambda f: f["count"] / n)
    items = items.sort_values(["count", "item"], ascending=[False, True], kind="stable")
    names = tuple(tx.items[i] for i in plan.keep)
    pruned = tx.matrix[:, plan.keep]
    empty, returned = tx.empty_transactions, tx.returned_rows
    del tx
    label = mining.ALGORITHMS[algorithm]
    progress(f"Mining frequent itemsets ({label})", 2, 4)
    used_len, note = max_len, None
    if algorithm == "apriori":
        # Apriori cannot be stopped midway: its itemsets are bounded before it starts
        used_len = checker.apriori_length(max_len, budget)
        note = _limited_note(used_len) if used_len != max_len else None
    try:
        found = mining.mine_itemsets(
            pruned,
            names,
            min_support,
            used_len,
            algorithm,
            max_itemsets=plan.max_itemsets,
            progress=progress,
        )
    except mining.ItemsetLimitReached as stop:
        shorter = checker.longest_fitting(min_support, used_len, budget) if not max_len else None
        if shorter is None or (used_len is not None and shorter >= used_len):
            raise InvalidParameter(
                f"This run finds more than {stop.limit:,} frequent itemsets, more than fit in "
                f"the {budget:,.0f} MB available, so it was stopped before memory ran out. "
                + checker.advice(max_len, budget)
            ) from None
        used_len, note = shorter, _limited_note(shorter)
        progress(f"Mining frequent itemsets of up to {shorter} items ({label})", 2, 4)
        found = mining.mine_itemsets(
            pruned, names, min_support, used_len, algorithm, max_itemsets=plan.max_itemsets
        )
    del pruned
    lengths = found["itemsets"].map(len).to_numpy() if len(found) else np.empty(0, np.int64)
    limit = guard.rules_length_limit(lengths, budget)
    if limit is not None:
        if max_len is not None or limit < 2:
            options = [f"a maximum length of {limit}"] if limit >= 2 else []
            floor = guard.rules_support_floor(found["support"].to_numpy(), lengths, budget)
            if floor is not None:
                options.append(f"a minimum support of at least {guard.format_support(floor)}")
            candidates = int(sum(guard.rule_candidates(k) for k in lengths))
            raise InvalidParameter(
                f"The {len(found):,} frequent itemsets hold up to {candidates:,} possible "
                f"rules, more than fit in the {budget:,.0f} MB available, so no rules were "
                f"generated. Try {' or '.join(options) or 'a higher minimum support'}."
            )
        found = found[lengths <= limit].reset_index(drop=True)
        used_len, note = limit, _limited_note(limit)
    progress("Generating rules", 3, 4)
    rules = mining.derive_rules(
        found,
        n,
        min_confidence=float(min_confidence),
        min_lift=float(min_lift),
        single_consequent=bool(single_consequent),
    )
    itemsets = mining.tidy_itemsets(found, n)
    del found
    progress("Rules found", 4, 4)
    return BasketResult(
        rules=rules,
        itemsets=itemsets,
        items=items.reset_index(drop=True),
        layout=layout,
        n_transactions=n,
        empty_transactions=empty,
        n_frequent_items=len(names),
        returned_rows=returned,
        parameters={
            "min_support": float(min_support),
            "min_count": int(plan.min_count),
            "min_confidence": float(min_confidence),
            "min_lift": float(min_lift),
            "max_len": used_len,
            "single_consequent": bool(single_consequent),
            "algorithm": algorithm,
        },
        note=note,
        estimate={
            "pairs": plan.pairs,
            "certain_mb": round(plan.certain_mb, 1),
            "max_itemsets": plan.max_itemsets,
            "budget_mb": round(budget, 1),
        },
    )


def result_tables(
    result: BasketResult, *, mined_rows: int | None = None, full_data: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Return ``(rules, itemsets, meta)``: the result as tables to store, and its aggregates.

    The tables read well in a spreadsheet (sides joined by ``meta["item_separator"]``);
    ``meta`` is small and JSON-able whatever the number of rules: ``counts``,
    ``parameters``, ``layout``, ``note``, ``estimate``, ``summary`` (sentences),
    ``top_items``, ``scatter``, ``network``, ``item_options``, ``item_support``
    (support of each item offered) and ``item_separator``.

    Args:
        result: From `find_rules`.
        mined_rows: Rows of the table mined, said in the summary when ``full_data``.
        full_data: The full data was mined instead of the analysis sample.
    """
    import dashboard.basket._results as tables  # pyarrow, light
    import dashboard.basket._summary as summary

    used = {
        name for side in ("antecedents", "consequents") for s in result.rules[side] for name in s
    }
    used |= {name for s in result.itemsets["itemset"] for name in s}
    sep = tables.choose_separator(used)
    options = summary.item_options(result.items, result.n_frequent_items)
    supports = dict(zip(result.items["item"], result.items["support"], strict=True))
    meta = {
        "counts": {
            "transactions": result.n_transactions,
            "items": result.n_items,
            "frequent_items": result.n_frequent_items,
            "itemsets": len(result.itemsets),
            "rules": len(result.rules),
            "empty_transactions": result.empty_transactions,
            "returned_rows": result.returned_rows,
            "rows": mined_rows,
        },
        "full_data": bool(full_data),
        "layout": result.layout,
        "parameters": result.parameters,
        "note": result.note,
        "estimate": result.estimate,
        "summary": summary.summarize(result, mined_rows=mined_rows, full_data=full_data),
        "top_items": summary.top_items(result.items),
        "scatter": summary.scatter_points(result.rules),
        "network": summary.network(result.rules),
        "item_options": options,
        "item_support": {name: float(supports[name]) for name in options},
        "item_separator": sep,
    }
    return tables.rules_table(result.rules, sep), tables.itemsets_table(result.itemsets, sep), meta
