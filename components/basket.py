"""Market Basket page layout: the layout and thresholds, then rules, charts and look-up."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ids import Basket as IDS
from components.widgets import COUNT_COLUMN, NUMBER_COLUMN, Stat, card, data_grid, field, stat_cards
from components.widgets import format_int as fmt_int

LAYOUT_OPTIONS = [
    {"label": "Long — one row per item bought (transaction id + item)", "value": "long"},
    {"label": "Basket — one row per transaction (items in one or more columns)", "value": "basket"},
    {"label": "One-hot — one 0/1 or true/false column per item", "value": "onehot"},
]
SIDE_OPTIONS = [
    {"label": "anywhere", "value": "any"},
    {"label": "in the antecedent (if…)", "value": "antecedent"},
    {"label": "in the consequent (…then)", "value": "consequent"},
]
LAYOUTS = ("long", "basket", "onehot")
SHOWN, HIDDEN = {}, {"display": "none"}
SAMPLE_NAME = "retail_transactions"

PERCENT_COLUMN = {
    "type": "rightAligned",
    "valueFormatter": {"function": "params.value == null ? '' : d3.format('.2%')(params.value)"},
}
CONVICTION_COLUMN = {
    "type": "rightAligned",
    # conviction is infinite when the confidence is 1; the server sends it as null
    "valueFormatter": {"function": "params.value == null ? '∞' : d3.format(',.3~f')(params.value)"},
    "headerTooltip": "How much more often the rule would be wrong if the sides were "
    "independent; ∞ when it is never wrong.",
}
RULE_COLUMNS = [
    {"field": "antecedents", "headerName": "If a basket holds…", "minWidth": 260, "flex": 3,
     "filter": "agTextColumnFilter", "tooltipField": "antecedents"},
    {"field": "consequents", "headerName": "…it also holds", "minWidth": 160, "flex": 2,
     "filter": "agTextColumnFilter", "tooltipField": "consequents"},
    {"field": "support", "headerName": "Support", **PERCENT_COLUMN,
     "headerTooltip": "Share of all transactions holding every item of the rule."},
    {"field": "confidence", "headerName": "Confidence", **PERCENT_COLUMN,
     "headerTooltip": "Share of the baskets with the left side that also hold the right side."},
    {"field": "lift", "headerName": "Lift", **NUMBER_COLUMN, "sort": "desc",
     "headerTooltip": "Confidence divided by how often the right side is bought at all; "
     "above 1 means bought together more often than by chance."},
    {"field": "leverage", "headerName": "Leverage", **NUMBER_COLUMN,
     "headerTooltip": "Support minus what independent sides would give."},
    {"field": "conviction", "headerName": "Conviction", **CONVICTION_COLUMN},
    {"field": "count", "headerName": "Count", **COUNT_COLUMN,
     "headerTooltip": "Transactions holding every item of the rule."},
]  # fmt: skip


def layout() -> html.Div:
    """Return the Market Basket page (settings and results are filled by callbacks)."""
    return html.Div(
        [
            html.H2("Market Basket", className="mb-3"),
            html.Div(id=IDS.SETTINGS),
            html.Div(id=IDS.STATUS, className="mt-3"),
            html.Div(id=IDS.CONTENT),
        ]
    )


def status(message, color: str = "info") -> dbc.Alert:
    """Return a note above the results (none yet, stale, full data mined…)."""
    return dbc.Alert(message, color=color, className="py-2 mb-2")


def no_data() -> html.Div:
    """Return the invitation shown without a dataset: load the transactions sample."""
    return card(
        "Transactions to analyse",
        [
            html.P(
                "Load a table of transactions on the Data page (one row per item bought, one "
                "row per basket, or one 0/1 column per product), or try the generated grocery "
                "shop sample: about 4,900 baskets with real co-purchases.",
                className="mb-2",
            ),
            dbc.Button(
                "Load the grocery transactions sample",
                id=IDS.SAMPLE,
                color="secondary",
                outline=True,
                size="sm",
            ),
        ],
    )


def settings_panel(columns: list[str], values: dict, detected: str) -> html.Div:
    """Return the layout and threshold controls.

    Args:
        columns: Column names of the analysis dataset.
        values: Current choices (the last run's, else the detected layout and defaults):
            ``layout``, ``transaction``, ``item``, ``quantity``, ``basket_columns``, ``sep``,
            ``onehot_columns``, ``min_support``, ``support_unit``, ``min_confidence``,
            ``min_lift``, ``max_len``, ``multi_consequent``, ``algorithm``.
        detected: The sentence saying what was recognised.
    """
    layout_value = values.get("layout")
    long_group = dbc.Row(
        [
            field(
                "Transaction column",
                dcc.Dropdown(id=IDS.TRANSACTION, options=columns, value=values.get("transaction")),
                "Rows with the same value form one basket (invoice, order…).",
                md=4,
            ),
            field(
                "Item column",
                dcc.Dropdown(id=IDS.ITEM, options=columns, value=values.get("item")),
                "The product bought on each row.",
                md=4,
            ),
            field(
                "Quantity column (optional)",
                dcc.Dropdown(
                    id=IDS.QUANTITY,
                    options=columns,
                    value=values.get("quantity"),
                    placeholder="none",
                ),
                "Rows with a quantity of 0 or less (returns) are left out.",
                md=4,
            ),
        ],
        id=IDS.LONG_GROUP,
        className="g-3 mt-1",
        style=SHOWN if layout_value == "long" else HIDDEN,
    )
    basket_group = dbc.Row(
        [
            field(
                "Item column(s)",
                dcc.Dropdown(
                    id=IDS.BASKET_COLUMNS,
                    options=columns,
                    value=values.get("basket_columns") or [],
                    multi=True,
                ),
                "One column of delimited items, or several columns with one item each "
                "(empty cells are ignored).",
                md=6,
            ),
            field(
                "Separator",
                dbc.Input(id=IDS.SEP, value=values.get("sep") or ",", maxLength=5),
                "Between the items of one cell.",
                md=2,
            ),
        ],
        id=IDS.BASKET_GROUP,
        className="g-3 mt-1",
        style=SHOWN if layout_value == "basket" else HIDDEN,
    )
    onehot_group = dbc.Row(
        [
            field(
                "Item columns (0/1 or true/false)",
                dcc.Dropdown(
                    id=IDS.ONEHOT_COLUMNS,
                    options=columns,
                    value=values.get("onehot_columns") or [],
                    multi=True,
                ),
                "Leave empty to use every 0/1 column.",
                md=10,
            ),
        ],
        id=IDS.ONEHOT_GROUP,
        className="g-3 mt-1",
        style=SHOWN if layout_value == "onehot" else HIDDEN,
    )
    thresholds = dbc.Row(
        [
            field(
                "Minimum support",
                dbc.InputGroup(
                    [
                        dbc.Input(
                            id=IDS.MIN_SUPPORT,
                            type="number",
                            min=0,
                            step="any",
                            value=values.get("min_support", 0.01),
                        ),
                        dbc.Select(
                            id=IDS.SUPPORT_UNIT,
                            options=[
                                {"label": "share", "value": "share"},
                                {"label": "transactions", "value": "count"},
                            ],
                            value=values.get("support_unit", "share"),
                        ),
                    ],
                    size="sm",
                ),
                "Share of transactions (0.01 = 1 %), or a number of transactions.",
                md=3,
            ),
            field(
                "Minimum confidence",
                dbc.Input(
                    id=IDS.MIN_CONFIDENCE,
                    type="number",
                    min=0,
                    max=1,
                    step="any",
                    size="sm",
                    value=values.get("min_confidence", 0.3),
                ),
                md=2,
            ),
            field(
                "Minimum lift",
                dbc.Input(
                    id=IDS.MIN_LIFT,
                    type="number",
                    min=0,
                    step="any",
                    size="sm",
                    value=values.get("min_lift", 1.0),
                ),
                md=2,
            ),
            field(
                "Maximum length",
                dbc.Input(
                    id=IDS.MAX_LEN,
                    type="number",
                    min=2,
                    step=1,
                    size="sm",
                    placeholder="no limit",
                    value=values.get("max_len"),
                ),
                "Items per itemset.",
                md=2,
            ),
            field(
                "Algorithm",
                dbc.Select(
                    id=IDS.ALGORITHM,
                    options=[
                        {"label": "FP-Growth", "value": "fpgrowth"},
                        {"label": "Apriori", "value": "apriori"},
                    ],
                    value=values.get("algorithm", "fpgrowth"),
                    size="sm",
                ),
                md=2,
            ),
        ],
        className="g-3 mt-2",
    )
    return card(
        "Transactions and thresholds",
        [
            html.Div(detected, id=IDS.DETECTED, className="small text-muted mb-2"),
            dbc.RadioItems(id=IDS.LAYOUT, options=LAYOUT_OPTIONS, value=layout_value),
            long_group,
            basket_group,
            onehot_group,
            thresholds,
            dbc.Checkbox(
                id=IDS.MULTI_CONSEQUENT,
                label="Allow several items on the right-hand side of a rule",
                value=bool(values.get("multi_consequent", False)),
                className="mt-3",
            ),
            dbc.Button("Find rules", id=IDS.RUN, color="primary", className="mt-3"),
        ],
        id=IDS.SETTINGS_CARD,
    )


def summary_cards(meta: dict) -> dbc.Row:
    """Return the cards: transactions, distinct items, frequent items, itemsets, rules."""
    counts = meta.get("counts", {})
    return stat_cards(
        [
            Stat("Transactions", fmt_int(counts.get("transactions"))),
            Stat("Distinct items", fmt_int(counts.get("items"))),
            Stat(
                "Frequent items",
                fmt_int(counts.get("frequent_items")),
                hint="Items reaching the minimum support; the others were dropped before mining.",
            ),
            Stat("Frequent itemsets", fmt_int(counts.get("itemsets"))),
            Stat("Rules", fmt_int(counts.get("rules")), id=IDS.RULE_COUNT),
        ],
        id=IDS.CARDS,
    )


def summary_card(lines: list[str]) -> html.Div:
    """Return the plain-language summary."""
    return card(
        "What the rules say",
        html.Ul([html.Li(line) for line in lines], className="mb-0"),
        id=IDS.SUMMARY,
    )


def rules_card(items: list[str], max_rows: int) -> html.Div:
    """Return the rules grid with its item filter (rows come from a callback)."""
    return card(
        "Association rules",
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id=IDS.FILTER_ITEM,
                            options=items,
                            placeholder="Show only rules with this item…",
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        dbc.RadioItems(
                            id=IDS.FILTER_SIDE, options=SIDE_OPTIONS, value="any", inline=True
                        ),
                        md=7,
                        className="d-flex align-items-center",
                    ),
                ],
                className="g-2 mb-2",
            ),
            html.Div(id=IDS.FILTER_NOTE, className="small text-muted mb-2"),
            data_grid(
                IDS.RULES_GRID,
                [],
                RULE_COLUMNS,
                height=480,
                dashGridOptions={"tooltipShowDelay": 300, "domLayout": "normal"},
            ),
            html.Div(
                f"The grid holds the {max_rows:,} strongest matching rules at most (sorted by "
                "lift); the CSV download has every rule.",
                className="form-text",
            ),
        ],
        id=IDS.RULES_CARD,
    )


def charts(scatter, network, top_items) -> html.Div:
    """Return the scatter, the network graph and the top items bar."""
    config = {"displaylogo": False}
    return html.Div(
        [
            card("Rules by support and confidence", dcc.Graph(id=IDS.SCATTER, figure=scatter,
                                                              config=config)),
            dbc.Row(
                [
                    dbc.Col(card("Strongest rules as a network",
                                 dcc.Graph(id=IDS.NETWORK, figure=network, config=config)), lg=7),
                    dbc.Col(card("Top items",
                                 dcc.Graph(id=IDS.TOP_ITEMS, figure=top_items, config=config)),
                            lg=5),
                ],
                className="g-3",
            ),
        ]
    )  # fmt: skip


def lookup_card(items: list[str]) -> html.Div:
    """Return the item look-up: "what goes with X?"."""
    return card(
        "What goes with…?",
        [
            dcc.Dropdown(
                id=IDS.LOOKUP_ITEM, options=items, placeholder="Choose an item", className="mb-3"
            ),
            html.Div(id=IDS.LOOKUP_RESULT),
        ],
        id=IDS.LOOKUP_CARD,
    )


def _lookup_list(title: str, rows: list[str], empty: str) -> dbc.Col:
    return dbc.Col(
        [
            html.H6(title),
            html.Ol([html.Li(r) for r in rows], className="mb-0 small")
            if rows
            else html.P(empty, className="small text-muted mb-0"),
        ],
        md=4,
    )


def lookup_result(item: str, support: float | None, also: list, leads: list, pairs: list):
    """Return what goes with ``item``: rules from it, rules to it, its frequent pairs."""
    share = f" is in {support:.1%} of transactions." if support is not None else "."
    return html.Div(
        [
            html.P([html.Span(item, className="fw-semibold"), share], className="mb-2"),
            dbc.Row(
                [
                    _lookup_list(
                        f"With {item} in the basket, customers also buy",
                        [
                            f"{r['consequents']} — {r['confidence']:.0%} of the time "
                            f"(lift {r['lift']:.2f})"
                            for r in also
                        ],
                        "No rule starts from this item alone.",
                    ),
                    _lookup_list(
                        f"Baskets that lead to {item}",
                        [
                            f"{r['antecedents']} — {r['confidence']:.0%} (lift {r['lift']:.2f})"
                            for r in leads
                        ],
                        "No rule ends in this item.",
                    ),
                    _lookup_list(
                        "Bought together most often",
                        [f"{p['item']} — {p['support']:.1%} of transactions" for p in pairs],
                        "It is in no frequent pair.",
                    ),
                ],
                className="g-3",
            ),
        ],
        id=IDS.LOOKUP_TEXT,
    )


def downloads_card(links: dict[str, tuple[str, str]], sep: str = ", ") -> html.Div:
    """Return the CSV downloads: ``links`` is ``{file: (label, url)}``."""
    joined = "a comma" if sep == ", " else f"“{sep.strip()}” (an item name holds a comma)"
    return card(
        "Download",
        [
            html.Div(
                [
                    dbc.Button(
                        label,
                        href=href,
                        external_link=True,
                        outline=True,
                        color="primary",
                        size="sm",
                        className="me-2",
                        id={"type": IDS.DOWNLOAD, "file": name},
                    )
                    for name, (label, href) in links.items()
                ]
            ),
            html.P(
                f"The items of one side are joined by {joined}. Cells that start with =, +, "
                "- or @ are escaped so a spreadsheet never runs them as formulas.",
                className="small text-muted mt-2 mb-0",
            ),
        ],
    )
