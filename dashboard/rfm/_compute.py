"""Customer value: recency / frequency / monetary scores, segments, clusters and CLV.

* `compute_rfm` aggregates transactions per customer, scores R, F and M on ranks
  (``dashboard.rfm._scores``), names a segment per customer from the rule table
  (``dashboard.rfm._segments``) and adds the lifetime-value columns
  (``dashboard.rfm._clv``).
* `add_clusters` adds K-Means clusters with an elbow and silhouette per k
  (``dashboard.rfm._clusters``; scikit-learn is imported there, in the job only).
* `detect_columns`, `settings_from_request` and `check_columns` work from the dataset's
  column table, so a page can propose and validate a mapping without reading the data.

Definitions (per customer, from the rows with a customer, a date and an amount):

* purchases are rows with a positive amount, returns rows with a negative amount (rows of
  amount 0 are neither);
* recency = days from the last purchase to the reference date (by default the day after
  the last transaction, so the most recent customers have recency 1);
* frequency = distinct invoices among the purchases when an invoice column is given,
  otherwise purchase rows;
* monetary = purchases + returns (``returns="net"``, the default) or purchases only
  (``returns="exclude"``). Customers whose monetary total is zero or less, or who have
  no purchase, are not scored: they are listed in ``RfmResult.excluded``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from dashboard.errors import InvalidParameter
from dashboard.progress import Progress
from dashboard.rfm._clusters import (
    ELBOW_KS,
    SILHOUETTE_SAMPLE,
    ClusterResult,
    cluster_customers,
    cluster_profiles,
)
from dashboard.rfm._clv import CLV_FORMULA, ClvParameters, lifetime_value
from dashboard.rfm._columns import (
    DEFAULT_K,
    K_RANGE,
    RETURNS,
    SCHEMES,
    RfmSettings,
    check_columns,
    detect_columns,
    settings_from_request,
)
from dashboard.rfm._scores import bin_ranks, measure_ranks
from dashboard.rfm._segments import (
    SEGMENT_NAMES,
    SEGMENT_RULES,
    SegmentRule,
    assign_segments,
    rules_table,
    segment_for,
)
from dashboard.rfm._summary import (
    SCATTER_POINTS,
    overview,
    records,
    rf_grid,
    scatter_sample,
    segment_table,
    top_customers,
)
from dashboard.rfm._text import summary_sentences
from dashboard.rfm._values import Transactions, prepare_transactions

__all__ = [
    "CLV_FORMULA",
    "DEFAULT_K",
    "ELBOW_KS",
    "K_RANGE",
    "RETURNS",
    "SCATTER_POINTS",
    "SCHEMES",
    "SEGMENT_NAMES",
    "SEGMENT_RULES",
    "SILHOUETTE_SAMPLE",
    "ClusterResult",
    "ClvParameters",
    "RfmResult",
    "RfmSettings",
    "SegmentRule",
    "add_clusters",
    "check_columns",
    "compute_rfm",
    "detect_columns",
    "rules_table",
    "scatter_sample",
    "score_transactions",
    "segment_for",
    "settings_from_request",
]

log = logging.getLogger(__name__)


#: Columns of ``RfmResult.customers`` in order (``cluster`` once clusters are added).
CUSTOMER_COLUMNS = (
    "customer",
    "recency",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "segment",
    "first_purchase",
    "last_purchase",
    "lifespan_days",
    "avg_order_value",
    "orders_per_year",
    "predicted_clv",
)


@dataclass(frozen=True)
class RfmResult:
    """The outcome of an RFM analysis.

    Attributes:
        customers: One row per scored customer (columns ``CUSTOMER_COLUMNS``; ``cluster``
            after ``segment`` once `add_clusters` ran). ``recency`` in days, ``frequency``
            in orders, ``monetary`` the total; scores 1..5 (quintiles) or 1..4 (quartiles);
            ``rfm_score`` the three digits; ``segment`` a category in rule order.
        segments: One row per segment (all eleven, in rule order): counts, shares, means,
            CLV, meaning and action (see ``_rfm_summary.segment_table``).
        excluded: Customers not scored: ``customer``, ``orders``, ``purchases``,
            ``returns``, ``net_total``, ``last_purchase``, ``reason``.
        settings: The settings used.
        as_of: The reference date.
        notes: Row counts (``rows``, ``missing_customer``, ``missing_date``,
            ``missing_amount``, ``after_as_of``, ``used``), ``return_rows``,
            ``zero_rows``, ``first_date`` and ``last_date``.
        clv: The lifetime-value parameters.
        clusters: The K-Means result, once `add_clusters` ran.
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    excluded: pd.DataFrame
    settings: RfmSettings
    as_of: pd.Timestamp
    notes: dict
    clv: ClvParameters
    clusters: ClusterResult | None = None

    def summary(self) -> dict:
        """Return the JSON-able aggregates a page shows (size independent of customers).

        Keys: ``overview`` (cards), ``segments`` (the segment table as rows), ``rules``,
        ``grid`` (R × F counts and mean monetary), ``clusters`` (``k``, ``elbow``,
        ``best_k``, ``silhouette_sample``, ``profiles``) or None, ``clv`` (parameters),
        ``top_customers``, ``excluded`` (up to 20 rows), ``notes``, ``settings``,
        ``as_of``, ``first_date``, ``last_date``, ``sentences``.
        """
        out = {
            "overview": overview(self.customers, self.excluded),
            "segments": records(self.segments),
            "rules": rules_table(),
            "grid": rf_grid(self.customers, self.settings.bins),
            "clusters": None,
            "clv": self.clv.to_dict(),
            "top_customers": top_customers(self.customers),
            "excluded": records(self.excluded.sort_values("net_total"), limit=20),
            "notes": self.notes,
            "settings": self.settings.to_dict(),
            "as_of": self.as_of.date().isoformat(),
            "first_date": self.notes["first_date"],
            "last_date": self.notes["last_date"],
        }
        if self.clusters is not None:
            out["clusters"] = {
                "k": self.clusters.k,
                "elbow": self.clusters.elbow,
                "best_k": self.clusters.best_k,
                "silhouette_sample": self.clusters.silhouette_sample,
                "profiles": cluster_profiles(self.customers, bins=self.settings.bins),
            }
        out["sentences"] = summary_sentences(out)
        return out


