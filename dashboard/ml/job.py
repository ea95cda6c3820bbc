"""The Machine Learning job (kind ``ml``): run the comparison, store what it gives.

The job reads the analysis dataset, runs ``dashboard.ml.compare_models`` and writes, after
every model, the results so far as the item ``ml_results`` (the table, with the fold scores
and the run's settings in its meta, ``state`` ``running`` then ``done``), so Cancel, a crash
or a reload keeps every finished model. At the end it stores the test-set predictions
(``ml_predictions``) and the best fitted pipeline as a joblib file attached to ``ml_model``.
"""

from __future__ import annotations

import logging
import os
import re
import uuid

import pandas as pd
import pyarrow as pa

from dashboard.data import active_data
from dashboard.errors import InvalidParameter
from dashboard.jobs import JobKind, job_limit_mb, process_tree_rss_mb
from dashboard.machine import job_cpus
from dashboard.ml._compare import (
    CATALOGUE,
    TASKS,
    compare_models,
    skip_reason,
    training_rows,
)

log = logging.getLogger(__name__)

RESULTS, PREDICTIONS, MODEL = "ml_results", "ml_predictions", "ml_model"
DEFAULT_BUDGET_S = 60
#: The form's largest time budget per model (seconds).
MAX_BUDGET_S = 3600.0
_MOST_MODELS = max(len(models) for models in CATALOGUE.values())
#: MB kept free between the training process's memory guard and the job's own limit, so
#: that a model too big for memory stops that model, not the whole job.
MODEL_MEMORY_MARGIN_MB = 30.0


def _parameters(request: dict) -> dict:
    """Return ``compare_models`` arguments from a request (types checked).

    Raises:
        InvalidParameter: A missing target, or a value of the wrong type.
    """
    target = request.get("target")
    if not isinstance(target, str) or not target:
        raise InvalidParameter("Choose the column to predict (the target).")
    task = request.get("task") or None
    features = request.get("features") or None
    models = request.get("models")
    try:
        if models is not None and not isinstance(models, list):
            raise TypeError
        if features is not None and not isinstance(features, list):
            raise TypeError
        folds = request.get("cv_folds")
        params = {
            "target": target,
            "task": task,
            "features": features,
            "models": models,
            "test_size": float(request.get("test_size", 0.2)),
            "cv_folds": None if folds in (None, "") else int(folds),
            "metric": request.get("metric") or None,
            "time_budget_s": float(request.get("time_budget_s") or DEFAULT_BUDGET_S),
        }
    except (TypeError, ValueError):
        raise InvalidParameter("Some training settings are not valid; check the form.") from None
    if models is not None and not models:
        raise InvalidParameter("Choose at least one model.")
    return params


#: Seconds an ML job may take beyond its models' time budgets: reading the data, the
#: training process's start, the best model's explanation and the stored artifacts.
FIXED_TIME_S = 180.0


def time_limit_s(request: dict) -> float:
    """Return an ML job's wall-time limit: every model's time budget, plus a fixed part.

    Each model is stopped at its own budget (``time_budget_s``), so the job as a whole ends
    within ``models × budget + FIXED_TIME_S`` unless something hangs outside a model.
    """
    models = request.get("models")
    count = len(models) if isinstance(models, list) and models else _MOST_MODELS
    try:
        budget = float(request.get("time_budget_s") or DEFAULT_BUDGET_S)
    except (TypeError, ValueError):
        budget = DEFAULT_BUDGET_S
    budget = min(max(budget, 1.0), MAX_BUDGET_S)
    return count * budget + FIXED_TIME_S


def model_memory_limit_mb(services) -> float:
    """Return the RSS the training process may reach: the job's limit minus this process."""
    status = services.memory_status()
    web = sum(p.used_mb for p in status.processes if p.role == "web")
    own = process_tree_rss_mb(os.getpid())
    return max(64.0, job_limit_mb(services, web) - own - MODEL_MEMORY_MARGIN_MB)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "target"


def _store_results(store, session, result, version: int, run_id: str, extra: dict) -> None:
    meta = {
        **result.to_meta(),
        **extra,
        "dataset_version": version,
        "run_id": run_id,
        "state": "done" if result.complete else "running",
        "download_name": f"ml-results-{_slug(result.target)}",
    }
    store.put_frame(session, RESULTS, result.table, meta=meta)


def _store_best(store, session, result, version: int, run_id: str, model_file) -> None:
    """Store the test-set predictions and the fitted pipeline of the best model."""
    common = {"dataset_version": version, "run_id": run_id, "model": result.best}
    slug = _slug(result.target)
    if result.predictions is not None:
        store.put_frame(
            session,
            PREDICTIONS,
            result.predictions,
            meta={**common, "download_name": f"ml-predictions-{slug}"},
        )
    best = result.table.loc[result.table["model"] == result.best].iloc[0]
    card = pd.DataFrame(
        {
            "model": [result.best],
            "task": [result.task],
            "target": [result.target],
            "ranking_metric": [result.metric],
            "cv_mean": [best["cv_mean"]],
            "features": [", ".join(result.features)],
            "train_rows": [result.train_rows],
        }
    )
    store.put_frame(
        session,
        MODEL,
        card,
        meta={**common, "download_name": f"ml-model-{slug}"},
        attachment=model_file,
    )


