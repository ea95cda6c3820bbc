"""The figure style every page shares, and the blank figure that says why it is blank.

Figure builders live beside their analysis (``dashboard.<area>.plots``) and import plotly;
nothing a job imports does, so job processes never load it.
"""

from __future__ import annotations

import plotly.graph_objects as go

#: The colours figures use for a single series, a reference line and a second series
#: (Bootstrap's blue, grey and orange, so charts match the page).
BLUE, GREY, MUTED, ORANGE = "#0d6efd", "#adb5bd", "#6c757d", "#fd7e14"

#: Layout every figure starts from.
BASE_LAYOUT = {
    "margin": {"l": 50, "r": 20, "t": 40, "b": 50},
    "template": "plotly_white",
    "height": 360,
}


def empty_figure(message: str) -> go.Figure:
    """Return a blank figure that says ``message``."""
    fig = go.Figure()
    fig.update_layout(
        **BASE_LAYOUT,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "font": {"size": 14}}],
    )
    return fig


def histogram_bar(
    edges: list[float], counts: list[int], hovertemplate: str, color: str = BLUE
) -> go.Bar:
    """One bar per bin of a precomputed histogram (``len(edges) == len(counts) + 1``).

    Bars sit on the bin centres and are as wide as their bins, so uneven bins draw true.
    """
    pairs = list(zip(edges[:-1], edges[1:], strict=True))
    return go.Bar(
        x=[(a + b) / 2 for a, b in pairs],
        y=counts,
        width=[b - a for a, b in pairs],
        marker_color=color,
        hovertemplate=hovertemplate,
    )
