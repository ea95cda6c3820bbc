"""Metrics of the comparison: which exist, how each is scored, and their values on a split.

Every figure is scikit-learn's own function on the test split (``sklearn.metrics``), so a
result can be checked against it exactly. Conventions:

* Two classes: precision, recall and F1 of the *positive* class, the less frequent one
  (e.g. "default", "malignant"); ROC-AUC from the positive class's probability (or the
  decision function when the model has no probabilities).
* More classes: precision, recall and F1 weighted by class size in ``precision`` /
  ``recall`` / ``f1``, unweighted means in ``*_macro``; ROC-AUC one-vs-rest, macro
  average: the mean over classes of the binary ROC-AUC of "this class or not" from that
  class's score column — probabilities, else the decision function (Ridge Classifier,
  Linear SVM). On probabilities this is scikit-learn's ``multi_class="ovr"``,
  ``average="macro"``; scikit-learn refuses decision scores there (they do not sum to 1),
  hence the mean computed here.
* Regression: R², RMSE, MAE and MAPE; MAPE is shown as a percentage (×100).

The metric definitions are importable without scikit-learn (the page lists them); the
functions computing values import it when called.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.errors import InvalidParameter
from dashboard.ml._catalogue import CLASSIFICATION, REGRESSION


@dataclass(frozen=True)
class Metric:
    """One metric column.

    Attributes:
        key: Column name (snake_case).
        label: Shown to people.
        higher_is_better: Direction for ranking.
        rankable: Offered as the ranking metric.
    """

    key: str
    label: str
    higher_is_better: bool = True
    rankable: bool = True

    @property
    def phrase(self) -> str:
        """The label as written mid-sentence ("balanced accuracy", but "R²", "F1")."""
        label = self.label
        return label[0].lower() + label[1:] if label[1:2].islower() else label


METRICS: dict[str, tuple[Metric, ...]] = {
    CLASSIFICATION: (
        Metric("accuracy", "Accuracy"),
        Metric("balanced_accuracy", "Balanced accuracy"),
        Metric("precision", "Precision"),
        Metric("recall", "Recall"),
        Metric("f1", "F1"),
        Metric("roc_auc", "ROC-AUC"),
        Metric("precision_macro", "Precision (macro)", rankable=False),
        Metric("recall_macro", "Recall (macro)", rankable=False),
        Metric("f1_macro", "F1 (macro)", rankable=False),
    ),
    REGRESSION: (
        Metric("r2", "R²"),
        Metric("rmse", "RMSE", higher_is_better=False),
        Metric("mae", "MAE", higher_is_better=False),
        Metric("mape", "MAPE %", higher_is_better=False),
    ),
}
DEFAULT_METRIC = {CLASSIFICATION: "balanced_accuracy", REGRESSION: "r2"}


def metric(task: str, key: str) -> Metric:
    """Return the metric ``key`` of ``task``.

    Raises:
        InvalidParameter: Not a ranking metric of that task.
    """
    for m in METRICS[task]:
        if m.key == key and m.rankable:
            return m
    names = ", ".join(m.key for m in METRICS[task] if m.rankable)
    raise InvalidParameter(f"Rank {task} models by one of: {names}.")


def metric_columns(task: str, n_classes: int = 2) -> list[str]:
    """Return the metric columns of the results table (macro ones for 3+ classes only)."""
    return [
        m.key
        for m in METRICS[task]
        if task == REGRESSION or n_classes > 2 or not m.key.endswith("_macro")
    ]


def scorer(task: str, key: str, *, positive=None, n_classes: int = 2):
    """Return the scikit-learn scorer for cross-validating ``key`` (higher is better).

    Error metrics are negated, as scikit-learn's ``neg_*`` scorers do; :func:`cv_value`
    turns a fold score back into the metric's value.
    """
    from sklearn.metrics import (  # job process only
        f1_score,
        get_scorer,
        make_scorer,
        precision_score,
        recall_score,
    )

    if task == REGRESSION:
        names = {
            "r2": "r2",
            "rmse": "neg_root_mean_squared_error",
            "mae": "neg_mean_absolute_error",
            "mape": "neg_mean_absolute_percentage_error",
        }
        return get_scorer(names[key])
    if key in ("accuracy", "balanced_accuracy"):
        return get_scorer(key)
    if key == "roc_auc":
        return get_scorer("roc_auc") if n_classes == 2 else ovr_roc_auc_scorer
    function = {"precision": precision_score, "recall": recall_score, "f1": f1_score}[key]
    if n_classes == 2:
        return make_scorer(function, pos_label=positive, zero_division=0)
    return make_scorer(function, average="weighted", zero_division=0)


def cv_value(task: str, key: str, score: float) -> float:
    """Return a cross-validation fold score in the metric's own unit (MAPE in %)."""
    if task == REGRESSION and key != "r2":
        score = -score
        if key == "mape":
            score *= 100
    return float(score)


