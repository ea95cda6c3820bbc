"""Small layout factories shared by pages."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

#: AG Grid column options for a right-aligned count with thousands separators.
COUNT_COLUMN = {
    "type": "rightAligned",
    "valueFormatter": {"function": "params.value == null ? '' : d3.format(',')(params.value)"},
}


def card(title: str, body, **kwargs) -> dbc.Card:
    """Return a titled card with the page's spacing."""
    return dbc.Card(
        [dbc.CardHeader(title, className="fw-semibold"), dbc.CardBody(body)],
        className="mt-4 shadow-sm",
        **kwargs,
    )


def alert(message: str, color: str = "danger", **kwargs) -> dbc.Alert:
    """Return a dismissable alert with a message written for the user."""
    return dbc.Alert(message, color=color, dismissable=True, className="mb-0", **kwargs)


def format_int(value: int | None) -> str:
    """Format a count with thousands separators (``—`` for None)."""
    return "—" if value is None else f"{value:,}"


def format_bytes(value: float | None) -> str:
    """Format a byte count as KB / MB / GB."""
    if value is None:
        return "—"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(value) >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{int(value)} B"


def status_line(*parts) -> html.Span:
    """Return a muted one-line status text."""
    return html.Span(" · ".join(str(p) for p in parts if p), className="text-muted small")
