"""Figures of the Customer Value page, built from the stored RFM aggregates (never rows).

The scatter is the one chart that shows customers: it takes the stored sample of at most
``dashboard.rfm.SCATTER_POINTS`` customers.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import BASE_LAYOUT as _LAYOUT
from dashboard.figures import BLUE, MUTED, empty_figure
from dashboard.rfm._segments import SEGMENT_NAMES

#: One colour per segment: greens for the best customers, through blue and amber, to reds.
SEGMENT_COLORS = dict(
    zip(
        SEGMENT_NAMES,
        (
            "#198754",  # Champions
            "#20c997",  # Loyal
            "#d63384",  # Cannot Lose Them
            "#fd7e14",  # At Risk
            "#0dcaf0",  # New Customers
            "#6ea8fe",  # Potential Loyalists
            "#0d6efd",  # Promising
            "#ffc107",  # Need Attention
            "#adb5bd",  # About to Sleep
            "#dc3545",  # Lost
            "#6c757d",  # Hibernating
        ),
        strict=True,
    )
)
CLUSTER_COLORS = (
    "#0d6efd",
    "#198754",
    "#fd7e14",
    "#6f42c1",
    "#dc3545",
    "#20c997",
    "#ffc107",
    "#6c757d",
    "#d63384",
    "#0dcaf0",
)


def segment_bar(segments: list[dict]) -> go.Figure:
    """Customers per segment (rule order), labelled with their share of customers."""
    rows = [s for s in segments if s["customers"]]
    if not rows:
        return empty_figure("No segments yet.")
    fig = go.Figure(
        go.Bar(
            x=[s["customers"] for s in rows],
            y=[s["segment"] for s in rows],
            orientation="h",
            marker_color=[SEGMENT_COLORS.get(s["segment"], BLUE) for s in rows],
            text=[f"{s['share_pct']:.1f} %" for s in rows],
            textposition="auto",
            customdata=[[s["revenue_share_pct"]] for s in rows],
            hovertemplate=(
                "%{y}: %{x:,} customers<br>%{customdata[0]:.1f} % of revenue<extra></extra>"
            ),
        )
    )
    fig.update_layout(
        **{
            **_LAYOUT,
            "height": max(320, 34 * len(rows) + 90),
            "margin": {**_LAYOUT["margin"], "l": 140},
        },
        title="Customers per segment",
        xaxis_title="customers",
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def segment_treemap(segments: list[dict]) -> go.Figure:
    """Segments as tiles sized by customers, with their share of revenue."""
    rows = [s for s in segments if s["customers"]]
    if not rows:
        return empty_figure("No segments yet.")
    fig = go.Figure(
        go.Treemap(
            labels=[s["segment"] for s in rows],
            parents=[""] * len(rows),
            values=[s["customers"] for s in rows],
            marker_colors=[SEGMENT_COLORS.get(s["segment"], BLUE) for s in rows],
            customdata=[[s["share_pct"], s["revenue_share_pct"]] for s in rows],
            texttemplate=(
                "<b>%{label}</b><br>%{value:,} customers (%{customdata[0]:.1f} %)"
                "<br>%{customdata[1]:.1f} % of revenue"
            ),
            hovertemplate="%{label}: %{value:,} customers<extra></extra>",
        )
    )
    fig.update_layout(**{**_LAYOUT, "height": 420, "margin": {"l": 10, "r": 10, "t": 40, "b": 10}})
    fig.update_layout(title="Segments (tile size = customers)")
    return fig


def rf_heatmap(grid: dict) -> go.Figure:
    """R × F grid: each cell's colour is its mean monetary value, its text the customers."""
    counts = grid.get("counts") or []
    if not counts:
        return empty_figure("No scores yet.")
    text = [[f"{c:,}" if c else "" for c in row] for row in counts]
    fig = go.Figure(
        go.Heatmap(
            z=grid["mean_monetary"],
            x=[f"R {r}" for r in grid["r"]],
            y=[f"F {f}" for f in grid["f"]],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            colorbar={"title": {"text": "mean<br>monetary"}},
            customdata=counts,
            hovertemplate=(
                "%{x}, %{y}: %{customdata:,} customers<br>mean monetary %{z:,.2f}<extra></extra>"
            ),
            hoverongaps=False,
        )
    )
    fig.update_layout(
        **_LAYOUT,
        xaxis_title="recency score (higher = more recent)",
        yaxis_title="frequency score",
    )
    return fig


