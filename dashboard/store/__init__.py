"""Server-side store of DataFrames: Parquet files on disk plus a process-safe index."""

from __future__ import annotations

from dashboard.store._store import (
    DatasetStore,
    ItemInfo,
)

__all__ = [
    "DatasetStore",
    "ItemInfo",
]
