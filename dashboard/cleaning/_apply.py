"""Cleaning steps: validated, previewable, applied as a new version of ``data``, undoable.

A step is a plain JSON-able dict from the browser, ``{"op": "fill_missing", ...params}``;
:data:`OPERATIONS` describes each operation and its parameters for the page. Nothing runs
before :func:`validate_steps` accepted the whole list, and nothing is stored before every
step ran: a refused step (a column that is gone, a fill value of the wrong type, text that
is not a number, a result without rows) leaves the dataset as it was.

:func:`apply_to_store` keeps the current ``data`` as ``data_previous`` (and, when the full
data is cleaned too, ``data_full`` as ``data_full_previous``) so :func:`undo` can bring it
back. Both are unprotected: a cleanup may remove them, after which there is nothing to undo.

The full data (``data_full``) is cleaned by :func:`clean_parquet`, one row group at a time.
Steps that need global statistics (median/mean/mode fills, IQR or z-score bounds, duplicate
rows, constant or mostly-missing columns, the decimal mark and date format of a column, and
the check that every value parses) get them from a streaming pass over the full data first,
with the earlier steps applied on the fly; then every step is row-wise. Memory stays about
one row group, plus what the statistics keep: 8 bytes per row and column for a median or
IQR (the values themselves, for exact quantiles), 16 bytes per row for duplicates (two
64-bit hashes of each row), the distinct values and counts of a column for a mode.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.cleaning._ops import OPERATIONS_BY_NAME, Operation, schema_of
from dashboard.data import column_table
from dashboard.errors import InvalidParameter
from dashboard.progress import Progress, no_progress
from dashboard.store import DatasetStore, ItemInfo

log = logging.getLogger(__name__)


MAX_STEPS = 50
_ROW_GROUP_ROWS = 8_192
_NO_ROWS = "These steps would remove every row; nothing was applied."
_NO_COLUMNS = "These steps would remove every column; nothing was applied."

OPERATIONS: dict[str, dict] = {name: op.spec() for name, op in OPERATIONS_BY_NAME.items()}
"""Operation name -> ``{"title", "description", "params"}`` (a parameter schema to render)."""


@dataclass(frozen=True)
class StepReport:
    """What one step did.

    Attributes:
        op: Operation name.
        rows_before: Rows the step received.
        rows_after: Rows it kept.
        columns_before: Columns it received.
        columns_after: Columns it kept.
        cells_changed: Cells of kept rows and columns whose value changed (missing -> value
            counts; missing -> missing does not; a renamed column is not a changed cell).
        message: One or two sentences for the user.
    """

    op: str
    rows_before: int
    rows_after: int
    columns_before: int
    columns_after: int
    cells_changed: int
    message: str

    def to_dict(self) -> dict:
        """Return the JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class CleaningResult:
    """The cleaned frame (fresh RangeIndex) and one report per step."""

    frame: pd.DataFrame
    steps: tuple[StepReport, ...]

    def to_dict(self) -> dict:
        """Return the reports only (the frame never goes to the browser)."""
        return {"steps": [s.to_dict() for s in self.steps]}


# --- validation ---------------------------------------------------------------------------


def _operation(step: Any, number: int) -> Operation:
    if not isinstance(step, dict):
        raise InvalidParameter(f"Step {number} is not a cleaning step.")
    op = OPERATIONS_BY_NAME.get(step.get("op"))
    if op is None:
        raise InvalidParameter(f"Step {number}: '{step.get('op')}' is not a cleaning operation.")
    unknown = sorted(set(step) - {"op"} - set(op.params))
    if unknown:
        raise InvalidParameter(f"Step {number} ({op.title}): unknown setting '{unknown[0]}'.")
    return op


def _checked(op: Operation, step: dict, schema: dict, number: int) -> dict:
    try:
        return op.check(step, schema)
    except InvalidParameter as error:
        raise InvalidParameter(f"Step {number} ({op.title}): {error}") from None


