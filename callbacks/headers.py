"""Security headers on every response: a Content-Security-Policy the app passes, and friends.

The policy allows scripts from the app itself plus Dash's own inline scripts by their hash
(``Dash.csp_hashes``, computed once every callback is defined), styles inline (Plotly and
the grid style elements at run time), images and fonts from the app or ``data:`` URLs, and
no framing by other sites.
"""

from __future__ import annotations

from flask import Response

#: Headers that do not depend on the app (the policy is added per app).
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(script_hashes) -> str:
    """Return the Content-Security-Policy value for these inline-script hashes."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def register(app, services) -> None:
    """Add the headers to every response of ``app``'s server."""
    policy: list[str] = []  # computed at the first response, once every callback exists

    @app.server.after_request
    def add_headers(response: Response) -> Response:
        if not policy:
            policy.append(content_security_policy(app.csp_hashes()))
        response.headers.setdefault("Content-Security-Policy", policy[0])
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
