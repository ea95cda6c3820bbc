"""Customer Value (RFM) page layout: column mapping, then scores, segments, clusters, CLV."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import Rfm as IDS
from components.widgets import (
    COUNT_COLUMN,
    NUMBER_COLUMN,
    Stat,
    card,
    data_grid,
    field,
    format_int,
    page_header,
    stat_cards,
)
from dashboard.rfm import CLV_FORMULA, DEFAULT_K, K_RANGE, money, rules_table

GRAPH_CONFIG = {"displaylogo": False}
PCT_COLUMN = {
    "type": "rightAligned",
    "valueFormatter": {
        "function": "params.value == null ? '' : d3.format('.1f')(params.value) + ' %'"
    },
    "minWidth": 95,
}
MONEY_COLUMN = {
    "type": "rightAligned",
    "valueFormatter": {"function": "params.value == null ? '' : d3.format(',.2f')(params.value)"},
    "minWidth": 125,
}
SCORE_COLUMN = {
    "type": "rightAligned",
    "valueFormatter": {"function": "params.value == null ? '' : d3.format('.2f')(params.value)"},
    "minWidth": 85,
}
TEXT_COLUMN = {
    "wrapText": True,
    "autoHeight": True,
    "minWidth": 170,
    "flex": 3,
    # AG Grid's line height is the row height: wrapped lines would sit a row apart
    "cellStyle": {"lineHeight": "1.4", "paddingTop": "8px", "paddingBottom": "8px"},
}


def _columns(columns: list[dict]) -> list[dict]:
    """Let long headers wrap instead of being cut ("Revenue sh…"), counts wide enough."""
    return [
        {
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
            **({"minWidth": 100} if c.get("type") == "rightAligned" else {}),
            **c,
        }
        for c in columns
    ]


def _dropdown(ident: str, placeholder: str, clearable: bool = False) -> dcc.Dropdown:
    return dcc.Dropdown(id=ident, options=[], placeholder=placeholder, clearable=clearable)


def settings_card() -> html.Div:
    """Return the column mapping and options (their choices are filled from the data)."""
    return html.Div(
        card(
            "Columns and options",
            [
                dbc.Row(
                    [
                        field("Customer", _dropdown(IDS.CUSTOMER, "Customer id column"), md=3),
                        field("Transaction date", _dropdown(IDS.DATE, "Date column"), md=3),
                        field(
                            "Amount",
                            _dropdown(IDS.AMOUNT, "Amount column", clearable=True),
                            "Money per row. Leave empty to use quantity × unit price.",
                            md=3,
                        ),
                        field(
                            "Invoice / order id (optional)",
                            _dropdown(IDS.INVOICE, "None: each row is an order", clearable=True),
                            "Frequency counts distinct invoices; without one, rows.",
                            md=3,
                        ),
                    ],
                    className="g-3",
                ),
                dbc.Row(
                    [
                        field(
                            "Quantity (optional)",
                            _dropdown(IDS.QUANTITY, "Quantity column", clearable=True),
                            md=3,
                        ),
                        field(
                            "Unit price (optional)",
                            _dropdown(IDS.UNIT_PRICE, "Unit price column", clearable=True),
                            "Used only when no amount column is chosen.",
                            md=3,
                        ),
                        field(
                            "Reference date",
                            dbc.Input(id=IDS.AS_OF, type="date", size="sm"),
                            "Empty: the day after the last transaction. Later transactions "
                            "are left out.",
                            md=3,
                        ),
                        field(
                            "Returns (negative amounts)",
                            dbc.RadioItems(
                                id=IDS.RETURNS,
                                value="net",
                                options=[
                                    {"label": "Net them per customer", "value": "net"},
                                    {"label": "Leave them out", "value": "exclude"},
                                ],
                            ),
                            md=3,
                        ),
                    ],
                    className="g-3",
                ),
                dbc.Row(
                    [
                        field(
                            "Scores",
                            dbc.RadioItems(
                                id=IDS.SCHEME,
                                value="quintile",
                                inline=True,
                                options=[
                                    {"label": "Quintiles (1–5)", "value": "quintile"},
                                    {"label": "Quartiles (1–4)", "value": "quartile"},
                                ],
                            ),
                            md=3,
                        ),
                        field(
                            "Clusters (k)",
                            dbc.Input(
                                id=IDS.K,
                                type="number",
                                min=K_RANGE[0],
                                max=K_RANGE[1],
                                step=1,
                                value=DEFAULT_K,
                                size="sm",
                            ),
                            f"K-Means groups, {K_RANGE[0]}–{K_RANGE[1]}.",
                            md=2,
                        ),
                        field(
                            "Profit margin (%)",
                            dbc.Input(
                                id=IDS.MARGIN,
                                type="number",
                                min=1,
                                max=100,
                                step=1,
                                value=100,
                                size="sm",
                            ),
                            "For the predicted CLV; 100 = revenue.",
                            md=2,
                        ),
                    ],
                    className="g-3",
                ),
            ],
        ),
        id=IDS.SETTINGS,
    )


def layout() -> html.Div:
    """Return the Customer Value page (its choices and results come from the store)."""
    return html.Div(
        [
            page_header(
                "Customer Value (RFM)",
                dbc.Button("Run the analysis", id=IDS.RUN, color="primary", size="sm"),
            ),
            html.P(
                "Scores every customer on recency (how recently they bought), frequency (how "
                "often) and monetary value (how much), names a segment for each, groups them "
                "with K-Means and estimates their lifetime value.",
                className="text-muted",
            ),
            html.Div(id=IDS.STATUS),
            settings_card(),
            html.Div(id=IDS.CONTENT),
            rules_card(),
        ]
    )


def status(message, color: str = "info") -> dbc.Alert:
    """Return a note above the results (none yet, stale, sampled data...)."""
    return dbc.Alert(message, color=color, className="py-2 mb-2")


def no_data_status() -> dbc.Alert:
    """Return the note shown without a dataset, with the sample to try."""
    return status(
        [
            "Load a dataset of transactions on the Data page first (one row per purchase, "
            "with a customer, a date and an amount), or try the generated grocery "
            "transactions: ",
            dbc.Button(
                "Load the grocery sample",
                id=IDS.LOAD_SAMPLE,
                size="sm",
                color="primary",
                outline=True,
                className="ms-1",
            ),
        ]
    )


def overview_cards(overview: dict, as_of: str) -> html.Div:
    """Return the summary cards."""
    return html.Div(cards(overview, as_of), className="mt-4")


def cards(overview: dict, as_of: str) -> dbc.Row:
    """Return the row of summary cards."""
    return stat_cards(
        [
            Stat(
                "Customers",
                format_int(overview.get("customers_total", overview.get("customers"))),
                hint=f"{overview.get('customers', 0):,} scored; {overview.get('excluded', 0):,} "
                "not scored (a total of zero or less).",
            ),
            Stat("Revenue", money(overview.get("revenue"))),
            Stat(
                "Median recency",
                f"{overview.get('median_recency', 0):,.0f} days",
                hint=f"Days from the last purchase to the reference date ({as_of}).",
            ),
            Stat("Median frequency", _orders(overview.get("median_frequency", 0))),
            Stat("Median monetary", money(overview.get("median_monetary"))),
            Stat(
                "Mean predicted CLV",
                money(overview.get("mean_predicted_clv")),
                hint=CLV_FORMULA,
            ),
        ],
        id=IDS.CARDS,
    )


def _orders(n: float) -> str:
    return "1 order" if n == 1 else f"{n:g} orders"


def summary_card(sentences: list[str], notes: list[str]) -> html.Div:
    """Return the plain-language summary and the notes on the data used."""
    return card(
        "Summary",
        [
            html.Ul([html.Li(s) for s in sentences], className="mb-2"),
            html.Ul([html.Li(n) for n in notes], className="small text-muted mb-0")
            if notes
            else None,
        ],
        id=IDS.SUMMARY,
    )


def segments_card(segments: list[dict]) -> html.Div:
    """Return the segment chart (bar or treemap) and the segment table."""
    columns = [
        {"field": "segment", "headerName": "Segment", "pinned": "left", "minWidth": 150},
        {"field": "customers", "headerName": "Customers", **COUNT_COLUMN},
        {"field": "share_pct", "headerName": "Share", **PCT_COLUMN},
        {"field": "revenue_share_pct", "headerName": "Revenue share", **PCT_COLUMN},
        {"field": "mean_r", "headerName": "Mean R", **SCORE_COLUMN},
        {"field": "mean_f", "headerName": "Mean F", **SCORE_COLUMN},
        {"field": "mean_m", "headerName": "Mean M", **SCORE_COLUMN},
        {"field": "meaning", "headerName": "What it means", **TEXT_COLUMN},
        {"field": "action", "headerName": "Suggested action", **TEXT_COLUMN},
    ]
    return card(
        "Segments",
        [
            dbc.RadioItems(
                id=IDS.SEGMENT_KIND,
                value="bar",
                inline=True,
                options=[
                    {"label": "Bar chart", "value": "bar"},
                    {"label": "Treemap", "value": "treemap"},
                ],
            ),
            dcc.Graph(id=IDS.SEGMENT_GRAPH, config=GRAPH_CONFIG),
            data_grid(IDS.SEGMENT_GRID, segments, _columns(columns)),
        ],
    )


def charts_row(grid_figure, shown: int, customers: int) -> dbc.Row:
    """Return the R × F grid beside the customer scatter (coloured by segment or cluster).

    Args:
        grid_figure: The R × F heatmap.
        shown: Customers in the scatter's sample.
        customers: Customers scored (the scatter says when it shows a sample).
    """
    sampled = f" ({shown:,} of {customers:,}, chosen at random)" if customers > shown else ""
    return dbc.Row(
        [
            dbc.Col(
                card(
                    "Recency × frequency: customers per cell, coloured by mean monetary",
                    dcc.Graph(figure=grid_figure, id=IDS.GRID_GRAPH, config=GRAPH_CONFIG),
                ),
                lg=6,
            ),
            dbc.Col(
                card(
                    f"Customers{sampled}",
                    [
                        dbc.RadioItems(
                            id=IDS.SCATTER_COLOR,
                            value="segment",
                            inline=True,
                            options=[
                                {"label": "Colour by segment", "value": "segment"},
                                {"label": "Colour by cluster", "value": "cluster"},
                            ],
                        ),
                        dcc.Graph(id=IDS.SCATTER_GRAPH, config=GRAPH_CONFIG),
                    ],
                ),
                lg=6,
            ),
        ],
        className="g-3",
    )


def _silhouette_note(clusters: dict) -> str:
    sample = clusters["silhouette_sample"]
    total = sum(p["customers"] for p in clusters.get("profiles", []))
    if total and sample >= total:
        return f"The silhouette is computed on all {sample:,} customers."
    return f"The silhouette is computed on {sample:,} customers chosen at random."


def clusters_card(clusters: dict | None, elbow_figure, profile_figure) -> html.Div:
    """Return the elbow / silhouette chart and the cluster profiles."""
    if not clusters:
        return card("Clusters (K-Means)", html.P("No clusters in this result.", className="mb-0"))
    columns = [
        {"field": "cluster", "headerName": "Cluster", "pinned": "left", "maxWidth": 110},
        {"field": "description", "headerName": "Profile", **TEXT_COLUMN, "minWidth": 200},
        {"field": "customers", "headerName": "Customers", **COUNT_COLUMN},
        {"field": "share_pct", "headerName": "Share", **PCT_COLUMN},
        {"field": "revenue_share_pct", "headerName": "Revenue share", **PCT_COLUMN},
        {"field": "mean_recency", "headerName": "Recency (days)", **NUMBER_COLUMN},
        {"field": "mean_frequency", "headerName": "Orders", **NUMBER_COLUMN},
        {"field": "mean_monetary", "headerName": "Monetary", **MONEY_COLUMN},
        {"field": "mean_predicted_clv", "headerName": "Predicted CLV", **MONEY_COLUMN},
        {"field": "main_segment", "headerName": "Main segment", "minWidth": 150},
        {"field": "main_segment_pct", "headerName": "of cluster", **PCT_COLUMN},
    ]
    return card(
        f"Clusters (K-Means, k = {clusters['k']})",
        [
            html.P(
                "K-Means on log-transformed, standardized recency, frequency and monetary "
                f"values. {_silhouette_note(clusters)} Clusters are numbered by mean "
                "monetary value, highest first.",
                className="small text-muted",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Graph(figure=elbow_figure, id=IDS.ELBOW_GRAPH, config=GRAPH_CONFIG),
                        lg=6,
                    ),
                    dbc.Col(
                        dcc.Graph(figure=profile_figure, id=IDS.CLUSTER_GRAPH, config=GRAPH_CONFIG),
                        lg=6,
                    ),
                ],
                className="g-3",
            ),
            data_grid(IDS.CLUSTER_GRID, clusters["profiles"], _columns(columns)),
        ],
    )


def clv_card(segments: list[dict], top: list[dict], clv: dict, clv_figure) -> html.Div:
    """Return the lifetime value per segment and the top customers."""
    per_segment = [s for s in segments if s["customers"]]
    segment_columns = [
        {"field": "segment", "headerName": "Segment", "pinned": "left", "minWidth": 160},
        {"field": "customers", "headerName": "Customers", **COUNT_COLUMN},
        {"field": "mean_recency", "headerName": "Mean recency (days)", **NUMBER_COLUMN},
        {"field": "mean_frequency", "headerName": "Orders per customer", **NUMBER_COLUMN},
        {"field": "mean_monetary", "headerName": "Historic value per customer", **MONEY_COLUMN},
        {"field": "revenue", "headerName": "Historic value (total)", **MONEY_COLUMN},
        {"field": "avg_order_value", "headerName": "Avg order value", **MONEY_COLUMN},
        {"field": "mean_predicted_clv", "headerName": "Predicted CLV per customer", **MONEY_COLUMN},
        {"field": "total_predicted_clv", "headerName": "Predicted CLV (total)", **MONEY_COLUMN},
    ]
    top_columns = [
        {"field": "customer", "headerName": "Customer", "pinned": "left"},
        {"field": "segment", "headerName": "Segment", "minWidth": 165},
        {"field": "recency", "headerName": "Recency (days)", **COUNT_COLUMN},
        {"field": "frequency", "headerName": "Orders", **COUNT_COLUMN},
        {"field": "monetary", "headerName": "Historic value", **MONEY_COLUMN},
        {"field": "avg_order_value", "headerName": "Avg order value", **MONEY_COLUMN},
        {"field": "orders_per_year", "headerName": "Orders per year", **NUMBER_COLUMN},
        {"field": "predicted_clv", "headerName": "Predicted CLV", **MONEY_COLUMN},
    ]
    margin = clv.get("margin", 1.0)
    return card(
        "Customer lifetime value",
        [
            html.P(clv.get("formula", CLV_FORMULA), className="small mb-1"),
            html.P(
                f"Here: {100 * clv.get('repeat_rate', 0):.1f} % of customers ordered more than "
                f"once, so the churn rate is {100 * clv.get('churn_rate', 0):.1f} % and the "
                f"expected lifetime {clv.get('expected_lifetime_years', 0):.2f} years; margin "
                f"{100 * margin:.0f} %"
                + (" (the prediction is revenue, not profit)." if margin >= 1 else "."),
                className="small text-muted",
            ),
            dcc.Graph(figure=clv_figure, id=IDS.CLV_GRAPH, config=GRAPH_CONFIG),
            data_grid(IDS.CLV_GRID, per_segment, _columns(segment_columns)),
            html.H6("Top customers by predicted CLV", className="mt-4"),
            data_grid(IDS.TOP_GRID, top, _columns(top_columns)),
        ],
    )


def excluded_card(count: int, rows: list[dict]) -> html.Div | None:
    """Return the customers that were not scored (non-positive total), when there are any."""
    if not count:
        return None
    columns = [
        {"field": "customer", "headerName": "Customer", "pinned": "left"},
        {"field": "reason", "headerName": "Why not scored", **TEXT_COLUMN},
        {"field": "orders", "headerName": "Orders", **COUNT_COLUMN},
        {"field": "purchases", "headerName": "Purchases", **MONEY_COLUMN},
        {"field": "returns", "headerName": "Returns", **MONEY_COLUMN},
        {"field": "net_total", "headerName": "Net total", **MONEY_COLUMN},
        {"field": "last_purchase", "headerName": "Last purchase"},
    ]
    shown = (
        f" (the {len(rows)} lowest net totals below; all in the download)"
        if count > len(rows)
        else ""
    )
    return card(
        f"Not scored: {count:,} customers with a total of zero or less",
        [
            html.P(
                "Their returns cancel their purchases, or they have no purchase with a positive "
                f"amount, so they cannot be ranked on money spent{shown}.",
                className="small text-muted",
            ),
            data_grid(IDS.EXCLUDED_GRID, rows, _columns(columns)),
        ],
        id=IDS.EXCLUDED,
    )


def downloads_card(links: dict[tuple[str, str], str], labels: dict[str, str]) -> html.Div:
    """Return the download buttons of the result tables (CSV and Excel)."""
    names = {"csv": "CSV", "xlsx": "Excel"}
    rows = []
    for item, label in labels.items():
        buttons = [
            dbc.Button(
                names[fmt],
                href=links[(item, fmt)],
                external_link=True,
                outline=True,
                color="primary",
                size="sm",
                className="me-2",
                id={"type": IDS.DOWNLOAD, "file": item, "format": fmt},
            )
            for fmt in ("csv", "xlsx")
            if (item, fmt) in links
        ]
        rows.append(html.Div([html.Span(label, className="me-3"), *buttons], className="mb-2"))
    return card("Download the results", rows, id=IDS.DOWNLOADS)


def rules_card() -> html.Div:
    """Return the segment rule table, as evaluated (first matching row wins)."""
    columns = [
        {"field": "order", "headerName": "#", "maxWidth": 70},
        {"field": "segment", "headerName": "Segment", "minWidth": 160},
        {"field": "r", "headerName": "R", "maxWidth": 90},
        {"field": "f", "headerName": "F", "maxWidth": 90},
        {"field": "m", "headerName": "M", "maxWidth": 90},
        {"field": "meaning", "headerName": "What it means", **TEXT_COLUMN},
        {"field": "action", "headerName": "Suggested action", **TEXT_COLUMN},
    ]
    return card(
        "How segments are assigned",
        [
            html.P(
                "Rules are checked from top to bottom on the 1–5 scores of each customer and "
                "the first that matches names the segment; together they cover every "
                "combination, so each customer gets exactly one. Scores are fifths of the "
                "customers' ranks (5 = most recent, most orders, most money); with quartile "
                "scores the segments still use fifths. Customers with the same number of "
                "orders are ranked by money spent, then recency, so the scores stay balanced "
                "however many tie: where most customers buy once, an F of 3 can be one large "
                "order.",
                className="small text-muted",
            ),
            data_grid(IDS.RULES_GRID, rules_table(), _columns(columns)),
        ],
    )
