"""Turning a file into the session's active dataset, and changing its sample.

Runs inside a background job, never in the web process. Everything is written to scratch
files first and switched into the store only at the end, so a failure at any step leaves
the previous dataset active and intact.

Names in the store: ``data`` is the analysis dataset (the sample when the file is large,
else everything); ``data_full`` is the whole optimized file when ``data`` is a sample.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from dashboard.data._ingest import ingest_to_parquet
from dashboard.data._optimize import optimize_parquet
from dashboard.data._sampling import sample_parquet
from dashboard.errors import InvalidParameter
from dashboard.ml import strict_direction
from dashboard.progress import Progress, no_progress
from dashboard.settings import Settings
from dashboard.store import DatasetStore, ItemInfo

log = logging.getLogger(__name__)

SAMPLE_SEED = 0


@dataclass(frozen=True)
class ActiveDataset:
    """What the browser may hold about the active dataset: keys and a version, no data."""

    data_key: str
    full_key: str | None
    version: int
    rows: int
    rows_full: int
    columns: int
    sampled: bool

    def to_dict(self) -> dict:
        """Return the JSON-able form kept in the browser's dataset store."""
        return asdict(self)


def column_table(df: pd.DataFrame) -> list[dict]:
    """Return one row per column: name, dtype, non-null, missing %, unique, memory bytes.

    Also ``monotonic``: ``increasing`` / ``decreasing`` for a whole-number column whose
    values strictly rise / fall down the rows (a row number), else ``""`` — the ML page
    leaves such columns out as identifiers without reading the rows; and ``zero_one``: the
    column is true/false or holds only 0 and 1 (the market basket's one-hot candidates).
    """
    n = len(df)
    memory = df.memory_usage(deep=True, index=False)
    rows = []
    for name in df.columns:
        col = df[name]
        non_null = int(col.notna().sum())
        rows.append(
            {
                "column": str(name),
                "dtype": str(col.dtype),
                "non_null": non_null,
                "missing_pct": round(100 * (n - non_null) / n, 2) if n else 0.0,
                "unique": int(col.nunique(dropna=True)),
                "memory": int(memory[name]),
                "monotonic": strict_direction(col),
                "zero_one": _zero_one(col, non_null),
            }
        )
    return rows


