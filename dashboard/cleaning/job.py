"""The cleaning jobs: preview steps (``clean-preview``), apply them (``clean``), ``undo``."""

from __future__ import annotations

from dashboard.cleaning._apply import apply_to_store, preview, undo, validate_steps
from dashboard.data import ActiveDataset, active_data
from dashboard.errors import InvalidParameter
from dashboard.jobs import JobKind
from dashboard.profile.job import run_profile


def _active(store, session: str) -> dict:
    data = store.info_by_name(session, "data")
    full = store.info_by_name(session, "data_full")
    sampled = bool(full is not None and data.meta.get("sampling", {}).get("sampled"))
    return ActiveDataset(
        data.key,
        full.key if full else None,
        data.version,
        data.rows,
        full.rows if full else data.rows,
        data.columns,
        sampled,
    ).to_dict()


def run_preview(services, session: str, request: dict, progress) -> dict:
    """Job body: what the steps would do to the analysis dataset (nothing stored)."""
    store = services.store
    data = active_data(services.store, session)
    progress("Previewing", 0, 1)
    frame = store.read_frame(session, data.key)
    steps = validate_steps(frame, request.get("steps") or [])
    reports = preview(frame, steps)
    return {"preview": reports, "message": f"Preview of {len(reports)} step(s) ready."}


def run_clean(services, session: str, request: dict, progress) -> dict:
    """Job body: apply the steps (a new version of ``data``) and profile the result."""
    store = services.store
    if not request.get("steps"):
        raise InvalidParameter("Add at least one step first.")
    outcome = apply_to_store(
        store,
        session,
        request["steps"],
        also_full=bool(request.get("also_full")),
        progress=progress,
    )
    run_profile(services, session, {}, progress)
    return {
        "dataset": _active(store, session),
        "message": f"Cleaned: version {outcome['version']} has {outcome['rows']:,} rows × "
        f"{outcome['columns']} columns. Undo brings the previous one back.",
    }


def run_undo(services, session: str, request: dict, progress) -> dict:
    """Job body: bring the previous version of ``data`` back and profile it."""
    store = services.store
    outcome = undo(store, session)
    run_profile(services, session, {}, progress)
    return {
        "dataset": _active(store, session),
        "message": f"Undone: back to the data before the last cleaning "
        f"(now version {outcome.get('version')}).",
    }


def _estimate(services, session: str, request: dict) -> dict | None:
    data = services.store.info_by_name(session, "data")
    return None if data is None else {"rows": data.rows, "bytes_memory": data.bytes_memory}


# The advice is the default: "Try a smaller sample or fewer columns."
#: 2.5: the frame and its cleaned copy.
CLEAN_PREVIEW = JobKind(
    "clean-preview",
    lambda r: "Previewing cleaning steps",
    run_preview,
    _estimate,
    2.5,
    40.0,
    time_limit_s=300.0,
)
#: 3.5: the frame, its cleaned copy, the kept previous version, then a profile of the result.
CLEAN = JobKind(
    "clean", lambda r: "Cleaning the data", run_clean, _estimate, 3.5, 40.0, time_limit_s=600.0
)
#: 3.0: restore, then profile.
UNDO = JobKind(
    "undo",
    lambda r: "Undoing the last cleaning",
    run_undo,
    _estimate,
    3.0,
    40.0,
    time_limit_s=600.0,
)