def validate_steps(df: pd.DataFrame, steps: list[dict]) -> list[dict]:
    """Check every step against the columns it will see and return the normalized steps.

    Columns are followed through the steps (renames, conversions); columns that an earlier
    step drops depending on the data (constant, mostly missing) are only known when it runs,
    so :func:`apply_steps` checks each step again just before running it.

    Args:
        df: The frame the steps will run on (its column names and dtypes are used).
        steps: ``[{"op": name, **params}, ...]`` as sent by the browser.

    Returns:
        The steps with defaults filled in, JSON-able, in the same order.

    Raises:
        InvalidParameter: No steps, an unknown operation or setting, a column that is not in
            the dataset any more, a column of the wrong kind, a fill value of the wrong type,
            or an out-of-range threshold. The message names the step.
    """
    if not isinstance(steps, list) or not steps:
        raise InvalidParameter("Choose at least one cleaning step.")
    if len(steps) > MAX_STEPS:
        raise InvalidParameter(f"At most {MAX_STEPS} steps can be applied at once.")
    schema = schema_of(df)
    normalized = []
    for number, step in enumerate(steps, 1):
        op = _operation(step, number)
        params = _checked(op, step, schema, number)
        normalized.append({"op": op.name, **params})
        schema = op.next_schema(params, schema)
    return normalized


# --- running ------------------------------------------------------------------------------


def _fit(op: Operation, params: dict, chunks, number: int) -> Any:
    if not op.needs_fit:
        return None
    state = op.start(params)
    for chunk in chunks:
        op.update(state, chunk, params)
    try:
        return op.finish(state, params)
    except InvalidParameter as error:
        raise InvalidParameter(f"Step {number} ({op.title}): {error}") from None


def _changed(old: pd.Series, new: pd.Series) -> int:
    old_na, new_na = old.isna().to_numpy(), new.isna().to_numpy()
    both = ~old_na & ~new_na
    if old.dtype == new.dtype and not isinstance(old.dtype, pd.CategoricalDtype):
        a, b = old.to_numpy()[both], new.to_numpy()[both]
    else:
        a, b = old.astype(object).to_numpy()[both], new.astype(object).to_numpy()[both]
    equal = pd.array(a == b, dtype=bool) if len(a) else []
    return int((old_na != new_na).sum()) + int(len(a) - sum(equal))


def cells_changed(before: pd.DataFrame, after: pd.DataFrame, columns: list[str]) -> int:
    """Count cells of ``columns`` whose value differs between ``before`` and ``after``.

    Rows are matched by index label (``after`` holds a subset of ``before``'s rows).
    """
    total = 0
    for column in columns:
        if column in before.columns and column in after.columns:
            old = before[column]
            if not old.index.equals(after.index):
                old = old.reindex(after.index)
            total += _changed(old, after[column])
    return total


@dataclass
class _Counts:
    rows_before: int = 0
    rows_after: int = 0
    columns_before: int = 0
    columns_after: int = 0
    cells: int = 0
    renamed: int = 0

    def add(self, op: Operation, params: dict, before: pd.DataFrame, after: pd.DataFrame):
        self.rows_before += len(before)
        self.rows_after += len(after)
        self.columns_before, self.columns_after = before.shape[1], after.shape[1]
        if before.shape[1] == after.shape[1]:
            self.renamed = sum(a != b for a, b in zip(before.columns, after.columns, strict=True))
        touched = op.touched(params, [str(c) for c in before.columns])
        self.cells += cells_changed(before, after, touched)


def _report(op: Operation, params: dict, fitted: Any, counts: _Counts) -> StepReport:
    parts = []
    removed_rows = counts.rows_before - counts.rows_after
    removed_columns = counts.columns_before - counts.columns_after
    if removed_rows:
        parts.append(f"Removed {removed_rows:,} of {counts.rows_before:,} rows.")
    if removed_columns:
        parts.append(f"Removed {removed_columns:,} column(s).")
    if counts.renamed:
        parts.append(f"Renamed {counts.renamed:,} column(s).")
    if counts.cells:
        parts.append(f"Changed {counts.cells:,} cell(s).")
    note = op.note(params, fitted)
    if note and not (removed_columns and note.startswith("Removed")):
        parts.append(note)
    return StepReport(
        op=op.name,
        rows_before=counts.rows_before,
        rows_after=counts.rows_after,
        columns_before=counts.columns_before,
        columns_after=counts.columns_after,
        cells_changed=counts.cells,
        message=" ".join(parts) or "Nothing to change.",
    )


def _run(df: pd.DataFrame, steps: list[dict], fitted_on: list | None = None) -> CleaningResult:
    normalized = validate_steps(df, steps)
    frame = df.reset_index(drop=True)  # copy-on-write: no data is copied here
    reports = []
    for number, step in enumerate(normalized, 1):
        op = OPERATIONS_BY_NAME[step["op"]]
        params = _checked(op, step, schema_of(frame), number)
        if fitted_on is not None and op.needs_fit and not op.positional:
            fitted = fitted_on[number - 1]
        else:
            fitted = _fit(op, params, [frame], number)
        after = op.transform(frame, params, fitted, 0)
        counts = _Counts()
        counts.add(op, params, frame, after)
        reports.append(_report(op, params, fitted, counts))
        frame = after
    return CleaningResult(frame.reset_index(drop=True), tuple(reports))


