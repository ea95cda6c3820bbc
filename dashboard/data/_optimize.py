"""Shrink a table's memory without changing a single value.

One set of rules (`_decide`) serves both entry points, so they make the same choices:
`optimize_frame` for a frame in memory, and `optimize_parquet` for a Parquet file that may be
larger than memory, streamed one row group at a time (statistics first, then a rewrite).

Rules, applied per column:

* integers become the smallest integer type holding their minimum and maximum (signed first,
  unsigned only when that saves a size);
* floats without missing values whose values are all whole numbers become integers; other
  floats become ``float32`` only when every value survives float64 -> float32 -> float64;
* text with few distinct values (fewer than ``ratio`` x its non-null count) becomes
  ``category``;
* object columns holding only Python bools become ``bool``, or the nullable ``boolean``
  when some values are missing (a Parquet file gets this through its pandas metadata);
* dates held as Python ``datetime.date`` objects (Arrow ``date32``/``date64``, which pandas
  reads as ``object``) become ``datetime64[ms]`` (midnight of the same day; missing -> NaT).

A number column changes only to a smaller type; everything else is kept as it is.

`optimize_parquet` reads a Parquet file or an (uncompressed) Arrow IPC file, the latter
memory-mapped, and always writes Parquet in row groups of at most `ROW_GROUP_ROWS` rows, so a
reader that wants a few rows (a preview) decodes one small group, not the whole block.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import mmap
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dashboard.data._background import in_background
from dashboard.errors import DataLoadError, InvalidParameter

log = logging.getLogger(__name__)

MAX_CATEGORIES = 100_000
"""A text column with more distinct values stays text (bounds the distinct-value tracking)."""

ROW_GROUP_ROWS = 8_192
"""Rows per row group of the Parquet files `optimize_parquet` writes (the last may be short)."""

_ARROW_MAGIC = b"ARROW1"
_IPC_GROUP_BYTES = 16 << 20  # Arrow bytes of an IPC file read (and converted) at a time
_DATETIME = "datetime64[ms]"

_INT_TYPES = tuple(
    np.dtype(name)
    for name in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
)
_MASKED = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"}
_MASKED |= {"Float32", "Float64", "boolean"}
# Sizes pandas reports for Python objects in an object column (``sys.getsizeof``).
_PY_OBJECT_BYTES = {"bool": 28, "date": 32, "none": 16}


@dataclass(frozen=True)
class ColumnChange:
    """Dtype and in-memory size of one column before and after optimization."""

    column: str
    dtype_before: str
    dtype_after: str
    bytes_before: int
    bytes_after: int


@dataclass(frozen=True)
class OptimizationReport:
    """What an optimization did, column by column (every column is listed).

    Attributes:
        columns: One entry per column, in table order.
        bytes_before: Sum of ``bytes_before`` over columns (the index is not counted).
        bytes_after: Sum of ``bytes_after`` over columns.
    """

    columns: tuple[ColumnChange, ...]
    bytes_before: int
    bytes_after: int

    @property
    def saved_bytes(self) -> int:
        """Bytes saved (negative if the table grew, which the rules avoid)."""
        return self.bytes_before - self.bytes_after

    @property
    def saved_pct(self) -> float:
        """Share of the original size saved, 0..100 (0 for an empty table)."""
        if self.bytes_before <= 0:
            return 0.0
        return max(0.0, min(100.0, 100.0 * self.saved_bytes / self.bytes_before))

    @property
    def changed(self) -> tuple[ColumnChange, ...]:
        """Only the columns whose dtype changed."""
        return tuple(c for c in self.columns if c.dtype_before != c.dtype_after)

    def to_dict(self) -> dict:
        """Return a JSON-able summary: totals plus the list of columns."""
        return {
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "saved_bytes": self.saved_bytes,
            "saved_pct": round(self.saved_pct, 2),
            "columns": [asdict(c) for c in self.columns],
        }


class _Stats:
    """What the rules need to know about one column, gathered chunk by chunk."""

    def __init__(self, kind: str, itemsize: int = 0, *, check_float32: bool = True) -> None:
        self.kind = kind  # "int", "float", "text", "bool", "boolean", "date" or "other"
        self.itemsize = itemsize
        self.check_float32 = check_float32
        self.missing = 0
        self.lo: int | float | None = None
        self.hi: int | float | None = None
        self.integral = True
        self.float32_exact = True
        self.nonnull = 0
        self.n_distinct: int | None = 0

    def add_numbers(self, values: np.ndarray, nulls: int = 0) -> None:
        """Account for non-null numbers (NaN counts as missing) plus ``nulls`` missing ones."""
        self.missing += nulls
        if values.dtype.kind == "f":
            nan = np.isnan(values)
            n_nan = int(nan.sum())
            if n_nan:
                self.missing += n_nan
                values = values[~nan]
        if values.size == 0:
            return
        lo, hi = values.min().item(), values.max().item()
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)
        if values.dtype.kind == "f" and self.integral:
            self.integral = bool(np.isfinite(values).all() and (values == np.trunc(values)).all())
        if self.check_float32 and self.float32_exact:
            as64 = values.astype(np.float64)
            with np.errstate(over="ignore"):
                back = as64.astype(np.float32).astype(np.float64)
            self.float32_exact = bool((back == as64).all())


def _smallest_int(lo: float, hi: float) -> np.dtype | None:
    for dtype in _INT_TYPES:
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return dtype
    return None


def _decide(stats: _Stats, ratio: float, max_categories: int) -> str | None:
    """Return the target (``"int16"``, ``"float32"``, ``"category"``, ``"bool"``...) or None."""
    if stats.kind in ("bool", "boolean"):
        return stats.kind
    if stats.kind == "date":
        return _DATETIME
    if stats.kind == "text":
        n = stats.n_distinct
        ok = n is not None and n <= max_categories and n < ratio * stats.nonnull
        return "category" if ok and stats.nonnull >= 2 else None
    if stats.kind not in ("int", "float"):
        return None
    if stats.lo is not None and (stats.kind == "int" or (stats.missing == 0 and stats.integral)):
        dtype = _smallest_int(stats.lo, stats.hi)
        if dtype is not None and dtype.itemsize < stats.itemsize:
            return dtype.name
    # All-missing float columns qualify too: there is no value to lose.
    if stats.kind == "float" and stats.float32_exact and stats.itemsize > 4:
        return "float32"
    return None


def _check_ratio(ratio: float) -> None:
    if not 0 < ratio <= 1:
        raise InvalidParameter(f"The category ratio must be above 0 and at most 1, not {ratio}.")


# --- frames in memory -------------------------------------------------------------------


def _series_stats(s: pd.Series) -> _Stats:
    dtype = s.dtype
    masked = dtype.name in _MASKED
    if isinstance(dtype, pd.StringDtype):
        kind = "text"
    elif isinstance(dtype, np.dtype) or masked:
        kind = {"i": "int", "u": "int", "f": "float", "O": "object"}.get(dtype.kind, "other")
    else:
        kind = "other"  # categorical, datetime, ArrowDtype...
    if kind == "object":
        if pd.api.types.infer_dtype(s, skipna=False) == "boolean":
            return _Stats("bool")
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "boolean":  # bools and missing values
            return _Stats("boolean")
        if inferred == "date" and _only_dates(s):
            return _Stats("date")
        kind = "text" if inferred == "string" else "other"
    if kind == "text":
        stats = _Stats("text")
        stats.nonnull = int(s.count())
        stats.n_distinct = int(s.nunique(dropna=True))
        return stats
    stats = _Stats(kind, dtype.itemsize, check_float32=kind == "float" and dtype.itemsize > 4)
    if kind == "int":
        stats.add_numbers(s.dropna().to_numpy(), int(s.isna().sum()) if masked else 0)
    elif kind == "float":
        stats.add_numbers(s.to_numpy(dtype=dtype.numpy_dtype if masked else None, na_value=np.nan))
    return stats


def _only_dates(s: pd.Series) -> bool:
    """True when every non-missing value is a ``datetime.date`` (not a ``datetime``)."""
    return all(type(v) is datetime.date for v in s.dropna())


def _pandas_target(target: str, masked: bool) -> str:
    """The pandas dtype for a target; masked (nullable) sources get the masked equivalent."""
    if target in ("category", "bool", "boolean", _DATETIME) or not masked:
        return target
    return target.capitalize() if target.startswith(("int", "float")) else "UInt" + target[4:]


def optimize_frame(
    df: pd.DataFrame,
    *,
    category_max_unique_ratio: float = 0.5,
    max_categories: int = MAX_CATEGORIES,
) -> tuple[pd.DataFrame, OptimizationReport]:
    """Return a copy of ``df`` with smaller dtypes and a report of what changed.

    Args:
        df: Any frame; the input is not modified and the index is kept as it is.
        category_max_unique_ratio: Text becomes ``category`` when its distinct non-null values
            are fewer than this share of its non-null values (and it has 2 or more).
        max_categories: Text with more distinct values never becomes ``category``.

    Returns:
        The optimized frame (same columns, order and values; missing values in a text column
        turned into ``category`` all read as NaN) and the report, whose byte figures are
        ``memory_usage(deep=True)`` per column.

    Raises:
        InvalidParameter: The ratio is not in (0, 1].
    """
    _check_ratio(category_max_unique_ratio)
    out = df.copy(deep=False)
    changes = []
    for position, name in enumerate(df.columns):
        column = df.iloc[:, position]
        target = _decide(_series_stats(column), category_max_unique_ratio, max_categories)
        new = column
        if target is not None:
            new = column.astype(_pandas_target(target, column.dtype.name in _MASKED))
            out.isetitem(position, new)
        changes.append(
            ColumnChange(
                column=str(name),
                dtype_before=str(column.dtype),
                dtype_after=str(new.dtype),
                bytes_before=int(column.memory_usage(deep=True, index=False)),
                bytes_after=int(new.memory_usage(deep=True, index=False)),
            )
        )
    report = _report(changes)
    log.info("optimize_frame: %d -> %d bytes", report.bytes_before, report.bytes_after)
    return out, report


def _report(changes: list[ColumnChange]) -> OptimizationReport:
    return OptimizationReport(
        columns=tuple(changes),
        bytes_before=sum(c.bytes_before for c in changes),
        bytes_after=sum(c.bytes_after for c in changes),
    )


# --- Parquet files, streamed ------------------------------------------------------------


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _code_width(n_categories: int) -> int:
    """Bytes per code pandas uses for a categorical with this many categories."""
    for width in (1, 2, 4):
        if n_categories < np.iinfo(f"int{8 * width}").max:
            return width
    return 8


def _text_bytes(arr: pa.Array | pa.ChunkedArray) -> int:
    """Size of text as pandas ``str`` holds it: large_string data, offsets, validity."""
    n = len(arr)
    data = pc.sum(pc.binary_length(arr)).as_py() or 0
    return data + 8 * n + ((n + 7) // 8 if arr.null_count else 0)


def _estimate(col: pa.ChunkedArray, masked: bool) -> tuple[int, int]:
    """Estimate the pandas in-memory size of a chunk as (bytes per chunk, shared bytes).

    Shared bytes (a categorical's categories) are counted once for the column, not per chunk.
    """
    t, n, nulls = col.type, len(col), col.null_count
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        width = t.bit_width // 8
        if masked:
            return n * (width + 1), 0
        return (8 * n if nulls and pa.types.is_integer(t) else n * width), 0
    if pa.types.is_boolean(t):
        if masked or not nulls:
            return (2 * n if masked else n), 0
        objects = _PY_OBJECT_BYTES["bool"] * (n - nulls) + _PY_OBJECT_BYTES["none"] * nulls
        return 8 * n + objects, 0
    if _is_text(t):
        return _text_bytes(col), 0
    if pa.types.is_dictionary(t):
        dictionaries = [chunk.dictionary for chunk in col.chunks]
        k = max((len(d) for d in dictionaries), default=0)
        size = _text_bytes if _is_text(t.value_type) else (lambda d: d.nbytes)
        return n * _code_width(k), max((size(d) for d in dictionaries), default=0)
    if pa.types.is_date(t):
        objects = _PY_OBJECT_BYTES["date"] * (n - nulls) + _PY_OBJECT_BYTES["none"] * nulls
        return 8 * n + objects, 0
    if pa.types.is_temporal(t):
        return 8 * n, 0
    return col.nbytes, 0


def _dtype_name(t: pa.DataType, has_nulls: bool, numpy_type: str | None) -> str:
    """Name of the dtype pandas gives a column of this Arrow type when reading the file."""
    if numpy_type in _MASKED:
        return numpy_type
    if has_nulls and pa.types.is_integer(t):
        return "float64"
    if has_nulls and pa.types.is_boolean(t):
        return "object"
    return str(pa.array([], type=t).to_pandas().dtype)


class _ParquetColumn:
    """One column of the file: its statistics (pass 1), then its target and sizes (pass 2)."""

    def __init__(self, position: int, field: pa.Field, numpy_type: str | None) -> None:
        self.position = position
        self.field = field
        self.numpy_type = numpy_type
        self.masked = self.numpy_type in _MASKED
        self.masked_after = self.masked
        t = field.type
        if pa.types.is_integer(t):
            # Without a masked dtype, pandas reads an integer column with nulls as float64:
            # keep what is needed to judge it as a float too.
            self.stats = _Stats("int", t.bit_width // 8, check_float32=not self.masked)
        elif pa.types.is_floating(t):
            self.stats = _Stats("float", t.bit_width // 8, check_float32=t.bit_width > 32)
        else:
            self.stats = _Stats("text" if _is_text(t) else "other")
        self.distinct: set[str] | None = set()
        self.nulls = 0
        self.target: str | None = None
        self.arrow_type = t
        self.before = [0, 0]  # bytes per chunk (summed), shared bytes (max)
        self.after = [0, 0]

    def observe(self, col: pa.ChunkedArray, distinct_limit: float) -> None:
        """Pass 1: add one row group's chunk to the statistics and the 'before' size."""
        self.before = _add_size(self.before, _estimate(col, self.masked))
        self.nulls += col.null_count
        stats = self.stats
        if stats.kind in ("int", "float"):
            stats.add_numbers(col.drop_null().to_numpy(), col.null_count)
        elif stats.kind == "text":
            stats.nonnull += len(col) - col.null_count
            if self.distinct is not None:
                self.distinct.update(pc.unique(col).drop_null().to_pylist())
                if len(self.distinct) >= distinct_limit:
                    self.distinct = None  # too many to ever become a category

    def decide(self, ratio: float, max_categories: int) -> None:
        """Between the passes: choose the target and the output Arrow type."""
        stats, t = self.stats, self.field.type
        if stats.kind == "text":
            stats.n_distinct = None if self.distinct is None else len(self.distinct)
        if stats.kind == "int" and stats.missing and not self.masked:
            stats.kind, stats.itemsize = "float", 8  # judged as the float64 pandas reads
        # Columns pandas would read as Python objects (no pandas dtype recorded, or object).
        as_objects = self.numpy_type in (None, "object")
        if pa.types.is_boolean(t) and self.nulls and as_objects:
            stats.kind = "boolean"  # pandas reads it as `boolean` through the metadata
        elif pa.types.is_date(t) and as_objects:
            stats.kind = "date"
        self.target = _decide(stats, ratio, max_categories)
        if self.target == "category":
            self.arrow_type = pa.dictionary(pa.int32(), pa.string())
            self.dictionary = pa.array(sorted(self.distinct or ()), pa.string())
            self.after[1] = _text_bytes(self.dictionary)
        elif self.target == "boolean":
            self.masked_after = True  # same Arrow data, another pandas dtype
        elif self.target is not None:
            self.arrow_type = pa.from_numpy_dtype(np.dtype(self.target))
        if self.target != "category":
            self.distinct = None

    def convert(self, col: pa.ChunkedArray) -> pa.ChunkedArray:
        """Pass 2: convert one chunk (already proven lossless) and add its 'after' size."""
        if self.target == "category":
            # One sorted dictionary for every row group: pandas then gets the categories
            # in the order `astype("category")` gives them.
            indices = pc.index_in(col, value_set=self.dictionary)
            chunks = [pa.DictionaryArray.from_arrays(c, self.dictionary) for c in indices.chunks]
            self.after[0] += len(col) * _code_width(len(self.dictionary))
            return pa.chunked_array(chunks, self.arrow_type)
        if self.target is not None and col.type != self.arrow_type:
            col = pc.cast(col, self.arrow_type, safe=False)
        self.after = _add_size(self.after, _estimate(col, self.masked_after))
        return col

    def few_values(self) -> bool:
        """Whether Parquet dictionary encoding pays for this column once converted.

        Dictionary encoding is Parquet's default, but for columns of mostly distinct values
        (ids, measurements, free text) it builds a dictionary per row group only to fall
        back or to store a bigger file: it is kept for categories, dates and times, and
        whole numbers within a range of 65,536 values.
        """
        t, stats = self.arrow_type, self.stats
        if pa.types.is_dictionary(t) or pa.types.is_temporal(t):
            return True
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            whole = stats.kind == "int" or stats.integral
            known = stats.lo is not None and stats.hi is not None
            return known and whole and stats.hi - stats.lo < 1 << 16
        return False

    def new_numpy_type(self) -> str | None:
        """The ``numpy_type`` to record in the pandas metadata after conversion."""
        if self.target is None or self.target == "category":
            return self.numpy_type
        return _pandas_target(self.target, self.masked)

    def metadata_entry(self, entry: dict) -> dict:
        """Update a column entry of the pandas metadata for the conversion."""
        if self.target == "category":
            entry.update(pandas_type="categorical", numpy_type="int32")
            entry["metadata"] = {"num_categories": len(self.dictionary), "ordered": False}
        elif self.target == _DATETIME:
            entry.update(pandas_type="datetime", numpy_type=_DATETIME, metadata=None)
        else:
            entry.update(pandas_type=self.target, numpy_type=self.new_numpy_type())
        return entry

    def change(self) -> ColumnChange:
        """The report line for this column."""
        nulls = self.nulls > 0
        return ColumnChange(
            column=self.field.name,
            dtype_before=_dtype_name(self.field.type, nulls, self.numpy_type),
            dtype_after=_dtype_name(self.arrow_type, nulls, self.new_numpy_type()),
            bytes_before=sum(self.before),
            bytes_after=sum(self.after) if self.target else sum(self.before),
        )


def _add_size(total: list[int], chunk: tuple[int, int]) -> list[int]:
    return [total[0] + chunk[0], max(total[1], chunk[1])]


def _pandas_metadata(schema: pa.Schema) -> dict | None:
    raw = (schema.metadata or {}).get(b"pandas")
    return json.loads(raw) if raw else None


def _plain_metadata(schema: pa.Schema) -> dict:
    """Pandas metadata for a file written without any: default index, columns as stored.

    Only ``numpy_type`` matters to readers (it selects extension dtypes such as ``boolean``);
    ``object`` leaves a column to the default conversion of its Arrow type.
    """
    columns = [
        {"name": f.name, "field_name": f.name, "pandas_type": "object", "numpy_type": "object"}
        for f in schema
    ]
    for entry in columns:
        entry["metadata"] = None
    return {
        "index_columns": [],
        "column_indexes": [],
        "columns": columns,
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": pd.__version__,
    }


def _output_schema(schema: pa.Schema, columns: list[_ParquetColumn], meta: dict | None):
    fields = list(schema)
    for col in columns:
        fields[col.position] = col.field.with_type(col.arrow_type)
    metadata = dict(schema.metadata or {})
    if meta is None and any(c.target == "boolean" for c in columns):
        meta = _plain_metadata(schema)  # the only way to make pandas read `boolean`
    if meta is not None:
        by_name = {c.field.name: c for c in columns if c.target is not None}
        for entry in meta.get("columns", []):
            col = by_name.get(entry.get("field_name"))
            if col is not None:
                col.metadata_entry(entry)
        metadata[b"pandas"] = json.dumps(meta).encode()
    return pa.schema(fields, metadata=metadata or None)


def open_parquet(path: Path) -> pq.ParquetFile:
    """Open a Parquet file for reading row group by row group.

    Raises:
        DataLoadError: The file is missing or is not a readable Parquet file.
    """
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        log.warning("Cannot open %s as Parquet: %s", path, error)
        raise DataLoadError(
            f"The file '{Path(path).name}' is not a readable Parquet file."
        ) from error


def _is_arrow_file(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_ARROW_MAGIC)) == _ARROW_MAGIC
    except OSError:
        return False  # open_parquet gives the message


