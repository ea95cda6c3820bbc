"""Shell wiring: session identity, page routing, navigation lock."""

from __future__ import annotations

from dash import ALL, Input, Output, State, html, no_update

from callbacks.pages import PAGES
from components.ids import Shell as IDS
from components.shell import LOCKED_PAGE
from dashboard.errors import AccessDenied


def render_page(pathname: str | None, services) -> html.Div:
    """Return the layout of the page at ``pathname`` (a "not found" note otherwise)."""
    path = (pathname or "/").rstrip("/") or "/"
    for page in PAGES:
        if page.path == path:
            return page.layout(services)
    return html.Div(
        [html.H2("Page not found"), html.P(f"There is no page at {path}.")], className="mt-4"
    )


def session_or_new(session_id: str | None, signer) -> tuple[str | None, bool]:
    """Return ``(new_id, replaced)``: a fresh signed id when the current one is not valid."""
    try:
        signer.verify(session_id)
    except AccessDenied:
        return signer.new(), session_id is not None
    return None, False


def register(app, services) -> None:
    """Wire the shell callbacks."""

    @app.callback(
        Output(IDS.SESSION, "data"),
        Output(IDS.DATASET, "data", allow_duplicate=True),
        Input(IDS.LOCATION, "pathname"),
        State(IDS.SESSION, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def ensure_session(_pathname, session_id):
        new_id, _replaced = session_or_new(session_id, services.signer)
        if new_id is None:
            return no_update, no_update
        return new_id, None

    @app.callback(Output(IDS.PAGE, "children"), Input(IDS.LOCATION, "pathname"))
    def route(pathname):
        return render_page(pathname, services)

    @app.callback(
        Output({"type": IDS.NAV_LINK, "page": ALL}, "disabled"),
        Input(IDS.NAV_LOCK, "data"),
    )
    def lock_navigation(locked):
        return [bool(locked)] * len(PAGES)

    @app.callback(Output(IDS.PAGE, "className"), Input(IDS.NAV_LOCK, "data"))
    def lock_page_links(locked):
        # links to other pages inside a page (Home's "Open the Data page"...) lock too
        return LOCKED_PAGE if locked else ""
