"""Market basket analysis: frequent itemsets and association rules from transaction tables."""

from __future__ import annotations

from dashboard.basket._find import (
    check_parameters,
    detect_layout,
    find_rules,
    result_tables,
)
from dashboard.basket._results import (
    MAX_GRID_ROWS,
    pairs_with,
    query_rules,
)
from dashboard.basket._settings import BasketSettings
from dashboard.basket._synth import (
    generate_transactions,
)

__all__ = [
    "BasketSettings",
    "MAX_GRID_ROWS",
    "check_parameters",
    "detect_layout",
    "find_rules",
    "generate_transactions",
    "pairs_with",
    "query_rules",
    "result_tables",
]