def apply_steps(
    df: pd.DataFrame, steps: list[dict], *, fitted_on: list | None = None
) -> CleaningResult:
    """Validate and run ``steps`` on ``df`` (which is never modified).

    Args:
        df: The frame to clean.
        steps: Steps as sent by the browser.
        fitted_on: Statistics of each step computed on other data (:func:`fit_parquet` on
            the full data), used instead of ``df``'s own so that a sample is cleaned exactly
            like the data it was drawn from (same fill values, bounds, dropped columns).
            Steps whose statistics are row positions (duplicates) still use ``df``'s.

    Raises:
        InvalidParameter: A step is invalid or refuses (see :func:`validate_steps`; text
            that does not parse as numbers/dates unless allowed), or the result would have
            no rows or no columns.
    """
    result = _run(df, steps, fitted_on)
    if len(result.frame) == 0:
        raise InvalidParameter(_NO_ROWS)
    if result.frame.shape[1] == 0:
        raise InvalidParameter(_NO_COLUMNS)
    return result


def preview(df: pd.DataFrame, steps: list[dict]) -> list[dict]:
    """Return what ``steps`` would do to ``df`` (the analysis sample), one dict per step.

    Nothing is stored. Unlike :func:`apply_steps`, a result without rows is reported (its
    last step shows ``rows_after == 0``) rather than refused, so the user sees which step
    removes everything.

    Raises:
        InvalidParameter: As :func:`validate_steps`, or a step refuses to run.
    """
    return [report.to_dict() for report in _run(df, steps).steps]


# --- full data, streamed ------------------------------------------------------------------


def _unified_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for every chunk: wider numbers, wider dictionary indices, null -> typed."""
    base = schemas[0]
    if all(s.equals(base) for s in schemas[1:]):
        return base
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    meta = base.pandas_metadata
    if meta:
        for entry in meta.get("columns", []):
            name = entry.get("field_name")
            if name in unified.names and not unified.field(name).type.equals(base.field(name).type):
                target = unified.field(name).type
                if entry.get("numpy_type", "")[:1].isupper() and pa.types.is_integer(target):
                    entry["numpy_type"] = f"Int{target.bit_width}"
                elif entry.get("numpy_type", "")[:1].isupper() and pa.types.is_floating(target):
                    entry["numpy_type"] = f"Float{target.bit_width}"
                else:
                    entry["numpy_type"] = "object"
        unified = unified.with_metadata({b"pandas": json.dumps(meta).encode()})
    return unified


class _Stream:
    """Passes over a Parquet file with the steps applied, chunk by chunk."""

    def __init__(self, path: Path, steps: list[dict], progress: Progress) -> None:
        self.file = pq.ParquetFile(path)
        self.steps = steps
        self.ops = [OPERATIONS_BY_NAME[s["op"]] for s in steps]
        self.fitted: list[Any] = [None] * len(steps)
        self.progress = progress
        self.groups = self.file.num_row_groups
        self.total = (sum(op.needs_fit for op in self.ops) + 2) * max(self.groups, 1)
        self.done = 0

    def chunks(self, label: str) -> Iterator[pd.DataFrame]:
        """Yield each row group as a frame (index = row position in the file)."""
        offset = 0
        for group in range(self.groups):
            df = self.file.read_row_group(group).to_pandas()
            df.index = pd.RangeIndex(offset, offset + len(df))
            offset += len(df)
            yield df
            self.done += 1
            self.progress(label, self.done, self.total)
        if self.groups == 0:
            yield self.file.schema_arrow.empty_table().to_pandas()

    def through(
        self, df: pd.DataFrame, upto: int, starts: list[int], counts: list[_Counts] | None = None
    ) -> pd.DataFrame:
        """Apply steps ``0 .. upto-1`` to one chunk, checking each against the chunk."""
        for j in range(upto):
            op = self.ops[j]
            params = _checked(op, self.steps[j], schema_of(df), j + 1)
            after = op.transform(df, params, self.fitted[j], starts[j])
            starts[j] += len(df)
            if counts is not None:
                counts[j].add(op, params, df, after)
            df = after
        return df

    def fit(self) -> None:
        """Compute each step's statistics on the full data (one pass per such step)."""
        for k, op in enumerate(self.ops):
            if not op.needs_fit:
                continue
            starts = [0] * len(self.ops)
            label = f"Statistics for step {k + 1} ({op.title})"
            state = op.start(self.steps[k])
            for chunk in self.chunks(label):
                part = self.through(chunk, k, starts)
                op.update(state, part, _checked(op, self.steps[k], schema_of(part), k + 1))
            try:
                self.fitted[k] = op.finish(state, self.steps[k])
            except InvalidParameter as error:
                raise InvalidParameter(f"Step {k + 1} ({op.title}): {error}") from None

    def tables(self, label: str, counts: list[_Counts] | None = None) -> Iterator[pa.Table]:
        """Yield each cleaned chunk as an Arrow table."""
        starts = [0] * len(self.ops)
        for chunk in self.chunks(label):
            df = self.through(chunk, len(self.ops), starts, counts)
            yield pa.Table.from_pandas(df, preserve_index=False)


