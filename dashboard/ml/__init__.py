"""A fair, leakage-free comparison of classification or regression models on one table."""

from __future__ import annotations

from dashboard.ml._compare import (
    CATALOGUE,
    CLASSIFICATION,
    DEFAULT_METRIC,
    METRICS,
    REGRESSION,
    TASKS,
    compare_models,
    cpu_share,
    default_cv_folds,
    default_models,
    facts_from_column_table,
    infer_task,
    model_names,
    plan_features,
    skip_reason,
    training_rows,
)
from dashboard.ml._prep import (
    prepare,
    strict_direction,
)


def __getattr__(name: str):
    # The trainer imports scikit-learn: loaded only when asked for (bench/ml.py's bare
    # loop), never by ``import dashboard.ml`` in the web process.
    if name == "Trainer":
        from dashboard.ml._worker import Trainer

        return Trainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CATALOGUE",
    "CLASSIFICATION",
    "DEFAULT_METRIC",
    "METRICS",
    "REGRESSION",
    "TASKS",
    "compare_models",
    "cpu_share",
    "default_cv_folds",
    "default_models",
    "facts_from_column_table",
    "infer_task",
    "model_names",
    "plan_features",
    "prepare",
    "skip_reason",
    "strict_direction",
    "training_rows",
]