class _Groups:
    """The source file read a group of rows at a time (Parquet: one row group)."""

    def __init__(self, path: Path) -> None:
        self._file = open_parquet(path)
        self.schema = self._file.schema_arrow
        self.num_rows = self._file.metadata.num_rows
        self.count = self._file.num_row_groups

    def read(self, group: int) -> pa.Table:
        return self._file.read_row_group(group)

    def release(self) -> None:
        """Let go of memory held for groups already read (nothing to do for Parquet)."""

    def close(self) -> None:
        self._file.close()


class _ArrowGroups(_Groups):
    """An Arrow IPC file, memory-mapped, read in slices of whole `ROW_GROUP_ROWS` blocks.

    The table is a zero-copy view of the mapping. The pages touched count in this process's
    resident memory until `release` tells the kernel they are not needed (they stay in the
    page cache, and are mapped again if read again), so memory stays bounded by a group.
    """

    def __init__(self, path: Path) -> None:
        try:
            with open(path, "rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            reader = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(self._map)))
            self._table = reader.read_all()
        except (OSError, ValueError, pa.ArrowException) as error:
            log.warning("Cannot open %s as an Arrow file: %s", path, error)
            raise DataLoadError(
                f"The file '{Path(path).name}' is not a readable Arrow file."
            ) from error
        self.schema = self._table.schema
        self.num_rows = self._table.num_rows
        row_bytes = max(1, len(self._map) // max(self.num_rows, 1))
        self.rows = ROW_GROUP_ROWS * max(1, _IPC_GROUP_BYTES // (row_bytes * ROW_GROUP_ROWS))
        self.count = -(-self.num_rows // self.rows)

    def read(self, group: int) -> pa.Table:
        return self._table.slice(group * self.rows, self.rows)

    def release(self) -> None:
        if hasattr(mmap, "MADV_DONTNEED") and len(self._map):
            self._map.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        self._table = None
        try:
            self._map.close()
        except BufferError:  # an Arrow object still views the mapping: unmapped when freed
            log.debug("Arrow file mapping still in use, left to the garbage collector")


def _open_groups(path: Path) -> _Groups:
    return _ArrowGroups(path) if _is_arrow_file(path) else _Groups(path)


def _write_row_groups(writer: pq.ParquetWriter, tables: Iterator[pa.Table]) -> None:
    """Write ``tables`` as row groups of exactly `ROW_GROUP_ROWS` rows (the last: the rest)."""
    pending: list[pa.Table] = []
    rows = 0
    for table in tables:
        pending.append(table)
        rows += table.num_rows
        if rows < ROW_GROUP_ROWS:
            continue
        joined = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
        full = rows - rows % ROW_GROUP_ROWS
        writer.write_table(joined.slice(0, full), row_group_size=ROW_GROUP_ROWS)
        rows -= full
        pending = [joined.slice(full)] if rows else []
        del joined
    if rows:
        writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)


def optimize_parquet(
    src: Path,
    dest: Path,
    *,
    category_max_unique_ratio: float = 0.5,
    max_categories: int = MAX_CATEGORIES,
    progress: Callable[[int, int], None] | None = None,
) -> OptimizationReport:
    """Rewrite a Parquet (or Arrow IPC) file with smaller column types, a group at a time.

    Pass 1 reads each group of rows to gather per-column statistics; pass 2 converts each
    group (in a background thread) and writes it to ``dest`` (through a temporary file, so
    ``dest`` may equal ``src``) in row groups of `ROW_GROUP_ROWS` rows. Memory is bounded by
    a few groups plus, per text column, its distinct values while they can still make a
    category. A group is a row group of a Parquet source, or about 16 MB of an Arrow IPC
    source (detected by its ``ARROW1`` magic bytes, read memory-mapped; see
    :func:`dashboard.data._ingest.ingest_to_arrow`).

    Args:
        src: Parquet or Arrow IPC file to read.
        dest: Parquet file to write (snappy); pandas reads it back with ``int8``.. /
            ``uint8``.., ``float32``, ``category`` (from ``dictionary<int32, string>``),
            ``boolean`` (bools with nulls, through the pandas metadata) and
            ``datetime64[ms]`` (from dates) dtypes.
        category_max_unique_ratio: As in `optimize_frame`.
        max_categories: As in `optimize_frame`.
        progress: Called as ``progress(done, total)`` after each group of each pass,
            with ``total`` twice the number of groups.

    Returns:
        The report; byte figures estimate pandas' ``memory_usage(deep=True)`` of each column
        when the file is read with ``pd.read_parquet``, from Arrow buffer sizes.

    Raises:
        InvalidParameter: The ratio is not in (0, 1].
        DataLoadError: ``src`` is not a readable Parquet or Arrow file.
    """
    _check_ratio(category_max_unique_ratio)
    src, dest = Path(src), Path(dest)
    groups = _open_groups(src)
    try:
        report = _optimize_groups(groups, dest, category_max_unique_ratio, max_categories, progress)
    finally:
        groups.close()
    log.info(
        "optimize_parquet %s: %d groups, %d -> %d bytes (estimated in pandas)",
        src.name,
        groups.count,
        report.bytes_before,
        report.bytes_after,
    )
    return report


def _optimize_groups(
    groups: _Groups,
    dest: Path,
    ratio: float,
    max_categories: int,
    progress: Callable[[int, int], None] | None,
) -> OptimizationReport:
    schema = groups.schema
    meta = _pandas_metadata(schema)
    index_names = {c for c in (meta or {}).get("index_columns", []) if isinstance(c, str)}
    numpy_types = {
        c.get("field_name"): c.get("numpy_type") for c in (meta or {}).get("columns", [])
    }
    columns = [
        _ParquetColumn(i, field, numpy_types.get(field.name))
        for i, field in enumerate(schema)
        if field.name not in index_names
    ]
    n_groups = groups.count
    distinct_limit = min(ratio * groups.num_rows, max_categories + 1)
    for group in range(n_groups):
        table = groups.read(group)
        for col in columns:
            col.observe(table.column(col.position), distinct_limit)
        del table
        groups.release()
        if progress is not None:
            progress(group + 1, 2 * n_groups)
    for col in columns:
        col.decide(ratio, max_categories)
    out_schema = _output_schema(schema, columns, meta)
    converters = {col.position: col for col in columns}
    dictionary = [
        f.name
        for i, f in enumerate(out_schema)
        if i not in converters or converters[i].few_values()
    ]

    def converted() -> Iterator[pa.Table]:
        for group in range(n_groups):
            table = groups.read(group)
            arrays = [
                converters[i].convert(table.column(i)) if i in converters else table.column(i)
                for i in range(table.num_columns)
            ]
            del table
            yield pa.Table.from_arrays(arrays, schema=out_schema)

    def written(tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for group, table in enumerate(tables):
            yield table
            groups.release()
            if progress is not None:
                progress(n_groups + group + 1, 2 * n_groups)

    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with (
            pq.ParquetWriter(tmp, out_schema, use_dictionary=dictionary) as writer,
            contextlib.closing(in_background(converted(), name="optimize-converter")) as tables,
        ):
            _write_row_groups(writer, written(tables))
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _report([col.change() for col in columns])
