"""Wiring shared by pages: button callbacks that act for a verified session."""

from __future__ import annotations

import functools

from dash import no_update

from components.widgets import alert
from dashboard.errors import AccessDenied


def button_action(services, *, outputs: int = 1, message_at: int = 0):
    """Wrap ``fn(session, *states)`` as a callback ``(clicks, session_id, *states)``.

    Nothing happens without a click (Dash also calls button callbacks when a page is
    inserted); an invalid session id answers with its message at output ``message_at``.
    """

    def nothing(value=None):
        out = [no_update] * outputs
        if value is not None:
            out[message_at] = value
        return out[0] if outputs == 1 else tuple(out)

    def decorate(fn):
        @functools.wraps(fn)
        def callback(clicks, session_id, *states):
            if not clicks:
                return nothing()
            try:
                session = services.signer.verify(session_id)
            except AccessDenied as err:
                return nothing(alert(str(err)))
            return fn(session, *states)

        return callback

    return decorate