def run_ml(services, session: str, request: dict, progress) -> dict:
    """Job body: compare the requested models on the analysis dataset (see module docs)."""
    store = services.store
    data = active_data(services.store, session)
    params = _parameters(request)
    names = [c["column"] for c in data.meta.get("column_table", [])]
    if names and params["target"] not in names:
        raise InvalidParameter(f"The target column '{params['target']}' is not in the dataset.")
    columns = None
    if params["features"] is not None:
        missing = [c for c in params["features"] if names and c not in names]
        if missing:
            raise InvalidParameter(
                f"Column(s) {', '.join(map(repr, missing))} are not in the dataset any more."
            )
        columns = list(dict.fromkeys([params["target"], *params["features"]]))
    # This process runs this one job: the system allocator gives Arrow's decoding buffers
    # back at once (measured: the job process ends 15 MB smaller on a 50,000-row frame,
    # memory that would otherwise sit beside the training process's peak).
    pa.set_memory_pool(pa.system_memory_pool())
    frame = store.read_frame(session, data.key, columns=columns)
    run_id = uuid.uuid4().hex
    extra = {"task_choice": request.get("task_choice") or "auto"}
    model_file = store.scratch_path(suffix=".joblib")
    started = {"done": False}

    def on_model(partial) -> None:
        if not started["done"]:
            # a new run replaces the previous one (its predictions and model too)
            started["done"] = True
            for name in (PREDICTIONS, MODEL):
                old = store.info_by_name(session, name)
                if old is not None:
                    store.remove(session, old.key, force=True)
        _store_results(store, session, partial, data.version, run_id, extra)

    def relay(step: str, done: float, total: float) -> None:
        # "Training Random Forest — 3 of 10": the banner reads "<summary> — <step> — <s>"
        headline, sep, rest = step.partition(" — ")
        progress(rest if sep else step, done, total, summary=headline if sep else None)

    try:
        result = compare_models(
            frame,
            **params,
            progress=relay,
            on_model=on_model,
            model_path=model_file,
            n_jobs=job_cpus(services.settings.max_concurrent_jobs),
            memory_limit_mb=model_memory_limit_mb(services),
        )
        del frame
        if result.best is not None:
            _store_best(store, session, result, data.version, run_id, model_file)
        _store_results(store, session, result, data.version, run_id, extra)
    finally:
        model_file.unlink(missing_ok=True)
    ok = int((result.table["status"] == "ok").sum())
    message = f"Trained {ok} of {len(result.models)} models on {result.rows:,} rows."
    if result.best is not None:
        row = result.table.loc[result.table["model"] == result.best].iloc[0]
        label = result.to_meta()["metric_phrase"]
        message += f" Best: {result.best} (cross-validated {label} {row['cv_mean']:.4g})."
    return {"message": message}


def _runs(name: str, train_rows: int) -> bool:
    """Whether model ``name`` trains at this size (a too-slow one is only a skipped row)."""
    specs = [CATALOGUE[task][name] for task in TASKS if name in CATALOGUE[task]]
    return not specs or any(skip_reason(spec, train_rows) is None for spec in specs)


def estimate_ml(services, session: str, request: dict) -> dict | None:
    """Return admission's view of an ML job: the analysis data and the models that train.

    Models too slow for the data (skipped without training) are not counted.
    """
    data = services.store.info_by_name(session, "data")
    if data is None:
        return None
    models = request.get("models")
    if not (isinstance(models, list) and models):
        return {"rows": data.rows, "bytes_memory": data.bytes_memory, "models": 10}
    rows = data.rows
    for column in data.meta.get("column_table", []):
        if column.get("column") == request.get("target"):
            rows = int(column.get("non_null", rows))
    try:
        train = training_rows(rows, float(request.get("test_size", 0.2)))
    except (TypeError, ValueError):
        train = rows
    count = sum(_runs(str(m), train) for m in models)
    return {"rows": data.rows, "bytes_memory": data.bytes_memory, "models": max(1, count)}


def describe(request: dict) -> str:
    """The banner's first words until the first model starts."""
    models = request.get("models")
    count = f"{len(models)} models" if isinstance(models, list) else "models"
    return f"Training {count} to predict {request.get('target', '?')}"


ML = JobKind(
    name="ml",
    describe=describe,
    run=run_ml,
    estimate=estimate_ml,
    # 15.0: the models' working memory grows with the data: a float64 design matrix after
    # one-hot encoding (many times the optimized frame, whose categories are 1-byte codes),
    # its copies inside the linear solvers, the forests' trees. Measured by bench/ml.py (ten
    # default models, job + training process, the watchdog's figure): 446 MB at 50,000 rows
    # × 20 columns (a 4.7 MB frame), 398 MB at 20,000 rows (1.9 MB); overhead 210 MB and
    # factor 15 give 462 and 401 MB. The peak is set by the heaviest model, not by how many
    # run (each trains alone, freed or killed after), hence the small ``MODEL_INCREMENT``.
    # The overhead counts the training process too (a second, fresh interpreter: pandas
    # without pyarrow and scikit-learn, about 160 MB before any data).
    factor=15.0,
    overhead_mb=210.0,
    advice="Try a smaller sample, fewer models or fewer columns.",
    time_limit_s=time_limit_s,
)
