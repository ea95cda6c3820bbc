"""Figures of the Market Basket page, from the aggregates stored with the rules.

Each function takes the small JSON-able dicts made by ``dashboard.basket._summary`` (never
rules or transactions) and returns a ``plotly.graph_objects.Figure`` whose size does not
depend on the number of rules beyond the documented caps.
"""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.figures import BLUE, empty_figure

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "template": "plotly_white",
    "height": 420,
}
_LIFT_SCALE = "Viridis"


def scatter_figure(points: dict) -> go.Figure:
    """Support × confidence of the strongest rules, sized and coloured by lift."""
    if not points or not points.get("support"):
        return empty_figure("No rules to show.")
    lift = points["lift"]
    top = max(lift) or 1.0
    # many rules overlap at low support: small markers, growing with lift
    sizes = [6 + 12 * (v / top) ** 1.5 for v in lift]
    fig = go.Figure(
        go.Scatter(
            x=points["support"],
            y=points["confidence"],
            mode="markers",
            text=points["label"],
            customdata=lift,
            marker={
                "size": sizes,
                "color": lift,
                "colorscale": _LIFT_SCALE,
                "showscale": True,
                "colorbar": {"title": {"text": "Lift"}},
                "line": {"width": 0.5, "color": "white"},
                "opacity": 0.75,
            },
            hovertemplate=(
                "%{text}<br>support %{x:.2%} · confidence %{y:.1%} · lift %{customdata:.2f}"
                "<extra></extra>"
            ),
        )
    )
    shown, total = points.get("shown", len(lift)), points.get("total", len(lift))
    title = "Support × confidence (size and colour: lift)"
    if total > shown:
        title += f" — the {shown:,} strongest of {total:,} rules"
    fig.update_layout(
        **_LAYOUT,
        title=title,
        xaxis={"title": "Support", "tickformat": ".1%"},
        yaxis={"title": "Confidence", "tickformat": ".0%"},
    )
    return fig


def network_figure(graph: dict) -> go.Figure:
    """The strongest rules as a graph: items, rule nodes (coloured by lift), arrows."""
    if not graph or not graph.get("rules"):
        return empty_figure("No rules to show.")
    edge_x, edge_y = [], []
    for e in graph["edges"]:
        edge_x += [e["x0"], e["x1"], None]
        edge_y += [e["y0"], e["y1"], None]
    rules = graph["rules"]
    items = graph["items"]
    fig = go.Figure(
        [
            go.Scatter(
                x=edge_x,
                y=edge_y,
                mode="lines",
                line={"width": 1, "color": "#adb5bd"},
                hoverinfo="skip",
                showlegend=False,
            ),
            go.Scatter(
                x=[r["x"] for r in rules],
                y=[r["y"] for r in rules],
                mode="markers",
                name="rule",
                text=[r["label"] for r in rules],
                customdata=[[r["confidence"], r["lift"]] for r in rules],
                marker={
                    "size": 11,
                    "symbol": "circle",
                    "color": [r["lift"] for r in rules],
                    "colorscale": _LIFT_SCALE,
                    "showscale": True,
                    "colorbar": {"title": {"text": "Lift"}},
                },
                hovertemplate=(
                    "%{text}<br>confidence %{customdata[0]:.1%} · lift %{customdata[1]:.2f}"
                    "<extra></extra>"
                ),
                showlegend=False,
            ),
            go.Scatter(
                x=[i["x"] for i in items],
                y=[i["y"] for i in items],
                mode="markers+text",
                name="item",
                text=[i["name"] for i in items],
                textposition="top center",
                textfont={"size": 11},
                marker={"size": 9, "color": BLUE, "symbol": "square"},
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
            ),
        ]
    )
    fig.update_layout(
        **{**_LAYOUT, "height": 520},
        title=f"The {len(rules)} strongest rules (squares: items, circles: rules)",
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


def top_items_figure(items: list[dict]) -> go.Figure:
    """Horizontal bar of the most frequent items (share of transactions)."""
    if not items:
        return empty_figure("No items.")
    fig = go.Figure(
        go.Bar(
            x=[i["support"] for i in items],
            y=[i["item"] for i in items],
            orientation="h",
            marker_color=BLUE,
            customdata=[i["count"] for i in items],
            hovertemplate="%{y}: %{x:.1%} of transactions (%{customdata:,})<extra></extra>",
        )
    )
    fig.update_layout(
        **{**_LAYOUT, "height": max(320, 22 * len(items) + 100)},
        title="Most frequent items",
        xaxis={"title": "Share of transactions", "tickformat": ".0%"},
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig
