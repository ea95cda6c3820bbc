"""Plain HTTP routes on the Flask server: streaming upload and health check."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote, unquote

from flask import Response, after_this_request, jsonify, request, send_file
from itsdangerous import BadSignature, URLSafeTimedSerializer

from dashboard.data import (
    EXCEL_MAX_ROWS,
    EXCEL_TOO_LARGE,
    UploadTooLarge,
    iter_csv,
    parquet_file,
    write_excel,
)
from dashboard.errors import AccessDenied, DataInsightsError

log = logging.getLogger(__name__)


def too_large_message(max_mb: int) -> str:
    """Return the message shown when an upload is over the limit."""
    return f"The file is larger than the {max_mb:,} MB upload limit."


DOWNLOAD_FORMATS = {
    "csv": "text/csv",
    "xlsx": None,
    "parquet": "application/octet-stream",
    "joblib": "application/octet-stream",  # an item's attached file (a fitted model)
}
DOWNLOAD_TTL_S = 3600


GONE = (
    "This download is not available any more (the data changed or was cleaned up since). "
    "Reload the page for a new link."
)


def download_token(services, session: str, name: str, fmt: str) -> str:
    """Return a signed, expiring token for the current version of item ``name`` of ``session``.

    The token names the item's key, never the session id: a link that ends up in a log or
    a browser history does not let anyone act as the session.
    """
    signer = URLSafeTimedSerializer(services.settings.secret_key, salt="download")
    return signer.dumps({"k": services.store.key_for(session, name), "f": fmt})


def attachment(filename: str) -> str:
    """Return a ``Content-Disposition`` value for ``filename`` (RFC 6266, any characters)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def register(app, services) -> None:
    """Add ``POST /api/upload`` and ``GET /healthz`` to the app's server."""
    server = app.server
    settings = services.settings

    @server.post("/api/upload")
    def upload():
        # The body is the raw file (no multipart, no base64): it is streamed to disk in
        # chunks under a server-generated name; the client's file name is display-only.
        try:
            session = services.signer.verify(request.headers.get("X-Session-Id"))
        except AccessDenied as err:
            return jsonify(error=str(err)), 403
        length = request.content_length
        if length is not None and length > settings.max_upload_bytes:
            return jsonify(error=too_large_message(settings.max_upload_mb)), 413
        filename = unquote(request.headers.get("X-File-Name", "") or "upload")
        try:
            upload = services.uploads.receive(session, filename, request.stream)
        except UploadTooLarge:
            return jsonify(error=too_large_message(settings.max_upload_mb)), 413
        except DataInsightsError as err:
            return jsonify(error=str(err)), 400
        log.info("upload %s: %s bytes", upload.upload_id, upload.size)
        return jsonify(upload_id=upload.upload_id, filename=upload.filename, size=upload.size)

    @server.get("/api/download/<token>")
    def download(token: str):
        # Links carry a signed token (not the session id), so a download works as a plain
        # link and expires; the file streams from the store, never through a callback.
        signer = URLSafeTimedSerializer(settings.secret_key, salt="download")
        try:
            spec = signer.loads(token, max_age=DOWNLOAD_TTL_S)
        except BadSignature:
            return jsonify(error="This download link is not valid any more. Reload the page."), 403
        store = services.store
        fmt = spec.get("f")
        try:
            if not spec.get("k") or fmt not in DOWNLOAD_FORMATS:
                return jsonify(error="There is nothing to download; load a dataset first."), 404
            info = store.info_by_key(spec["k"])
            if info is None:
                return jsonify(error=GONE), 404
            session = info.session
            stem = (
                info.meta.get("download_name")
                or ((info.meta.get("source", {}).get("filename") or "data").rsplit(".", 1)[0])
            )
            filename = f"{stem}-v{info.version}.{fmt}"
            if fmt == "csv":
                return Response(
                    iter_csv(store, session, info.key),
                    mimetype="text/csv",
                    headers={"Content-Disposition": attachment(filename)},
                )
            if fmt == "parquet":
                return send_file(
                    parquet_file(store, session, info.key),
                    as_attachment=True,
                    download_name=filename,
                )
            if fmt == "joblib":
                if info.attachment != ".joblib":
                    return jsonify(error="There is no model to download; train one first."), 404
                return send_file(
                    store.attachment_path(session, info.key),
                    mimetype=DOWNLOAD_FORMATS[fmt],
                    as_attachment=True,
                    download_name=filename,
                )
            if info.rows > EXCEL_MAX_ROWS:
                return jsonify(error=EXCEL_TOO_LARGE), 413
            dest = store.scratch_path(suffix=".xlsx")
            write_excel(store, session, info.key, dest)

            @after_this_request
            def _remove(response):
                dest.unlink(missing_ok=True)
                return response

            return send_file(dest, as_attachment=True, download_name=filename)
        except DataInsightsError as err:
            return jsonify(error=str(err)), 404

    @server.get("/healthz")
    def health():
        started = time.perf_counter()
        try:
            services.store.total_bytes()
        except Exception:  # noqa: BLE001 - any storage failure means "unhealthy"
            log.exception("health check: store unavailable")
            return jsonify(status="error", detail="dataset store unavailable"), 503
        return jsonify(status="ok", ms=round(1000 * (time.perf_counter() - started), 1))
