"""Stream one sheet of an .xlsx workbook into a Parquet (or Arrow IPC) file, chunk by chunk.

Private helper of :mod:`dashboard.data._ingest`. openpyxl reads the sheet in ``read_only`` mode,
so memory holds one chunk of rows, never the workbook.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.data._csv_sniff import unique_names
from dashboard.data._limits import MAX_COLUMNS, too_wide
from dashboard.errors import DataLoadError

logger = logging.getLogger(__name__)

# Python cell values (openpyxl gives plain types) -> column kind.
_KIND_OF_TYPE = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "string",
    datetime: "timestamp",
    date: "date",
    time: "time",
    timedelta: "duration",
}
_ARROW_TYPE = {
    "null": pa.null(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "duration": pa.duration("us"),
}
_CELL_BYTES = 64  # rough size of one cell as a Python object, to size chunks
_MAX_PASSES = 8


class _Widen(Exception):  # control flow, never leaves this module
    """A chunk holds values the column type chosen so far cannot keep."""

    def __init__(self, kinds: dict[int, str]):
        super().__init__(kinds)
        self.kinds = kinds


def sheet_names(path: Path) -> list[str]:
    """Return the sheet names listed in ``xl/workbook.xml``, in workbook order.

    Raises:
        zipfile.BadZipFile, KeyError, ElementTree.ParseError: the workbook is damaged.
    """
    with zipfile.ZipFile(path) as archive, archive.open("xl/workbook.xml") as stream:
        root = ElementTree.parse(stream).getroot()
    return [
        element.attrib["name"]
        for element in root.iter()
        if element.tag.rsplit("}", 1)[-1] == "sheet" and "name" in element.attrib
    ]


def write_sheet(
    path: Path,
    dest: Path,
    sheet: str,
    name: str,
    block_size: int,
    progress: Callable[[int, int], None] | None,
    open_writer: Callable[[Path, pa.Schema], object] = pq.ParquetWriter,
) -> tuple[int, list[str], dict[str, str]]:
    """Convert ``sheet`` of the workbook at ``path`` into the Parquet file ``dest``.

    ``open_writer`` opens the writer for ``(dest, schema)``: Parquet by default, or an Arrow
    IPC file writer.

    The first non-empty row is the header. Column types come from the first chunk; when a
    later chunk does not fit (text in a number column...), the column is widened
    (int -> float -> string) and the sheet is read again, so the Parquet schema is one.

    Returns:
        ``(rows, names, renamed)``.

    Raises:
        DataLoadError: the sheet is empty, has no data rows, or the workbook is damaged.
    """
    pinned: dict[int, str] = {}
    for _ in range(_MAX_PASSES):
        try:
            return _write_pass(path, dest, sheet, name, block_size, progress, pinned, open_writer)
        except _Widen as widen:
            logger.info("re-reading sheet %r of %s with wider columns %s", sheet, name, widen.kinds)
            pinned.update(widen.kinds)
    pinned_all = dict.fromkeys(range(16384), "string")
    return _write_pass(path, dest, sheet, name, block_size, progress, pinned_all, open_writer)


def _write_pass(
    path: Path,
    dest: Path,
    sheet: str,
    name: str,
    block_size: int,
    progress: Callable[[int, int], None] | None,
    pinned: dict[int, str],
    open_writer: Callable[[Path, pa.Schema], object],
) -> tuple[int, list[str], dict[str, str]]:
    with open(path, "rb") as handle:
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for one cause: a damaged file
            raise _damaged(name) from exc
        try:
            worksheet = workbook[sheet]
            if not hasattr(worksheet, "iter_rows"):
                raise DataLoadError(f"The sheet '{sheet}' of {name} is a chart, not a table.")
            return _stream_rows(
                worksheet, dest, sheet, name, block_size, progress, pinned, open_writer
            )
        except (DataLoadError, _Widen, OSError, MemoryError):
            raise
        except Exception as exc:
            raise _damaged(name) from exc
        finally:
            workbook.close()


def _stream_rows(
    worksheet: object,
    dest: Path,
    sheet: str,
    name: str,
    block_size: int,
    progress: Callable[[int, int], None] | None,
    pinned: dict[int, str],
    open_writer: Callable[[Path, pa.Schema], object],
) -> tuple[int, list[str], dict[str, str]]:
    total = worksheet.max_row or 0
    row_iter = worksheet.iter_rows(values_only=True)
    header: tuple | None = None
    consumed = 0
    for row in row_iter:
        consumed += 1
        if _last_filled(row):
            header = row
            break
    if header is None:
        raise DataLoadError(f"The sheet '{sheet}' of {name} is empty: choose another sheet.")
    if _last_filled(header) > MAX_COLUMNS:
        raise too_wide(name, _last_filled(header))
    rows_done, width, kinds, names, renamed = 0, 0, [], [], {}
    writer = None
    try:
        for chunk, used in _chunks(row_iter, block_size, len(header)):
            consumed += used
            if writer is None:
                width = max(_last_filled(header), *(_last_filled(row) for row in chunk))
                if width > MAX_COLUMNS:
                    raise too_wide(name, width)
                names, renamed = unique_names(_fit(header, width))
                columns = _columns(chunk, width)
                kinds = [pinned.get(i, _kind(col)) for i, col in enumerate(columns)]
                schema = pa.schema([(n, _ARROW_TYPE[k]) for n, k in zip(names, kinds, strict=True)])
                writer = open_writer(dest, schema)
            else:
                columns = _columns(chunk, width)
            writer.write_table(pa.Table.from_arrays(_arrays(columns, kinds), schema=schema))
            rows_done += len(chunk)
            if progress is not None:
                progress(consumed, max(total, consumed))
    finally:
        if writer is not None:
            writer.close()
    if rows_done == 0:
        raise DataLoadError(
            f"The sheet '{sheet}' of {name} has column names but no rows: "
            "add data below the header or choose another sheet."
        )
    if progress is not None:
        progress(max(total, consumed), max(total, consumed))
    return rows_done, names, renamed


def _chunks(rows: Iterator[tuple], block_size: int, width: int) -> Iterator[tuple[list, int]]:
    """Yield ``(non-empty rows, rows consumed)`` in chunks of about ``block_size`` bytes."""
    size = max(64, block_size // (max(width, 1) * _CELL_BYTES))
    chunk: list[tuple] = []
    used = 0
    for row in rows:
        used += 1
        if _last_filled(row):
            chunk.append(row)
            if len(chunk) >= size:
                yield chunk, used
                chunk, used = [], 0
    if chunk:
        yield chunk, used


def _last_filled(row: Sequence) -> int:
    """Return 1 + the index of the last non-empty cell of ``row`` (0 for an empty row)."""
    for index in range(len(row) - 1, -1, -1):
        value = row[index]
        if value is not None and not (type(value) is str and not value.strip()):
            return index + 1
    return 0


def _fit(row: Sequence, width: int) -> tuple:
    """Cut or pad ``row`` with None to exactly ``width`` cells."""
    return tuple(row[:width]) if len(row) >= width else tuple(row) + (None,) * (width - len(row))


def _columns(chunk: list[tuple], width: int) -> list[tuple]:
    """Transpose a chunk of rows into ``width`` columns (cells past the header are dropped)."""
    if any(_last_filled(row) > width for row in chunk):
        logger.warning("dropping cells to the right of the last column of the header")
    return list(zip(*(_fit(row, width) for row in chunk), strict=True))


def _kind(values: Sequence) -> str:
    """Return the narrowest column kind that holds every value of one column chunk."""
    kinds = {_KIND_OF_TYPE.get(type(value), "string") for value in values if value is not None}
    if not kinds:
        return "null"
    if len(kinds) == 1:
        return kinds.pop()
    if kinds <= {"int", "float"}:
        return "float"
    if kinds <= {"date", "timestamp"}:
        return "timestamp"
    return "string"


def _join(current: str, seen: str) -> str:
    """Return the kind that holds both ``current`` and ``seen`` values."""
    if seen in (current, "null"):
        return current
    if current == "null":
        return seen
    for family, wide in ((("int", "float"), "float"), (("date", "timestamp"), "timestamp")):
        if current in family and seen in family:
            return wide
    return "string"


def _arrays(columns: list[tuple], kinds: list[str]) -> list[pa.Array]:
    """Convert column chunks to Arrow arrays of the fixed ``kinds``, or raise ``_Widen``."""
    wider = {}
    for index, (values, kind) in enumerate(zip(columns, kinds, strict=True)):
        joined = _join(kind, _kind(values))
        if joined != kind:
            wider[index] = joined
    if wider:
        raise _Widen(wider)
    arrays = []
    for index, (values, kind) in enumerate(zip(columns, kinds, strict=True)):
        try:
            arrays.append(_array(values, kind))
        except (OverflowError, pa.ArrowInvalid) as exc:  # e.g. an integer past int64
            if kind == "string":
                raise
            raise _Widen({index: "string"}) from exc
    return arrays


def _array(values: Sequence, kind: str) -> pa.Array:
    """Convert one column chunk whose values all fit ``kind``."""
    if kind == "string":
        values = [v if v is None or type(v) is str else _cell_text(v) for v in values]
    elif kind == "timestamp":
        values = [datetime.combine(v, time()) if type(v) is date else v for v in values]
    return pa.array(values, type=_ARROW_TYPE[kind])


def _cell_text(value: object) -> str:
    """Write a non-text cell the way a reader of the sheet would."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _damaged(name: str) -> DataLoadError:
    return DataLoadError(
        f"{name} could not be read as an Excel workbook, it may be damaged: "
        "open it in Excel, save it again as .xlsx and upload the new file."
    )
