"""Read an uploaded table (CSV, Excel, Parquet) and convert it to Parquet, block by block.

The format is detected from the file's content (the file name is only a hint), so a CSV
named ``.txt``, an Excel file named ``.CSV`` or an HTML page saved as ``.csv`` are all
recognised. Every problem a user can cause becomes a :class:`DataLoadError` whose message
says, in plain words, what is wrong and what to try.

``ingest_to_parquet`` streams: CSV through pyarrow's CSV readers (see ``_csv_stream``),
Excel through openpyxl in ``read_only`` mode (see ``_excel_stream``), Parquet batch by
batch. Each block becomes a Parquet row group, so peak memory follows ``block_size``, not
the file size.

``ingest_to_arrow`` does the same into an uncompressed Arrow IPC file: much cheaper to write
and to read back (memory-mapped) than Parquet, which makes it the intermediate format of a
load, handed to :func:`dashboard.data._optimize.optimize_parquet` for the final Parquet file.
"""

from __future__ import annotations

import csv
import errno
import logging
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import dashboard.data._csv_sniff as sniff
import dashboard.data._csv_stream as _csv_stream
import dashboard.data._excel_stream as _excel_stream
from dashboard.data._limits import MAX_COLUMNS, too_wide
from dashboard.errors import DataLoadError
from dashboard.progress import ByteProgress

logger = logging.getLogger(__name__)

Writer = Callable[[Path, pa.Schema], object]  # opens a writer with write_table/write_batch/close

