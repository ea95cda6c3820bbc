"""Figures of the Machine Learning page, from the stored results (aggregates, never rows).

Inputs are the results table rows (one per model), the fold scores, and the best model's
details as computed by the training job: a confusion matrix, ROC curves of at most 200
points each, at most 1,000 sampled predicted-vs-actual points, residual histogram bins, and
the top 15 permutation importances. A figure's size does not depend on the row count.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from dashboard.figures import BLUE as _BLUE
from dashboard.figures import GREY as _GREY
from dashboard.figures import ORANGE as _ORANGE
from dashboard.figures import empty_figure, histogram_bar

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "template": "plotly_white",
    "height": 380,
}


def _ranked(rows: list[dict], higher_is_better: bool) -> list[dict]:
    scored = [r for r in rows if r.get("status") == "ok" and r.get("cv_mean") is not None]
    return sorted(scored, key=lambda r: r["cv_mean"], reverse=higher_is_better)


def metric_comparison(
    rows: list[dict], metric: str, label: str, higher_is_better: bool
) -> go.Figure:
    """Horizontal bars of the cross-validated mean (± std) per model, best on top.

    The test-split value is drawn as a marker on each bar.
    """
    ranked = _ranked(rows, higher_is_better)
    if not ranked:
        return empty_figure("No model has a score yet.")
    names = [r["model"] for r in ranked]
    fig = go.Figure(
        [
            go.Bar(
                x=[r["cv_mean"] for r in ranked],
                y=names,
                orientation="h",
                name="CV mean",
                marker_color=_BLUE,
                error_x={"type": "data", "array": [r.get("cv_std") or 0 for r in ranked]},
                hovertemplate="%{y}: %{x:.4g} (cross-validated)<extra></extra>",
            ),
            go.Scatter(
                x=[r.get(metric) for r in ranked],
                y=names,
                mode="markers",
                name="Test split",
                marker={"color": _ORANGE, "size": 10, "symbol": "diamond"},
                hovertemplate="%{y}: %{x:.4g} (test split)<extra></extra>",
            ),
        ]
    )
    fig.update_yaxes(automargin=True)
    fig.update_layout(
        **{**_LAYOUT, "height": max(300, 34 * len(names) + 120)},
        title=f"{label}: cross-validated (bars), test (◆)",
        title_font_size=14,
        legend={"orientation": "h", "y": -0.15},
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def cv_boxes(cv_scores: dict, order: list[str], label: str) -> go.Figure:
    """Horizontal box plot of each model's fold scores (every fold drawn as a point)."""
    names = [m for m in order if cv_scores.get(m)]
    if not names:
        return empty_figure("No fold scores yet.")
    fig = go.Figure(
        [
            go.Box(
                x=cv_scores[m],
                name=m,
                orientation="h",
                boxpoints="all",
                jitter=0.3,
                marker_color=_BLUE,
                line_color=_BLUE,
                showlegend=False,
                hovertemplate=f"{m}: %{{x:.4g}}<extra></extra>",
            )
            for m in names
        ]
    )
    fig.update_layout(
        **{**_LAYOUT, "height": max(300, 34 * len(names) + 120)},
        title=f"{label} per fold",
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def time_vs_score(rows: list[dict], label: str) -> go.Figure:
    """Scatter of fit time (log scale) against the cross-validated score."""
    ranked = [r for r in rows if r.get("status") == "ok" and r.get("cv_mean") is not None]
    if not ranked:
        return empty_figure("No model has a score yet.")
    seconds = [max(r.get("fit_seconds") or 0, 1e-3) for r in ranked]
    low, high = math.log10(min(seconds)), math.log10(max(seconds))
    fig = go.Figure(
        go.Scatter(
            x=seconds,
            y=[r["cv_mean"] for r in ranked],
            mode="markers+text",
            text=[r["model"] for r in ranked],
            textposition="top center",
            textfont={"size": 10},
            cliponaxis=False,
            marker={"color": _BLUE, "size": 10},
            hovertemplate="%{text}<br>fit %{x:.3g} s<br>score %{y:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        **_LAYOUT,
        title="Fit time vs cross-validated score",
        xaxis_title="fit seconds (log scale)",
        yaxis_title=label,
    )
    # room for the labels of the first and last points
    fig.update_xaxes(type="log", range=[low - 0.5, high + 0.5])
    return fig


def confusion(details: dict) -> go.Figure:
    """Heatmap of the confusion matrix on the test split (rows: actual, columns: predicted)."""
    classes, matrix = details.get("classes") or [], details.get("confusion") or []
    if not classes:
        return empty_figure("No confusion matrix.")
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=classes,
            y=classes,
            colorscale="Blues",
            text=matrix,
            texttemplate="%{text}" if len(classes) <= 15 else None,
            hovertemplate="actual %{y}, predicted %{x}: %{z:,} rows<extra></extra>",
            showscale=False,
        )
    )
    fig.update_layout(
        **{**_LAYOUT, "height": max(380, 24 * len(classes) + 160)},
        title="Confusion matrix (test rows)",
        xaxis_title="predicted",
        yaxis_title="actual",
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def roc_curves(details: dict) -> go.Figure:
    """ROC curve(s) on the test split: the positive class, or one per class (one-vs-rest)."""
    curves = details.get("roc") or []
    note = details.get("roc_note") or ""
    if not curves:
        return empty_figure(note or "No ROC curve for this model on the test rows.")
    fig = go.Figure(
        [
            go.Scatter(
                x=c["fpr"],
                y=c["tpr"],
                mode="lines",
                name=f"{c['class']} (AUC {c['auc']:.3f})",
                hovertemplate="false positives %{x:.2f}<br>true positives %{y:.2f}<extra></extra>",
            )
            for c in curves
        ]
        + [
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line={"dash": "dot", "color": _GREY},
                name="chance",
                hoverinfo="skip",
            )
        ]
    )
    title = "ROC curve" if len(curves) == 1 else "ROC curves (one class against the rest)"
    if note:
        title += f"<br><sup>{note}</sup>"
    fig.update_layout(
        **_LAYOUT,
        title=title,
        xaxis_title="false positive rate",
        yaxis_title="true positive rate",
        legend={"x": 0.55, "y": 0.05},
    )
    return fig


