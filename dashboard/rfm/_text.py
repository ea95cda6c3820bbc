"""The plain-language summary of an RFM result: a few rule-based sentences, no service."""

from __future__ import annotations


def money(value: float | None) -> str:
    """Format an amount for a sentence (no currency: the data does not say which)."""
    if value is None:
        return "—"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:,.2f} million"
    if abs(value) >= 1_000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _pct(value: float) -> str:
    return f"{value:.0f} %" if value >= 1 or value == 0 else f"{value:.1f} %"


def silhouette_words(score: float | None) -> str:
    """Say how well separated clusters with this silhouette are."""
    if score is None:
        return "of unknown separation"
    if score >= 0.5:
        return "well separated"
    if score >= 0.25:
        return "reasonably separated"
    return "overlapping, so treat them as rough groups"


def summary_sentences(summary: dict) -> list[str]:
    """Return 4-8 sentences on what an RFM summary (``RfmResult.summary()``) says.

    Every sentence is derived from the figures by a fixed rule: the totals, the segment
    that brings the most revenue, one-time buyers, the win-back group, recency, the
    clusters and the customers listed separately.
    """
    cards = summary["overview"]
    segments = [s for s in summary["segments"] if s["customers"]]
    sentences = [
        f"{cards['customers']:,} customers spent {money(cards['revenue'])} in total between "
        f"{summary['first_date']} and {summary['last_date']}; recency is counted from "
        f"{summary['as_of']}."
    ]
    if segments:
        top = max(segments, key=lambda s: s["revenue_share_pct"])
        sentences.append(
            f"{top['segment']} are {_pct(top['share_pct'])} of customers and bring "
            f"{_pct(top['revenue_share_pct'])} of the revenue."
        )
        largest = max(segments, key=lambda s: s["customers"])
        if largest["segment"] != top["segment"]:
            sentences.append(
                f"The largest segment is {largest['segment']} ({largest['customers']:,} "
                f"customers, {_pct(largest['share_pct'])}): {largest['action'][0].lower()}"
                f"{largest['action'][1:]}"
            )
    one_time = 100 * cards["one_time_share"]
    median_orders = cards["median_frequency"]
    times = "once" if median_orders == 1 else f"{median_orders:g} times"
    sentences.append(
        f"{_pct(one_time)} of customers ordered only once; the median customer ordered "
        f"{times} and last bought {cards['median_recency']:,.0f} days before the reference "
        "date."
    )
    top_f = cards.get("one_time_top_f", 0)
    if top_f >= 3:
        sentences.append(
            "Customers with the same number of orders are ranked by the money they spent, so "
            f"one-time buyers score F 1–{top_f}: the bigger spenders among them can fall in "
            "segments that ask for more orders, such as Loyal or At Risk."
        )
    by_name = {s["segment"]: s for s in segments}
    slipping = [by_name[n] for n in ("Cannot Lose Them", "At Risk") if n in by_name]
    if slipping:
        count = sum(s["customers"] for s in slipping)
        revenue = sum(s["revenue_share_pct"] for s in slipping)
        sentences.append(
            f"{count:,} customers who ranked high on orders have not come back for a while "
            f"(Cannot Lose Them and At Risk); they brought {_pct(revenue)} of the revenue, "
            "so a win-back campaign is the first thing to try."
        )
    clusters = summary.get("clusters")
    if clusters:
        first = clusters["profiles"][0] if clusters["profiles"] else None
        chosen = next((e for e in clusters["elbow"] if e["k"] == clusters["k"]), {})
        text = (
            f"K-Means found {clusters['k']} clusters, {silhouette_words(chosen.get('silhouette'))}"
        )
        if chosen.get("silhouette") is not None:
            text += f" (silhouette {chosen['silhouette']:.2f})"
        if clusters.get("best_k") and clusters["best_k"] != clusters["k"]:
            text += f"; k = {clusters['best_k']} separates them best"
        text += "."
        if first:
            text += (
                f" Cluster 1 ({first['customers']:,} customers: {first['description']}) "
                f"spends {money(first['mean_monetary'])} on average."
            )
        sentences.append(text)
    if cards.get("excluded"):
        sentences.append(
            f"{cards['excluded']:,} customers with a total of zero or less (returns that "
            "cancel their purchases, or no purchase with a positive amount) are not scored; "
            "they are listed separately."
        )
    return sentences