def _zero_one(col: pd.Series, non_null: int) -> bool:
    """Return whether ``col`` is true/false or numbers that are all 0 or 1."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return True
    if not pd.api.types.is_numeric_dtype(col.dtype) or not non_null:
        return False
    return bool(col.dropna().isin([0, 1]).all())


#: Items kept by cleaning for Undo (see ``dashboard.cleaning``); they describe the data
#: before the last cleaning, so a new dataset or a new sample makes them meaningless.
UNDO_ITEMS = ("data_previous", "data_full_previous")
#: Meta of ``data`` that describes how it was cleaned; a new sample was not.
_CLEANING_META = ("steps", "parent_version", "undone_from", "full_cleaned")


def forget_undo(store: DatasetStore, session: str) -> None:
    """Remove the versions kept for Undo (after a new dataset or a new sample)."""
    for name in UNDO_ITEMS:
        key = store.key_for(session, name)
        if key is not None:
            store.remove(session, key, force=True)


def _activate(
    store: DatasetStore,
    session: str,
    *,
    data: pd.DataFrame | Path,
    full_path: Path | None,
    rows_full: int,
    meta: dict,
    sampling: dict,
    bytes_full: int | None = None,
) -> ActiveDataset:
    """Put ``data`` (and ``data_full`` when sampled) into the store and return the keys."""
    frame = data if isinstance(data, pd.DataFrame) else pd.read_parquet(data)
    meta = {**meta, "sampling": sampling, "column_table": column_table(frame)}
    full_info: ItemInfo | None = None
    if full_path is not None:
        full_info = store.put_file(
            session,
            "data_full",
            full_path,
            meta={"source": meta.get("source")},
            bytes_memory=bytes_full,
        )
        meta["full_key"] = full_info.key
    if isinstance(data, pd.DataFrame):
        info = store.put_frame(session, "data", frame, meta=meta)
    else:
        info = store.put_file(
            session,
            "data",
            data,
            meta=meta,
            bytes_memory=int(frame.memory_usage(deep=True).sum()),
        )
    del frame
    forget_undo(store, session)
    if full_path is None:
        stale = store.key_for(session, "data_full")
        if stale is not None:  # the previous dataset's full copy: no longer ours
            store.remove(session, stale, force=True)
    return ActiveDataset(
        data_key=info.key,
        full_key=full_info.key if full_info else None,
        version=info.version,
        rows=info.rows,
        rows_full=rows_full,
        columns=info.columns,
        sampled=full_info is not None,
    )


def load_file(
    store: DatasetStore,
    session: str,
    source: Path,
    *,
    settings: Settings,
    filename: str | None = None,
    sheet: str | None = None,
    source_info: dict | None = None,
    progress: Progress = no_progress,
) -> ActiveDataset:
    """Read ``source``, optimize it, sample it when large, and make it the active dataset.

    Raises:
        DataLoadError: The file cannot be read as a table (the message says why).
    """
    raw = store.scratch_path()
    optimized = store.scratch_path()
    try:
        result = ingest_to_parquet(
            source,
            raw,
            sheet=sheet,
            filename=filename,
            progress=lambda done, total: progress("Reading the file", done, total),
            output="arrow",  # uncompressed Arrow IPC: optimize_parquet reads it memory-mapped
        )
        report = optimize_parquet(
            raw,
            optimized,
            category_max_unique_ratio=settings.category_max_unique_ratio,
            progress=lambda done, total: progress("Optimizing memory", done, total),
        )
        raw.unlink(missing_ok=True)
        rows = pq.ParquetFile(optimized).metadata.num_rows
        fmt = result.format
        meta = {
            "source": {
                "filename": filename or source.name,
                "format": fmt.kind,
                "encoding": fmt.encoding,
                "delimiter": fmt.delimiter,
                "decimal": fmt.decimal,
                "sheet": result.sheet,
                "sheets": list(fmt.sheets),
                "renamed": dict(result.renamed),
                **(source_info or {}),
            },
            "report": report.to_dict(),
        }
        if rows > settings.sample_threshold_rows:
            progress("Sampling", 0, 1)
            sample = sample_parquet(optimized, settings.sample_rows, seed=SAMPLE_SEED)
            sampling = {
                "sampled": True,
                "size": len(sample),
                "stratify": None,
                "seed": SAMPLE_SEED,
                "rows_full": rows,
            }
            return _activate(
                store,
                session,
                data=sample,
                full_path=optimized,
                rows_full=rows,
                meta=meta,
                sampling=sampling,
                bytes_full=report.bytes_after,
            )
        sampling = {"sampled": False, "size": rows, "stratify": None, "rows_full": rows}
        return _activate(
            store,
            session,
            data=optimized,
            full_path=None,
            rows_full=rows,
            meta=meta,
            sampling=sampling,
        )
    finally:
        raw.unlink(missing_ok=True)
        optimized.unlink(missing_ok=True)


def resample(
    store: DatasetStore,
    session: str,
    *,
    size: int | None,
    stratify: str | None = None,
    use_full: bool = False,
    progress: Progress = no_progress,
) -> ActiveDataset:
    """Replace the analysis dataset by a new sample of the full data (or the full data).

    Raises:
        InvalidParameter: No full data is stored, or the size or column is impossible.
    """
    full = store.info_by_name(session, "data_full")
    current = store.info_by_name(session, "data")
    if full is None or current is None:
        raise InvalidParameter(
            "This dataset is small enough to be analysed whole; there is nothing to resample."
        )
    dropped = ("sampling", "column_table", *_CLEANING_META)
    meta = {k: v for k, v in current.meta.items() if k not in dropped}
    forget_undo(store, session)
    path = store.parquet_path(session, full.key)
    if use_full:
        progress("Copying the full data", 0, 1)
        copy = store.scratch_path()
        try:
            shutil.copyfile(path, copy)
            sampling = {
                "sampled": False,
                "size": full.rows,
                "stratify": None,
                "rows_full": full.rows,
            }
            # data_full stays: the user can go back to a sample later.
            info = store.put_file(
                session,
                "data",
                copy,
                meta={
                    **meta,
                    "sampling": sampling,
                    "full_key": full.key,
                    "column_table": column_table(pd.read_parquet(copy)),
                },
                bytes_memory=full.bytes_memory,
            )
        finally:
            copy.unlink(missing_ok=True)
        return ActiveDataset(
            info.key, full.key, info.version, info.rows, full.rows, info.columns, False
        )
    if size is None or size < 1:
        raise InvalidParameter(
            f"Enter a sample size as a whole number of rows, from 1 to {full.rows - 1:,}."
        )
    if size >= full.rows:
        raise InvalidParameter(
            f"The sample size must be smaller than the {full.rows:,} rows of the full data; "
            "choose “Use the full data” instead."
        )
    progress("Sampling", 0, 1)
    sample = sample_parquet(path, int(size), stratify=stratify or None, seed=SAMPLE_SEED)
    sampling = {
        "sampled": True,
        "size": len(sample),
        "stratify": stratify or None,
        "seed": SAMPLE_SEED,
        "rows_full": full.rows,
    }
    meta = {
        **meta,
        "sampling": sampling,
        "full_key": full.key,
        "column_table": column_table(sample),
    }
    info = store.put_frame(session, "data", sample, meta=meta)
    return ActiveDataset(info.key, full.key, info.version, info.rows, full.rows, info.columns, True)


#: What every analysis says before there is a dataset.
NO_DATA = "Load a dataset on the Data page first."


def active_data(store, session: str) -> ItemInfo:
    """Return the session's analysis dataset (``data``).

    Raises:
        InvalidParameter: There is none yet (``NO_DATA``).
    """
    data = store.info_by_name(session, "data")
    if data is None:
        raise InvalidParameter(NO_DATA)
    return data