def predicted_vs_actual(details: dict, target: str) -> go.Figure:
    """Scatter of predicted against actual values (a sample of the test rows) and y = x."""
    scatter = details.get("scatter") or {}
    actual, predicted = scatter.get("actual") or [], scatter.get("predicted") or []
    if not actual:
        return empty_figure("No predictions.")
    low, high = min(actual + predicted), max(actual + predicted)
    total = details.get("points_total", len(actual))
    shown = (
        f"{len(actual):,} of {total:,} test rows" if total > len(actual) else f"{total:,} test rows"
    )
    fig = go.Figure(
        [
            go.Scattergl(
                x=actual,
                y=predicted,
                mode="markers",
                marker={"color": _BLUE, "size": 5, "opacity": 0.6},
                name="rows",
                hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
            ),
            go.Scatter(
                x=[low, high],
                y=[low, high],
                mode="lines",
                line={"dash": "dot", "color": _GREY},
                name="perfect",
                hoverinfo="skip",
            ),
        ]
    )
    fig.update_layout(
        **_LAYOUT,
        title=f"Predicted vs actual ({shown} test rows)",
        xaxis_title=f"actual {target}",
        yaxis_title=f"predicted {target}",
        showlegend=False,
    )
    return fig


def residuals(details: dict) -> go.Figure:
    """Histogram of the residuals (actual − predicted) of every test row."""
    hist = details.get("residuals") or {}
    edges, counts = hist.get("edges") or [], hist.get("counts") or []
    if not counts:
        return empty_figure("No residuals.")
    fig = go.Figure(histogram_bar(edges, counts, "%{x:.4g}: %{y:,} rows<extra></extra>"))
    fig.add_vline(x=0, line_dash="dot", line_color=_GREY)
    fig.update_layout(
        **_LAYOUT,
        title="Residuals (actual − predicted), test rows",
        xaxis_title="residual",
        yaxis_title="rows",
        bargap=0.05,
    )
    return fig


def importance(details: dict, label: str, higher_is_better: bool = True) -> go.Figure:
    """Horizontal bars of the permutation importance (top 15, by original column).

    The importance is how much worse the ranking metric gets when the column is shuffled:
    a drop of a score, a rise of an error.
    """
    info = details.get("importance") or {}
    features = info.get("features") or []
    if not features:
        return empty_figure("No feature importance.")
    fig = go.Figure(
        go.Bar(
            x=[f["mean"] for f in features],
            y=[f["column"] for f in features],
            orientation="h",
            marker_color=_BLUE,
            error_x={"type": "data", "array": [f["std"] for f in features]},
            hovertemplate="%{y}: %{x:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        **{**_LAYOUT, "height": max(320, 26 * len(features) + 120)},
        title=(
            f"Which columns matter: {'drop' if higher_is_better else 'rise'} in {label} "
            "when a column is shuffled "
            f"({info.get('rows', 0):,} test rows, {info.get('repeats', 0)} repeats)"
        ),
        title_font_size=13,
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig
