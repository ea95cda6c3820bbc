"""K-Means clusters of customers on log-transformed, standardized recency, frequency, money.

RFM values are heavily skewed (a few customers order a hundred times), so each is
log-transformed (``log1p``) and standardized before K-Means; otherwise the clusters would
only split the biggest spenders. The elbow (inertia) and the silhouette are computed for
every k in ``ELBOW_KS`` so the user can judge the chosen k. The silhouette costs O(n²), so
it is computed on the same random ``SILHOUETTE_SAMPLE`` customers for every k.

Clusters are numbered by value: cluster 1 has the highest mean monetary value.

scikit-learn is imported inside the function: this module is imported by the web process,
which must never load it (it runs only in the job process).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.errors import InvalidParameter

log = logging.getLogger(__name__)

ELBOW_KS = tuple(range(2, 11))
SILHOUETTE_SAMPLE = 3_000
"""Customers the silhouette is computed on (a random sample above this, every one below).
The silhouette's cost grows with the square of this; 3,000 keeps k = 2..10 to about two
seconds while the mean's sampling error stays near 0.01."""
SILHOUETTE_WORKING_MB = 16
"""Memory (MB) for each block of pairwise distances the silhouette computes."""
ELBOW_N_INIT = 1
"""K-Means runs per k of the elbow chart (k-means++ seeding)."""
CHOSEN_N_INIT = 4
"""K-Means runs for the chosen k; the best (lowest inertia) is kept."""


@dataclass(frozen=True)
class ClusterResult:
    """K-Means clusters of the customers.

    Attributes:
        k: Number of clusters chosen.
        labels: Cluster of each customer, 1..k (1 = highest mean monetary).
        elbow: Per k tried: ``{"k", "inertia", "silhouette"}`` (silhouette None when it
            could not be computed).
        best_k: The k with the highest silhouette.
        silhouette_sample: Customers the silhouette was computed on.
        centers: Per cluster (1..k): the centre's standardized log values
            ``{"recency", "frequency", "monetary"}``.
    """

    k: int
    labels: np.ndarray
    elbow: list[dict]
    best_k: int | None
    silhouette_sample: int
    centers: list[dict]


