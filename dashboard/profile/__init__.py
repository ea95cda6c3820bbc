"""Profile a dataset: overview, column statistics, quality issues, correlations, missing values."""

from __future__ import annotations

from dashboard.profile._compute import (
    compute_profile,
    correlations,
    distribution,
    streaming_column_stats,
)

__all__ = [
    "compute_profile",
    "correlations",
    "distribution",
    "streaming_column_stats",
]
