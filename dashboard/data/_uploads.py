"""Uploaded files waiting for ingest, streamed to disk under server-generated names.

The client's filename is kept for display only; no path is ever built from it. Files live
directly under ``root`` as ``<upload_id>.upload`` (``.part`` while being received), and the
index ``root/.index`` (diskcache) maps upload ids to their owner session.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dashboard.cache import Cache
from dashboard.errors import AccessDenied, DataLoadError, InvalidParameter, ItemNotFound

log = logging.getLogger(__name__)

_ID_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_MAX_NAME_CHARS = 200
_GONE = "The uploaded file is not available any more. Upload it again."
_FOREIGN = "This upload belongs to another session. Reload the page and upload the file again."


class UploadTooLarge(InvalidParameter):
    """The uploaded file is larger than the configured limit."""


@dataclass(frozen=True)
class Upload:
    """One received file.

    Attributes:
        upload_id: Opaque id to hand to the browser / the ingest job.
        session: Owning session id.
        filename: Cleaned client filename, for display (and extension sniffing) only.
        path: Real path of the stored file, always inside the upload root.
        size: Size in bytes.
        created: Time received (epoch seconds).
    """

    upload_id: str
    session: str
    filename: str
    path: Path
    size: int
    created: float


class UploadArea:
    """Receive uploads as streams and hand them out by id to their own session.

    Args:
        root: Folder of the uploads (created if missing).
        max_bytes: Largest accepted upload.
    """

    def __init__(self, root: Path, *, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = os.path.realpath(self.root)
        self._index = Cache(str(self.root / ".index"), eviction_policy="none", timeout=60)

    def close(self) -> None:
        """Close this process's connection to the index (it reopens on next use)."""
        self._index.close()

    def receive(
        self, session: str, filename: str, stream: BinaryIO, *, chunk_size: int = 1 << 20
    ) -> Upload:
        """Stream ``stream`` to disk and register it for ``session``.

        Raises:
            UploadTooLarge: More than ``max_bytes`` arrived (nothing is kept).
            DataLoadError: The body is empty (nothing is kept).
        """
        if not isinstance(session, str) or not session:
            raise ValueError("A session id is required.")
        upload_id = secrets.token_urlsafe(16)
        part = self.root / f"{upload_id}.part"
        final = self.root / f"{upload_id}.upload"
        size = 0
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(chunk_size):
                    size += len(chunk)
                    if size > self.max_bytes:
                        log.info("Upload rejected after %d bytes (limit %d)", size, self.max_bytes)
                        limit = _human_size(self.max_bytes)
                        raise UploadTooLarge(f"The file is larger than the {limit} upload limit.")
                    out.write(chunk)
            if size == 0:
                raise DataLoadError("The file is empty.")
            os.replace(part, final)
            created = time.time()
            record = {
                "session": session,
                "filename": clean_filename(filename),
                "stored": final.name,
                "size": size,
                "created": created,
            }
            self._index.set(f"up:{upload_id}", record, retry=True)
        except BaseException:
            part.unlink(missing_ok=True)
            final.unlink(missing_ok=True)
            raise
        log.info("Received upload %s (%d bytes)", upload_id, size)
        self._drop_older(session, upload_id)
        return Upload(upload_id, session, record["filename"], Path(final), size, created)

    def _drop_older(self, session: str, newest: str) -> None:
        """Keep only a session's newest upload: disk use stays bounded by the upload limit.

        Only the newest one is still needed (e.g. to pick another sheet of a workbook).
        """
        for key in list(self._index.iterkeys()):
            record = self._index.get(key)
            if record and record["session"] == session and key != f"up:{newest}":
                self._index.delete(key, retry=True)
                (self.root / record["stored"]).unlink(missing_ok=True)

    def get(self, session: str, upload_id: str) -> Upload:
        """Return the upload ``upload_id`` of ``session``.

        Raises:
            ItemNotFound: Unknown or swept id, or its file vanished.
            AccessDenied: The id belongs to another session.
        """
        record = self._record(session, upload_id)
        real = os.path.realpath(self.root / record["stored"])
        if os.path.commonpath([real, self._real_root]) != self._real_root:
            log.error("Upload %s resolves outside the upload root", upload_id)
            raise ItemNotFound(_GONE)
        if not os.path.isfile(real):
            raise ItemNotFound(_GONE)
        return Upload(
            upload_id, session, record["filename"], Path(real), record["size"], record["created"]
        )

    def discard(self, session: str, upload_id: str) -> None:
        """Delete an upload (no-op when it is already gone).

        Raises:
            AccessDenied: The id belongs to another session.
        """
        try:
            record = self._record(session, upload_id)
        except ItemNotFound:
            return
        self._index.delete(f"up:{upload_id}", retry=True)
        (self.root / record["stored"]).unlink(missing_ok=True)

    def sweep(self, older_than_s: float = 86400, now: float | None = None) -> int:
        """Remove uploads and stray files older than ``older_than_s``; return how many."""
        cutoff = (time.time() if now is None else now) - older_than_s
        removed = 0
        known = set()
        for key in list(self._index.iterkeys()):
            record = self._index.get(key)
            if record is None:
                continue
            if record["created"] < cutoff:
                self._index.delete(key, retry=True)
                (self.root / record["stored"]).unlink(missing_ok=True)
                removed += 1
            else:
                known.add(record["stored"])
        for path in self.root.iterdir():
            try:
                if path.is_file() and path.name not in known and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            log.info("Swept %d old uploads", removed)
        return removed

    def _record(self, session: str, upload_id: str) -> dict:
        if not isinstance(upload_id, str) or not _ID_RE.fullmatch(upload_id):
            raise ItemNotFound(_GONE)
        record = self._index.get(f"up:{upload_id}")
        if record is None:
            raise ItemNotFound(_GONE)
        if record["session"] != session:
            log.warning("Session %s… asked for another session's upload", str(session)[:6])
            raise AccessDenied(_FOREIGN)
        return record


def clean_filename(filename: object) -> str:
    """Return a display-safe version of a client filename.

    Keeps the last path component (after any slash or backslash), drops control and format
    characters, trims whitespace and caps the length while keeping the extension. Never use
    the result in a path.
    """
    text = unicodedata.normalize("NFC", filename if isinstance(filename, str) else "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if text in ("", ".", ".."):
        return "upload"
    if len(text) > _MAX_NAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        text = text[: _MAX_NAME_CHARS - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return text


def _human_size(n: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= factor:
            return f"{round(n / factor, 1):g} {unit}"
    return f"{n} bytes"
