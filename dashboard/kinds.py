"""The one list of job kinds: the job interpreter and the web side both read it.

Each kind is declared next to its job body (``dashboard/<area>/job.py``) with its admission
factors. Adding a kind: write its ``job.py``, add it to ``JOB_KINDS`` (docs/development.md).
"""

from __future__ import annotations

from dashboard.basket.job import BASKET
from dashboard.cleaning.job import CLEAN, CLEAN_PREVIEW, UNDO
from dashboard.data.job import INGEST
from dashboard.jobs import SELFTEST, JobContext, JobKind
from dashboard.ml.job import ML
from dashboard.profile.job import PROFILE
from dashboard.rfm.job import RFM
from dashboard.sessions import SessionSigner
from dashboard.settings import Settings

#: Every job kind the app runs (the self-test kind only when test jobs are enabled).
JOB_KINDS: tuple[JobKind, ...] = (INGEST, PROFILE, CLEAN_PREVIEW, CLEAN, UNDO, ML, RFM, BASKET)


def job_kinds(settings: Settings) -> dict[str, JobKind]:
    """Return ``{name: kind}`` of the kinds enabled by ``settings``."""
    kinds = {kind.name: kind for kind in JOB_KINDS}
    if settings.enable_test_jobs:
        kinds[SELFTEST.name] = SELFTEST
    return kinds


def job_context(settings: Settings) -> JobContext:
    """Return the context a job runs with: storage, registry and every enabled kind."""
    return JobContext(
        settings=settings, signer=SessionSigner(settings.secret_key), job_kinds=job_kinds(settings)
    )
