"""Column statistics of a Parquet file too big to load: one batch of rows at a time."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dashboard.errors import DataLoadError, InvalidParameter
from dashboard.profile._columns import json_value

log = logging.getLogger(__name__)

BATCH_ROWS = 65_536
"""Rows decoded at a time (a store file's row groups hold 8,192 rows, so a few of them)."""


class _Running:
    """Running count, missing, min, max and (numbers only) mean and M2 of one column.

    Batches are merged with Chan et al.'s pairwise update of (count, mean, M2), in float64,
    which is as exact as a two-pass computation for practical purposes and never
    cancels catastrophically as sum / sum of squares would.
    """

    def __init__(self, name: str, arrow_type: pa.DataType) -> None:
        self.name = name
        self.type = arrow_type
        value_type = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
        if pa.types.is_boolean(value_type):
            self.kind = "boolean"
        elif (
            pa.types.is_integer(value_type)
            or pa.types.is_floating(value_type)
            or pa.types.is_decimal(value_type)
        ):
            self.kind = "numeric"
        elif pa.types.is_temporal(value_type):
            self.kind = "datetime"
        elif pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
            self.kind = "text"
        else:
            self.kind = "other"
        self.rows = 0
        self.missing = 0
        self.infinite = 0
        self.lo = None
        self.hi = None
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, arr: pa.Array) -> None:
        self.rows += len(arr)
        self.missing += arr.null_count
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        present = pc.drop_null(arr)
        if len(present) == 0 or self.kind == "other":
            return
        if self.kind in ("numeric", "boolean"):
            self._add_numbers(present)
            return
        bounds = pc.min_max(present)
        self._bounds(bounds["min"].as_py(), bounds["max"].as_py())

    def _add_numbers(self, present: pa.Array) -> None:
        if pa.types.is_decimal(present.type):
            present = present.cast(pa.float64())
        values = present.to_numpy(zero_copy_only=False)
        if values.dtype.kind == "f":
            nan = np.isnan(values)
            self.missing += int(nan.sum())
            finite = np.isfinite(values)
            self.infinite += int(np.count_nonzero(~finite & ~nan))
            values = values[finite]
        if values.size == 0:
            return
        lo, hi = values.min().item(), values.max().item()
        self._bounds(lo, hi)
        floats = values.astype(np.float64)
        n_b = floats.size
        mean_b = float(floats.mean())
        m2_b = float(np.square(floats - mean_b).sum())
        total = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / total
        self.m2 += m2_b + delta * delta * self.n * n_b / total
        self.n = total

    def _bounds(self, lo: object, hi: object) -> None:
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)

    def result(self) -> dict:
        numbers = self.kind in ("numeric", "boolean") and self.n > 0
        out = {
            "name": self.name,
            "dtype": str(self.type),
            "kind": self.kind,
            "rows": self.rows,
            "missing": self.missing,
            "min": json_value(self.lo),
            "max": json_value(self.hi),
            "mean": self.mean if numbers else None,
            "std": math.sqrt(self.m2 / (self.n - 1)) if numbers and self.n > 1 else None,
        }
        if self.infinite:
            out["infinite"] = self.infinite
        return out


def streaming_column_stats(path: Path, *, columns: list[str] | None = None) -> list[dict]:
    """Statistics of each column of a Parquet file (see `dashboard.profile`)."""
    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataLoadError("The stored data could not be read; load it again.") from exc
    schema = parquet.schema_arrow
    names = [f.name for f in schema if not f.name.startswith("__index_level_")]
    wanted = names if columns is None else list(dict.fromkeys(columns))
    for name in wanted:
        if name not in names:
            raise InvalidParameter(f"There is no column '{name}' in this dataset.")
    running = [_Running(name, schema.field(name).type) for name in wanted]
    if wanted:
        with parquet:
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
                for i, acc in enumerate(running):
                    acc.add(batch.column(i))
    else:
        parquet.close()
    log.info("streaming stats of %s: %d columns", path.name, len(wanted))
    return [acc.result() for acc in running]
