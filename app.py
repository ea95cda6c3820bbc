"""DataInsights: the app factory, and ``server`` for gunicorn (``gunicorn app:server``)."""

from __future__ import annotations

import argparse
import logging
from functools import partial

from dash import Dash

from callbacks import headers, jobs, routes, shell
from callbacks.pages import PAGES
from callbacks.services import build_services
from components import shell as shell_layout
from dashboard.settings import Settings

BOOTSTRAP_CSS = "/assets/vendor/bootstrap.min.css"

#: The shell's modules, wired before the pages' (``callbacks.pages.PAGES``).
SHELL_MODULES = (headers, routes, shell, jobs)


def create_app(settings: Settings | None = None) -> Dash:
    """Build one DataInsights app.

    Cheap and repeatable: reads no data and fits nothing, so tests can build one app per
    test in the same process. Every callback is bound to this app and its own background
    manager (``app.callback`` inside each ``register``), never to a module-global list.

    Args:
        settings: Configuration; read from the environment when omitted.

    Raises:
        ConfigError: A setting is missing or invalid (e.g. no ``DI_SECRET_KEY`` in production).
    """
    settings = settings or Settings.from_env()
    services = build_services(settings)
    app = Dash(
        __name__,
        title="DataInsights",
        update_title=None,
        background_callback_manager=services.manager,
        suppress_callback_exceptions=True,
        external_stylesheets=[BOOTSTRAP_CSS],
        # Bootstrap is linked above so it loads before assets/app.css and can be overridden.
        assets_path_ignore=["vendor"],
    )
    app.server.secret_key = settings.secret_key
    # Dash callback bodies are small (keys only); files go through /api/upload, which
    # checks the limit itself and answers 413 with a readable message.
    app.server.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + (1 << 20)
    services.view_cache.init_app(app.server)
    app.layout = partial(shell_layout.layout, PAGES)
    for module in SHELL_MODULES:
        module.register(app, services)
    for page in PAGES:
        for register in page.register:
            register(app, services)
    app.services = services  # for tests and tools; never mutated by callbacks
    return app


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _prepare_web_process() -> None:
    """Pick Arrow's allocator and run the preview grid's read path once on a tiny table.

    With ``gunicorn --preload`` this happens in the master, so the Parquet/Arrow/pandas code
    and its one-off allocations are shared by every worker instead of being paged in by each
    worker's first grid request.
    """
    import io

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    # The web process only reads small pages: the system allocator returns freed memory,
    # where Arrow's default pool keeps per-thread caches (jobs run elsewhere, unaffected).
    pa.set_memory_pool(pa.system_memory_pool())
    buffer = io.BytesIO()
    frame = pd.DataFrame({"n": [1, 2], "x": [0.5, None], "s": ["a", "b"]})
    frame["c"] = frame["s"].astype("category")
    pq.write_table(pa.Table.from_pandas(frame), buffer)
    buffer.seek(0)
    table = pq.ParquetFile(buffer).read_row_groups([0], use_threads=False)
    table.to_pandas().to_json(orient="records")
    pa.default_memory_pool().release_unused()


_configure_logging()
_prepare_web_process()
app = create_app()
server = app.server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run DataInsights (development server).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args()
    app.run(host=args.host, port=args.port, debug=False)
