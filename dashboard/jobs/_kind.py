"""A job kind: what a job is called, how it runs, how big it gets (its admission factors).

Each analysis declares its kinds next to its job body (``dashboard/<area>/job.py``); the one
list of kinds is ``dashboard.kinds``. Admission reads the factors from the kind itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job.

    Attributes:
        name: The kind, as written in requests and in the job history.
        describe: ``request -> str``, the line shown in the banner ("Loading sales.csv").
        run: ``(context, session, request, progress) -> dict``, runs in the job process
            with a ``dashboard.jobs.JobContext`` (settings, store, uploads, registry…)
            and returns a small JSON-able result. A ``"dataset"`` entry becomes the
            session's active dataset; a ``"message"`` entry is shown to the user.
        estimate: ``(context, session, request) -> dict | None``, keyword arguments of
            ``dashboard.jobs.check_admission`` (rows, bytes_memory…) for admission.
        factor: Peak memory as a multiple of the in-memory size of the data it loads.
        overhead_mb: Fixed MB on top of the job process, whatever the data size: libraries
            it imports (scikit-learn about 90 MB, pyarrow's writer, mlxtend), buffers.
        advice: What to try instead, added to a refusal for lack of memory or time.
        time_limit_s: Wall-time limit in seconds once the job runs, a number or
            ``request -> seconds`` (ML's depends on the models and their time budget).
            ``DI_JOB_TIME_LIMIT_S`` replaces it for every kind when set.

    The factors are calibrated by ``bench/`` against measured peaks; each kind's comment
    says how.
    """

    name: str
    describe: Callable[[dict], str]
    run: Callable[..., dict]
    estimate: Callable[..., dict | None] | None = None
    factor: float = 1.0
    overhead_mb: float = 0.0
    advice: str = "Try a smaller sample or fewer columns."
    time_limit_s: float | Callable[[dict], float] = 600.0

    def time_limit_for(self, request: dict, setting_s: float = 0) -> float:
        """Return the wall-time limit of one job: the setting when set, else the kind's."""
        if setting_s:
            return float(setting_s)
        limit = self.time_limit_s
        return float(limit(request) if callable(limit) else limit)