def cluster_customers(
    recency: np.ndarray,
    frequency: np.ndarray,
    monetary: np.ndarray,
    *,
    k: int,
    ks: tuple[int, ...] = ELBOW_KS,
    silhouette_sample: int = SILHOUETTE_SAMPLE,
    random_state: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> ClusterResult:
    """Cluster customers with K-Means and measure every k of ``ks`` (elbow, silhouette).

    Args:
        recency: Days since each customer's last purchase.
        frequency: Orders per customer.
        monetary: Money per customer (positive).
        k: Clusters wanted; added to ``ks`` when missing.
        ks: The k values of the elbow and silhouette chart.
        silhouette_sample: Cap on the customers the silhouette uses.
        random_state: Seed of K-Means and of the silhouette sample.
        progress: Called as ``progress(done, total)`` after each k.

    Raises:
        InvalidParameter: Fewer distinct customers (by their R, F, M values) than ``k``.
    """
    from sklearn.pipeline import make_pipeline  # job process only
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from threadpoolctl import threadpool_limits  # installed with sklearn

    values = np.column_stack([recency, frequency, monetary]).astype(np.float64)
    scaled = make_pipeline(FunctionTransformer(np.log1p), StandardScaler()).fit_transform(values)
    distinct = len(np.unique(scaled, axis=0))
    if distinct < k or distinct < 2:
        raise InvalidParameter(
            f"Only {distinct:,} customers differ in their recency, frequency and money, so "
            f"they cannot form {k} clusters: choose a k of at most {max(distinct - 1, 1)}."
        )
    tried = sorted({*(x for x in ks if 2 <= x < min(distinct, len(values))), k})
    n = len(scaled)
    rng = np.random.default_rng(random_state)
    sample = (
        np.sort(rng.choice(n, silhouette_sample, replace=False))
        if n > silhouette_sample
        else np.arange(n)
    )
    elbow, chosen = [], None
    # One thread: with three features K-Means gains nothing from OpenMP, and its spinning
    # threads slow it down several times over when the machine is busy (measured: 100,000
    # customers, k = 2..10, 1.3 s on one thread against 9.8 s on two beside other work).
    with threadpool_limits(limits=1):
        for i, clusters in enumerate(tried):
            n_init = CHOSEN_N_INIT if clusters == k else ELBOW_N_INIT
            model, labels, entry = _fit(scaled, sample, clusters, n_init, random_state)
            if clusters == k:
                chosen = (labels, model.cluster_centers_)
            elbow.append(entry)
            if progress is not None:
                progress(i + 1, len(tried))
    labels, centers = chosen
    mean_money = pd.Series(values[:, 2]).groupby(labels).mean()
    order = mean_money.sort_values(ascending=False, kind="stable").index.to_numpy()
    relabel = np.empty(k, dtype=np.int16)
    relabel[order] = np.arange(1, k + 1)
    scored = [e for e in elbow if e["silhouette"] is not None]
    best = max(scored, key=lambda e: e["silhouette"])["k"] if scored else None
    log.info("K-Means: k=%d on %d customers; best silhouette at k=%s", k, n, best)
    return ClusterResult(
        k=k,
        labels=relabel[labels],
        elbow=elbow,
        best_k=best,
        silhouette_sample=len(sample),
        centers=[
            dict(zip(("recency", "frequency", "monetary"), map(float, centers[c]), strict=True))
            for c in order
        ],
    )


def _fit(scaled: np.ndarray, sample: np.ndarray, k: int, n_init: int, random_state: int):
    """Fit K-Means with ``k`` clusters; return the model, labels and the elbow entry."""
    from sklearn import config_context  # job process only
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import silhouette_score

    model = KMeans(n_clusters=k, n_init=n_init, random_state=random_state)
    with warnings.catch_warnings():
        # identical customers can leave fewer distinct points than k in a restart
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = model.fit_predict(scaled)
    score = None
    if len(np.unique(labels[sample])) >= 2 and len(sample) > k:
        # in blocks of 16 MB, not the whole n × n distance matrix at once (72 MB at 3,000)
        with config_context(working_memory=SILHOUETTE_WORKING_MB):
            score = float(silhouette_score(scaled[sample], labels[sample]))
    return model, labels, {"k": k, "inertia": float(model.inertia_), "silhouette": score}


def describe_scores(r: float, f: float, m: float) -> str:
    """Describe a group by its mean R, F, M scores on the 1-5 scale, in words."""

    def level(score: float, words: tuple[str, str, str, str]) -> str:
        return words[0 if score < 2 else 1 if score < 3 else 2 if score < 4 else 3]

    return ", ".join(
        [
            level(r, ("lapsed", "lapsing", "recent", "very recent")),
            level(f, ("one-off buyers", "occasional", "repeat buyers", "very frequent")),
            level(m, ("low spend", "modest spend", "good spend", "top spend")),
        ]
    )


def cluster_profiles(customers: pd.DataFrame, *, bins: int) -> list[dict]:
    """Return one row per cluster: size, shares, means, main segment and a description.

    Args:
        customers: ``recency``, ``frequency``, ``monetary``, the ``r/f/m_score``,
            ``segment``, ``predicted_clv`` and ``cluster`` per customer.
        bins: Score levels of the scheme (descriptions use scores put on a 1-5 scale).
    """
    total_customers = len(customers)
    total_revenue = float(customers["monetary"].sum()) or 1.0
    to_five = 5 / bins
    rows = []
    for number, group in customers.groupby("cluster", sort=True, observed=True):
        counts = group["segment"].value_counts()
        main = str(counts.index[0]) if len(counts) else ""
        means = {c: float(group[f"{c}_score"].mean()) for c in "rfm"}
        rows.append(
            {
                "cluster": int(number),
                "customers": len(group),
                "share_pct": round(100 * len(group) / total_customers, 1),
                "revenue_share_pct": round(100 * float(group["monetary"].sum()) / total_revenue, 1),
                "mean_recency": round(float(group["recency"].mean()), 1),
                "mean_frequency": round(float(group["frequency"].mean()), 2),
                "mean_monetary": round(float(group["monetary"].mean()), 2),
                "mean_r": round(means["r"], 2),
                "mean_f": round(means["f"], 2),
                "mean_m": round(means["m"], 2),
                "mean_predicted_clv": round(float(group["predicted_clv"].mean()), 2),
                "main_segment": main,
                "main_segment_pct": round(100 * int(counts.iloc[0]) / len(group), 1) if main else 0,
                "description": describe_scores(*(to_five * means[c] for c in "rfm")),
            }
        )
    return rows
