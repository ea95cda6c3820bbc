"""The guard around mining: drop hopeless items, refuse or adapt runs that cannot fit.

A frequent itemset can only hold frequent items, so items below the minimum support are
dropped first: this loses nothing (mlxtend ignores them too) and usually shrinks a
catalogue of thousands to a few hundred columns.

What a run needs is then known in three steps, each checked against the memory budget:

1. **Before mining** (`Guard.check`): the matrix mlxtend mines, its FP-tree (at most one
   node per purchase left), and the itemsets of one and two items, counted exactly (pairs
   with a sparse product, in blocks). A run whose certain part does not fit is refused at
   once.
2. **While mining** (``_basket_rules``): itemsets are counted as FP-Growth yields them, and
   the run stops cleanly at `Plan.max_itemsets`, before memory runs out.
3. **Before the rules** (`rules_length_limit`): the rules ``association_rules`` may keep
   are counted exactly from the itemsets (every split of each itemset).

When a run does not fit and no maximum length was asked, it is limited to the longest
itemsets that fit (and says so); otherwise it is refused, with the support and maximum
length that would fit. Those suggestions come from upper bounds of the itemset counts per
length *k*, the smallest of:

* the exact counts for *k* = 1 and 2;
* for *k* = 3, the triangles of the graph of frequent pairs;
* the Kruskal–Katona bound from the bound of length *k* − 1 (the most *k*-sets whose
  (*k* − 1)-subsets lie in a family of that size; Geerts, Goethals & Van den Bussche, "A
  tight upper bound on the number of candidate patterns", ICDM 2001);
* Σₜ C(mₜ, k) / min_count, with mₜ the frequent items of transaction *t* (each frequent
  *k*-itemset lies in at least min_count transactions), and 0 when fewer than min_count
  transactions hold *k* frequent items;
* C(n, k) for n frequent items.

The bounds are computed length by length and stop at the first one above `BOUND_CAP`
itemsets, far more than any budget holds: no run that reaches that length can fit, so the
longer ones need no bound, and the big-integer arithmetic of the Kruskal–Katona cascade
stays a few steps (45 "transactions" of thousands of items each once took it minutes).

Bounds never underestimate, so a suggested support or length always fits. The byte costs
below were measured with ``bench/basket.py`` and ``tests/unit/test_basket_guard.py``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dashboard.errors import InvalidParameter

log = logging.getLogger(__name__)

#: Bytes per cell of the dense boolean matrix mlxtend mines, counted twice: FP-Growth
#: reads ``df.values`` (a copy) while the frame is alive.
MATRIX_BYTES_PER_CELL = 2.0
#: Bytes per purchase for mlxtend's FP-tree: a node is a Python object with a children dict
#: (about 320 bytes measured), there are at most as many nodes as purchases left after
#: pruning (0.4–0.5 of them measured), and conditional trees live during the recursion.
FP_NODE_BYTES = 400.0
#: Bytes per frequent itemset: mlxtend's frozenset and support, its DataFrame, our tidy
#: copy (measured: about 900 at mlxtend's peak).
ITEMSET_BYTES = 1_200.0
#: Bytes per rule ``association_rules`` may keep (two frozensets, eight floats in a list,
#: then its frame) plus our tidy, sorted copy. Counted for every split of every itemset,
#: as if all passed the confidence: measured about 850 with all kept (retail sample,
#: support 0.0005, confidence 0: 23,777 itemsets, 442,434 rules, 385 MB).
RULE_BYTES = 1_000.0
#: Pair products above this are not counted exactly (too long); the bounds stand in.
MAX_PAIR_PRODUCTS = 300_000_000
#: Triangle counting is skipped above this many path products (Kruskal–Katona stands in).
MAX_TRIANGLE_PRODUCTS = 50_000_000
#: Columns per block of the pair count: bounds its memory to about n × 512 integers.
PAIR_BLOCK = 512
#: Mining stops beyond this many itemsets whatever the memory: more than anyone reads, and
#: the time FP-Growth and the rules take grows with them (about a minute here at this size).
MAX_ITEMSETS = 1_000_000
#: Itemset bounds stop at the first length above this (1.2 PB of itemsets at
#: ``ITEMSET_BYTES``): runs that reach it cannot fit, so longer lengths need no bound.
BOUND_CAP = 10**12
#: Default working memory of `find_rules` when no budget is given (MB).
DEFAULT_MEMORY_MB = 600.0

MB = float(1 << 20)


@dataclass(frozen=True)
class Plan:
    """What will be mined, and the limits that keep it within the budget.

    Attributes:
        keep: Column indices (into the encoded items) of the frequent items.
        min_count: Minimum support as a number of transactions.
        max_len: Longest itemset to mine (None: no limit).
        pairs: Frequent pairs (exact), or None when too costly to count.
        fixed_mb: Memory of the mined matrix and its FP-tree.
        certain_mb: ``fixed_mb`` plus the single items and pairs with their rules.
        max_itemsets: Mining stops beyond this many itemsets (they would not fit, or more
            than `MAX_ITEMSETS`).
        budget_mb: The working memory allowed.
    """

    keep: np.ndarray
    min_count: int
    max_len: int | None
    pairs: int | None
    fixed_mb: float
    certain_mb: float
    max_itemsets: int
    budget_mb: float


def frequent_columns(counts: np.ndarray, n_transactions: int, min_support: float) -> np.ndarray:
    """Return the columns whose support reaches ``min_support`` (as mlxtend computes it)."""
    return np.flatnonzero(counts / float(n_transactions) >= min_support)


def min_count_for(n_transactions: int, min_support: float) -> int:
    """Return the minimum support as a count of transactions (mlxtend's rounding)."""
    return max(1, math.ceil(min_support * n_transactions))


def _largest_top(m: int, i: int) -> int:
    """Return the largest ``a >= i`` with ``C(a, i) <= m`` (``m >= 1``)."""
    low, high = i, i + 1
    while math.comb(high, i) <= m:
        low, high = high, 2 * high
    while high - low > 1:  # C(low, i) <= m < C(high, i)
        middle = (low + high) // 2
        if math.comb(middle, i) <= m:
            low = middle
        else:
            high = middle
    return low


def kruskal_katona(m: int, k: int) -> int:
    """Return the most (k+1)-sets whose k-subsets all lie in a family of ``m`` k-sets.

    Writes ``m`` in its k-binomial (cascade) form ``C(a_k, k) + C(a_{k-1}, k-1) + …`` and
    returns ``C(a_k, k+1) + C(a_{k-1}, k) + …``.
    """
    total, i = 0, k
    while m > 0 and i >= 1:
        a = _largest_top(m, i)
        m -= math.comb(a, i)
        total += math.comb(a, i + 1)
        i -= 1
    return total


@dataclass(frozen=True)
class _PairCounts:
    """Exact supports of the item pairs reaching the lowest count considered."""

    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray
    exact: bool


def count_pairs(matrix: sp.csr_matrix, min_count: int) -> _PairCounts:
    """Count the transactions of every pair of columns with at least ``min_count`` of them.

    Skipped (``exact`` False) when the product would be too long to compute.
    """
    lengths = np.diff(matrix.indptr).astype(np.float64)
    if float((lengths**2).sum()) > MAX_PAIR_PRODUCTS:
        empty = np.empty(0, np.int64)
        return _PairCounts(empty, empty, empty, exact=False)
    as_int = matrix.astype(np.int32)
    transposed = as_int.T.tocsr()
    columns = as_int.tocsc()
    rows_out, cols_out, counts_out = [], [], []
    n = matrix.shape[1]
    for start in range(0, n, PAIR_BLOCK):
        block = (transposed @ columns[:, start : start + PAIR_BLOCK]).tocoo()
        col = block.col + start
        keep = (block.row < col) & (block.data >= min_count)
        rows_out.append(block.row[keep])
        cols_out.append(col[keep])
        counts_out.append(block.data[keep])
    return _PairCounts(
        np.concatenate(rows_out) if rows_out else np.empty(0, np.int64),
        np.concatenate(cols_out) if cols_out else np.empty(0, np.int64),
        np.concatenate(counts_out) if counts_out else np.empty(0, np.int64),
        exact=True,
    )


def _triangles(n: int, rows: np.ndarray, cols: np.ndarray) -> int | None:
    """Return the triangles of the graph with edges ``rows[i]``–``cols[i]`` (i < j).

    None when counting them would take too long (a dense graph of many items).
    """
    if rows.size < 3:
        return 0
    indegree = np.bincount(cols, minlength=n).astype(np.float64)
    outdegree = np.bincount(rows, minlength=n).astype(np.float64)
    if float((indegree * outdegree).sum()) > MAX_TRIANGLE_PRODUCTS:
        return None
    # orient each edge from the lower to the higher index: every triangle counted once
    upper = sp.csr_matrix((np.ones(rows.size, np.int64), (rows, cols)), shape=(n, n))
    return int((upper @ upper).multiply(upper).sum())


def level_bounds(
    lengths: np.ndarray,
    n_items: int,
    min_count: int,
    pairs: int | None,
    triangles: int | None,
    max_len: int | None,
) -> tuple[int, ...]:
    """Return upper bounds of the frequent itemsets of each length (see the module docs).

    The last bound may be `BOUND_CAP`, standing for "too many": the lengths after it are
    left out (a run reaching that length cannot fit whatever comes next).

    Args:
        lengths: Frequent items per transaction.
        n_items: Frequent items.
        min_count: Minimum support count.
        pairs: Exact number of frequent pairs, or None when not counted.
        triangles: Triangles of the frequent-pair graph, or None.
        max_len: Longest itemset (None: no limit).
    """
    if n_items == 0:
        return ()
    values, freq = np.unique(lengths, return_counts=True)
    by_length = [(int(v), int(f)) for v, f in zip(values, freq, strict=True)]
    # a frequent k-itemset lies in min_count transactions of at least k frequent items
    at_least = np.cumsum(freq[::-1])[::-1]  # transactions with at least values[i] items
    reachable = values[at_least >= min_count]
    longest = int(reachable.max()) if reachable.size else 0
    limit = min(longest, max_len or longest, n_items)
    levels = [n_items]
    for k in range(2, limit + 1):
        subsets = sum(f * math.comb(v, k) for v, f in by_length if v >= k)
        bound = min(subsets // min_count, math.comb(n_items, k), kruskal_katona(levels[-1], k - 1))
        if k == 2 and pairs is not None:
            bound = min(bound, pairs)
        if k == 3 and triangles is not None:
            bound = min(bound, triangles)
        if bound < 1:
            break
        levels.append(int(min(bound, BOUND_CAP)))
        if bound >= BOUND_CAP:
            break  # no run reaching this length fits: longer ones need no bound
    return tuple(levels)


def rule_candidates(length: int) -> int:
    """Return the rules ``association_rules`` tries for one itemset of ``length`` items."""
    return 2**length - 2


def fixed_mb(n_transactions: int, n_items: int, purchases: int) -> float:
    """Return the MB of the matrix mlxtend mines and of its FP-tree."""
    cells = n_transactions * n_items * MATRIX_BYTES_PER_CELL
    return (cells + purchases * FP_NODE_BYTES) / MB


def levels_mb(levels) -> float:
    """Return the MB of itemsets counted per length (index 0 = one item) and their rules."""
    itemsets = sum(levels)
    rules = sum(count * rule_candidates(k + 1) for k, count in enumerate(levels))
    return (itemsets * ITEMSET_BYTES + rules * RULE_BYTES) / MB


@dataclass(frozen=True)
class _Scenario:
    keep: np.ndarray
    min_count: int
    purchases: int
    pairs: int | None
    levels: tuple[int, ...]

    def fixed_mb(self, n_transactions: int) -> float:
        return fixed_mb(n_transactions, self.keep.size, self.purchases)

    def bound_mb(self, n_transactions: int) -> float:
        return self.fixed_mb(n_transactions) + levels_mb(self.levels)

    def certain_mb(self, n_transactions: int, max_len: int | None) -> float:
        known = [self.keep.size]
        if self.pairs is not None and (max_len is None or max_len >= 2):
            known.append(self.pairs)
        return self.fixed_mb(n_transactions) + levels_mb(known)


class Guard:
    """Estimates runs on one transaction matrix at various supports and lengths.

    Args:
        matrix: Transactions × items, boolean CSR.
        min_support: The user's minimum support: the lowest one considered. Pairs are
            counted once, at this support, and filtered for higher ones.
    """

    def __init__(self, matrix: sp.csr_matrix, min_support: float):
        self.matrix = matrix
        self.n_transactions = int(matrix.shape[0])
        self.min_support = min_support
        self.counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.int64)
        self._base_keep = frequent_columns(self.counts, self.n_transactions, min_support)
        # one below the rounded count: a float support may admit a pair one count lower
        lowest_count = min_count_for(self.n_transactions, min_support) - 1
        self._pairs = count_pairs(matrix[:, self._base_keep], max(1, lowest_count))

    def scenario(self, min_support: float, max_len: int | None) -> _Scenario:
        """Return the bounds of a run at ``min_support`` (≥ the user's) and ``max_len``."""
        n = self.n_transactions
        keep = frequent_columns(self.counts, n, min_support)
        min_count = min_count_for(n, min_support)
        sub = self.matrix[:, keep]
        pairs = triangles = None
        if self._pairs.exact:
            # pairs were counted among the base columns; map them to positions in ``keep``
            position = np.full(self.counts.size, -1, np.int64)
            position[keep] = np.arange(keep.size)
            rows = position[self._base_keep[self._pairs.rows]]
            cols = position[self._base_keep[self._pairs.cols]]
            reaches = self._pairs.counts / float(n) >= min_support  # as mlxtend filters
            frequent = reaches & (rows >= 0) & (cols >= 0)
            pairs = int(frequent.sum())
            triangles = _triangles(keep.size, rows[frequent], cols[frequent])
        levels = level_bounds(np.diff(sub.indptr), keep.size, min_count, pairs, triangles, max_len)
        return _Scenario(keep, min_count, int(sub.nnz), pairs, levels)

    def longest_fitting(self, min_support: float, up_to: int | None, budget_mb: float):
        """Return the longest maximum length (≥ 2) whose bound fits, or None."""
        first = self.scenario(min_support, up_to)
        for length in range(min(len(first.levels), up_to or len(first.levels)), 1, -1):
            if self.scenario(min_support, length).bound_mb(self.n_transactions) <= budget_mb:
                return length
        return None

    def suggested_support(self, max_len: int | None, budget_mb: float) -> float | None:
        """Return the lowest support (on a ×1.25 grid) whose bound fits, or None."""
        support = self.min_support
        while support < 1.0:
            support = min(1.0, support * 1.25)
            if self.scenario(support, max_len).bound_mb(self.n_transactions) <= budget_mb:
                return support
        return None

    def advice(self, max_len: int | None, budget_mb: float) -> str:
        """Return "Try a minimum support of at least X or a maximum length of K."."""
        options = self.options(max_len, budget_mb)
        if not options:
            return "Try a higher minimum support or fewer items."
        return f"Try {' or '.join(options)}."

    def options(self, max_len: int | None, budget_mb: float) -> list[str]:
        """Return the changes that would fit: a higher support, a shorter maximum length."""
        options = []
        support = self.suggested_support(max_len, budget_mb)
        if support is not None:
            options.append(f"a minimum support of at least {format_support(support)}")
        length = self.longest_fitting(self.min_support, max_len, budget_mb)
        if length is not None and (max_len is None or length < max_len):
            options.append(f"a maximum length of {length}")
        return options

    def apriori_length(self, max_len: int | None, budget_mb: float) -> int | None:
        """Return the maximum length Apriori may run with, or refuse it.

        Apriori cannot be stopped midway, so its itemsets are bounded before it starts: a
        run without a maximum length is limited to the longest itemsets whose bound fits.

        Raises:
            InvalidParameter: Not even the asked length (or pairs) fits.
        """
        n = self.n_transactions

        def needed(length):
            scenario = self.scenario(self.min_support, length)
            itemsets = sum(scenario.levels) * ITEMSET_BYTES / MB
            return scenario.fixed_mb(n) + itemsets, scenario

        total, scenario = needed(max_len)
        if total <= budget_mb:
            return max_len
        if max_len is None:
            for length in range(len(scenario.levels) - 1, 1, -1):
                if needed(length)[0] <= budget_mb:
                    return length
        options = ["FP-Growth", *self.options(max_len, budget_mb)]
        raise InvalidParameter(
            f"Apriori could find up to {sum(scenario.levels):,} itemsets here, more than fit "
            f"in the {budget_mb:,.0f} MB available, so it was not started. "
            f"Try {' or '.join(options)}."
        )

    def check(self, max_len: int | None, budget_mb: float) -> Plan:
        """Return the plan at the user's support, or refuse a run that cannot fit.

        Raises:
            InvalidParameter: The certain part of the run (matrix, FP-tree, items and
                pairs) does not fit in ``budget_mb``; the message says what would.
        """
        n = self.n_transactions
        chosen = self.scenario(self.min_support, max_len)
        certain = chosen.certain_mb(n, max_len)
        if certain > budget_mb:
            what = (
                f"{chosen.pairs:,} frequent pairs"
                if chosen.pairs
                else f"{chosen.keep.size:,} frequent items"
            )
            raise InvalidParameter(
                f"This run would need about {certain:,.0f} MB for {what} alone, more than "
                f"the {budget_mb:,.0f} MB available, so it was not started. "
                + self.advice(max_len, budget_mb)
            )
        fixed = chosen.fixed_mb(n)
        max_itemsets = min(MAX_ITEMSETS, max(0, int((budget_mb - fixed) * MB / ITEMSET_BYTES)))
        log.info(
            "basket guard: %d frequent items, %s pairs, itemset bounds %s, %.0f MB certain "
            "of %.0f MB",
            chosen.keep.size,
            chosen.pairs,
            chosen.levels,
            certain,
            budget_mb,
        )
        return Plan(
            keep=chosen.keep,
            min_count=chosen.min_count,
            max_len=max_len,
            pairs=chosen.pairs,
            fixed_mb=fixed,
            certain_mb=certain,
            max_itemsets=max_itemsets,
            budget_mb=budget_mb,
        )


def rules_length_limit(lengths: np.ndarray, budget_mb: float) -> int | None:
    """Return the longest itemset length whose rules fit, or None when all fit.

    Args:
        lengths: The length of every frequent itemset mined.
        budget_mb: Memory for the itemsets and the rules ``association_rules`` may keep.

    Returns:
        None when the rules of every itemset fit; else the largest ``L`` such that the
        itemsets of at most ``L`` items and their rules fit (0 when not even pairs fit).
    """
    if lengths.size == 0:
        return None
    per_length = np.bincount(lengths.astype(np.int64))
    levels = [int(c) for c in per_length[1:]]
    if levels_mb(levels) <= budget_mb:
        return None
    for longest in range(len(levels) - 1, 0, -1):
        if levels_mb(levels[:longest]) <= budget_mb:
            return longest
    return 0


def format_support(value: float) -> str:
    """Format a suggested support rounded up, with two significant digits."""
    digits = max(2, 1 - math.floor(math.log10(value))) if value > 0 else 2
    return f"{math.ceil(value * 10**digits - 1e-9) / 10**digits:.{digits}f}"


def rules_support_floor(supports: np.ndarray, lengths: np.ndarray, budget_mb: float):
    """Return the lowest support whose itemsets and rules fit, from the mined itemsets.

    Exact: the frequent itemsets at a higher support are those mined with a support at
    least as high. None when not even the most frequent itemset fits.
    """
    order = np.argsort(-supports, kind="stable")
    ordered = supports[order]
    cost = ITEMSET_BYTES + (2.0 ** lengths[order] - 2) * RULE_BYTES
    total = np.cumsum(cost) / MB
    # a support keeps a whole group of equal supports: cut only between groups
    ends = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))
    fitting = ends[total[ends] <= budget_mb]
    if fitting.size == 0:
        return None
    return float(ordered[fitting[-1]])
