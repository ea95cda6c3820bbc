"""Small layout factories shared by pages."""

from __future__ import annotations

from dataclasses import dataclass

import dash_ag_grid as dag
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


def page_header(title: str, action=None) -> html.Div:
    """Return a page's title, with its main action (a run button) beside it if given."""
    return html.Div(
        [html.H2(title, className="mb-0 me-3"), action],
        className="d-flex align-items-center mb-3",
    )


def field(label: str, control, hint=None, md: int | None = None, **col) -> dbc.Col:
    """Return one labelled form control as a column, its hint (if any) below it.

    Args:
        label: The label above the control.
        control: The input, dropdown, slider… it labels.
        hint: A short explanation under the control (text or a component).
        md: The column's width of 12 from the medium breakpoint up; ``None`` shares the row
            equally with its siblings.
        **col: Further ``dbc.Col`` arguments.
    """
    width = {} if md is None else {"md": md}
    return dbc.Col(
        [
            dbc.Label(label, className="small fw-semibold mb-1"),
            control,
            html.Div(hint, className="form-text") if hint is not None else None,
        ],
        className="mb-2",
        **width,
        **col,
    )


@dataclass(frozen=True)
class Stat:
    """One summary card: a label, its formatted value, an optional hover text and id."""

    label: str
    value: str
    hint: str | None = None
    id: str | None = None


def stat_cards(stats: list[Stat], **kwargs) -> dbc.Row:
    """Return a row of summary cards, one per ``Stat`` (the hint shows on hover)."""
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(stat.label, className="text-muted small"),
                            html.Div(
                                stat.value,
                                className="fs-5 fw-semibold",
                                **({"title": stat.hint} if stat.hint else {}),
                                **({"id": stat.id} if stat.id else {}),
                            ),
                        ]
                    ),
                    className="h-100",
                ),
                md=True,
            )
            for stat in stats
        ],
        className="g-3",
        **kwargs,
    )


#: AG Grid column options for a right-aligned number shown with 4 significant digits.
NUMBER_COLUMN = {
    "type": "rightAligned",
    # assets/dashAgGridFunctions.js: numbers formatted, text (a date column's first and
    # last day) shown as it is
    "valueFormatter": {"function": "formatNumber(params.value, d3)"},
}


def data_grid(grid_id, rows: list[dict], columns: list[dict], *, height: int = 460, **kwargs):
    """Return a sortable, resizable AG Grid; short tables size to their rows.

    Args:
        grid_id: Component id (a string or a dict id).
        rows: Row dicts (small results only: never a dataset's rows).
        columns: AG Grid ``columnDefs``.
        height: Pixel height when the table has more than 15 rows.
        **kwargs: Further ``dag.AgGrid`` arguments (``dashGridOptions`` merge).
    """
    options = {"domLayout": "autoHeight"} if len(rows) <= 15 else {}
    options["suppressFieldDotNotation"] = True  # column names with dots are names, not paths
    options.update(kwargs.pop("dashGridOptions", {}))
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=columns,
        defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 90},
        dashGridOptions=options,
        style={} if len(rows) <= 15 else {"height": f"{height}px"},
        className="ag-theme-alpine",
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