def customer_scatter(
    points: pd.DataFrame, *, color_by: str = "segment", total: int = 0
) -> go.Figure:
    """Recency against monetary (log scale) of the sampled customers, one trace per group.

    Args:
        points: The stored sample: ``recency``, ``frequency``, ``monetary``, ``segment``
            and ``cluster`` (when clustered).
        color_by: ``"segment"`` or ``"cluster"``.
        total: Customers in the analysis (the title says when the chart is a sample).
    """
    if points is None or points.empty:
        return empty_figure("No customers to show.")
    if color_by == "cluster" and "cluster" in points:
        groups = [(f"cluster {c}", g) for c, g in points.groupby("cluster", sort=True)]
        colors = {
            name: CLUSTER_COLORS[i % len(CLUSTER_COLORS)] for i, (name, _) in enumerate(groups)
        }
    else:
        groups = [(str(s), g) for s, g in points.groupby("segment", sort=False, observed=True)]
        order = {name: i for i, name in enumerate(SEGMENT_NAMES)}
        groups.sort(key=lambda item: order.get(item[0], 99))
        colors = SEGMENT_COLORS
    fig = go.Figure()
    for name, group in groups:
        fig.add_trace(
            go.Scattergl(
                x=group["recency"].tolist(),
                y=group["monetary"].round(2).tolist(),
                customdata=group["frequency"].tolist(),
                mode="markers",
                name=name,
                marker={"size": 5, "opacity": 0.6, "color": colors.get(name, BLUE)},
                hovertemplate=(
                    f"{name}<br>recency %{{x}} days<br>monetary %{{y:,.2f}}"
                    "<br>%{customdata} orders<extra></extra>"
                ),
            )
        )
    shown = len(points)
    title = "Recency against monetary"
    if total > shown:
        title = f"{shown:,} of {total:,} customers"
    fig.update_layout(
        **{**_LAYOUT, "height": 420},
        title=title,
        xaxis_title="recency (days since the last purchase)",
        yaxis_title="monetary (log scale)",
        yaxis={"type": "log", "dtick": 1},  # ticks at 1, 10, 100... only
        legend={"itemsizing": "constant"},
    )
    return fig


def elbow_figure(elbow: list[dict], k: int) -> go.Figure:
    """Inertia (left axis) and silhouette (right axis) for each k; the chosen k marked."""
    if not elbow:
        return empty_figure("No clusters yet.")
    ks = [e["k"] for e in elbow]
    fig = go.Figure(
        [
            go.Scatter(
                x=ks,
                y=[e["inertia"] for e in elbow],
                name="inertia (elbow)",
                mode="lines+markers",
                line_color=BLUE,
                hovertemplate="k = %{x}: inertia %{y:,.0f}<extra></extra>",
            ),
            go.Scatter(
                x=ks,
                y=[e["silhouette"] for e in elbow],
                name="silhouette",
                mode="lines+markers",
                line_color="#fd7e14",
                yaxis="y2",
                hovertemplate="k = %{x}: silhouette %{y:.3f}<extra></extra>",
            ),
        ]
    )
    fig.add_vline(x=k, line_dash="dot", line_color=MUTED, annotation_text=f"k = {k}")
    fig.update_layout(
        **_LAYOUT,
        title="Inertia and silhouette by k",
        xaxis={"title": {"text": "k (clusters)"}, "dtick": 1},
        yaxis={"title": {"text": "inertia (elbow)"}},
        yaxis2={
            "title": {"text": "silhouette (higher = better)"},
            "overlaying": "y",
            "side": "right",
            "tickformat": ".2f",
        },
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def cluster_figure(profiles: list[dict], bins: int) -> go.Figure:
    """Mean R, F and M score per cluster, side by side."""
    if not profiles:
        return empty_figure("No clusters yet.")
    names = [f"cluster {p['cluster']}" for p in profiles]
    fig = go.Figure(
        [
            go.Bar(name=label, x=names, y=[p[key] for p in profiles], marker_color=color)
            for label, key, color in (
                ("recency score", "mean_r", BLUE),
                ("frequency score", "mean_f", "#20c997"),
                ("monetary score", "mean_m", "#fd7e14"),
            )
        ]
    )
    fig.update_layout(
        **_LAYOUT,
        title="Mean scores per cluster",
        barmode="group",
        yaxis={"range": [0, bins + 0.2], "title": {"text": f"mean score (1–{bins})"}},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def clv_figure(segments: list[dict]) -> go.Figure:
    """Mean predicted CLV per segment (bars) with the segment's total in the hover."""
    rows = [s for s in segments if s["customers"]]
    if not rows:
        return empty_figure("No segments yet.")
    fig = go.Figure(
        go.Bar(
            x=[s["segment"] for s in rows],
            y=[s["mean_predicted_clv"] for s in rows],
            marker_color=[SEGMENT_COLORS.get(s["segment"], BLUE) for s in rows],
            customdata=[[s["total_predicted_clv"], s["customers"]] for s in rows],
            hovertemplate=(
                "%{x}: %{y:,.2f} per customer<br>%{customdata[0]:,.0f} in total "
                "(%{customdata[1]:,} customers)<extra></extra>"
            ),
        )
    )
    fig.update_layout(
        **_LAYOUT, title="Predicted CLV per customer, by segment", yaxis_title="predicted CLV"
    )
    return fig
