"""What the page shows of a basket result: a plain-language summary and chart aggregates.

Everything returned is small and JSON-able whatever the number of rules: top items, at most
`MAX_SCATTER_POINTS` rules for the scatter, and the `NETWORK_RULES` strongest rules as a
graph whose node positions are computed here (a spring layout), so the browser only draws.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

MAX_SCATTER_POINTS = 1_000
"""Rules drawn in the support × confidence scatter at most (the strongest by lift)."""
NETWORK_RULES = 25
"""Rules drawn in the network graph (the strongest by lift)."""
TOP_ITEMS = 20
"""Items in the top items bar."""
MAX_ITEM_OPTIONS = 2_000
"""Items offered in the filter and look-up pickers at most (the most frequent)."""


def _pct(value: float) -> str:
    """Format a share as a percentage people read easily (0.0123 → "1.2 %")."""
    pct = 100 * value
    if pct >= 10:
        return f"{pct:.0f} %"
    if pct >= 1:
        return f"{pct:.1f} %"
    return f"{pct:.2g} %"


def _and(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def rule_label(antecedents, consequents) -> str:
    """Return ``"bread, butter → jam"``."""
    return f"{', '.join(antecedents)} → {', '.join(consequents)}"


def _best_pair_confidence(itemsets: pd.DataFrame):
    """Return ``(confidence, a, b)`` of the most confident pair rule a → b, or None."""
    singles = {
        s[0]: sup
        for s, sup in zip(itemsets["itemset"], itemsets["support"], strict=True)
        if len(s) == 1
    }
    best = None
    for items, support in zip(itemsets["itemset"], itemsets["support"], strict=True):
        if len(items) != 2:
            continue
        for a, b in (items, items[::-1]):
            confidence = support / singles[a]
            if best is None or confidence > best[0]:
                best = (confidence, a, b)
    return best


def summarize(result, *, mined_rows: int | None = None, full_data: bool = False) -> list[str]:
    """Return a few sentences on what the result says, strongest findings first.

    Args:
        result: A `dashboard.basket.BasketResult`.
        mined_rows: Rows of the table mined (said when the full data was used).
        full_data: The full data was mined instead of the analysis sample.
    """
    p = result.parameters
    n = result.n_transactions
    lines = []
    source = (
        f" (all {mined_rows:,} rows of the full data, not the sample)"
        if full_data and mined_rows
        else ""
    )
    lines.append(
        f"{n:,} transactions with {result.n_items:,} distinct items were analysed{source}."
    )
    if result.returned_rows:
        lines.append(
            f"{result.returned_rows:,} rows with a quantity of 0 or less (returns) were left out."
        )
    if result.empty_transactions:
        lines.append(
            f"{result.empty_transactions:,} of them hold no item; they still count in the supports."
        )
    if result.n_frequent_items == 0:
        top = result.items.iloc[0] if len(result.items) else None
        hint = (
            f" The most frequent item, {top['item']}, is in {_pct(top['support'])} of them."
            if top is not None
            else ""
        )
        lines.append(
            f"No item is in at least {_pct(p['min_support'])} of the transactions, so there "
            f"is nothing to combine.{hint} Lower the minimum support."
        )
        return lines
    lines.append(
        f"{result.n_frequent_items:,} items reach the minimum support of "
        f"{_pct(p['min_support'])} ({p['min_count']:,} transactions); together they form "
        f"{len(result.itemsets):,} frequent itemsets and {len(result.rules):,} rules with a "
        f"confidence of at least {_pct(p['min_confidence'])} and a lift of at least "
        f"{p['min_lift']:g}."
    )
    if result.note:
        lines.append(result.note)
    rules = result.rules
    if rules.empty:
        best = _best_pair_confidence(result.itemsets)
        if best is None:
            lines.append(
                "No two items are bought together often enough to form a rule; lower the "
                "minimum support."
            )
        else:
            lines.append(
                "No rule passes the thresholds. The most reliable pair is "
                f"{best[1]} → {best[2]}, which holds in {_pct(best[0])} of the baskets with "
                f"{best[1]}: lower the minimum confidence or lift to see rules."
            )
        return lines
    top = rules.iloc[0]
    lines.append(
        f"Strongest rule: baskets with {_and(top['antecedents'])} also hold "
        f"{_and(top['consequents'])} {_pct(top['confidence'])} of the time, "
        f"{top['lift']:.1f} times as often as baskets in general ({top['count']:,} "
        "transactions)."
    )
    sure = rules.sort_values(["confidence", "support"], ascending=False, kind="stable").iloc[0]
    if sure.name != top.name:
        lines.append(
            f"Most reliable rule: {rule_label(sure['antecedents'], sure['consequents'])} "
            f"holds in {_pct(sure['confidence'])} of the baskets with "
            f"{_and(sure['antecedents'])}."
        )
    pairs = result.itemsets[result.itemsets["length"] == 2]
    if len(pairs):
        pair = pairs.iloc[0]
        lines.append(
            f"The pair bought together most often is {_and(pair['itemset'])}, in "
            f"{_pct(pair['support'])} of all transactions."
        )
    weak = int((rules["lift"] < 1.2).sum())
    if weak and weak == len(rules):
        lines.append(
            "Every rule has a lift below 1.2: the items are bought together hardly more "
            "often than by chance."
        )
    return lines


def top_items(items: pd.DataFrame, limit: int = TOP_ITEMS) -> list[dict]:
    """Return the most frequent items: ``item``, ``count``, ``support``."""
    head = items.head(limit)
    return [
        {"item": str(i), "count": int(c), "support": float(s)}
        for i, c, s in zip(head["item"], head["count"], head["support"], strict=True)
    ]


def scatter_points(rules: pd.DataFrame, limit: int = MAX_SCATTER_POINTS) -> dict:
    """Return the strongest ``limit`` rules as columns for the support × confidence scatter."""
    head = rules.head(limit)
    return {
        "support": [float(v) for v in head["support"]],
        "confidence": [float(v) for v in head["confidence"]],
        "lift": [float(v) for v in head["lift"]],
        "label": [
            rule_label(a, c) for a, c in zip(head["antecedents"], head["consequents"], strict=True)
        ],
        "shown": len(head),
        "total": len(rules),
    }


def spring_layout(n: int, edges: list[tuple[int, int]], *, iterations: int = 300, seed: int = 0):
    """Return ``(n, 2)`` positions in [-1, 1] from a Fruchterman–Reingold layout.

    Linked nodes pull together, all nodes push apart, with a cooling step; deterministic
    for a seed. Small graphs only (the network shows tens of nodes): O(n²) per iteration.
    """
    if n == 0:
        return np.zeros((0, 2))
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, (n, 2))
    k = math.sqrt(4.0 / n)  # ideal distance for an area of 2 × 2
    source = np.array([a for a, _ in edges], dtype=int)
    target = np.array([b for _, b in edges], dtype=int)
    step = 0.2
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=2), 1e-3)
        move = (delta / dist[..., None] * (k * k / dist)[..., None]).sum(axis=1)
        if source.size:
            d = pos[source] - pos[target]
            length = np.maximum(np.linalg.norm(d, axis=1), 1e-3)
            pull = d / length[:, None] * (length**2 / k)[:, None]
            np.add.at(move, source, -pull)
            np.add.at(move, target, pull)
        norm = np.maximum(np.linalg.norm(move, axis=1), 1e-9)
        pos += move / norm[:, None] * np.minimum(norm, step)[:, None]
        step *= 0.985
    pos -= pos.mean(axis=0)
    scale = np.abs(pos).max() or 1.0
    return pos / scale


def _components(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    """Return the connected components of a graph, largest first."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=len, reverse=True)


