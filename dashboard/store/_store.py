"""Server-side store of DataFrames: Parquet files on disk plus a process-safe index.

The browser only ever holds the opaque keys handed out here; web workers and job
processes read frames back from disk on demand and never keep them between requests.

Layout under ``root``::

    items/<key>.parquet   one file per stored item
    items/<key>.<suffix>  the item's attachment, if any (e.g. a fitted model, ``.joblib``)
    tmp/                  files being written (same filesystem, so ``os.replace`` is atomic)
    index/                diskcache index shared by every process

Index entries: ``item:<key>`` (the item's record), ``used:<key>`` (last read time),
``sess:<session>`` (``{"names": {name: key}, "versions": {name: int}}``) and
``active:<session>`` (last activity time). Every multi-entry update runs inside one
``cache.transact()``. A file is always written completely and moved into ``items/``
before the index points at it, and removed only after the index stopped pointing at it,
so a crash leaves at worst an orphan file, which :meth:`DatasetStore.sweep_orphans` removes.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from diskcache import Timeout

from dashboard.cache import Cache
from dashboard.errors import AccessDenied, DataLoadError, InvalidParameter, ItemNotFound

log = logging.getLogger(__name__)

PROTECTED_NAMES = frozenset({"data", "data_full", "profile"})

_KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SUFFIX_RE = re.compile(r"\.[a-z0-9]{1,10}")
_GONE = "This data is not available any more (it was cleaned up or expired). Load it again."
_FOREIGN = "This data belongs to another session. Reload the page to start your own."
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError)


@dataclass(frozen=True)
class ItemInfo:
    """One stored item, as recorded in the index.

    Attributes:
        key: Opaque key; a new one on every put.
        session: Owning session id.
        name: Caller's name for the item within the session (``data``, ``rfm``...).
        rows: Number of rows.
        columns: Number of columns.
        bytes_disk: Size of the Parquet file.
        bytes_memory: Estimated pandas in-memory size once read back.
        created: Time of the put (epoch seconds).
        last_used: Last read (refreshed at most every few seconds).
        protected: Not removed by :meth:`DatasetStore.cleanup`, by
            :meth:`DatasetStore.remove` without ``force``, nor by quota eviction before
            every unprotected item is gone.
        version: Per (session, name): 1 on the first put, +1 on every replacement.
        meta: Small JSON-able dict supplied by the caller.
        attachment: Suffix of the file attached to the item (``".joblib"``), or None.
            The attachment belongs to the item: replaced, removed, expired and evicted
            with it, counted in ``bytes_disk``, read only by its session.
    """

    key: str
    session: str
    name: str
    rows: int
    columns: int
    bytes_disk: int
    bytes_memory: int
    created: float
    last_used: float
    protected: bool
    version: int
    meta: dict
    attachment: str | None = None


@dataclass(frozen=True)
class CleanupReport:
    """What a cleanup removed; ``freed_bytes`` counts disk bytes."""

    removed: tuple[ItemInfo, ...] = ()
    freed_bytes: int = 0


class DatasetStore:
    """Parquet files plus a diskcache index, shared safely by several processes.

    Args:
        root: Folder of the store (created if missing).
        session_ttl_s: Sessions idle for longer are removed by :meth:`expire_idle_sessions`.
        disk_quota_bytes: Total size that :meth:`enforce_quota` keeps the store under.
        touch_interval_s: ``last_used`` and session activity are written at most this
            often per item / session and process, so grid paging does not contend.
        clock: Time source (tests inject a fake one).
    """

    def __init__(
        self,
        root: Path,
        *,
        session_ttl_s: float = 86400,
        disk_quota_bytes: int = 10 << 30,
        touch_interval_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ):
        self.root = Path(root)
        self.session_ttl_s = session_ttl_s
        self.disk_quota_bytes = disk_quota_bytes
        self.touch_interval_s = touch_interval_s
        self._clock = clock
        self._items_dir = self.root / "items"
        self._tmp_dir = self.root / "tmp"
        self._items_dir.mkdir(parents=True, exist_ok=True)
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        # No eviction: the index must never forget an item on its own.
        self._index = Cache(str(self.root / "index"), eviction_policy="none", timeout=60)
        self._touched: dict[tuple[str, str], float] = {}

    def close(self) -> None:
        """Close this process's connection to the index (it reopens on next use)."""
        self._index.close()

    # ----------------------------------------------------------------- writing
    def scratch_path(self, suffix: str = ".parquet") -> Path:
        """Return a new unique path in ``root/tmp`` for a streaming writer.

        The file is not created. Hand it to :meth:`put_file` when complete; scratch files
        older than an hour are removed by :meth:`sweep_orphans`.
        """
        if "/" in suffix or "\\" in suffix or len(suffix) > 16:
            raise ValueError(f"Invalid scratch suffix {suffix!r}.")
        return self._tmp_dir / f"{secrets.token_hex(16)}{suffix}"

    def put_frame(
        self,
        session: str,
        name: str,
        df: pd.DataFrame,
        *,
        meta: dict | None = None,
        protected: bool | None = None,
        row_group_rows: int = 8_192,
        attachment: Path | None = None,
    ) -> ItemInfo:
        """Store ``df`` under ``name`` in ``session``, replacing any previous item.

        The index is not stored (``preserve_index=False``): frames read back have a
        RangeIndex. The frame is converted to Arrow one row group at a time, so the extra
        memory is about one row group.

        Args:
            session: Owning session id.
            name: Item name within the session.
            df: Frame to store; column names must be unique strings.
            meta: Small JSON-able dict kept with the item.
            protected: Defaults to ``name in PROTECTED_NAMES``; those names are always
                protected.
            row_group_rows: Rows per Parquet row group (the unit :meth:`read_rows` reads).
            attachment: A complete file to keep with the item (moved in, best from
                :meth:`scratch_path`); its suffix (``.joblib``) is kept, see
                :meth:`attachment_path`.

        Returns:
            The new item's info (new key, version bumped on replacement).

        Raises:
            DataLoadError: A column cannot be stored (e.g. it mixes numbers and text).
            ValueError: The attachment's suffix is not 1-10 lower-case letters or digits.
        """
        if row_group_rows < 1:
            raise ValueError("row_group_rows must be positive.")
        meta = _checked_meta(meta or {})
        tmp = self.scratch_path()
        try:
            _write_parquet(df, tmp, row_group_rows)
            bytes_memory = int(df.memory_usage(deep=True, index=False).sum())
            return self._commit(
                session,
                name,
                tmp,
                df.shape[0],
                df.shape[1],
                bytes_memory,
                meta,
                protected,
                attachment=attachment,
            )
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(
        self,
        session: str,
        name: str,
        parquet_path: Path,
        *,
        meta: dict | None = None,
        protected: bool | None = None,
        bytes_memory: int | None = None,
    ) -> ItemInfo:
        """Move an already written Parquet file into the store (``os.replace``).

        Best written at :meth:`scratch_path` (same filesystem); from elsewhere the file is
        copied. ``bytes_memory`` defaults to the uncompressed size in the file's metadata.

        Raises:
            DataLoadError: The file is not a readable Parquet file.
        """
        path = Path(parquet_path)
        meta = _checked_meta(meta or {})
        try:
            metadata = pq.read_metadata(path)
        except FileNotFoundError:
            raise
        except (pa.ArrowException, OSError) as exc:
            raise DataLoadError("The converted file is not a valid Parquet file.") from exc
        columns = len(_frame_columns(metadata.schema.to_arrow_schema()))
        if bytes_memory is None:
            bytes_memory = sum(
                metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
            )
        return self._commit(
            session, name, path, metadata.num_rows, columns, bytes_memory, meta, protected
        )

    def _commit(
        self, session, name, src, rows, columns, bytes_memory, meta, protected, attachment=None
    ) -> ItemInfo:
        if not isinstance(session, str) or not session:
            raise ValueError("A session id is required.")
        if not isinstance(name, str) or not name:
            raise ValueError("An item name is required.")
        suffix = None
        if attachment is not None:
            suffix = Path(attachment).suffix
            if not _SUFFIX_RE.fullmatch(suffix):
                raise ValueError(f"Invalid attachment suffix {suffix!r}.")
        key = secrets.token_urlsafe(16)
        final = self._item_path(key)
        self._move_in(src, final)
        size = final.stat().st_size
        if suffix is not None:
            try:
                self._move_in(Path(attachment), self._item_path(key, suffix))
            except BaseException:
                final.unlink(missing_ok=True)
                raise
            size += self._item_path(key, suffix).stat().st_size
        now = self._clock()
        record = {
            "key": key,
            "session": session,
            "name": name,
            "rows": int(rows),
            "columns": int(columns),
            "bytes_disk": size,
            "bytes_memory": int(bytes_memory),
            "created": now,
            "protected": bool(protected) or name in PROTECTED_NAMES,
            "version": 1,
            "meta": meta,
            "attachment": suffix,
        }
        try:
            with self._index.transact(retry=True):
                sess = self._index.get(f"sess:{session}") or {"names": {}, "versions": {}}
                old_key = sess["names"].get(name)
                old = self._index.get(f"item:{old_key}") if old_key else None
                record["version"] = sess["versions"].get(name, 0) + 1
                sess["names"][name] = key
                sess["versions"][name] = record["version"]
                self._index.set(f"item:{key}", record)
                self._index.set(f"used:{key}", now)
                self._index.set(f"sess:{session}", sess)
                self._index.set(f"active:{session}", now)
                if old_key:
                    self._index.delete(f"item:{old_key}")
                    self._index.delete(f"used:{old_key}")
        except BaseException:
            self._unlink([record])
            raise
        if old_key:
            self._unlink([old or {"key": old_key, "bytes_disk": 0}])
        log.info("Stored %s v%d (%d rows) as %s", name, record["version"], rows, key)
        return self._to_info(record, used=now)

    def _move_in(self, src: Path, final: Path) -> None:
        try:
            os.replace(src, final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            tmp = self.scratch_path()
            try:
                shutil.copyfile(src, tmp)
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            Path(src).unlink(missing_ok=True)
        # Fresh mtime: the orphan sweep judges age by it.
        os.utime(final)

    # ----------------------------------------------------------------- lookups
    def key_for(self, session: str, name: str) -> str | None:
        """Return the current key of ``name`` in ``session``, or None."""
        sess = self._index.get(f"sess:{session}")
        return sess["names"].get(name) if sess else None

    def info(self, session: str, key: str) -> ItemInfo:
        """Return the info of ``key``.

        Raises:
            ItemNotFound: Unknown, removed or expired key.
            AccessDenied: The key belongs to another session.
        """
        record = self._record(session, key)
        self._touch(session, None)
        return self._to_info(record)

    def info_by_name(self, session: str, name: str) -> ItemInfo | None:
        """Return the info of ``name`` in ``session``, or None when there is none."""
        key = self.key_for(session, name)
        record = self._index.get(f"item:{key}") if key else None
        return self._to_info(record) if record and record["session"] == session else None

    def info_by_key(self, key: str | None) -> ItemInfo | None:
        """Return the info of ``key`` whatever its session, or None when it is gone.

        Only for capabilities the server signed itself (download links): every request
        from a browser goes through the session-checked methods.
        """
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            return None
        record = self._index.get(f"item:{key}")
        return self._to_info(record) if record else None

    def items(self, session: str) -> list[ItemInfo]:
        """Return the session's items, newest first."""
        infos = [self._to_info(r) for r in self._session_records(session)]
        return sorted(infos, key=lambda i: (i.created, i.version), reverse=True)

    def total_bytes(self) -> int:
        """Return the disk size of every item of every session."""
        return sum(r["bytes_disk"] for r in self._all_records())

    def update_meta(self, session: str, key: str, **meta) -> ItemInfo:
        """Merge ``meta`` into the item's meta dict; the key and version do not change.

        Raises:
            ItemNotFound: Unknown key.
            AccessDenied: The key belongs to another session.
            TypeError: A value is not JSON-able.
        """
        with self._index.transact(retry=True):
            record = self._record(session, key)
            record["meta"] = _checked_meta({**record["meta"], **meta})
            self._index.set(f"item:{key}", record)
        return self._to_info(record)

    # ----------------------------------------------------------------- reading
    def parquet_path(self, session: str, key: str) -> Path:
        """Return the item's Parquet file, for streaming readers inside jobs.

        The file may be removed by a later replacement or cleanup; open it promptly (an
        open file stays readable on POSIX).
        """
        self._record(session, key)
        self._touch(session, key)
        return self._item_path(key)

    def attachment_path(self, session: str, key: str) -> Path:
        """Return the file attached to the item (open it promptly, as :meth:`parquet_path`).

        Raises:
            ItemNotFound: Unknown key, or the item has no attachment.
            AccessDenied: The key belongs to another session.
        """
        record = self._record(session, key)
        path = self._item_path(key, record.get("attachment") or ".parquet")
        if not record.get("attachment") or not path.is_file():
            raise ItemNotFound("There is no file attached to this result.")
        self._touch(session, key)
        return path

    def read_frame(self, session: str, key: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read the whole item (or some columns, in the given order).

        Raises:
            ItemNotFound: Unknown or vanished key.
            AccessDenied: The key belongs to another session.
            InvalidParameter: A requested column does not exist.
        """
        with self._open(session, key) as pf:
            columns = _checked_columns(pf, columns)
            table = pf.read(columns=columns, use_pandas_metadata=True)
        frame = _to_frame(table, columns)
        del table
        # Decoding leaves freed buffers in Arrow's allocator (measured: ~180 MB for a 1M-row
        # frame); hand them back so a job's peak is the frame, not the frame plus the cache.
        pa.default_memory_pool().release_unused()
        return frame

    def read_rows(
        self, session: str, key: str, start: int, stop: int, columns: list[str] | None = None
    ) -> pd.DataFrame:
        """Read rows ``start .. stop-1`` (fewer at the end), only from the row groups needed.

        The returned index holds the row positions.

        Raises:
            ItemNotFound: Unknown or vanished key.
            AccessDenied: The key belongs to another session.
            InvalidParameter: A bad range or an unknown column.
        """
        if start < 0 or stop < start:
            raise InvalidParameter(f"Rows {start} to {stop} are not a valid range.")
        with self._open(session, key) as pf:
            columns = _checked_columns(pf, columns)
            groups, first = [], 0
            offset = 0
            for i in range(pf.metadata.num_row_groups if stop > start else 0):
                n = pf.metadata.row_group(i).num_rows
                if n and offset < stop and offset + n > start:
                    if not groups:
                        first = offset
                    groups.append(i)
                offset += n
                if offset >= stop:
                    break
            if groups:
                # One thread: Arrow's per-thread allocator caches would otherwise keep tens
                # of MB in every web worker after its first page read.
                table = pf.read_row_groups(
                    groups, columns=columns, use_pandas_metadata=True, use_threads=False
                )
                table = table.slice(start - first, stop - start)
            else:
                table = pf.schema_arrow.empty_table()
                table = table.select(columns) if columns is not None else table
        df = _to_frame(table, columns)
        del table
        # The web process reads pages here: give Arrow's buffers back to the OS at once
        # instead of letting the allocator keep them (a worker would grow by tens of MB).
        pa.default_memory_pool().release_unused()
        df.index = pd.RangeIndex(start, start + len(df))
        return df

    # ----------------------------------------------------------------- removal
    def remove(self, session: str, key: str, *, force: bool = False) -> int:
        """Remove one item and return the disk bytes freed.

        Raises:
            ItemNotFound: Unknown key.
            AccessDenied: The key belongs to another session.
            InvalidParameter: The item is protected and ``force`` is false.
        """
        with self._index.transact(retry=True):
            record = self._record(session, key)
            if record["protected"] and not force:
                raise InvalidParameter(
                    f"'{record['name']}' is kept on purpose and cannot be removed here."
                )
            self._drop(record)
        return self._unlink([record])

    def cleanup(self, session: str, *, min_bytes: int) -> CleanupReport:
        """Remove the session's unprotected items whose ``bytes_memory`` is ``>= min_bytes``.

        Items named ``data``, ``data_full`` or ``profile`` are never removed.
        """
        with self._index.transact(retry=True):
            victims = [
                r
                for r in self._session_records(session)
                if not _is_protected(r) and r["bytes_memory"] >= min_bytes
            ]
            report = self._drop_all(victims)
        self._unlink(victims)
        return report

    def expire_idle_sessions(self, now: float | None = None) -> CleanupReport:
        """Remove every item (protected too) of sessions idle for longer than the TTL."""
        now = self._clock() if now is None else now
        sessions = {k.split(":", 1)[1] for k in self._keys("sess:", "active:")}
        removed: list[ItemInfo] = []
        victims: list[dict] = []
        for session in sessions:
            with self._index.transact(retry=True):
                active = self._index.get(f"active:{session}")
                if active is not None and now - active <= self.session_ttl_s:
                    continue
                records = self._session_records(session)
                removed.extend(self._drop_all(records).removed)
                victims.extend(records)
                self._index.delete(f"sess:{session}")
                self._index.delete(f"active:{session}")
            log.info("Expired idle session %s…: %d items", session[:6], len(records))
        self._unlink(victims)
        return CleanupReport(tuple(removed), sum(r["bytes_disk"] for r in victims))

    def enforce_quota(self) -> CleanupReport:
        """Evict least recently used items until the store fits its disk quota.

        Unprotected items go first (LRU across sessions); protected ones only if that is
        not enough, also LRU, so the item just written is the last to go.
        """
        with self._index.transact(retry=True):
            records = list(self._all_records())
            total = sum(r["bytes_disk"] for r in records)
            victims: list[dict] = []
            if total > self.disk_quota_bytes:
                used = {
                    r["key"]: self._index.get(f"used:{r['key']}", r["created"]) for r in records
                }
                for r in sorted(
                    records, key=lambda r: (_is_protected(r), used[r["key"]], r["created"])
                ):
                    if total <= self.disk_quota_bytes:
                        break
                    victims.append(r)
                    total -= r["bytes_disk"]
            report = self._drop_all(victims)
        self._unlink(victims)
        if any(_is_protected(r) for r in victims):
            log.warning("Disk quota forced the eviction of protected items.")
        return report

    def sweep_orphans(self, older_than_s: float = 3600, now: float | None = None) -> int:
        """Remove leftovers of crashed writers and index entries whose file vanished.

        Files in ``items/`` that the index does not know and files in ``tmp/``, older than
        ``older_than_s`` (by mtime), are deleted. Returns how many files and entries went.
        """
        cutoff = (time.time() if now is None else now) - older_than_s
        removed = 0
        for path in list(self._tmp_dir.iterdir()) + list(self._items_dir.iterdir()):
            try:
                if not path.is_file() or path.stat().st_mtime >= cutoff:
                    continue
                if path.parent == self._items_dir and f"item:{path.stem}" in self._index:
                    continue
                path.unlink()
                removed += 1
                log.info("Removed orphan file %s", path.name)
            except FileNotFoundError:
                continue
        with self._index.transact(retry=True):
            lost = [r for r in self._all_records() if not self._item_path(r["key"]).exists()]
            self._drop_all(lost)
            for k in self._keys("used:"):
                if f"item:{k[5:]}" not in self._index:
                    self._index.delete(k)
        return removed + len(lost)

    # ----------------------------------------------------------------- helpers
    def _item_path(self, key: str, suffix: str = ".parquet") -> Path:
        return self._items_dir / f"{key}{suffix}"

    def _record(self, session: str, key: str) -> dict:
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise ItemNotFound(_GONE)
        record = self._index.get(f"item:{key}")
        if record is None:
            raise ItemNotFound(_GONE)
        if record["session"] != session:
            log.warning("Session %s… presented a key of another session", str(session)[:6])
            raise AccessDenied(_FOREIGN)
        return record

    def _open(self, session: str, key: str) -> pq.ParquetFile:
        self._record(session, key)
        try:
            pf = pq.ParquetFile(self._item_path(key))
        except FileNotFoundError:
            # Replaced or removed by another process since the lookup.
            raise ItemNotFound(_GONE) from None
        self._touch(session, key)
        return pf

    def _touch(self, session: str, key: str | None) -> None:
        now = self._clock()
        marks = [("active", session)] + ([("used", key)] if key else [])
        due = [
            m for m in marks if now - self._touched.get(m, float("-inf")) >= self.touch_interval_s
        ]
        if not due:
            return
        try:
            with self._index.transact():
                for kind, ident in due:
                    if kind == "active" or f"item:{ident}" in self._index:
                        self._index.set(f"{kind}:{ident}", now)
        except Timeout:
            log.debug("Index busy; skipped a last-used update")
            return
        if len(self._touched) > 10_000:
            self._touched.clear()
        self._touched.update(dict.fromkeys(due, now))

    def _keys(self, *prefixes: str) -> Iterator[str]:
        return (k for k in self._index.iterkeys() if isinstance(k, str) and k.startswith(prefixes))

    def _all_records(self) -> Iterator[dict]:
        for k in list(self._keys("item:")):
            record = self._index.get(k)
            if record is not None:
                yield record

    def _session_records(self, session: str) -> list[dict]:
        sess = self._index.get(f"sess:{session}") or {"names": {}}
        records = (self._index.get(f"item:{key}") for key in sess["names"].values())
        return [r for r in records if r is not None]

    def _drop(self, record: dict) -> None:
        """Remove ``record`` from the index; call inside a transaction."""
        key, session = record["key"], record["session"]
        self._index.delete(f"item:{key}")
        self._index.delete(f"used:{key}")
        sess = self._index.get(f"sess:{session}")
        if sess and sess["names"].get(record["name"]) == key:
            del sess["names"][record["name"]]
            self._index.set(f"sess:{session}", sess)

    def _drop_all(self, records: list[dict]) -> CleanupReport:
        infos = tuple(self._to_info(r) for r in records)
        for r in records:
            self._drop(r)
        return CleanupReport(infos, sum(r["bytes_disk"] for r in records))

    def _unlink(self, records: list[dict]) -> int:
        for r in records:
            self._item_path(r["key"]).unlink(missing_ok=True)
            if r.get("attachment"):
                self._item_path(r["key"], r["attachment"]).unlink(missing_ok=True)
        return sum(r["bytes_disk"] for r in records)

    def _to_info(self, record: dict, used: float | None = None) -> ItemInfo:
        if used is None:
            used = self._index.get(f"used:{record['key']}", record["created"])
        return ItemInfo(last_used=used, **record)


def _is_protected(record: dict) -> bool:
    return record["protected"] or record["name"] in PROTECTED_NAMES


def _checked_meta(meta: dict) -> dict:
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Item meta must be JSON-able: {exc}") from None
    return dict(meta)


def _frame_columns(schema: pa.Schema) -> list[str]:
    """Return the data column names, without columns pandas wrote for an index."""
    pandas_meta = schema.pandas_metadata or {}
    index_cols = {c for c in pandas_meta.get("index_columns", []) if isinstance(c, str)}
    return [n for n in schema.names if n not in index_cols]


def _checked_columns(pf: pq.ParquetFile, columns: list[str] | None) -> list[str] | None:
    if columns is None:
        return None
    available = set(_frame_columns(pf.schema_arrow))
    unknown = [c for c in columns if c not in available]
    if unknown:
        raise InvalidParameter(f"Unknown column(s): {', '.join(map(str, unknown))}.")
    return list(dict.fromkeys(columns))


def _to_frame(table: pa.Table, columns: list[str] | None) -> pd.DataFrame:
    df = table.to_pandas()
    if columns is not None:
        df = df[columns]
    return df.reset_index(drop=True)


def _write_parquet(df: pd.DataFrame, path: Path, row_group_rows: int) -> None:
    try:
        schema = pa.Schema.from_pandas(df, preserve_index=False)
        with pq.ParquetWriter(path, schema) as writer:
            for start in range(0, max(len(df), 1), row_group_rows):
                chunk = df.iloc[start : start + row_group_rows]
                table = pa.Table.from_pandas(chunk, schema=schema, preserve_index=False)
                writer.write_table(table, row_group_size=row_group_rows)
    except _ARROW_ERRORS as exc:
        raise DataLoadError(_unstorable_message(df)) from exc
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _unstorable_message(df: pd.DataFrame) -> str:
    duplicated = df.columns[df.columns.duplicated()].unique().tolist()
    if duplicated:
        names = ", ".join(map(str, duplicated))
        return f"Some column names appear twice ({names}). Give every column its own name."
    for column in df.columns:
        try:
            pa.Schema.from_pandas(df[[column]], preserve_index=False)
        except _ARROW_ERRORS:
            return (
                f"Column '{column}' mixes values of different kinds (for example numbers and "
                "text), so it cannot be stored. Convert it to text first."
            )
    return "The table could not be stored."