def fit_parquet(src: Path, steps: list[dict], progress: Progress | None = None) -> list:
    """Return each step's statistics over a whole Parquet file (None for steps without any).

    ``steps`` are normalized by :func:`validate_steps`. Streams one pass per step that
    needs statistics; see :func:`clean_parquet`.
    """
    stream = _Stream(Path(src), steps, progress or no_progress)
    stream.fit()
    return stream.fitted


def clean_parquet(
    src: Path,
    dest: Path,
    steps: list[dict],
    progress: Progress | None = None,
    *,
    fitted: list | None = None,
) -> tuple[StepReport, ...]:
    """Clean a Parquet file into ``dest`` a row group at a time, as :func:`apply_steps` would.

    Passes: one per step that needs statistics (see the module docstring), one to find a
    common column type over all chunks (a chunk may come out ``int64`` where another comes
    out ``float64``), one to write. ``dest`` is written through a temporary file.

    Args:
        src: Parquet file to read.
        dest: Parquet file to write.
        steps: Steps already normalized by :func:`validate_steps`.
        progress: ``progress(step, done, total)`` after each row group of each pass.
        fitted: The statistics :func:`fit_parquet` returned for this file and these steps
            (its passes are then skipped).

    Returns:
        One report per step, with counts over the whole file.

    Raises:
        InvalidParameter: A step refuses on the full data (a column it needs was dropped
            there, values that do not parse...).
    """
    stream = _Stream(Path(src), steps, progress or no_progress)
    if fitted is None:
        stream.fit()
    else:
        stream.fitted = list(fitted)
    schemas: list[pa.Schema] = []
    for table in stream.tables("Checking column types"):
        if not any(table.schema.equals(s) for s in schemas):
            schemas.append(table.schema)
    schema = _unified_schema(schemas)
    counts = [_Counts() for _ in steps]
    tmp = Path(dest).with_name(f".{Path(dest).name}.tmp")
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            pending, rows = [], 0
            for table in stream.tables("Writing the cleaned data", counts):
                pending.append(table.cast(schema))
                rows += table.num_rows
                if rows >= _ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(pending), row_group_size=_ROW_GROUP_ROWS)
                    pending, rows = [], 0
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=_ROW_GROUP_ROWS)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tuple(
        _report(op, step, fitted, c)
        for op, step, fitted, c in zip(stream.ops, steps, stream.fitted, counts, strict=True)
    )


# --- versions in the store ----------------------------------------------------------------


def _copy_item(store: DatasetStore, session: str, item: ItemInfo, name: str, meta: dict):
    """Store a byte-for-byte copy of ``item`` under ``name`` (no re-encoding)."""
    copy = store.scratch_path()
    try:
        shutil.copyfile(store.parquet_path(session, item.key), copy)
        return store.put_file(
            session, name, copy, meta=meta, protected=False, bytes_memory=item.bytes_memory
        )
    finally:
        copy.unlink(missing_ok=True)


def _remove(store: DatasetStore, session: str, name: str) -> None:
    key = store.key_for(session, name)
    if key is not None:
        store.remove(session, key, force=True)


