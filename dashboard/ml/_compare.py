"""A fair, leakage-free comparison of classification or regression models on one table.

``compare_models(df, target=...)`` validates the target and features (a clear
``InvalidParameter`` before anything trains), splits the rows once into a training and a
test part (stratified for classification), and trains the chosen models one at a time. For
each model a scikit-learn ``Pipeline`` (imputation, encoding, scaling where needed, then the
model) is cross-validated on the training part, fitted on the training part and scored on
the test part, so no information from the test rows reaches any fit. Models run in a
separate training process, so a model that runs past its time budget is stopped and the
comparison goes on with the next one.

Models are ranked by the cross-validated mean of the ranking metric (the test part is only
used to report); the best fitted pipeline is saved, and its details (confusion matrix, ROC
curves, per-class report, or predicted vs actual and residuals; permutation importance on
the test rows, by original column) are computed at the end.

This module imports no scikit-learn itself; it can be used from a notebook::

    from dashboard.ml._compare import compare_models
    result = compare_models(df, target="price", models=["Ridge", "Random Forest"])
    result.table                # one row per model
    result.best_pipeline.predict(new_rows)
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from dashboard.errors import DataInsightsError, InvalidParameter
from dashboard.machine import usable_cpus
from dashboard.ml._catalogue import (
    CATALOGUE,
    CLASSIFICATION,
    REGRESSION,
    TASKS,
    default_models,
    model_names,
    skip_reason,
    too_slow_models,
)
from dashboard.ml._client import (
    SetupFailed,
    TrainingWorker,
    WorkerError,
    WorkerStopped,
    plain_frame,
    plain_series,
)
from dashboard.ml._metrics import DEFAULT_METRIC, METRICS, metric_columns
from dashboard.ml._metrics import metric as metric_spec
from dashboard.ml._prep import (
    PreparedData,
    check_parameters,
    default_cv_folds,
    facts_from_column_table,
    infer_task,
    plan_features,
    prepare,
)
from dashboard.ml._text import summarize
from dashboard.progress import Progress

log = logging.getLogger(__name__)

__all__ = [
    "CATALOGUE",
    "CLASSIFICATION",
    "REGRESSION",
    "TASKS",
    "METRICS",
    "DEFAULT_METRIC",
    "Comparison",
    "compare_models",
    "default_models",
    "model_names",
    "default_cv_folds",
    "facts_from_column_table",
    "infer_task",
    "plan_features",
    "skip_reason",
    "too_slow_models",
    "training_rows",
]

OK, FAILED, OVER_TIME, SKIPPED, OVER_MEMORY = (
    "ok",
    "failed",
    "over time budget",
    "skipped",
    "over memory limit",
)
STATUSES = (OK, FAILED, OVER_TIME, OVER_MEMORY, SKIPPED)


@dataclass(frozen=True)
class Comparison:
    """The outcome of ``compare_models`` (complete, or partial while it runs).

    Attributes:
        task: ``classification`` or ``regression``.
        target: The target column.
        metric: Key of the ranking metric (``balanced_accuracy``, ``r2``…).
        table: One row per finished model: ``model``, ``status`` (``ok``, ``failed``,
            ``over time budget``, ``over memory limit``, ``skipped``), ``reason``, the
            metric columns on the test split (classification: ``accuracy``,
            ``balanced_accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``, plus
            ``*_macro`` for three or more classes; regression: ``r2``, ``rmse``, ``mae``,
            ``mape`` in %), ``cv_mean`` / ``cv_std`` (the ranking metric across folds),
            ``fit_seconds`` (final fit), ``total_seconds`` (folds, fit and scoring) and
            ``peak_mb`` (memory the model needed above the idle training process).
        models: Every requested model, in order (finished or not), then the catalogue
            models too slow for this size that were not requested (skipped rows).
        cv_scores: ``{model: [score per fold]}`` in the ranking metric's unit.
        best: The model ranked first (highest or lowest ``cv_mean``), or None.
        details: The best model's details (see the module docs), or None.
        predictions: Test-set predictions of the best model (``row_number``, 1 = the first
            row of ``df``; ``actual``, ``predicted``, ``probability_<class>`` or
            ``residual``), or None.
        features: Feature columns used.
        excluded: ``{"column", "reason"}`` of the columns left out.
        task_reason: Why this task ("is numeric with 1,234 distinct values", "chosen").
        classes: Class labels (classification).
        positive: The positive class of a binary target (the less frequent one).
        rows: Rows with a target value; ``dropped_rows`` rows had none.
        train_rows, test_rows, cv_folds, test_size: The split.
        time_budget_s: The budget per model.
        complete: False while models are still to come (partial results).
        summary: A few plain sentences about the outcome.
        best_pipeline: The fitted best pipeline when no ``model_path`` was given.
        model_path: Where the best pipeline was saved (joblib), when ``model_path`` was given.
    """

    task: str
    target: str
    metric: str
    table: pd.DataFrame
    models: tuple[str, ...]
    cv_scores: dict = field(default_factory=dict)
    best: str | None = None
    details: dict | None = None
    predictions: pd.DataFrame | None = None
    features: tuple[str, ...] = ()
    excluded: tuple[dict, ...] = ()
    task_reason: str = ""
    classes: tuple = ()
    positive: object = None
    rows: int = 0
    dropped_rows: int = 0
    train_rows: int = 0
    test_rows: int = 0
    cv_folds: int = 0
    test_size: float = 0.2
    time_budget_s: float = 60.0
    complete: bool = False
    summary: tuple[str, ...] = ()
    best_pipeline: object = None
    model_path: Path | None = None

    @property
    def higher_is_better(self) -> bool:
        """Direction of the ranking metric."""
        return metric_spec(self.task, self.metric).higher_is_better

    def to_meta(self) -> dict:
        """Return every small, JSON-able field (not the table, predictions or pipeline)."""
        return {
            "task": self.task,
            "target": self.target,
            "metric": self.metric,
            "metric_label": metric_spec(self.task, self.metric).label,
            "metric_phrase": metric_spec(self.task, self.metric).phrase,
            "higher_is_better": self.higher_is_better,
            "models": list(self.models),
            "cv_scores": self.cv_scores,
            "best": self.best,
            "details": self.details,
            "features": list(self.features),
            "excluded": [dict(e) for e in self.excluded],
            "task_reason": self.task_reason,
            "classes": [str(c) for c in self.classes],
            "positive": None if self.positive is None else str(self.positive),
            "rows": self.rows,
            "dropped_rows": self.dropped_rows,
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "cv_folds": self.cv_folds,
            "test_size": self.test_size,
            "time_budget_s": self.time_budget_s,
            "complete": self.complete,
            "summary": list(self.summary),
        }


def empty_table(task: str, n_classes: int = 2) -> pd.DataFrame:
    """Return the results table with no rows (its columns and dtypes)."""
    columns = {"model": "str", "status": "str", "reason": "str"}
    for key in [*metric_columns(task, n_classes), "cv_mean", "cv_std"]:
        columns[key] = "float64"
    columns.update(fit_seconds="float64", total_seconds="float64", peak_mb="float64")
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})


def cpu_share() -> int:
    """Return the CPUs one comparison may use: this process's affinity and cgroup quota."""
    return usable_cpus()