def compute_rfm(
    df: pd.DataFrame,
    *,
    customer: str,
    date: str,
    amount: str | None,
    invoice: str | None = None,
    as_of=None,
    scheme: str = "quintile",
    quantity: str | None = None,
    unit_price: str | None = None,
    returns: str = "net",
    margin: float = 1.0,
    progress: Progress | None = None,
) -> RfmResult:
    """Score every customer of a transaction table on recency, frequency and money.

    Args:
        df: One row per transaction (or invoice line).
        customer: Column identifying the customer.
        date: Transaction date column (datetimes, or text that reads as dates).
        amount: Money per row; None to use ``quantity × unit_price``.
        invoice: Optional invoice / order id: frequency counts distinct invoices.
        as_of: Reference date (date, timestamp or ISO text); default the day after the
            last transaction. Transactions after it are left out.
        scheme: ``"quintile"`` (scores 1-5) or ``"quartile"`` (1-4). Segments always use
            fifths of the ranks, so they do not depend on the scheme.
        quantity: Quantity column, multiplied by ``unit_price`` when ``amount`` is None.
        unit_price: Unit price column (see ``quantity``).
        returns: ``"net"`` or ``"exclude"`` negative amounts.
        margin: Share of revenue that is profit (0 < margin <= 1), for the predicted CLV.
        progress: Called as ``progress(step, done, total)``.

    Returns:
        The result; ``.customers`` has one row per scored customer.

    Raises:
        InvalidParameter: Bad settings or values (see
            ``dashboard.rfm._values.prepare_transactions``), or fewer than two customers
            with a positive total.
    """
    settings = settings_from_request(
        {
            "customer": customer,
            "date": date,
            "amount": amount,
            "invoice": invoice,
            "quantity": quantity,
            "unit_price": unit_price,
            "returns": returns,
            "as_of": None if as_of is None else pd.Timestamp(as_of).date().isoformat(),
            "scheme": scheme,
            "margin": 100 * margin,
        }
    )
    return score_transactions(df, settings, progress=progress)


def score_transactions(
    df: pd.DataFrame, settings: RfmSettings, *, progress: Progress | None = None
) -> RfmResult:
    """Run `compute_rfm` with validated settings (the job calls this)."""
    started = time.perf_counter()
    if progress is not None:
        progress("Checking the values", 0, 2)
    tx = prepare_transactions(df, settings)
    if progress is not None:
        progress("Scoring customers", 1, 2)
    result = _score(tx, settings)
    log.info(
        "RFM: %d transactions, %d customers scored, %d excluded in %.2f s",
        tx.notes["used"],
        len(result.customers),
        len(result.excluded),
        time.perf_counter() - started,
    )
    return result


def add_clusters(
    result: RfmResult,
    k: int | None = None,
    *,
    ks: tuple[int, ...] = ELBOW_KS,
    silhouette_sample: int = SILHOUETTE_SAMPLE,
    progress: Callable[[int, int], None] | None = None,
) -> RfmResult:
    """Return ``result`` with a ``cluster`` column (1..k) and the clustering measures.

    Args:
        result: From `compute_rfm`.
        k: Clusters wanted (2..10); the settings' ``k`` by default.
        ks: The k values of the elbow and silhouette chart.
        silhouette_sample: Cap on the customers the silhouette is computed on.
        progress: Called as ``progress(done, total)`` after each k.

    Raises:
        InvalidParameter: ``k`` out of range, or more clusters than distinct customers.
    """
    k = result.settings.k if k is None else k
    if not K_RANGE[0] <= k <= K_RANGE[1]:
        raise InvalidParameter(
            f"The number of clusters must be a whole number from {K_RANGE[0]} to {K_RANGE[1]}."
        )
    customers = result.customers
    clusters = cluster_customers(
        customers["recency"].to_numpy(),
        customers["frequency"].to_numpy(),
        customers["monetary"].to_numpy(),
        k=k,
        ks=ks,
        silhouette_sample=silhouette_sample,
        progress=progress,
    )
    with_cluster = customers.copy()
    with_cluster.insert(with_cluster.columns.get_loc("segment") + 1, "cluster", clusters.labels)
    return replace(
        result, customers=with_cluster, settings=replace(result.settings, k=k), clusters=clusters
    )


