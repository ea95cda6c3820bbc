"""The widest table the app reads, shared by the CSV, Excel and Parquet readers."""

from __future__ import annotations

from dashboard.errors import DataLoadError

#: Widest table read (Excel's own limit is 16,384): reading and profiling cost about 2 ms
#: per column, and a header of millions of fields (one line of commas) would take hours.
MAX_COLUMNS = 5_000


def too_wide(name: str, columns: int, *, at_least: bool = False) -> DataLoadError:
    """The refusal of a table wider than ``MAX_COLUMNS`` (``at_least``: counted in a sample)."""
    counted = f"at least {columns:,}" if at_least else f"{columns:,}"
    return DataLoadError(
        f"{name} has {counted} columns; this app reads tables of up to {MAX_COLUMNS:,} "
        "columns. If it should have fewer, check its separator; otherwise keep the columns "
        "you need and upload that file."
    )
