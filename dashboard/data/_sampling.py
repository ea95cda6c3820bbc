"""Reproducible samples of large tables: plain or stratified, in memory or from Parquet.

Every function returns or uses sorted row positions, so a sample keeps the file's row order,
and the same seed always gives the same rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from dashboard.data._optimize import open_parquet
from dashboard.errors import InvalidParameter

log = logging.getLogger(__name__)


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise InvalidParameter(f"The sample size must be a whole number above 0, not {size!r}.")


def sample_indices(n_rows: int, size: int, *, seed: int = 0) -> np.ndarray:
    """Choose ``size`` distinct row positions out of ``n_rows``, uniformly at random.

    Args:
        n_rows: Number of rows to choose from (0 or more).
        size: Number of rows wanted; ``size >= n_rows`` returns every position.
        seed: Seed of the random generator; the same seed gives the same positions.

    Returns:
        Sorted, unique ``int64`` positions, shape ``(min(size, n_rows),)``.

    Raises:
        InvalidParameter: ``size`` is not a whole number above 0, or ``n_rows`` is negative.
    """
    _check_size(size)
    if n_rows < 0:
        raise InvalidParameter(f"The number of rows cannot be negative ({n_rows}).")
    if size >= n_rows:
        return np.arange(n_rows, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=size, replace=False)).astype(np.int64)


def _allocate(counts: np.ndarray, size: int) -> np.ndarray:
    """Split ``size`` rows over classes in proportion to ``counts`` (largest remainder).

    Classes left with no row get one when ``size`` allows, taken from the classes that were
    rounded up the most.
    """
    quotas = counts * (size / counts.sum())
    alloc = np.floor(quotas).astype(np.int64)
    remainder = size - int(alloc.sum())
    # Stable order: ties go to the class seen first, so the result is deterministic.
    alloc[np.argsort(-(quotas - alloc), kind="stable")[:remainder]] += 1
    if size >= len(counts):
        for empty in np.flatnonzero((alloc == 0) & (counts > 0)):
            donors = np.flatnonzero(alloc > 1)
            donor = donors[np.argmax((alloc - quotas)[donors])]
            alloc[donor] -= 1
            alloc[empty] = 1
    return alloc


def stratified_indices(labels: pd.Series, size: int, *, seed: int = 0) -> np.ndarray:
    """Choose ``size`` row positions keeping each class's share of the rows.

    Each class gets ``size x class share`` rows, rounded by largest remainder (so within one
    row of the exact share). When ``size`` is at least the number of classes, every class
    keeps at least one row. Missing labels form their own class.

    Args:
        labels: One label per row (any dtype).
        size: Number of rows wanted; ``size >= len(labels)`` returns every position.
        seed: Seed of the random generator; the same seed gives the same positions.

    Returns:
        Sorted, unique ``int64`` positions, shape ``(min(size, len(labels)),)``.

    Raises:
        InvalidParameter: ``size`` is not a whole number above 0.
    """
    _check_size(size)
    n_rows = len(labels)
    if size >= n_rows:
        return np.arange(n_rows, dtype=np.int64)
    codes, _ = pd.factorize(labels, use_na_sentinel=False)
    counts = np.bincount(codes)
    alloc = _allocate(counts, size)
    order = np.argsort(codes, kind="stable")  # positions grouped by class
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(order[start : start + count], size=take, replace=False)
        for start, count, take in zip(starts, counts, alloc, strict=True)
        if take
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def sample_parquet(
    src: Path, size: int, *, stratify: str | None = None, seed: int = 0
) -> pd.DataFrame:
    """Read a reproducible sample of a Parquet file, one row group at a time.

    Only the ``stratify`` column (if any) is read in full; rows are then taken from each row
    group in turn, so memory stays within one row group plus the sample.

    Args:
        src: Parquet file.
        size: Number of rows wanted; ``size >= rows in the file`` returns every row.
        stratify: Column whose class shares the sample keeps (see `stratified_indices`);
            None for a uniform sample (see `sample_indices`).
        seed: Seed of the random generator; the same seed gives the same rows.

    Returns:
        The sampled rows in file order, with a fresh ``RangeIndex`` (a stored index is
        dropped). Row ``i`` of the result is row ``positions[i]`` of the file, where
        ``positions`` is what `sample_indices` / `stratified_indices` return for that seed.

    Raises:
        InvalidParameter: ``size`` is not a whole number above 0, or ``stratify`` is not a
            column of the file.
        DataLoadError: ``src`` is not a readable Parquet file.
    """
    _check_size(size)
    pf = open_parquet(src)
    n_rows = pf.metadata.num_rows
    if stratify is None:
        positions = sample_indices(n_rows, size, seed=seed)
    else:
        names = [n for n in pf.schema_arrow.names if not n.startswith("__index_level_")]
        if stratify not in names:
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            raise InvalidParameter(
                f"Cannot stratify by '{stratify}': there is no such column. Columns: {shown}."
            )
        labels = pf.read(columns=[stratify]).column(0).to_pandas()
        positions = stratified_indices(labels, size, seed=seed)
        del labels
    pieces = []
    start = 0
    for group in range(pf.num_row_groups):
        length = pf.metadata.row_group(group).num_rows
        lo, hi = np.searchsorted(positions, [start, start + length])
        if hi > lo:
            table = pf.read_row_group(group)
            pieces.append(table.take(pa.array(positions[lo:hi] - start)))
            del table
        start += length
    if not pieces:
        pieces.append(pf.schema_arrow.empty_table())
    sample = pa.concat_tables(pieces).to_pandas().reset_index(drop=True)
    log.info("sample_parquet %s: %d of %d rows", Path(src).name, len(sample), n_rows)
    return sample