def _day_dates(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[s]")


def _score(tx: Transactions, settings: RfmSettings) -> RfmResult:
    """Aggregate per customer, score, segment and value the customers."""
    n = tx.n_customers
    purchase = tx.amount > 0
    returned = tx.amount < 0
    buyer = tx.customer[purchase]
    if tx.invoice is not None:
        frequency = _distinct_invoices(buyer, tx.invoice[purchase], n)
    else:
        frequency = np.bincount(buyer, minlength=n)
    purchases = np.bincount(buyer, weights=tx.amount[purchase], minlength=n)
    refunds = np.bincount(tx.customer[returned], weights=tx.amount[returned], minlength=n)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, buyer, tx.day[purchase])
    np.maximum.at(last, buyer, tx.day[purchase])
    monetary = np.round(purchases + refunds if settings.returns == "net" else purchases, 4)
    scored = (frequency > 0) & (monetary > 0)
    excluded = _excluded(tx, ~scored, frequency, purchases, refunds, last)
    if scored.sum() < 2:
        raise InvalidParameter(
            "Fewer than two customers have a positive total, so there is nothing to compare: "
            "check the amount column and how returns are handled."
        )
    idx = np.flatnonzero(scored)
    recency = (tx.as_of_day - last[idx]).astype(np.int32)
    freq, money = frequency[idx].astype(np.int32), monetary[idx]
    r_rank, f_rank, m_rank = measure_ranks(recency, freq, money)
    bins = settings.bins
    scores = [bin_ranks(rank, bins) for rank in (r_rank, f_rank, m_rank)]
    fifths = scores if bins == 5 else [bin_ranks(rank, 5) for rank in (r_rank, f_rank, m_rank)]
    segment_codes = assign_segments(*fifths)
    clv, params = lifetime_value(
        freq, money, first[idx], last[idx], tx.as_of_day, margin=settings.margin
    )
    r, f, m = scores
    customers = pd.DataFrame(
        {
            "customer": tx.ids[idx],
            "recency": recency,
            "frequency": freq,
            "monetary": money,
            "r_score": r,
            "f_score": f,
            "m_score": m,
            "rfm_score": (r.astype(np.int16) * 100 + f * 10 + m).astype(str),
            "segment": pd.Categorical.from_codes(segment_codes, categories=list(SEGMENT_NAMES)),
            "first_purchase": _day_dates(first[idx]),
            "last_purchase": _day_dates(last[idx]),
            **clv,
        }
    )
    used_days = tx.day
    notes = {
        **tx.notes,
        "return_rows": int(returned.sum()),
        "zero_rows": int((tx.amount == 0).sum()),
        "first_date": str(np.datetime64(int(used_days.min()), "D")),
        "last_date": str(np.datetime64(int(used_days.max()), "D")),
    }
    return RfmResult(
        customers=customers,
        segments=segment_table(customers),
        excluded=excluded,
        settings=settings,
        as_of=pd.Timestamp(np.datetime64(tx.as_of_day, "D")),
        notes=notes,
        clv=params,
    )


def _distinct_invoices(customer: np.ndarray, invoice: np.ndarray, n: int) -> np.ndarray:
    """Count the distinct invoices of each customer; rows without an invoice count alone."""
    invoice = invoice.copy()
    missing = invoice < 0
    top = int(invoice.max(initial=-1)) + 1
    invoice[missing] = top + np.arange(int(missing.sum()))
    base = int(invoice.max(initial=0)) + 1
    pairs = np.unique(customer.astype(np.int64) * base + invoice)
    return np.bincount(pairs // base, minlength=n)


def _excluded(tx, mask, frequency, purchases, refunds, last) -> pd.DataFrame:
    """Return the customers that are not scored, with the reason."""
    idx = np.flatnonzero(mask)
    no_purchase = frequency[idx] == 0
    reason = np.where(
        no_purchase & (refunds[idx] < 0),
        "only returns",
        np.where(no_purchase, "no purchase with a positive amount", "returns cancel the purchases"),
    )
    last_days = last[idx]
    has_last = last_days > np.iinfo(np.int64).min
    last_dates = pd.Series(pd.NaT, index=range(len(idx)), dtype="datetime64[s]")
    last_dates[has_last] = _day_dates(last_days[has_last])
    net = purchases[idx] + refunds[idx]
    return pd.DataFrame(
        {
            "customer": tx.ids[idx],
            "orders": frequency[idx].astype(np.int32),
            "purchases": np.round(purchases[idx], 4),
            "returns": np.round(refunds[idx], 4),
            "net_total": np.round(net, 4),
            "last_purchase": last_dates.to_numpy(),
            "reason": reason,
        }
    )
