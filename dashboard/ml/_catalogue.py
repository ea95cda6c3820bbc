"""The model catalogue: display names → scikit-learn estimators, with their limits.

The display names are also the names ``dashboard.ml.compare_models`` takes. Importing this
module does not import scikit-learn (the web process lists the catalogue): each estimator is
built by :func:`build_estimator`, inside the training process only.

Fixed choices, and why:

* ``class_weight="balanced"`` wherever the estimator takes it, so an imbalanced target is
  handled by weighting, never by resampling rows before the split.
* Forests (Random Forest, Extra Trees) draw bootstrap samples of at most
  ``FOREST_MAX_SAMPLES`` rows and stop splitting below 3 rows per leaf: a fully grown forest
  of 100 trees on 40,000 rows measured 340 MB pickled and a 1 GB peak; bounded like this it
  stays near 35 MB (bench/ml.py) at a small cost in accuracy.
* SVR and the MLP see a standardized target (``TransformedTargetRegressor``) where it
  matters: SVR's ``epsilon`` and ``C`` are on the target's scale.
* ``n_jobs`` (forests, k-NN) is the job's CPU share; other native thread pools (BLAS,
  OpenMP in Histogram Gradient Boosting) are capped to the same share by the worker.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)

FOREST_MAX_SAMPLES = 10_000
"""Rows drawn for each tree of a forest (all rows below that)."""

SVR_MAX_ROWS = 10_000
"""SVR is skipped above this many training rows: its fit grows with the square of the rows."""

KNN_MAX_ROWS = 100_000
"""k-NN is skipped above this many training rows: every prediction scans the training rows."""

DEFAULT_LARGE_ROWS = 20_000
"""Above this many training rows the slow models (Gradient Boosting, MLP) are not
pre-selected; Histogram Gradient Boosting is the fast equivalent of the first."""


@dataclass(frozen=True)
class ModelSpec:
    """One model of the catalogue.

    Attributes:
        name: Display name, also the API name ("Random Forest").
        task: ``classification`` or ``regression``.
        estimator: Dotted path of the scikit-learn class.
        params: Fixed constructor parameters.
        scale: Numeric inputs are standardized for it (linear models, SVMs, k-NN, MLP).
        n_jobs: It takes ``n_jobs`` (set to the job's CPU share).
        seeded: It takes ``random_state``.
        max_rows: Skipped above this many training rows (None: no limit).
        limit_reason: Why, in words, for the "skipped" row.
        default_max_rows: Not pre-selected above this many training rows (None: always).
        scaled_target: Regression target standardized around the estimator.
        forest: A bagged forest (bootstrap sample size capped, see module docs).
    """

    name: str
    task: str
    estimator: str
    params: dict = field(default_factory=dict)
    scale: bool = False
    n_jobs: bool = False
    seeded: bool = False
    max_rows: int | None = None
    limit_reason: str = ""
    default_max_rows: int | None = None
    scaled_target: bool = False
    forest: bool = False


_BALANCED = {"class_weight": "balanced"}
_LINEAR = "sklearn.linear_model."
_ENSEMBLE = "sklearn.ensemble."
_TREE_LEAF = {"min_samples_leaf": 3}

_SPECS: tuple[ModelSpec, ...] = (
    # --- classification
    ModelSpec(
        "Logistic Regression",
        CLASSIFICATION,
        _LINEAR + "LogisticRegression",
        {"max_iter": 1000, **_BALANCED},
        scale=True,
    ),
    ModelSpec(
        "Ridge Classifier", CLASSIFICATION, _LINEAR + "RidgeClassifier", _BALANCED, scale=True
    ),
    ModelSpec(
        "Linear SVM",
        CLASSIFICATION,
        "sklearn.svm.LinearSVC",
        {"max_iter": 5000, **_BALANCED},
        scale=True,
        seeded=True,
    ),
    ModelSpec(
        "k-Nearest Neighbours",
        CLASSIFICATION,
        "sklearn.neighbors.KNeighborsClassifier",
        scale=True,
        n_jobs=True,
        max_rows=KNN_MAX_ROWS,
        limit_reason="every prediction compares with all training rows",
    ),
    ModelSpec("Gaussian Naive Bayes", CLASSIFICATION, "sklearn.naive_bayes.GaussianNB"),
    ModelSpec(
        "Decision Tree",
        CLASSIFICATION,
        "sklearn.tree.DecisionTreeClassifier",
        _BALANCED,
        seeded=True,
    ),
    ModelSpec(
        "Random Forest",
        CLASSIFICATION,
        _ENSEMBLE + "RandomForestClassifier",
        {"n_estimators": 100, **_TREE_LEAF, **_BALANCED},
        n_jobs=True,
        seeded=True,
        forest=True,
    ),
    ModelSpec(
        "Extra Trees",
        CLASSIFICATION,
        _ENSEMBLE + "ExtraTreesClassifier",
        {"n_estimators": 100, "bootstrap": True, **_TREE_LEAF, **_BALANCED},
        n_jobs=True,
        seeded=True,
        forest=True,
    ),
    ModelSpec("AdaBoost", CLASSIFICATION, _ENSEMBLE + "AdaBoostClassifier", seeded=True),
    ModelSpec(
        "Gradient Boosting",
        CLASSIFICATION,
        _ENSEMBLE + "GradientBoostingClassifier",
        seeded=True,
        default_max_rows=DEFAULT_LARGE_ROWS,
    ),
    ModelSpec(
        "Histogram Gradient Boosting",
        CLASSIFICATION,
        _ENSEMBLE + "HistGradientBoostingClassifier",
        _BALANCED,
        seeded=True,
    ),
    ModelSpec(
        "MLP",
        CLASSIFICATION,
        "sklearn.neural_network.MLPClassifier",
        {"hidden_layer_sizes": (100,), "early_stopping": True, "max_iter": 200},
        scale=True,
        seeded=True,
        default_max_rows=DEFAULT_LARGE_ROWS,
    ),
    # --- regression
    ModelSpec("Linear Regression", REGRESSION, _LINEAR + "LinearRegression", scale=True),
    ModelSpec("Ridge", REGRESSION, _LINEAR + "Ridge", scale=True),
    ModelSpec("Lasso", REGRESSION, _LINEAR + "Lasso", {"max_iter": 5000}, scale=True, seeded=True),
    ModelSpec(
        "Elastic Net",
        REGRESSION,
        _LINEAR + "ElasticNet",
        {"max_iter": 5000},
        scale=True,
        seeded=True,
    ),
    ModelSpec("Bayesian Ridge", REGRESSION, _LINEAR + "BayesianRidge", scale=True),
    ModelSpec(
        "k-Nearest Neighbours",
        REGRESSION,
        "sklearn.neighbors.KNeighborsRegressor",
        scale=True,
        n_jobs=True,
        max_rows=KNN_MAX_ROWS,
        limit_reason="every prediction compares with all training rows",
    ),
    ModelSpec(
        "SVR",
        REGRESSION,
        "sklearn.svm.SVR",
        scale=True,
        scaled_target=True,
        max_rows=SVR_MAX_ROWS,
        limit_reason="its training time grows with the square of the rows",
        default_max_rows=SVR_MAX_ROWS,
    ),
    ModelSpec("Decision Tree", REGRESSION, "sklearn.tree.DecisionTreeRegressor", seeded=True),
    ModelSpec(
        "Random Forest",
        REGRESSION,
        _ENSEMBLE + "RandomForestRegressor",
        {"n_estimators": 100, "max_features": 0.5, **_TREE_LEAF},
        n_jobs=True,
        seeded=True,
        forest=True,
    ),
    ModelSpec(
        "Extra Trees",
        REGRESSION,
        _ENSEMBLE + "ExtraTreesRegressor",
        {"n_estimators": 100, "bootstrap": True, "max_features": 0.5, **_TREE_LEAF},
        n_jobs=True,
        seeded=True,
        forest=True,
    ),
    ModelSpec(
        "Gradient Boosting",
        REGRESSION,
        _ENSEMBLE + "GradientBoostingRegressor",
        seeded=True,
        default_max_rows=DEFAULT_LARGE_ROWS,
    ),
    ModelSpec(
        "Histogram Gradient Boosting",
        REGRESSION,
        _ENSEMBLE + "HistGradientBoostingRegressor",
        seeded=True,
    ),
)

CATALOGUE: dict[str, dict[str, ModelSpec]] = {
    task: {s.name: s for s in _SPECS if s.task == task} for task in TASKS
}
"""``{task: {display name: ModelSpec}}``, in display order."""


def model_names(task: str) -> list[str]:
    """Return the catalogue's model names for ``task``, in display order."""
    return list(CATALOGUE[task])


def skip_reason(spec: ModelSpec, train_rows: int) -> str | None:
    """Return why ``spec`` is skipped at this training size, or None when it runs."""
    if spec.max_rows is not None and train_rows > spec.max_rows:
        return (
            f"Skipped: {train_rows:,} training rows is above its limit of "
            f"{spec.max_rows:,} ({spec.limit_reason})."
        )
    return None


def too_slow_models(task: str, train_rows: int) -> list[str]:
    """Return the models of ``task`` skipped at this training size (see ``skip_reason``).

    A comparison lists each of them as a ``skipped`` row with its reason, whether it was
    requested or not, so a size limit is never hidden.
    """
    return [s.name for s in CATALOGUE[task].values() if skip_reason(s, train_rows) is not None]


def default_models(task: str, train_rows: int) -> list[str]:
    """Return the models pre-selected for ``task`` at this training size.

    Every model that runs at this size, without the slow ones above their
    ``default_max_rows`` (see ``DEFAULT_LARGE_ROWS``).
    """
    return [
        s.name
        for s in CATALOGUE[task].values()
        if skip_reason(s, train_rows) is None
        and (s.default_max_rows is None or train_rows <= s.default_max_rows)
    ]


def _class(path: str) -> Callable:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def build_estimator(spec: ModelSpec, *, random_state: int, n_jobs: int, train_rows: int):
    """Return a new, unfitted estimator for ``spec`` (imports scikit-learn).

    Args:
        spec: The catalogue entry.
        random_state: Seed for estimators that take one.
        n_jobs: CPU share for estimators that take ``n_jobs``.
        train_rows: Rows the estimator will be fitted on (forests cap their bootstrap
            sample with it).
    """
    params = dict(spec.params)
    if spec.seeded:
        params["random_state"] = random_state
    if spec.n_jobs:
        params["n_jobs"] = n_jobs
    if spec.forest and train_rows > FOREST_MAX_SAMPLES:
        params["max_samples"] = FOREST_MAX_SAMPLES
    estimator = _class(spec.estimator)(**params)
    if spec.scaled_target:
        wrapper = _class("sklearn.compose.TransformedTargetRegressor")
        scaler = _class("sklearn.preprocessing.StandardScaler")
        estimator = wrapper(regressor=estimator, transformer=scaler())
    return estimator