def apply_to_store(
    store: DatasetStore,
    session: str,
    steps: list[dict],
    *,
    also_full: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Clean ``data`` into a new version, keeping the current one for :func:`undo`.

    Everything is computed first (the full data into a scratch file); the store changes
    only when every step succeeded. ``data_previous`` becomes a copy of the current
    ``data`` (its meta under ``"restores"``); with ``also_full`` and a stored ``data_full``,
    the full data is cleaned the same way (see :func:`clean_parquet`), with the statistics
    of every step (fill values, outlier bounds, dropped columns) computed once on the full
    data and applied to both, and the current one kept as ``data_full_previous``. Without
    it, ``data_full`` is left as it is and the new meta says ``"full_cleaned": False``.

    Returns:
        ``{"version", "parent_version", "key", "rows", "columns", "steps", "full_steps"}``;
        ``steps`` are the reports on ``data``, ``full_steps`` those on the full data (None
        when it was not cleaned).

    Raises:
        InvalidParameter: No dataset, an invalid or refused step, or a result without rows
            or columns (for ``data`` or the full data); nothing is changed then.
    """
    progress = progress or no_progress
    info = store.info_by_name(session, "data")
    if info is None:
        raise InvalidParameter("There is no dataset to clean; load one first.")
    progress("Cleaning the analysis data", 0, 1)
    df = store.read_frame(session, info.key)
    normalized = validate_steps(df, steps)
    full = store.info_by_name(session, "data_full") if also_full else None
    fitted = None
    if full is not None:
        # one set of statistics, from the full data, for both: the sample stays a sample
        # of the cleaned full data (same fill values, bounds and dropped columns)
        fitted = fit_parquet(store.parquet_path(session, full.key), normalized, progress)
    result = apply_steps(df, normalized, fitted_on=fitted)
    del df
    cleaned_full = store.scratch_path() if full else None
    try:
        full_reports = None
        if full is not None:
            src = store.parquet_path(session, full.key)
            full_reports = clean_parquet(src, cleaned_full, normalized, progress, fitted=fitted)
            if full_reports and full_reports[-1].rows_after == 0:
                raise InvalidParameter(_NO_ROWS)
        _copy_item(
            store, session, info, "data_previous", {"restores": info.meta, "version": info.version}
        )
        meta = {k: v for k, v in info.meta.items() if k != "undone_from"}
        meta.update(
            steps=normalized,
            parent_version=info.version,
            column_table=column_table(result.frame),
            full_cleaned=full is not None,
        )
        if full is not None:
            _copy_item(
                store,
                session,
                full,
                "data_full_previous",
                {"restores": full.meta, "version": full.version},
            )
            full_meta = {**full.meta, "steps": normalized, "parent_version": full.version}
            meta["full_key"] = store.put_file(
                session, "data_full", cleaned_full, meta=full_meta
            ).key
        else:
            _remove(store, session, "data_full_previous")  # would not match data any more
        new = store.put_frame(session, "data", result.frame, meta=meta)
    finally:
        if cleaned_full is not None:
            cleaned_full.unlink(missing_ok=True)
    log.info("Cleaned %s… data v%d -> v%d", session[:6], info.version, new.version)
    return {
        "version": new.version,
        "parent_version": info.version,
        "key": new.key,
        "rows": new.rows,
        "columns": new.columns,
        "steps": result.to_dict()["steps"],
        "full_steps": [r.to_dict() for r in full_reports] if full_reports else None,
    }


def undo(store: DatasetStore, session: str) -> dict:
    """Make ``data_previous`` the current ``data`` again (as a new version).

    ``data_full_previous``, when kept, is restored as ``data_full`` too. Both previous
    items are then removed: one level of undo.

    Returns:
        ``{"version", "undone_from", "key", "rows", "columns"}``.

    Raises:
        InvalidParameter: There is no previous version ("There is nothing to undo.").
    """
    previous = store.info_by_name(session, "data_previous")
    if previous is None:
        raise InvalidParameter("There is nothing to undo.")
    current = store.info_by_name(session, "data")
    if current is None or current.meta.get("parent_version") != previous.meta.get("version"):
        # the kept version is not the one this data was cleaned from (defence in depth:
        # loading or resampling data already removes it)
        raise InvalidParameter(
            "There is nothing to undo: the data changed since the last cleaning."
        )
    previous_full = store.info_by_name(session, "data_full_previous")
    meta = dict(previous.meta.get("restores", {}))
    meta["undone_from"] = current.version if current else None
    if previous_full is not None:
        restored = _copy_item(
            store, session, previous_full, "data_full", previous_full.meta.get("restores", {})
        )
        meta["full_key"] = restored.key
    elif "full_key" in meta:
        # The full data may have been cleaned with the undone step and its previous
        # version is gone: point at what is there and say it.
        meta["full_key"] = store.key_for(session, "data_full")
        meta["full_cleaned"] = bool(current and current.meta.get("full_cleaned"))
    new = _copy_item(store, session, previous, "data", meta)
    _remove(store, session, "data_previous")
    _remove(store, session, "data_full_previous")
    log.info("Undo %s…: data v%s -> v%d", session[:6], meta["undone_from"], new.version)
    return {
        "version": new.version,
        "undone_from": meta["undone_from"],
        "key": new.key,
        "rows": new.rows,
        "columns": new.columns,
    }
