"""Generated shop transactions with a large catalogue, for the scale tests and the benchmark.

Real shops have a long tail: a few hundred products sell often and most of the catalogue
rarely. Baskets here mix that tail (Zipf-like popularity) with bundles of products bought
together, so frequent itemsets and rules exist at the default support, as in real data.
The same seed always gives the same transactions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def generate_transactions(
    n_transactions: int,
    n_items: int,
    *,
    mean_items: float = 8.0,
    n_bundles: int = 40,
    seed: int = 0,
) -> pd.DataFrame:
    """Return long-layout transactions: one row per (transaction, item) pair.

    Args:
        n_transactions: Baskets to generate (every one holds at least one item).
        n_items: Size of the catalogue; items are named ``item-0001`` … by popularity rank.
        mean_items: Mean number of tail items per basket (Poisson), bundles come on top.
        n_bundles: Groups of 2–5 popular items that are often bought together.
        seed: Random seed.

    Returns:
        Columns ``transaction`` (int64) and ``item`` (str), without duplicate pairs, sorted
        by transaction.
    """
    if n_transactions < 1 or n_items < 2:
        raise ValueError("Need at least one transaction and two items.")
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 1.1
    popularity /= popularity.sum()
    lengths = np.maximum(1, rng.poisson(mean_items, n_transactions))
    tail_tx = np.repeat(np.arange(n_transactions), lengths)
    tail_items = rng.choice(n_items, lengths.sum(), p=popularity)
    pool = min(n_items, 300)
    bundles = [
        rng.choice(pool, rng.integers(2, 6), replace=False) for _ in range(min(n_bundles, pool))
    ]
    bundle_of = rng.integers(0, len(bundles), n_transactions)
    has_bundle = rng.random(n_transactions) < 0.35
    bundle_tx, bundle_items = [], []
    for tx in np.flatnonzero(has_bundle):
        members = bundles[bundle_of[tx]]
        kept = members[rng.random(members.size) < 0.8]
        bundle_tx.append(np.full(kept.size, tx))
        bundle_items.append(kept)
    tx = np.concatenate([tail_tx, *bundle_tx])
    items = np.concatenate([tail_items, *bundle_items])
    pairs = np.unique(tx.astype(np.int64) * n_items + items)
    names = np.array([f"item-{i + 1:04d}" for i in range(n_items)], dtype=object)
    return pd.DataFrame(
        {"transaction": pairs // n_items, "item": pd.array(names[pairs % n_items], dtype="str")}
    )