def positive_scores(model, X, classes: list, positive):
    """Return the positive class's score for a binary model (probability, else margin)."""
    fitted = list(model.classes_)
    column = fitted.index(positive)
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, column]
    margin = model.decision_function(X)
    return margin if column == 1 else -margin


def class_probabilities(model, X):
    """Return ``predict_proba`` or None when the model has no probabilities."""
    if hasattr(model, "predict_proba"):
        try:
            return model.predict_proba(X)
        except AttributeError:  # e.g. a wrapped estimator without probabilities
            return None
    return None


def class_scores(model, X, classes: list):
    """Return one score column per class (``classes`` order) for a 3+ class model, or None.

    Probabilities when the model has them, else its decision function (one margin per
    class, one-vs-rest); None when it has neither.
    """
    scores = class_probabilities(model, X)
    if scores is None and hasattr(model, "decision_function"):
        scores = np.asarray(model.decision_function(X))
    if scores is None or scores.ndim != 2:
        return None
    fitted = list(model.classes_)
    return scores[:, [fitted.index(c) for c in classes]]


def ovr_roc_auc(y_true, scores, classes: list) -> tuple[float | None, str]:
    """Return the macro one-vs-rest ROC-AUC and, when it cannot be computed, why.

    Args:
        y_true: True labels.
        scores: One score column per class, in ``classes`` order (probabilities or
            decision function), or None.
        classes: Every class, sorted.

    Returns:
        ``(auc, "")``, or ``(None, reason)`` without scores or when a class has no test
        row (its one-vs-rest AUC is undefined).
    """
    from sklearn.metrics import roc_auc_score  # job process only

    if scores is None:
        return None, "ROC-AUC not computed: this model gives no class scores."
    truth = np.asarray(y_true)
    missing = [str(c) for c in classes if not 0 < (truth == c).sum() < len(truth)]
    if missing:
        return None, (
            f"ROC-AUC not computed: class {', '.join(missing)} has no test row "
            "(or every test row), so its one-vs-rest AUC is undefined."
        )
    per_class = [roc_auc_score(truth == c, scores[:, k]) for k, c in enumerate(classes)]
    return float(np.mean(per_class)), ""


def ovr_roc_auc_scorer(estimator, X, y) -> float:
    """Scorer (``scoring=``) of the macro one-vs-rest ROC-AUC (see :func:`ovr_roc_auc`)."""
    classes = list(estimator.classes_)
    auc, _ = ovr_roc_auc(y, class_scores(estimator, X, classes), classes)
    return float("nan") if auc is None else auc


def classification_metrics(y_true, y_pred, *, classes: list, positive=None, scores=None) -> dict:
    """Return the classification metrics of one split.

    Args:
        y_true: True labels of the split.
        y_pred: Predicted labels.
        classes: Every class, sorted.
        positive: Positive class of a binary target.
        scores: Binary: the positive class's score (probability or margin). 3+ classes:
            one score column per class in ``classes`` order (:func:`class_scores`), or None.

    Returns:
        The metrics; when ``roc_auc`` is None, ``roc_auc_note`` says why.
    """
    from sklearn.metrics import (  # job process only
        accuracy_score,
        balanced_accuracy_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    out = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
    }
    if len(classes) == 2:
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, pos_label=positive, average="binary", zero_division=0
        )
        out.update(precision=float(p), recall=float(r), f1=float(f))
        truth = np.asarray(y_true) == positive
        if scores is None:
            out.update(roc_auc=None, roc_auc_note="ROC-AUC not computed: no class scores.")
        elif 0 < truth.sum() < len(truth):
            out["roc_auc"] = float(roc_auc_score(truth, scores))
        else:
            out.update(
                roc_auc=None,
                roc_auc_note="ROC-AUC not computed: the test rows hold a single class.",
            )
        return out
    for average, suffix in (("weighted", ""), ("macro", "_macro")):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=classes, average=average, zero_division=0
        )
        out.update({f"precision{suffix}": float(p), f"recall{suffix}": float(r)})
        out[f"f1{suffix}"] = float(f)
    out["roc_auc"], note = ovr_roc_auc(y_true, scores, classes)
    if note:
        out["roc_auc_note"] = note
    return out


def regression_metrics(y_true, y_pred) -> dict:
    """Return R², RMSE, MAE and MAPE (as a percentage) of one split."""
    from sklearn.metrics import (  # job process only
        mean_absolute_error,
        mean_absolute_percentage_error,
        r2_score,
        root_mean_squared_error,
    )

    return {
        "r2": float(r2_score(y_true, y_pred)),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "mape": float(mean_absolute_percentage_error(y_true, y_pred) * 100),
    }
