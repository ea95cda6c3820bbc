"""The ingest job (kind ``ingest``): a file, a sample or a new sample size becomes ``data``."""

from __future__ import annotations

from dashboard.data._datasets import ActiveDataset, load_file, resample
from dashboard.data._samples import SAMPLES, write_sample
from dashboard.errors import DataInsightsError
from dashboard.jobs import JobKind

SAMPLE_TITLES = {s.name: s.title for s in SAMPLES}


def run_ingest(services, session: str, request: dict, progress) -> dict:
    """Job body: load the requested data and return the new dataset's keys and a message."""
    active = run_request(services, session, request, progress)
    if active.sampled:
        message = (
            f"Loaded {active.rows_full:,} rows × {active.columns} columns "
            f"(sampled {active.rows:,} rows for analysis)."
        )
    elif request.get("source") == "resample":
        message = f"Using the full data: {active.rows:,} rows."
    else:
        message = f"Loaded {active.rows:,} rows × {active.columns} columns."
    housekeeping(services)
    return {"dataset": active.to_dict(), "message": message}


def housekeeping(services) -> None:
    """Expire idle sessions, keep the store under its disk quota, drop stray files."""
    store = services.store
    store.expire_idle_sessions()
    store.enforce_quota()
    store.sweep_orphans()
    services.uploads.sweep(older_than_s=services.settings.session_ttl_hours * 3600)


STREAMING_WINDOW_BYTES = 64 << 20  # ingest holds about one block and the sample at a time


def estimate_ingest(services, session: str, request: dict) -> dict | None:
    """Return what admission control needs to know about an ingest request's memory."""
    if request.get("source") == "resample":
        full = services.store.info_by_name(session, "data_full")
        if full is None:
            return None
        size = (
            full.bytes_memory
            if request.get("use_full")
            else full.bytes_memory * min(1.0, (request.get("size") or 0) / max(full.rows, 1))
        )
        return {"rows": full.rows, "bytes_memory": int(size)}
    if request.get("source") == "upload":
        upload = services.uploads.get(session, request["upload_id"])
        return {"rows": 0, "bytes_memory": min(upload.size, STREAMING_WINDOW_BYTES)}
    return None


def run_request(services, session: str, request: dict, progress) -> ActiveDataset:
    """Carry out one ingest request inside the job process."""
    store, settings = services.store, services.settings
    source = request.get("source")
    if source == "upload":
        upload = services.uploads.get(session, request["upload_id"])
        return load_file(
            store,
            session,
            upload.path,
            settings=settings,
            filename=upload.filename,
            sheet=request.get("sheet"),
            source_info={"upload_id": upload.upload_id},
            progress=progress,
        )
    if source == "sample":
        folder = store.scratch_path(suffix="")
        folder.mkdir(parents=True)
        try:
            path = write_sample(request["name"], folder)
            return load_file(
                store, session, path, settings=settings, filename=path.name, progress=progress
            )
        finally:
            for child in folder.iterdir():
                child.unlink()
            folder.rmdir()
    if source == "resample":
        return resample(
            store,
            session,
            size=request.get("size"),
            stratify=request.get("stratify"),
            use_full=bool(request.get("use_full")),
            progress=progress,
        )
    raise DataInsightsError("Unknown request.")


def describe_request(request: dict) -> str:
    """Return the one-line job summary shown while it runs."""
    source = request.get("source")
    if source == "sample":
        return f"Loading the sample “{SAMPLE_TITLES.get(request.get('name'), '?')}”"
    if source == "resample":
        return "Using the full data" if request.get("use_full") else "Resampling"
    return f"Loading {request.get('filename') or 'the file'}"


#: ``ingest`` 3.0: parser buffers, the raw frame, its optimized copy, Parquet write buffers.
INGEST = JobKind(
    name="ingest",
    describe=describe_request,
    run=run_ingest,
    estimate=estimate_ingest,
    factor=3.0,
    overhead_mb=60.0,
    advice="Try a smaller file, or save it as CSV or Parquet with fewer columns.",
    # a 500 MB CSV (the upload limit) loads in about 2 minutes here; 15 leaves room for
    # slow disks and wide Excel files
    time_limit_s=900.0,
)


KINDS = (INGEST,)