def _resolve_models(task: str, models: Sequence[str] | None, train_rows: int) -> list[str]:
    """Return the models to list, requested (or default) ones first.

    Then every catalogue model too slow for ``train_rows`` that is not among them: each
    becomes a skipped row with its reason.
    """
    if models is None:
        names = default_models(task, train_rows)
    else:
        names = list(dict.fromkeys(models))
        if not names:
            raise InvalidParameter("Choose at least one model.")
        unknown = [m for m in names if m not in CATALOGUE[task]]
        if unknown:
            raise InvalidParameter(
                f"Unknown {task} model(s): {', '.join(unknown)}. "
                f"Choose from: {', '.join(model_names(task))}."
            )
    return names + [m for m in too_slow_models(task, train_rows) if m not in names]


def training_rows(rows: int, test_size: float) -> int:
    """Return the training rows of a split of ``rows`` (the test part is rounded up)."""
    return rows - math.ceil(rows * test_size)


def _row(name: str, status: str, reason: str) -> dict:
    return {"model": name, "status": status, "reason": reason}


def _stopped_row(name: str, stop: WorkerStopped, budget_s: float, limit_mb) -> dict:
    if stop.why == "time":
        return _row(name, OVER_TIME, f"Stopped after its {budget_s:g} s time budget.")
    if stop.why == "memory":
        return _row(
            name,
            OVER_MEMORY,
            f"Stopped at {stop.detail}: over the {limit_mb:,.0f} MB memory limit of a model.",
        )
    return _row(name, FAILED, f"The training process stopped unexpectedly ({stop.detail}).")


