"""Frequent itemsets and association rules with mlxtend, in tidy frames.

mlxtend (FP-Growth, or Apriori in its low-memory mode) mines the pruned matrix the guard
kept; ``association_rules`` derives the rules and their measures. This module only feeds
them and tidies what they return: itemsets and rule sides become tuples of item names in
alphabetical order, and rows are sorted so the same data always gives the same frames.

mlxtend is imported here and nowhere else; this module is loaded by a job, never by the
web process.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import scipy.sparse as sp
from mlxtend.frequent_patterns import apriori, association_rules
from mlxtend.frequent_patterns import fpcommon as fpc
from mlxtend.frequent_patterns.fpgrowth import fpg_step

log = logging.getLogger(__name__)

ALGORITHMS = {"fpgrowth": "FP-Growth", "apriori": "Apriori"}

#: Measures kept from mlxtend (its names), and their names in our frames.
MEASURES = {
    "antecedent support": "antecedent_support",
    "consequent support": "consequent_support",
    "support": "support",
    "confidence": "confidence",
    "lift": "lift",
    "leverage": "leverage",
    "conviction": "conviction",
}
RULE_COLUMNS = ("antecedents", "consequents", *MEASURES.values(), "count")
ITEMSET_COLUMNS = ("itemset", "length", "support", "count")


class ItemsetLimitReached(Exception):
    """Mining stopped: more frequent itemsets than fit in memory (``limit``)."""

    def __init__(self, limit: int):
        super().__init__(f"more than {limit:,} frequent itemsets")
        self.limit = limit


def _metered(generator, limit: int | None, progress):
    """Pass FP-Growth's itemsets through, counting them; stop beyond ``limit``."""
    found = 0
    for pair in generator:
        found += 1
        if limit is not None and found > limit:
            raise ItemsetLimitReached(limit)
        if progress is not None and found % 20_000 == 0:
            progress(f"Mining frequent itemsets: {found:,} so far", 2, 4)
        yield pair


def _fpgrowth_metered(onehot, min_support, max_len, limit, progress) -> pd.DataFrame:
    """``mlxtend.frequent_patterns.fpgrowth`` with an itemset limit and progress.

    The body of mlxtend 0.25's ``fpgrowth`` with the same helpers (``setup_fptree``,
    ``fpg_step``, ``generate_itemsets``), so the itemsets are the same
    (``tests/unit/test_basket.py`` checks it); only the generator is counted on its way.
    """
    fpc.valid_input_check(onehot)
    colname_map = dict(enumerate(onehot.columns))
    tree, disabled, _ = fpc.setup_fptree(onehot, min_support)
    minsup = math.ceil(min_support * len(onehot.index))
    generator = fpg_step(tree, minsup, colname_map, max_len, 0)
    return fpc.generate_itemsets(
        _metered(generator, limit, progress),
        onehot,
        disabled,
        min_support,
        len(onehot.index),
        colname_map,
    )


def mine_itemsets(
    matrix: sp.csr_matrix,
    items: tuple[str, ...],
    min_support: float,
    max_len: int | None,
    algorithm: str = "fpgrowth",
    *,
    max_itemsets: int | None = None,
    progress=None,
) -> pd.DataFrame:
    """Return mlxtend's frequent itemsets (columns ``support``, ``itemsets``).

    Args:
        matrix: Transactions × frequent items (boolean CSR); every transaction is a row,
            empty ones included, so supports are shares of all transactions.
        items: Names of the matrix columns.
        min_support: Minimum support (share of transactions).
        max_len: Longest itemset, or None.
        algorithm: ``fpgrowth`` or ``apriori``.
        max_itemsets: Stop beyond this many itemsets (None: no limit).
        progress: ``progress(step, done, total)``, called every 20,000 itemsets.

    Raises:
        ItemsetLimitReached: More than ``max_itemsets`` itemsets.
    """
    if not items:
        return pd.DataFrame({"support": pd.Series(dtype=float), "itemsets": []})
    # Dense bool: mlxtend reads ``df.values`` even from a sparse frame, so a sparse frame
    # would only add a copy. The guard has pruned the columns to the frequent items.
    onehot = pd.DataFrame(matrix.toarray(), columns=list(items))
    if algorithm == "apriori":
        # level by level in numpy arrays (low_memory: no candidates × transactions matrix)
        found = apriori(
            onehot, min_support=min_support, use_colnames=True, max_len=max_len, low_memory=True
        )
        if max_itemsets is not None and len(found) > max_itemsets:
            raise ItemsetLimitReached(max_itemsets)
    else:
        found = _fpgrowth_metered(onehot, min_support, max_len, max_itemsets, progress)
    del onehot
    log.info("%s: %d frequent itemsets", ALGORITHMS[algorithm], len(found))
    return found.reset_index(drop=True)


def _names(values) -> list[tuple[str, ...]]:
    return [tuple(sorted(v)) for v in values]


def tidy_itemsets(found: pd.DataFrame, n_transactions: int) -> pd.DataFrame:
    """Return the itemsets as ``itemset`` (tuple), ``length``, ``support``, ``count``.

    Sorted by support (highest first), then length and names.
    """
    itemsets = _names(found["itemsets"])
    frame = pd.DataFrame(
        {
            "itemset": pd.Series(itemsets, dtype=object),
            "length": np.array([len(s) for s in itemsets], dtype=np.int64),
            "support": found["support"].to_numpy(dtype=float),
        }
    )
    frame["count"] = np.rint(frame["support"] * n_transactions).astype(np.int64)
    frame = frame.sort_values(
        ["support", "length", "itemset"], ascending=[False, True, True], kind="stable"
    )
    return frame.reset_index(drop=True)


def derive_rules(
    found: pd.DataFrame,
    n_transactions: int,
    *,
    min_confidence: float,
    min_lift: float,
    single_consequent: bool,
) -> pd.DataFrame:
    """Return the rules of mlxtend's itemsets, filtered and tidy.

    ``association_rules`` keeps the rules reaching ``min_confidence``; then rules below
    ``min_lift`` go, and with ``single_consequent`` those whose consequent holds several
    items. Columns: ``RULE_COLUMNS`` (sides as tuples of names); strongest lift first.
    """
    if found.empty or int(found["itemsets"].map(len).max()) < 2:
        return _empty_rules()
    raw = association_rules(
        found,
        num_itemsets=n_transactions,
        metric="confidence",
        min_threshold=min_confidence,
        return_metrics=list(MEASURES),
    )
    if raw.empty:
        return _empty_rules()
    keep = raw["lift"].to_numpy() >= min_lift
    if single_consequent:
        keep &= raw["consequents"].map(len).to_numpy() == 1
    raw = raw.loc[keep]
    rules = pd.DataFrame(
        {
            "antecedents": pd.Series(_names(raw["antecedents"]), dtype=object),
            "consequents": pd.Series(_names(raw["consequents"]), dtype=object),
        }
    )
    for theirs, ours in MEASURES.items():
        rules[ours] = raw[theirs].to_numpy(dtype=float)
    rules["count"] = np.rint(rules["support"] * n_transactions).astype(np.int64)
    del raw
    rules = rules.sort_values(
        ["lift", "confidence", "support", "antecedents", "consequents"],
        ascending=[False, False, False, True, True],
        kind="stable",
    )
    return rules.reset_index(drop=True)


def _empty_rules() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "antecedents": pd.Series(dtype=object),
            "consequents": pd.Series(dtype=object),
            **{name: pd.Series(dtype=float) for name in MEASURES.values()},
        }
    )
    frame["count"] = pd.Series(dtype=np.int64)
    return frame
