"""Customer value: recency / frequency / monetary scores, segments, clusters and CLV."""

from __future__ import annotations

from dashboard.rfm._compute import (
    CLV_FORMULA,
    DEFAULT_K,
    ELBOW_KS,
    K_RANGE,
    SCATTER_POINTS,
    add_clusters,
    check_columns,
    detect_columns,
    rules_table,
    scatter_sample,
    score_transactions,
    settings_from_request,
)
from dashboard.rfm._read import (
    read_columns,
)
from dashboard.rfm._text import (
    money,
)

__all__ = [
    "CLV_FORMULA",
    "DEFAULT_K",
    "ELBOW_KS",
    "K_RANGE",
    "SCATTER_POINTS",
    "add_clusters",
    "check_columns",
    "detect_columns",
    "money",
    "read_columns",
    "rules_table",
    "scatter_sample",
    "score_transactions",
    "settings_from_request",
]
