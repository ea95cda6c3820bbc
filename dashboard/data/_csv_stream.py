"""Stream a delimited text file into Parquet (or Arrow IPC), one block at a time, with pyarrow.

Plain UTF-8 text is cut into line-aligned segments parsed on all cores; quoted, compressed
or transcoded text goes through pyarrow's sequential streaming reader (see ``_CsvBlocks``).

Private helper of :mod:`dashboard.data._ingest`, which detects the format and turns the errors
raised here into messages for the user.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dashboard.data._background import in_background
from dashboard.data._csv_sniff import classify_value, unique_names
from dashboard.progress import ByteProgress

if TYPE_CHECKING:
    from dashboard.data._ingest import FileFormat

logger = logging.getLogger(__name__)

Writer = Callable[[Path, pa.Schema], object]  # write_table(table) and close()
T = TypeVar("T")

_MIN_BLOCK = 4096
_SPLIT = 4  # parallel parse blocks per segment
#: Longest row read; Arrow needs a whole row in one block, and a block this size already
#: takes a few hundred MB to parse. Longer "rows" are mostly a quote that never closes.
MAX_ROW_BYTES = 64 << 20
_MAX_PASSES = 64
_CONVERSION_ERROR = re.compile(
    r"column #(\d+): CSV conversion error to ([^:]+): invalid value '(.*)'\Z", re.DOTALL
)
_WIDER_KIND = {"int": pa.int64(), "float": pa.float64(), "string": pa.string()}


class _Widen(Exception):  # control flow, never leaves this module
    """A later block holds a value the column type inferred from the first block cannot keep."""

    def __init__(self, column: int, arrow_type: pa.DataType):
        super().__init__(column, arrow_type)
        self.column, self.arrow_type = column, arrow_type


class RowTooLong(ValueError):
    """One row (or a quoted field) is longer than ``MAX_ROW_BYTES``."""


class _NotUtf8(UnicodeDecodeError):
    """The file stopped being valid UTF-8 after the sample used for detection."""

    def __init__(self) -> None:
        super().__init__("utf-8", b"", 0, 1, "invalid UTF-8 after the detection sample")


def write_csv(
    path: Path,
    dest: Path,
    fmt: FileFormat,
    header: Sequence[str],
    block_size: int,
    progress: ByteProgress | None,
    open_writer: Writer = pq.ParquetWriter,
) -> tuple[int, list[str], dict[str, str], FileFormat]:
    """Stream a CSV into the Parquet file ``dest``, one row group per block.

    Arrow infers column types from the first block. When a later block holds a value that
    type cannot keep, that column is widened (int -> float64 -> string) and the file is
    read again, so the Parquet schema is one. Likewise when the text stops being UTF-8
    after the detection sample (re-read as cp1252, then latin-1), or when one row is longer
    than a block (re-read with bigger blocks).

    Args:
        path: The CSV (plain or gzip-compressed, as ``fmt`` says).
        dest: Parquet file to write; overwritten.
        fmt: The detected format.
        header: Header cells as parsed from the detection sample.
        block_size: Bytes per block read by Arrow.
        progress: Called with ``(input bytes consumed, input bytes)`` after each block.
        open_writer: Opens the writer for ``(dest, schema)``: Parquet by default, or an
            Arrow IPC file writer.

    Returns:
        ``(rows, names, renamed, fmt)`` where ``fmt`` has the encoding that finally worked.

    Raises:
        pyarrow.ArrowInvalid, UnicodeDecodeError, OSError: the file cannot be read; the
            caller turns these into a message for the user.
    """
    names, renamed = unique_names(list(header))
    column_types: dict[str, pa.DataType] = {f"f{i}": pa.string() for i in fmt.text_columns}
    block_size = max(block_size, _MIN_BLOCK)
    for _ in range(_MAX_PASSES):
        try:
            rows = _csv_pass(
                path, dest, fmt, names, column_types, block_size, progress, open_writer
            )
        except _Widen as widen:
            logger.info("column %d re-read as %s", widen.column, widen.arrow_type)
            column_types[f"f{widen.column}"] = widen.arrow_type
            continue
        except UnicodeDecodeError:  # _NotUtf8 included
            if fmt.encoding not in ("utf-8", "utf-8-sig", "cp1252"):
                raise
            fallback = "latin-1" if fmt.encoding == "cp1252" else "cp1252"
            logger.info("text is not %s after the sample, re-read as %s", fmt.encoding, fallback)
            fmt = replace(fmt, encoding=fallback)
            continue
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):
                raise
            if block_size >= MAX_ROW_BYTES:
                raise RowTooLong from exc
            block_size = min(block_size * 4, MAX_ROW_BYTES)  # a row is longer than a block
            logger.info("a row is longer than a block, re-read with %d-byte blocks", block_size)
            continue
        renamed = {new: old for new, old in renamed.items() if new in names}
        return rows, names, renamed, fmt
    raise pa.ArrowInvalid("the column types did not settle")


def _csv_pass(
    path: Path,
    dest: Path,
    fmt: FileFormat,
    names: list[str],
    column_types: dict[str, pa.DataType],
    block_size: int,
    progress: ByteProgress | None,
    open_writer: Writer,
) -> int:
    """Read the whole CSV once with the given options, write it; return the row count."""
    reading = _CsvBlocks(path, fmt, column_types, block_size)
    rows = done = 0
    writer = None
    try:
        with contextlib.closing(in_background(reading.blocks(), name="csv-block-reader")) as blocks:
            for table, done in blocks:
                if writer is None:
                    schema = _named_schema(table.schema, names, fmt)
                    writer = open_writer(dest, schema)
                writer.write_table(pa.Table.from_arrays(table.columns, schema=schema))
                rows += table.num_rows
                if progress is not None:
                    progress(done, reading.total)
    except pa.ArrowInvalid as exc:
        retry = _widened(exc, fmt.decimal)
        if retry is None:
            raise
        raise retry from exc
    finally:
        if writer is not None:
            writer.close()
    if progress is not None and done != reading.total:
        progress(reading.total, reading.total)
    return rows


def _named_schema(schema: pa.Schema, names: list[str], fmt: FileFormat) -> pa.Schema:
    """Give Arrow's ``f0, f1...`` columns the header names (``names`` is fixed in place)."""
    if fmt.encoding in ("utf-8", "utf-8-sig") and any(pa.types.is_binary(f.type) for f in schema):
        raise _NotUtf8()
    if len(names) != len(schema):  # the csv module and Arrow split the header differently
        padded = names[: len(schema)] + [""] * (len(schema) - len(names))
        names[:] = unique_names(padded)[0]
    return pa.schema([f.with_name(n) for f, n in zip(schema, names, strict=True)])


