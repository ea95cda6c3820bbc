"""Figure builders: small plotly figures from aggregates (never from rows).

Each function takes the JSON-able aggregates computed by ``dashboard.profile`` and returns
a ``plotly.graph_objects.Figure``; the figure's size does not depend on the row count.
"""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.figures import BASE_LAYOUT as _LAYOUT
from dashboard.figures import BLUE, empty_figure, histogram_bar

#: Columns drawn in the missing-values bar at most (the worst ones).
MISSING_BARS = 60


def distribution_figure(column: str, dist: dict) -> go.Figure:
    """Histogram, top-values bar or timeline of one column, from ``profile.distribution``."""
    kind = dist.get("kind")
    if kind == "histogram":
        edges, counts = dist["edges"], dist["counts"]
        fig = go.Figure(histogram_bar(edges, counts, "%{x}<br>%{y:,} rows<extra></extra>"))
    elif kind == "bar":
        values = [str(v) for v in dist["values"]]
        counts = list(dist["counts"])
        if dist.get("other"):
            values.append("(other values)")
            counts.append(dist["other"])
        fig = go.Figure(
            go.Bar(
                x=counts,
                y=values,
                orientation="h",
                marker_color=BLUE,
                hovertemplate="%{y}: %{x:,} rows<extra></extra>",
            )
        )
        fig.update_yaxes(autorange="reversed")
    elif kind == "timeline":
        fig = go.Figure(
            go.Scatter(x=dist["periods"], y=dist["counts"], mode="lines+markers", line_color=BLUE)
        )
    else:
        return empty_figure("No values to show.")
    fig.update_layout(**_LAYOUT, title=f"Distribution of {column}", bargap=0.05)
    return fig


def correlation_figure(corr: dict) -> go.Figure:
    """Heatmap of a correlation matrix from ``profile.correlations``."""
    columns = corr.get("columns") or []
    if len(columns) < 2:
        return empty_figure("Correlations need at least two numeric columns.")
    fig = go.Figure(
        go.Heatmap(
            z=corr["matrix"],
            x=columns,
            y=columns,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            hovertemplate="%{x} × %{y}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        **{**_LAYOUT, "height": max(360, 22 * len(columns) + 120)},
        title=f"{corr.get('method', 'pearson').title()} correlation"
        + (
            f": the {len(columns)} most variable of {corr['candidates']:,} numeric columns"
            if corr.get("capped")
            else ""
        ),
    )
    return fig


def missing_figure(missing: dict) -> go.Figure:
    """Bar of missing values per column (columns with none are left out).

    Wide data shows the ``MISSING_BARS`` worst columns only, so the figure stays small.
    """
    rows = [r for r in missing.get("by_column", []) if r.get("missing")]
    if not rows:
        return empty_figure("No missing values.")
    title = "Missing values per column"
    if len(rows) > MISSING_BARS:
        title = f"Missing values: the {MISSING_BARS} worst of {len(rows):,} columns with gaps"
        rows = sorted(rows, key=lambda r: -r["pct"])[:MISSING_BARS]
    fig = go.Figure(
        go.Bar(
            x=[r["column"] for r in rows],
            y=[r["pct"] for r in rows],
            marker_color="#fd7e14",
            hovertemplate="%{x}: %{y:.1f} % missing<extra></extra>",
        )
    )
    fig.update_layout(**_LAYOUT, title=title, yaxis_title="% missing")
    return fig


def missing_pattern_figure(pattern: dict) -> go.Figure:
    """Heatmap of the most common co-missing patterns of the worst columns.

    One row per pattern (1 = missing), labelled with how many rows show it.
    """
    columns, rows = pattern.get("columns") or [], pattern.get("rows") or []
    if not columns or not rows:
        return empty_figure("No missing values.")
    labels = [f"{r['count']:,} rows" for r in rows]
    fig = go.Figure(
        go.Heatmap(
            z=[r["pattern"] for r in rows],
            x=columns,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale=[[0, "#e9ecef"], [1, "#fd7e14"]],
            showscale=False,
            hovertemplate="%{x}: %{z}<extra>%{y}</extra>",
        )
    )
    fig.update_layout(
        **{**_LAYOUT, "height": max(240, 26 * len(rows) + 120)},
        title="Which columns are missing together (orange = missing)",
    )
    fig.update_yaxes(autorange="reversed")
    return fig
