"""Signed session ids: the browser holds one, every worker can check it with the shared key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets

from dashboard.errors import AccessDenied, ConfigError

log = logging.getLogger(__name__)

_INVALID = "Your session is not valid any more. Reload the page to start a new one."
# token_urlsafe(24) is 32 characters; the signature is 32 urlsafe characters (192 bits).
_SIGNATURE_CHARS = 32
_SESSION_RE = re.compile(r"([A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{32})")


class SessionSigner:
    """Create and check session ids of the form ``<random id>.<HMAC-SHA256 signature>``.

    Args:
        secret_key: Secret shared by every web worker (``Settings.secret_key``).

    Raises:
        ConfigError: ``secret_key`` is empty.
    """

    def __init__(self, secret_key: str):
        if not secret_key:
            raise ConfigError("A secret key is required to sign sessions.")
        self._key = secret_key.encode()

    def new(self) -> str:
        """Return a new, unguessable, signed session id."""
        token = secrets.token_urlsafe(24)
        return f"{token}.{self._sign(token)}"

    def verify(self, session_id: str | None) -> str:
        """Return ``session_id`` when its signature is valid.

        Raises:
            AccessDenied: ``session_id`` is missing, malformed, tampered with or signed
                with another key.
        """
        match = _SESSION_RE.fullmatch(session_id) if isinstance(session_id, str) else None
        if match is None or not hmac.compare_digest(self._sign(match[1]), match[2]):
            log.info("Rejected an invalid session id")
            raise AccessDenied(_INVALID)
        return session_id

    def _sign(self, token: str) -> str:
        digest = hmac.new(self._key, b"datainsights-session:" + token.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode()[:_SIGNATURE_CHARS]