class _CsvBlocks:
    """One read of a CSV as a sequence of Arrow tables, each with the input bytes done.

    A plain UTF-8 file is cut at line ends into segments of ``block_size`` bytes, and each
    segment is parsed by ``pyarrow.csv.read_csv`` on all cores; later segments get the
    column types of the first. A line end is a row end only outside quotes, so from the
    first segment that holds a quote character (and for compressed or transcoded files)
    the rest is read by the sequential streaming reader, which follows quoting.
    """

    def __init__(
        self, path: Path, fmt: FileFormat, column_types: dict[str, pa.DataType], block_size: int
    ):
        self.path, self.fmt, self.block_size = path, fmt, block_size
        self.column_types = column_types
        self.encoding = "utf8" if fmt.encoding in ("utf-8", "utf-8-sig") else fmt.encoding
        self.total = path.stat().st_size
        self.schema: pa.Schema | None = None  # Arrow's schema, once the first block is read
        self.parse_options = pacsv.ParseOptions(delimiter=fmt.delimiter, newlines_in_values=True)

    def blocks(self) -> Iterator[tuple[pa.Table, int]]:
        """Yield ``(table, input bytes done)``; the first table fixes the schema."""
        offset = 0
        if self.encoding == "utf8" and self.fmt.compression is None:
            with open(self.path, "rb") as handle:
                for table, offset in self._segments(handle):
                    yield table, offset
        yield from self._stream(offset)

    def _segments(self, handle: BinaryIO) -> Iterator[tuple[pa.Table, int]]:
        """Yield quote-free segments cut at line ends; stop where streaming must take over."""
        offset = 0
        while True:
            handle.seek(offset)
            data = handle.read(self.block_size)
            cut = len(data) if len(data) < self.block_size else data.rfind(b"\n") + 1
            if cut == 0 or data.find(b'"', 0, cut) >= 0:
                logger.debug("streaming reader takes over at byte %d", offset)
                return
            buffer = pa.py_buffer(data).slice(0, cut)
            options = self._options(offset, max(self.block_size // _SPLIT, 1 << 16))
            table = pacsv.read_csv(pa.BufferReader(buffer), *options)
            if self.schema is None:
                if table.num_rows == 0:  # header alone: too little to infer types from
                    return
                self.schema = table.schema
            offset += cut
            yield table, offset
            if len(data) < self.block_size:
                return

    def _stream(self, offset: int) -> Iterator[tuple[pa.Table, int]]:
        """Yield the blocks of the streaming reader, from ``offset`` (a row start) to the end."""
        if offset >= self.total:
            return
        with pa.OSFile(str(self.path)) as raw:
            raw.seek(offset)
            source = pa.CompressedInputStream(raw, "gzip") if self.fmt.compression else raw
            reader = pacsv.open_csv(source, *self._options(offset, self.block_size))
            with contextlib.closing(reader):
                if self.schema is None:
                    self.schema = reader.schema
                done = offset
                for batch in reader:
                    done = max(done, min(raw.tell(), self.total))
                    yield pa.Table.from_batches([batch]), done

    def _options(self, offset: int, block_size: int) -> tuple:
        """Return read, parse and convert options for a read starting at byte ``offset``."""
        if offset == 0:  # the header is parsed by the caller, skipped here
            read = pacsv.ReadOptions(
                block_size=block_size,
                autogenerate_column_names=True,
                skip_rows_after_names=1,
                encoding=self.encoding,
            )
            types = self.column_types
        else:  # continue with the columns of the first block
            read = pacsv.ReadOptions(
                block_size=block_size, column_names=self.schema.names, encoding=self.encoding
            )
            types = {f.name: f.type for f in self.schema}
        convert = pacsv.ConvertOptions(
            decimal_point=self.fmt.decimal, strings_can_be_null=True, column_types=types
        )
        return read, self.parse_options, convert


def _widened(exc: pa.ArrowInvalid, decimal: str) -> Exception | None:
    """Return how to re-read after a conversion error of a later block, None if it can't help.

    Arrow's message names the column, the type it was converting to and the value.
    """
    message = str(exc)
    if "invalid UTF8" in message:
        return _NotUtf8()
    match = _CONVERSION_ERROR.search(message)
    if match is None:
        return None
    column, current, value = int(match[1]), match[2], match[3]
    if current in ("string", "large_string", "utf8", "large_utf8"):
        return None
    if re.fullmatch(r"u?int\d+", current):
        held = 0
    elif current in ("double", "float", "halffloat"):
        held = 1
    elif current == "null":
        held = -1
    else:
        held = 1  # bool, dates, timestamps: only text can hold both
    rank = {"int": 0, "float": 1, "string": 2}
    needed = max(rank[classify_value(value, decimal)], held + 1)
    return _Widen(column, _WIDER_KIND[("int", "float", "string")[needed]])
