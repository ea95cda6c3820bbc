"""Admission control: estimate a job's memory before it starts and refuse what cannot fit.

The estimate is ``overhead + data × factor`` per job kind, where *data* is the in-memory
size of the frame the job loads (measured, or rows × dtype sizes). Each kind carries its own
``factor``, ``overhead_mb`` and ``advice`` (``dashboard.jobs.JobKind``, declared next to its
job body); ``bench/`` calibrates them against measured peaks. A refused job never starts,
so nothing stored is at risk.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.errors import JobRejected

log = logging.getLogger(__name__)

MB = 1024 * 1024

#: MB of a fresh job process before it touches data: Python with pandas, pyarrow, numpy
#: and the app's modules (measured by ``bench/jobs.py``: a trivial job peaks at 153 MB).
JOB_PROCESS_MB = 150.0

#: Each model beyond the first adds this share of the data term. Models train one at a
#: time in a training process that frees (or is killed with) each model, so little
#: accumulates: a few stored results and allocator leftovers (bench/ml.py).
MODEL_INCREMENT = 0.05

#: Bytes per cell of ``extra`` transactions × items for a basket job. The page passes an
#: upper bound of the mined matrix (frequent items only: at most purchases / support
#: cells); per bound cell the job measured 1.9 bytes (the dense boolean matrix mlxtend
#: mines, its copy, and the FP-tree), rounded up (bench/basket.py).
BASKET_MATRIX_BYTES_PER_CELL = 2.5

#: Share of the budget jobs may plan to fill; the rest is headroom for the web processes.
ADMISSION_SHARE = 0.9

# Bytes per value for dtype names without a width in them. Text is Arrow-backed ``str`` in
# pandas 3 (offsets + characters of a typical short value); ``object`` holds Python objects.
_FIXED_DTYPE_BYTES = {
    "bool": 1,
    "boolean": 2,
    "category": 4,
    "str": 32,
    "string": 32,
    "object": 64,
}
_WIDTH = re.compile(r"^(u?int|float|complex)(\d+)$", re.IGNORECASE)
_DEFAULT_DTYPE_BYTES = 8


@dataclass(frozen=True)
class Estimate:
    """What a job needs against what is free.

    Attributes:
        kind: Job kind.
        data_mb: In-memory size of the data it loads.
        needed_mb: Estimated peak of the job.
        available_mb: ``budget × ADMISSION_SHARE − used`` (may be negative).
        fits: ``needed_mb <= available_mb``.
        advice: A sentence for the user: the refusal with advice, or what it will use.
    """

    kind: str
    data_mb: float
    needed_mb: float
    available_mb: float
    fits: bool
    advice: str


def dtype_bytes(dtype: str) -> int:
    """Return the estimated bytes per value of a pandas dtype name (e.g. ``"float32"``)."""
    name = str(dtype).strip()
    lowered = name.lower()
    if lowered in _FIXED_DTYPE_BYTES:
        return _FIXED_DTYPE_BYTES[lowered]
    match = _WIDTH.match(lowered)
    if match:
        # Nullable extension types (Int64, Float32...) carry a one-byte mask per value.
        return int(match.group(2)) // 8 + (1 if name[0].isupper() else 0)
    if "str" in lowered:  # string[pyarrow], large_string[pyarrow], string[python]...
        return _FIXED_DTYPE_BYTES["str"]
    return _DEFAULT_DTYPE_BYTES  # datetimes, timedeltas, periods, unknown: 8 bytes


def data_size_mb(
    *,
    rows: int,
    dtypes: Mapping[str, str] | None = None,
    bytes_memory: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> float:
    """Return the in-memory size in MB of the data a job loads.

    A measured ``bytes_memory`` wins; else ``rows`` × the sum of ``dtype_bytes`` over
    ``dtypes``; else ``rows`` × ``extra["columns"]`` × 8 bytes.

    Raises:
        ValueError: ``rows`` is negative, or no way to size the columns was given.
    """
    if rows < 0:
        raise ValueError(f"rows must not be negative, got {rows}")
    if bytes_memory is not None:
        return bytes_memory / MB
    if dtypes is not None:
        return rows * sum(dtype_bytes(d) for d in dtypes.values()) / MB
    if extra and "columns" in extra:
        return rows * int(extra["columns"]) * _DEFAULT_DTYPE_BYTES / MB
    raise ValueError("Give dtypes, bytes_memory or extra['columns'] to size the data")


def estimate_job(
    kind,
    *,
    rows: int,
    dtypes: Mapping[str, str] | None = None,
    bytes_memory: int | None = None,
    models: int = 1,
    extra: Mapping[str, Any] | None = None,
) -> float:
    """Estimate the peak memory in MB of a job of ``kind`` on the given data.

    Args:
        kind: The job kind (a ``JobKind``: its ``factor`` and ``overhead_mb``).
        rows: Rows the job analyses (after sampling).
        dtypes: ``{column: dtype name}`` of the columns it loads.
        bytes_memory: Measured in-memory size of that frame (wins over ``dtypes``).
        models: Number of models trained (``ml``).
        extra: Kind-specific sizes: ``columns`` (when no dtypes), ``transactions`` and
            ``items`` (``basket``: adds the one-hot matrix), ``extra_mb`` (added as is).

    Returns:
        MB needed: ``JOB_PROCESS_MB + overhead_mb + data × factor × (1 + MODEL_INCREMENT ×
        (models − 1))`` plus the extras.

    Raises:
        ValueError: The data cannot be sized (see ``data_size_mb``).
    """
    extra = extra or {}
    data_mb = data_size_mb(rows=rows, dtypes=dtypes, bytes_memory=bytes_memory, extra=extra)
    scale = 1 + MODEL_INCREMENT * max(0, models - 1)
    needed = JOB_PROCESS_MB + kind.overhead_mb + data_mb * kind.factor * scale
    if "transactions" in extra and "items" in extra:
        cells = int(extra["transactions"]) * int(extra["items"])
        needed += cells * BASKET_MATRIX_BYTES_PER_CELL / MB
    return needed + float(extra.get("extra_mb", 0.0))


def admit(
    kind, needed_mb: float, *, budget_mb: float, used_mb: float, data_mb: float = 0.0
) -> Estimate:
    """Compare a job's estimate with the free headroom.

    Args:
        kind: The job kind (its name and ``advice``).
        needed_mb: From ``estimate_job``.
        budget_mb: The memory budget (``memory.budget_mb``).
        used_mb: What the app's processes use now (``memory.measure(...).used_mb``).
        data_mb: Size of the data, reported in the estimate.

    Returns:
        The estimate; ``fits`` is False when ``needed_mb`` exceeds
        ``budget_mb × ADMISSION_SHARE − used_mb``.
    """
    available = budget_mb * ADMISSION_SHARE - used_mb
    fits = needed_mb <= available
    if fits:
        advice = (
            f"This analysis needs about {_about(needed_mb)} MB; {_about(available)} MB are free."
        )
    else:
        advice = (
            f"This analysis needs about {_about(needed_mb)} MB but only "
            f"{_about(max(0.0, available))} MB are free. " + kind.advice
        )
    return Estimate(kind.name, data_mb, needed_mb, available, fits, advice)


def check_admission(
    kind,
    *,
    rows: int,
    budget_mb: float,
    used_mb: float,
    dtypes: Mapping[str, str] | None = None,
    bytes_memory: int | None = None,
    models: int = 1,
    extra: Mapping[str, Any] | None = None,
) -> Estimate:
    """Estimate a job and refuse it when it cannot fit.

    Arguments are those of ``estimate_job`` and ``admit``.

    Returns:
        The estimate of a job that fits.

    Raises:
        JobRejected: It does not fit; the message says how much it needs, how much is
            free, and what to try instead.
    """
    data_mb = data_size_mb(rows=rows, dtypes=dtypes, bytes_memory=bytes_memory, extra=extra)
    needed = estimate_job(
        kind, rows=rows, dtypes=dtypes, bytes_memory=bytes_memory, models=models, extra=extra
    )
    estimate = admit(kind, needed, budget_mb=budget_mb, used_mb=used_mb, data_mb=data_mb)
    if not estimate.fits:
        log.info(
            "Refused a %s job: needs %.0f MB, %.0f MB free",
            kind.name,
            needed,
            estimate.available_mb,
        )
        raise JobRejected(estimate.advice)
    return estimate


def _about(mb: float) -> str:
    """Format MB for people: whole MB below 100, else rounded to tens, with separators."""
    value = round(mb) if mb < 100 else round(mb, -1)
    return f"{value:,.0f}"
