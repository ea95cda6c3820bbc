"""R, F and M scores on ranks, so heavy ties never break the bins and scores stay balanced.

Binning the raw values (``pd.qcut(frequency, 5)``) fails or gives lopsided scores when most
customers share a value, which is the rule for frequency (most customers buy once). Here
each measure is ranked first, every customer getting a distinct rank, and the ranks are
cut into equal-sized bins (``pd.qcut(rank, bins)``, as ``rank(method="first")`` followed by
quantile bins): every score then holds the same number of customers, within one.

Ties are broken by the other two measures before falling back to the customer order, so
that among customers who bought equally often the bigger spender ranks higher:

* recency: more recent first, then more orders, then more money;
* frequency: more orders, then more money, then more recent;
* monetary: more money, then more orders, then more recent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ranks(primary: np.ndarray, *tiebreaks: np.ndarray) -> np.ndarray:
    """Return 1-based distinct ranks, ascending in ``primary`` then each tie-break.

    Remaining ties keep the input order (as ``rank(method="first")``).
    """
    n = len(primary)
    # np.lexsort sorts by the last key first.
    order = np.lexsort((np.arange(n), *reversed(tiebreaks), primary))
    out = np.empty(n, dtype=np.int64)
    out[order] = np.arange(1, n + 1)
    return out


def bin_ranks(rank: np.ndarray, bins: int) -> np.ndarray:
    """Cut distinct ranks 1..n into ``bins`` equal-sized scores 1..bins (int8).

    Raises:
        ValueError: Fewer than two ranks.
    """
    if len(rank) < 2:
        raise ValueError("Scores need at least two customers.")
    return (pd.qcut(rank, bins, labels=False) + 1).astype(np.int8)


def measure_ranks(
    recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the ranks of recency (most recent = highest), frequency and monetary."""
    recent = -np.asarray(recency, dtype=np.float64)  # fewer days since = better
    frequency = np.asarray(frequency, dtype=np.float64)
    monetary = np.asarray(monetary, dtype=np.float64)
    return (
        ranks(recent, frequency, monetary),
        ranks(frequency, monetary, recent),
        ranks(monetary, frequency, recent),
    )
