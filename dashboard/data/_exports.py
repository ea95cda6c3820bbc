"""Downloads of stored tables: CSV and Excel streamed from the Parquet file, or the file itself.

CSV and Excel are opened by spreadsheets, which run a cell starting with ``=``, ``+``, ``-``
or ``@`` (or a tab / carriage return before one) as a formula: such text cells, and column
names, get a leading apostrophe (:func:`neutralize_formulas`). Numbers are never changed.
Nothing here loads a whole table: rows are read ``chunk_rows`` at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from dashboard.errors import InvalidParameter
from dashboard.store import DatasetStore

log = logging.getLogger(__name__)

EXCEL_MAX_ROWS = 1_048_576
"""Rows of an Excel sheet, header included."""
EXCEL_MAX_COLUMNS = 16_384

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff".encode()


#: Largest table offered as Excel: the workbook is built inside the download request
#: (openpyxl writes about 125,000 cells a second here), which must end well within
#: gunicorn's timeout; larger tables download as CSV or Parquet.
EXCEL_MAX_ROWS = 100_000
EXCEL_TOO_LARGE = (
    f"Excel downloads are offered up to {EXCEL_MAX_ROWS:,} rows; download CSV or Parquet "
    "for larger data."
)


def _escape(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _neutralize_series(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        categories = s.cat.categories
        escaped = [_escape(c) for c in categories]
        if escaped == list(categories):
            return s
        if len(set(escaped)) == len(escaped):
            return s.cat.rename_categories(escaped)
        s = s.astype(object)
    if not (isinstance(s.dtype, pd.StringDtype) or pd.api.types.is_object_dtype(s.dtype)):
        return s
    flagged = s.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
    if not flagged.fillna(False).any():
        return s
    return s.where(~flagged.fillna(False).astype(bool), "'" + s.astype(object).astype(str))


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy where text that a spreadsheet would run as a formula is plain text.

    Text cells (``str``, ``object`` and ``category`` columns) and column names starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a leading apostrophe. Number,
    date and boolean columns are untouched, so ``-5`` stays a number while the text ``"-5"``
    becomes ``"'-5"``.
    """
    out = df.copy(deep=False)
    for position in range(df.shape[1]):
        column = df.iloc[:, position]
        escaped = _neutralize_series(column)
        if escaped is not column:
            out.isetitem(position, escaped)
    out.columns = [_escape(c) for c in df.columns]
    return out


def _batches(store: DatasetStore, session: str, key: str, chunk_rows: int) -> Iterator:
    path = store.parquet_path(session, key)
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    empty = True
    for batch in parquet.iter_batches(batch_size=chunk_rows, use_pandas_metadata=True):
        empty = False
        yield pa.Table.from_batches([batch], schema=schema).to_pandas()
    if empty:
        yield schema.empty_table().to_pandas()


def _date_formats(store: DatasetStore, session: str, key: str) -> dict[str, str]:
    """One format per datetime column, so every chunk writes dates the same way.

    pandas prints a datetime column without the time when every value of the frame is at
    midnight; deciding per chunk would mix both forms in one file.
    """
    parquet = pq.ParquetFile(store.parquet_path(session, key))
    columns = [
        f.name for f in parquet.schema_arrow if pa.types.is_timestamp(f.type) and f.type.tz is None
    ]
    formats = {}
    for name in columns:
        midnight, subsecond = True, False
        for batch in parquet.iter_batches(columns=[name]):
            column = pc.drop_null(batch.column(0))
            values = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
            unit = batch.schema.field(0).type.unit
            per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
            midnight = midnight and bool((values % (86_400 * per_second) == 0).all())
            subsecond = subsecond or bool((values % per_second != 0).any())
        formats[name] = (
            "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S.%f" if subsecond else "%Y-%m-%d %H:%M:%S"
        )
    return formats


def iter_csv(
    store: DatasetStore, session: str, key: str, *, chunk_rows: int = 50_000
) -> Iterator[bytes]:
    """Yield the stored table as CSV bytes, ``chunk_rows`` rows at a time.

    UTF-8 with a byte-order mark (so Excel reads accents right), a header once, no index,
    formulas neutralized. Timezone-naive datetime columns are written with one format per
    column (date only when every value is at midnight).

    Raises:
        ItemNotFound: Unknown or removed key.
        AccessDenied: The key belongs to another session.
    """
    if chunk_rows < 1:
        raise InvalidParameter("chunk_rows must be positive.")
    formats = _date_formats(store, session, key)
    header = True
    for chunk in _batches(store, session, key, chunk_rows):
        for name, fmt in formats.items():
            chunk[name] = chunk[name].dt.strftime(fmt)
        text = neutralize_formulas(chunk).to_csv(index=False, header=header)
        yield (_BOM if header else b"") + text.encode("utf-8")
        header = False


def _cell(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.tz_convert(None) if value.tzinfo else value
        return value.to_pydatetime()
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def write_excel(store: DatasetStore, session: str, key: str, dest: Path) -> Path:
    """Write the stored table to an ``.xlsx`` file, streaming (openpyxl write-only mode).

    Returns:
        ``dest``.

    Raises:
        InvalidParameter: More rows (or columns) than an Excel sheet holds.
        ItemNotFound: Unknown or removed key.
        AccessDenied: The key belongs to another session.
    """
    info = store.info(session, key)
    if info.rows > EXCEL_MAX_ROWS - 1:
        raise InvalidParameter(
            f"This table has {info.rows:,} rows; Excel holds at most "
            f"{EXCEL_MAX_ROWS - 1:,} data rows. Download CSV or Parquet instead."
        )
    if info.columns > EXCEL_MAX_COLUMNS:
        raise InvalidParameter(
            f"This table has {info.columns:,} columns; Excel holds at most "
            f"{EXCEL_MAX_COLUMNS:,}. Download CSV or Parquet instead."
        )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    header = False
    for chunk in _batches(store, session, key, 10_000):
        chunk = neutralize_formulas(chunk)
        if not header:
            sheet.append([_cell(str(c)) for c in chunk.columns])
            header = True
        for row in chunk.itertuples(index=False, name=None):
            sheet.append([_cell(v) for v in row])
    dest = Path(dest)
    workbook.save(dest)
    log.info("Wrote %d rows to %s", info.rows, dest.name)
    return dest


def parquet_file(store: DatasetStore, session: str, key: str) -> Path:
    """Return the stored Parquet file itself (open it promptly: it may be replaced later).

    Raises:
        ItemNotFound: Unknown or removed key.
        AccessDenied: The key belongs to another session.
    """
    return store.parquet_path(session, key)
