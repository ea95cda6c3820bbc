"""The figure style every page shares, and the blank figure that says why it is blank.

Figure builders live beside their analysis (``dashboard.<area>.plots``) and import plotly;
nothing a job imports does, so job processes never load it.
"""

from __future__ import annotations

import plotly.graph_objects as go

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