def component_layout(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """Return ``(n, 2)`` positions: each connected component laid out in its own cell.

    A spring layout of the whole graph pushes unconnected groups (shopping themes) apart
    and crams each one; laying out each component alone, then packing the components in
    rows with a cell size growing with the component, keeps every group readable.
    """
    pos = np.zeros((n, 2))
    groups = _components(n, edges)
    if not groups:
        return pos
    per_row = max(1, math.ceil(math.sqrt(len(groups))))
    x = y = row_height = 0.0
    for index, group in enumerate(groups):
        if index and index % per_row == 0:
            x, y, row_height = 0.0, y - row_height, 0.0
        local = {node: i for i, node in enumerate(group)}
        inner = [(local[a], local[b]) for a, b in edges if a in local and b in local]
        size = math.sqrt(len(group))  # cell side grows with the component
        cell = spring_layout(len(group), inner) if len(group) > 1 else np.zeros((1, 2))
        pos[group] = cell * size * 0.45 + [x + size / 2, y - size / 2]
        x += size
        row_height = max(row_height, size)
    pos -= (pos.max(axis=0) + pos.min(axis=0)) / 2
    scale = np.abs(pos).max() or 1.0
    return pos / scale


def network(rules: pd.DataFrame, limit: int = NETWORK_RULES) -> dict:
    """Return the strongest rules as a graph with server-computed positions.

    Items are nodes; each rule is a small node with edges from its antecedent items and to
    its consequent items (the "graph" view of arulesViz), so rules with several items on a
    side stay readable.

    Returns:
        ``items``: ``name``, ``x``, ``y``; ``rules``: ``label``, ``x``, ``y``, ``lift``,
        ``support``, ``confidence``; ``edges``: ``x0``, ``y0``, ``x1``, ``y1`` (item to rule
        for antecedents, rule to item for consequents).
    """
    head = rules.head(limit)
    names: dict[str, int] = {}
    for side in ("antecedents", "consequents"):
        for items in head[side]:
            for name in items:
                names.setdefault(name, len(names))
    n_items = len(names)
    edges = []
    for r, (a, c) in enumerate(zip(head["antecedents"], head["consequents"], strict=True)):
        edges += [(names[x], n_items + r) for x in a] + [(n_items + r, names[x]) for x in c]
    pos = component_layout(n_items + len(head), edges)
    return {
        "items": [
            {"name": name, "x": float(pos[i, 0]), "y": float(pos[i, 1])}
            for name, i in names.items()
        ],
        "rules": [
            {
                "label": rule_label(a, c),
                "x": float(pos[n_items + r, 0]),
                "y": float(pos[n_items + r, 1]),
                "lift": float(lift),
                "support": float(support),
                "confidence": float(conf),
            }
            for r, (a, c, lift, support, conf) in enumerate(
                zip(
                    head["antecedents"],
                    head["consequents"],
                    head["lift"],
                    head["support"],
                    head["confidence"],
                    strict=True,
                )
            )
        ],
        "edges": [
            {
                "x0": float(pos[a, 0]),
                "y0": float(pos[a, 1]),
                "x1": float(pos[b, 0]),
                "y1": float(pos[b, 1]),
            }
            for a, b in edges
        ],
    }


def item_options(items: pd.DataFrame, frequent: int, limit: int = MAX_ITEM_OPTIONS) -> list[str]:
    """Return the items offered in the pickers: the frequent ones, most frequent first."""
    return [str(i) for i in items["item"].head(min(frequent, limit))]