def compare_models(
    df: pd.DataFrame,
    *,
    target: str,
    task: str | None = None,
    models: Sequence[str] | None = None,
    test_size: float = 0.2,
    cv_folds: int | None = None,
    random_state: int = 0,
    time_budget_s: float = 60,
    progress: Progress | None = None,
    features: Sequence[str] | None = None,
    metric: str | None = None,
    on_model: Callable[[Comparison], None] | None = None,
    model_path: Path | str | None = None,
    n_jobs: int | None = None,
    memory_limit_mb: float | None = None,
) -> Comparison:
    """Train and compare models predicting ``target``, one at a time.

    Args:
        df: The table (features and target).
        target: Column to predict.
        task: ``classification`` or ``regression``; None infers it (numeric with more than
            20 distinct values → regression).
        models: Display names from the catalogue (``model_names(task)``); None for the
            defaults at this size (``default_models``). Every catalogue model too slow
            for this many training rows (``too_slow_models``: SVR above
            ``SVR_MAX_ROWS``, k-NN above ``KNN_MAX_ROWS``) is listed too, last, as a
            ``skipped`` row with its reason, whether requested or not.
        test_size: Share of rows held out for testing, 0.1 to 0.4.
        cv_folds: Cross-validation folds on the training part, 3 to 10; None for 5 below
            5,000 rows, else 3.
        random_state: Seed of the split, the folds and every seeded model.
        time_budget_s: Seconds each model may take (folds, fit and scoring); a model over
            it is stopped and marked ``over time budget``.
        progress: ``progress(step, done, total)``; ``step`` reads
            "Training <model> — <i> of <n>" (models done so far in ``done``).
        features: Feature columns to consider; None for every column but the target.
        metric: Ranking metric key (``METRICS``); None for balanced accuracy / R².
        on_model: Called with the partial ``Comparison`` once validation passed (no rows
            yet) and after each model; exceptions in it stop the comparison.
        model_path: Save the best fitted pipeline there (joblib) instead of returning it.
        n_jobs: CPUs for the training process; None for this process's CPU share.
        memory_limit_mb: Stop a model whose training process grows past this RSS.

    Returns:
        The complete ``Comparison``.

    Raises:
        InvalidParameter: Bad input (see ``dashboard.ml._prep.prepare``), an unknown model
            or metric, or a parameter out of range; raised before any model trains.
        DataInsightsError: The training process could not start or take the data (for
            example more memory than ``memory_limit_mb`` just to hold it); the models
            finished before, if any, were already passed to ``on_model``.
    """
    rows_with_target = int(df[target].notna().sum()) if target in df.columns else len(df)
    folds = cv_folds if cv_folds is not None else default_cv_folds(rows_with_target)
    check_parameters(test_size, folds, time_budget_s)
    data = prepare(
        df, target=target, task=task, features=features, test_size=test_size, cv_folds=folds
    )
    chosen_metric = metric or DEFAULT_METRIC[data.task]
    metric_spec(data.task, chosen_metric)  # an unknown key raises InvalidParameter
    names = _resolve_models(data.task, models, training_rows(len(data.y), test_size))
    report = progress or (lambda step, done, total: None)
    result = Comparison(
        task=data.task,
        target=target,
        metric=chosen_metric,
        table=empty_table(data.task, len(data.classes)),
        models=tuple(names),
        features=data.plan.features,
        excluded=data.plan.excluded,
        task_reason=data.task_reason,
        classes=data.classes,
        positive=data.positive,
        rows=len(data.y),
        dropped_rows=data.dropped_rows,
        cv_folds=folds,
        test_size=float(test_size),
        time_budget_s=float(time_budget_s),
    )
    keep_pipeline = model_path is None
    workdir = Path(tempfile.mkdtemp(prefix="di-ml-")) if keep_pipeline else None
    path = Path(model_path) if model_path is not None else workdir / "best.joblib"
    try:
        result = _run(
            data, result, names, random_state, report, on_model, path, n_jobs, memory_limit_mb
        )
        if keep_pipeline and result.best is not None:
            import joblib  # a notebook asked for the pipeline itself

            result = replace(result, best_pipeline=joblib.load(path))
        elif result.best is not None:
            result = replace(result, model_path=path)
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def _run(
    data: PreparedData,
    result: Comparison,
    names: list[str],
    random_state: int,
    report: Progress,
    on_model,
    path: Path,
    n_jobs: int | None,
    memory_limit_mb: float | None,
) -> Comparison:
    n = len(names)
    budget = result.time_budget_s
    setup = {
        "X": plain_frame(data.X),
        "y": plain_series(data.y),
        "task": data.task,
        "plan": data.plan.to_dict(),
        "classes": list(data.classes),
        "positive": data.positive,
        "test_size": result.test_size,
        "cv_folds": result.cv_folds,
        "random_state": random_state,
        "metric": result.metric,
        "n_jobs": n_jobs or cpu_share(),
    }
    train_rows = training_rows(result.rows, result.test_size)
    result = replace(result, train_rows=train_rows, test_rows=result.rows - train_rows)
    if on_model is not None:
        on_model(result)
    rows: list[dict] = []
    scores: dict[str, list[float]] = {}
    best, best_score = None, None
    path.unlink(missing_ok=True)
    with TrainingWorker(setup, n_jobs=setup["n_jobs"]) as worker:
        for i, name in enumerate(names):
            step = f"Training {name} — {i + 1} of {n}"
            report(step, i, n)
            skipped = skip_reason(CATALOGUE[data.task][name], train_rows)
            if skipped:
                rows.append(_row(name, SKIPPED, skipped))
            else:
                try:
                    answer = worker.request(
                        "train",
                        {"name": name, "best": best_score, "save_path": str(path)},
                        budget_s=budget,
                        memory_limit_mb=memory_limit_mb,
                        on_progress=lambda text, f, i=i, step=step: report(step, i + f, n),
                    )
                except SetupFailed as err:
                    raise DataInsightsError(str(err)) from None
                except WorkerStopped as stop:
                    rows.append(_stopped_row(name, stop, budget, memory_limit_mb))
                except WorkerError as err:
                    rows.append(_row(name, FAILED, f"Failed: {err}"))
                else:
                    rows.append(answer["row"])
                    scores[name] = answer["cv_scores"]
                    if answer["saved"]:
                        best, best_score = name, answer["row"]["cv_mean"]
                if worker.split:
                    result = replace(result, **worker.split)
            result = replace(result, table=_table(result, rows), cv_scores=dict(scores), best=best)
            log.info("model %s: %s", name, rows[-1]["status"])
            if on_model is not None:
                on_model(result)
        details, predictions = None, None
        if best is not None:
            report(f"Explaining {best} — best of {n}", n, n + 1)
            try:
                answer = worker.request(
                    "details",
                    {"path": str(path)},
                    budget_s=max(budget, 60.0),
                    memory_limit_mb=memory_limit_mb,
                )
                details, predictions = answer["details"], answer["predictions"]
            except (WorkerStopped, WorkerError) as err:
                log.warning("details of %s not computed: %s", best, err)
    result = replace(result, details=details, predictions=predictions, complete=True)
    result = replace(result, summary=tuple(summarize(result)))
    report("Finished", n + 1, n + 1)
    return result


def _table(result: Comparison, rows: list[dict]) -> pd.DataFrame:
    empty = empty_table(result.task, len(result.classes))
    frame = pd.DataFrame(rows).reindex(columns=empty.columns)
    frame["reason"] = frame["reason"].fillna("")
    return frame.astype(empty.dtypes.to_dict())
