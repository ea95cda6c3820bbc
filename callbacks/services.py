"""The web side's collaborators: the job context plus Dash's background manager and caches.

Pages never construct storage or job backends themselves: they receive a ``Services``
object, so that another job backend (Celery + Redis) or another storage location can be
chosen here without touching any page.
"""

from __future__ import annotations

from dataclasses import dataclass

from dash import DiskcacheManager
from flask_caching import Cache as ViewCache

from dashboard.cache import Cache
from dashboard.jobs import JobContext
from dashboard.kinds import job_kinds
from dashboard.sessions import SessionSigner
from dashboard.settings import Settings


@dataclass
class Services(JobContext):
    """A ``JobContext`` plus the Dash background manager and the view cache of one app."""

    manager: object = None
    view_cache: ViewCache | None = None


def make_background_manager(settings: Settings):
    """Return the Dash background-callback manager for these settings.

    The embedded default is diskcache on an explicit folder shared by every web worker: job
    results and Dash's job-signing secret live there, so any worker can poll or cancel any
    job. Another backend (Celery + Redis) plugs in here without touching any page.
    """
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(Cache(str(settings.cache_dir / "dash")), expire=24 * 3600)


def build_services(settings: Settings) -> Services:
    """Build the services of one app instance (no data is read)."""
    view_cache = ViewCache(
        config={
            "CACHE_TYPE": "FileSystemCache",
            "CACHE_DIR": str(settings.view_cache_dir),
            "CACHE_DEFAULT_TIMEOUT": 3600,
            "CACHE_THRESHOLD": 2000,
        }
    )
    return Services(
        settings=settings,
        signer=SessionSigner(settings.secret_key),
        manager=make_background_manager(settings),
        view_cache=view_cache,
        job_kinds=job_kinds(settings),
    )