_HEAD_BYTES = 1 << 20  # sample used to detect the encoding, delimiter and decimal mark
#: Largest Parquet footer read (its schema and row-group index); a normal one is kilobytes.
_MAX_PARQUET_FOOTER = 64 << 20
_UPLOAD_HINT = "upload a CSV, Excel (.xlsx) or Parquet file"
# Signatures of files that are not tables: (magic bytes, offset, what the file is).
_ARCHIVES = (
    (b"Rar!\x1a\x07", 0, "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7z archive"),
    (b"\xfd7zXZ\x00", 0, "an XZ archive"),
    (b"1AY&SY", 4, "a bzip2 archive"),  # block magic after "BZh<level>"
    (b"\x28\xb5\x2f\xfd", 0, "a Zstandard archive"),
    (b"ustar", 257, "a TAR archive"),
    (b"PK\x03\x04", 0, "a ZIP archive"),
)
_BINARIES = (
    (b"%PDF-", 0, "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF8", 0, "a GIF image"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_LINE_END = re.compile(r"[\r\n]")
_COLUMN_COUNT_ERROR = re.compile(r"Expected (\d+) columns, got (\d+)")


@dataclass(frozen=True)
class FileFormat:
    """How a file is written, as detected from its content.

    Attributes:
        kind: ``"csv"``, ``"excel"`` or ``"parquet"``.
        encoding: Text encoding of a CSV (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``,
            ``"cp1252"``, ``"latin-1"``...); None for other kinds.
        delimiter: Field separator of a CSV: ``","``, ``";"``, tab or ``"|"``.
        decimal: Decimal mark of numbers in a CSV (``","`` in some ``;``-separated files).
        compression: ``"gzip"`` for a gzip-compressed CSV, else None.
        sheets: Sheet names of an Excel workbook, in order.
        text_columns: Positions of CSV columns read as text whatever they look like
            (numbers written with leading zeros, such as codes).
    """

    kind: str
    encoding: str | None
    delimiter: str | None
    decimal: str = "."
    compression: str | None = None
    sheets: tuple[str, ...] = ()
    text_columns: tuple[int, ...] = ()


@dataclass(frozen=True)
class IngestResult:
    """What ``ingest_to_parquet`` wrote.

    Attributes:
        rows: Number of data rows.
        columns: Final, unique column names.
        format: Detected format (for a CSV, the encoding that finally worked).
        sheet: The Excel sheet read, None for other kinds.
        renamed: Header cells changed to be unique or non-empty: new name -> original.
    """

    rows: int
    columns: tuple[str, ...]
    format: FileFormat
    sheet: str | None
    renamed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Probe:
    """A detected format plus what CSV parsing needs from the sample."""

    format: FileFormat
    name: str
    size: int
    header: tuple[str, ...] = ()


def detect_format(path: Path, filename: str | None = None) -> FileFormat:
    """Detect whether ``path`` holds a CSV, an Excel workbook or a Parquet file.

    Args:
        path: The file on disk (its own name may be a meaningless temp name).
        filename: The name the user gave the file; a hint for the delimiter and for
            messages, never trusted over the content.

    Returns:
        The detected format; for a CSV also its encoding, delimiter and decimal mark.

    Raises:
        DataLoadError: the file is empty, binary, an archive, an HTML page, an old .xls
            workbook, a damaged workbook, or a CSV with a header but no rows.
    """
    return _probe(Path(path), filename).format


def excel_sheets(path: Path) -> list[str]:
    """Return the sheet names of an Excel workbook in order, or ``[]`` for CSV and Parquet.

    Raises:
        DataLoadError: the file cannot be read (see :func:`detect_format`).
    """
    return list(detect_format(path).sheets)


def load_table(path: Path | str, sheet: str | None = None) -> pd.DataFrame:
    """Read a whole table into pandas, parsed exactly as :func:`ingest_to_parquet` would.

    Meant for notebooks and small files: the result must fit in memory.

    Raises:
        DataLoadError: the file cannot be read as a table.
    """
    with tempfile.TemporaryDirectory(prefix="datainsights-load-") as folder:
        target = Path(folder) / "table.parquet"
        ingest_to_parquet(Path(path), target, sheet=sheet)
        return pd.read_parquet(target)


def _parquet_writer(dest: Path, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(dest, schema)


def _arrow_writer(dest: Path, schema: pa.Schema) -> pa.ipc.RecordBatchFileWriter:
    """An uncompressed Arrow IPC file writer (each block is one or more record batches)."""
    return pa.ipc.new_file(str(dest), schema, options=pa.ipc.IpcWriteOptions(compression=None))


_WRITERS: dict[str, Writer] = {"parquet": _parquet_writer, "arrow": _arrow_writer}


def ingest_to_arrow(
    path: Path,
    dest: Path,
    *,
    sheet: str | None = None,
    filename: str | None = None,
    block_size: int = 8 << 20,
    progress: ByteProgress | None = None,
) -> IngestResult:
    """Like :func:`ingest_to_parquet`, but write an uncompressed Arrow IPC file to ``dest``.

    Meant as the intermediate file of a load: :func:`dashboard.data._optimize.optimize_parquet`
    reads it memory-mapped and writes the final Parquet file. One exception: a Parquet
    upload with dictionary (categorical) columns is written as Parquet, since its row groups
    may carry different dictionaries, which an Arrow IPC file cannot hold;
    ``optimize_parquet`` reads both (it goes by the file's magic bytes).
    """
    return ingest_to_parquet(
        path,
        dest,
        sheet=sheet,
        filename=filename,
        block_size=block_size,
        progress=progress,
        output="arrow",
    )


def ingest_to_parquet(
    path: Path,
    dest: Path,
    *,
    sheet: str | None = None,
    filename: str | None = None,
    block_size: int = 8 << 20,
    progress: ByteProgress | None = None,
    output: str = "parquet",
) -> IngestResult:
    """Convert the table in ``path`` to a Parquet file at ``dest``, one row group per block.

    Args:
        path: The uploaded file.
        dest: Where to write Parquet (or Arrow IPC, see ``output``); overwritten, and removed
            again on failure. Give a temp path and rename it once this returns.
        sheet: Excel sheet to read; None means the first one. Ignored for other kinds.
        filename: The user's name for the file, used in messages and as a format hint.
        block_size: Bytes of CSV per block (rows of Excel are chunked to about the same
            size). Raised automatically when one CSV row is longer than a block.
        progress: Called after each block with ``(done, total)``: input bytes for CSV and
            Parquet, sheet rows for Excel. The last call has ``done == total``.
        output: ``"parquet"`` (snappy-compressed, one row group per block) or ``"arrow"``
            (an uncompressed Arrow IPC file, one or more record batches per block; see
            :func:`ingest_to_arrow` for the one case that still writes Parquet).

    Returns:
        Row count, final column names, detected format, sheet and renamed headers.

    Raises:
        DataLoadError: the file cannot be read as a table; the message is for the user.
        ValueError: ``output`` is not one of the two formats.
    """
    if output not in _WRITERS:
        raise ValueError(f"output must be 'parquet' or 'arrow', not {output!r}")
    open_writer = _WRITERS[output]
    path, dest = Path(path), Path(dest)
    name = filename or path.name
    kind = None
    try:
        probe = _probe(path, filename)
        kind = probe.format.kind
        if kind == "csv":
            rows, names, renamed, fmt = _csv_stream.write_csv(
                path, dest, probe.format, probe.header, block_size, progress, open_writer
            )
            if rows == 0:
                raise _no_rows(name)
            return IngestResult(rows, tuple(names), fmt, None, renamed)
        if kind == "parquet":
            return _ingest_parquet(path, dest, probe, block_size, progress, open_writer)
        chosen = _choose_sheet(probe.format.sheets, sheet, name)
        rows, names, renamed = _excel_stream.write_sheet(
            path, dest, chosen, name, block_size, progress, open_writer
        )
        return IngestResult(rows, tuple(names), probe.format, chosen, renamed)
    except DataLoadError:
        dest.unlink(missing_ok=True)
        raise
    except (pa.ArrowException, OSError, ValueError, csv.Error, zlib.error, EOFError) as exc:
        dest.unlink(missing_ok=True)
        logger.warning("could not convert %s (%s)", name, kind, exc_info=True)
        raise DataLoadError(_explain(exc, name, kind)) from exc
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


# --- detection ---------------------------------------------------------------------------


def _probe(path: Path, filename: str | None) -> _Probe:
    """Detect the format of ``path`` from its first bytes; see :func:`detect_format`."""
    name = filename or path.name
    extension = _extension(name)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise DataLoadError(f"{name} could not be opened: please upload it again.") from exc
    if not head:
        raise DataLoadError(f"The file is empty: {name} has no content to read.")
    if head.startswith(b"PAR1"):
        return _Probe(FileFormat("parquet", None, None), name, size)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _probe_zip(path, name, extension, size)
    if head.startswith(_OLE2):
        raise DataLoadError(
            f"{name} is an old Excel 97-2003 .xls file: open it in Excel, "
            "save it as .xlsx or CSV and upload that file."
        )
    compression, complete = None, len(head) == size
    if head.startswith(b"\x1f\x8b"):
        compression = "gzip"
        head, complete = _gunzip_head(path, name)
    return _probe_text(head, complete, name, extension, size, compression)


def _probe_text(
    head: bytes, complete: bool, name: str, extension: str, size: int, compression: str | None
) -> _Probe:
    """Detect encoding, delimiter and decimal mark of a (decompressed) text sample."""
    for magic, offset, what in _ARCHIVES:
        if head[offset : offset + len(magic)] == magic:
            raise DataLoadError(
                f"{name} is {what}, not a table. "
                "Extract it and upload the CSV or Excel file inside."
            )
    for magic, offset, what in _BINARIES:
        if head[offset : offset + len(magic)] == magic:
            raise _binary(name, extension, what)
    encoding = sniff.bom_encoding(head) or sniff.utf16_without_bom(head)
    if encoding is None and b"\x00" in head:
        raise _binary(name, extension)
    text, encoding = sniff.decode_sample(head, complete, encoding)
    if not text.strip():
        raise DataLoadError(f"The file is empty: {name} has no content to read.")
    start = text[:2048].lstrip().lower()
    if start.startswith("<!doctype html") or (start.startswith("<") and "<html" in start[:1024]):
        raise DataLoadError(
            f"{name} is a web page (HTML), not a table: download the data itself "
            "as CSV or Excel and upload that file."
        )
    if start.startswith("<?xml"):
        raise DataLoadError(f"{name} is an XML file, not a table: save it as .xlsx or CSV.")
    if len(_CONTROL_CHARS.findall(text[:65536])) > max(4, len(text[:65536]) // 200):
        raise _binary(name, extension)
    preferred = "\t" if extension in (".tsv", ".tsv.gz") else ","
    delimiter = sniff.sniff_delimiter(text, complete, preferred)
    records = sniff.read_records(text, delimiter, complete)
    if records and len(records[0]) > MAX_COLUMNS:
        raise too_wide(name, len(records[0]), at_least=not complete)
    if not complete and not _LINE_END.search(text):
        raise DataLoadError(
            f"The first line of {name} is longer than {_HEAD_BYTES >> 20} MB, so it is not "
            "a header row: check that the file has one row per line and that every quote "
            "is closed, or save it again as CSV."
        )
    if not records:
        raise _binary(name, extension)
    if complete and len(records) == 1:
        raise _no_rows(name)
    fmt = FileFormat(
        "csv",
        encoding,
        delimiter,
        sniff.sniff_decimal(records, delimiter),
        compression,
        text_columns=sniff.leading_zero_columns(records),
    )
    return _Probe(fmt, name, size, tuple(records[0]))


def _probe_zip(path: Path, name: str, extension: str, size: int) -> _Probe:
    """Tell an .xlsx workbook (a ZIP with ``xl/workbook.xml``) from other ZIP archives."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
        sheets = _excel_stream.sheet_names(path) if "xl/workbook.xml" in members else None
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, ElementTree.ParseError) as exc:
        what = "Excel file" if extension in (".xlsx", ".xlsm") else "Excel or ZIP file"
        raise DataLoadError(
            f"{name} is a damaged or incomplete {what} (perhaps the upload was cut short): "
            "save it again as .xlsx or CSV and upload the new file."
        ) from exc
    if sheets is None:
        raise DataLoadError(
            f"{name} is a ZIP archive, not a table. "
            "Unzip it and upload the CSV or Excel file inside."
        )
    if not sheets:
        raise DataLoadError(f"{name} is an Excel workbook without any sheet.")
    return _Probe(FileFormat("excel", None, None, sheets=tuple(sheets)), name, size)


def _gunzip_head(path: Path, name: str) -> tuple[bytes, bool]:
    """Return the first decompressed bytes of a gzip file and whether that is all of it."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    produced = 0
    try:
        with open(path, "rb") as handle:
            while produced < _HEAD_BYTES and not decompressor.eof:
                raw = handle.read(1 << 16)
                if not raw:
                    break
                part = decompressor.decompress(raw, _HEAD_BYTES - produced)
                parts.append(part)
                produced += len(part)
            complete = decompressor.eof and not handle.read(1) and not decompressor.unused_data
    except zlib.error as exc:
        raise DataLoadError(
            f"{name} is a damaged gzip file: compress the CSV again and upload it."
        ) from exc
    if not decompressor.eof and produced < _HEAD_BYTES:
        raise DataLoadError(f"{name} is an incomplete gzip file: upload the file again.")
    return b"".join(parts), complete


def _extension(name: str) -> str:
    lower = name.lower()
    for double in (".csv.gz", ".tsv.gz", ".txt.gz"):
        if lower.endswith(double):
            return double
    return Path(lower).suffix


def _choose_sheet(sheets: tuple[str, ...], sheet: str | None, name: str) -> str:
    if sheet is None:
        return sheets[0]
    if sheet not in sheets:
        listed = ", ".join(f"'{s}'" for s in sheets)
        raise DataLoadError(f"{name} has no sheet named '{sheet}': choose one of {listed}.")
    return sheet


def _binary(name: str, extension: str, what: str | None = None) -> DataLoadError:
    if what is None and extension == ".parquet":
        return DataLoadError(f"{name} is not a valid Parquet file: export it again and upload it.")
    detail = f" ({what})" if what else ""
    return DataLoadError(f"{name} looks like a binary file{detail}, not a table: {_UPLOAD_HINT}.")


def _no_rows(name: str) -> DataLoadError:
    return DataLoadError(
        f"{name} has column names but no rows: add data below the header and upload it again."
    )


# --- Parquet -------------------------------------------------------------------------------


def _ingest_parquet(
    path: Path,
    dest: Path,
    probe: _Probe,
    block_size: int,
    progress: ByteProgress | None,
    open_writer: Writer = _parquet_writer,
) -> IngestResult:
    """Check that a Parquet file opens and rewrite it in batches of about ``block_size``."""
    if _parquet_footer_bytes(path) > _MAX_PARQUET_FOOTER:
        raise DataLoadError(
            f"{probe.name} describes more columns than this app can read "
            f"(up to {MAX_COLUMNS:,}): keep the columns you need and export it again."
        )
    source = pq.ParquetFile(path)
    metadata = source.metadata
    if metadata.num_columns == 0:
        raise DataLoadError(f"The file is empty: {probe.name} has no columns.")
    if len(source.schema_arrow) > MAX_COLUMNS:
        raise too_wide(probe.name, len(source.schema_arrow))
    if metadata.num_rows == 0:
        raise _no_rows(probe.name)
    names, renamed = sniff.unique_names(source.schema_arrow.names)
    schema = pa.schema(
        [f.with_name(n) for f, n in zip(source.schema_arrow, names, strict=True)],
        metadata=None if renamed else source.schema_arrow.metadata,
    )
    if open_writer is _arrow_writer and _has_dictionary(schema):
        open_writer = _parquet_writer  # dictionaries may change between row groups
    data_bytes = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    row_bytes = max(1, data_bytes // metadata.num_rows)
    rows = 0
    writer = open_writer(dest, schema)
    try:
        for batch in source.iter_batches(batch_size=max(1024, block_size // row_bytes)):
            writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
            rows += batch.num_rows
            if progress is not None:
                progress(probe.size * rows // metadata.num_rows, probe.size)
    finally:
        writer.close()
    return IngestResult(rows, tuple(names), probe.format, None, renamed)


def _parquet_footer_bytes(path: Path) -> int:
    """Return the length of a Parquet file's footer (its last 8 bytes say it), 0 if unknown."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() < 12:
            return 0
        handle.seek(-8, 2)
        tail = handle.read(8)
    return int.from_bytes(tail[:4], "little") if tail[4:] == b"PAR1" else 0


def _has_dictionary(schema: pa.Schema) -> bool:
    """Whether any column, or any field nested in one, is dictionary-encoded."""

    def walk(t: pa.DataType) -> bool:
        if pa.types.is_dictionary(t):
            return True
        return any(walk(t.field(i).type) for i in range(t.num_fields))

    return any(walk(f.type) for f in schema)


# --- messages ------------------------------------------------------------------------------


def _explain(exc: BaseException, name: str, kind: str | None) -> str:
    """Write one plain sentence about a read error, without any internal detail."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"The server ran out of disk space while converting {name}: try again later."
    if isinstance(exc, FileNotFoundError):
        return f"{name} could not be found: please upload it again."
    if isinstance(exc, _csv_stream.RowTooLong):
        return (
            f"{name} has a row longer than {_csv_stream.MAX_ROW_BYTES >> 20} MB, most likely "
            'a quote (") that is never closed: fix that row, or save the file again as CSV.'
        )
    counts = _COLUMN_COUNT_ERROR.search(str(exc))
    if kind == "csv" and counts:
        return (
            f"{name} has a row with {counts[2]} values where the header has {counts[1]} "
            "columns: check the separators and closing quotes, or save it again as CSV."
        )
    if kind == "csv" and isinstance(exc, UnicodeError):
        return (
            f"The text of {name} uses an unknown character encoding: "
            "save it again as 'CSV UTF-8' and upload the new file."
        )
    if kind == "csv":
        return (
            f"{name} could not be read as a CSV table: check that it is plain text with one "
            "row per line, or save it again from your spreadsheet program as CSV."
        )
    if kind == "parquet":
        return f"{name} is a damaged or unsupported Parquet file: export it again and upload it."
    if kind == "excel":
        return (
            f"{name} could not be read as an Excel workbook, it may be damaged: "
            "open it in Excel, save it again as .xlsx and upload the new file."
        )
    return f"{name} could not be read as a table: {_UPLOAD_HINT}."
