"""Plain HTTP routes on the Flask server: streaming upload and health check."""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote

from flask import jsonify, request

from dashboard.errors import AccessDenied, DataInsightsError
from dashboard.uploads import UploadTooLarge

log = logging.getLogger(__name__)


def too_large_message(max_mb: int) -> str:
    """Return the message shown when an upload is over the limit."""
    return f"The file is larger than the {max_mb:,} MB upload limit."


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

    @server.get("/healthz")
    def health():
        started = time.perf_counter()
        try:
            services.store.total_bytes()
        except Exception:  # noqa: BLE001 - any storage failure means "unhealthy"
            log.exception("health check: store unavailable")
            return jsonify(status="error", detail="dataset store unavailable"), 503
        return jsonify(status="ok", ms=round(1000 * (time.perf_counter() - started), 1))
