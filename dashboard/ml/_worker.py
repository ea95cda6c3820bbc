"""The training process: holds the prepared data once and trains models one at a time.

Run as ``python -m dashboard.ml._worker`` by :mod:`dashboard.ml._client`, which sends
pickled commands on stdin and reads pickled replies on stdout:

* ``("setup", {...})`` → ``("ready", {...})``: split the data (stratified for
  classification) and make the cross-validation folds;
* ``("train", {"name", "best", "save_path"})`` → ``("progress", text, fraction)``… then
  ``("result", {...})``: cross-validate the model's pipeline on the training split, fit it
  on the training split, score it on the test split; when it beats ``best`` it is saved;
* ``("details", {"path"})`` → ``("details", {...})``: the saved model's confusion matrix or
  residuals, ROC curves, permutation importance and test-set predictions;
* ``("stop",)``.

A fit cannot be interrupted from inside, so the time budget is enforced from outside: the
client kills this process and starts a new one. This is the only module that imports
scikit-learn at the top; nothing in the web process imports it.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import pickle
import re
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import permutation_importance
from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score, roc_curve
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate, train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

import dashboard.ml._metrics as metrics
from dashboard.ml._catalogue import CATALOGUE, CLASSIFICATION, build_estimator
from dashboard.ml._prep import FeaturePlan, build_preprocessor

log = logging.getLogger(__name__)

SCATTER_POINTS = 1_000
"""Predicted-vs-actual points kept for the chart (a random sample of the test rows)."""
ROC_POINTS = 200
"""Points kept per ROC curve (evenly spaced along it, ends included)."""
IMPORTANCE_ROWS = 1_000
"""Test rows permutation importance is computed on (a random sample above that): every
column is shuffled ``IMPORTANCE_REPEATS`` times and predicted again, which costs a forest
about 5 s at 1,000 rows (bench/ml.py)."""
IMPORTANCE_REPEATS = 5
IMPORTANCE_TOP = 15
RESIDUAL_BINS = 30
NOT_CONVERGED = "Did not converge within its iteration limit; its scores may be pessimistic."


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _hwm_mb() -> float:
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) / 1024


class PeakMeter:
    """Peak memory one model needs above the idle process, in MB.

    Resets the kernel's high-water mark (``/proc/self/clear_refs``) when allowed, else
    samples the RSS every 20 ms.
    """

    def __init__(self):
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._peak = 0.0

    def __enter__(self) -> PeakMeter:
        gc.collect()
        _trim()
        self.base = _rss_mb()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, _rss_mb())

    def __exit__(self, *exc) -> None:
        if self._thread is None:
            self.peak_mb = max(0.0, _hwm_mb() - self.base)
        else:
            self._stop.set()
            self._thread.join()
            self.peak_mb = max(0.0, self._peak - self.base)


def _trim() -> None:
    """Give freed heap memory back to the system between models (glibc only)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Trainer:
    """The split, the folds and the scorer of one comparison; trains one model per call."""

    def __init__(
        self,
        *,
        X: pd.DataFrame,
        y: pd.Series,
        task: str,
        plan: dict,
        classes: list,
        positive,
        test_size: float,
        cv_folds: int,
        random_state: int,
        metric: str,
        n_jobs: int,
    ):
        self.task, self.classes, self.positive = task, list(classes), positive
        self.plan = FeaturePlan(
            **{k: tuple(v) for k, v in plan.items() if k != "excluded"},
            excluded=tuple(plan.get("excluded", ())),
        )
        self.metric, self.random_state, self.n_jobs = metric, random_state, n_jobs
        classification = task == CLASSIFICATION
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X,
            y,
            test_size=test_size,
            random_state=random_state,
            stratify=y if classification else None,
        )
        splitter = (StratifiedKFold if classification else KFold)(
            cv_folds, shuffle=True, random_state=random_state
        )
        self.folds = list(splitter.split(self.X_train, self.y_train))
        self.scorer = metrics.scorer(
            task, metric, positive=positive, n_classes=len(self.classes) or 2
        )

    def describe(self) -> dict:
        """Return the split's sizes."""
        return {"train_rows": len(self.X_train), "test_rows": len(self.X_test)}

    def pipeline(self, name: str) -> Pipeline:
        """Return the unfitted pipeline of model ``name``: preprocessing, then the model."""
        spec = CATALOGUE[self.task][name]
        prepare = build_preprocessor(
            self.plan,
            scale=spec.scale,
            task=self.task,
            n_classes=len(self.classes),
            random_state=self.random_state,
        )
        model = build_estimator(
            spec, random_state=self.random_state, n_jobs=self.n_jobs, train_rows=len(self.X_train)
        )
        return Pipeline([("prepare", prepare), ("model", model)])

    def _can_cross_validate(self, pipe: Pipeline) -> bool:
        needs_scores = self.metric == "roc_auc" and len(self.classes) > 2
        return not needs_scores or any(
            hasattr(pipe, m) for m in ("predict_proba", "decision_function")
        )

    def train(self, name: str, best: float | None, save_path: str | None, progress) -> dict:
        """Cross-validate, fit and score model ``name``; save it when it beats ``best``.

        Returns:
            ``row`` (the results-table row), ``cv_scores`` (per fold, in the metric's unit)
            and ``saved``.
        """
        pipe = self.pipeline(name)
        k = len(self.folds)
        scores: list[float] = []
        reason = ""
        started = time.perf_counter()
        with PeakMeter() as meter, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            if self._can_cross_validate(pipe):
                for i, fold in enumerate(self.folds):
                    progress(f"cross-validation fold {i + 1} of {k}", i / (k + 1))
                    result = cross_validate(
                        pipe,
                        self.X_train,
                        self.y_train,
                        cv=[fold],
                        scoring=self.scorer,
                        error_score="raise",
                    )
                    scores.append(metrics.cv_value(self.task, self.metric, result["test_score"][0]))
            else:
                reason = "Not cross-validated: ROC-AUC needs class scores, which it lacks."
            progress("final fit", k / (k + 1))
            fit_started = time.perf_counter()
            model = clone(pipe).fit(self.X_train, self.y_train)
            fit_seconds = time.perf_counter() - fit_started
            values = self.score(model)
        total = time.perf_counter() - started
        notes = [reason, values.pop("roc_auc_note", "")]
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            notes.append(NOT_CONVERGED)
        reason = " ".join(n for n in notes if n)
        cv_mean = float(np.mean(scores)) if scores else None
        row = {
            "model": name,
            "status": "ok",
            "reason": reason,
            **values,
            "cv_mean": cv_mean,
            "cv_std": float(np.std(scores)) if scores else None,
            "fit_seconds": fit_seconds,
            "total_seconds": total,
            "peak_mb": meter.peak_mb,
        }
        saved = False
        if save_path and cv_mean is not None and _beats(cv_mean, best, self.metric, self.task):
            _dump(model, Path(save_path))
            saved = True
        del model, pipe
        gc.collect()
        _trim()
        return {"row": row, "cv_scores": scores, "saved": saved}

    def score(self, model) -> dict:
        """Return the test-split metrics of a fitted pipeline."""
        y_pred = model.predict(self.X_test)
        if self.task != CLASSIFICATION:
            return metrics.regression_metrics(self.y_test, y_pred)
        if len(self.classes) == 2:
            scores = metrics.positive_scores(model, self.X_test, self.classes, self.positive)
        else:
            scores = metrics.class_scores(model, self.X_test, self.classes)
        return metrics.classification_metrics(
            self.y_test, y_pred, classes=self.classes, positive=self.positive, scores=scores
        )

    def _proba(self, model, X) -> np.ndarray | None:
        """``predict_proba`` with its columns in ``self.classes`` order (None without it)."""
        proba = metrics.class_probabilities(model, X)
        if proba is None:
            return None
        fitted = list(model.classes_)
        return proba[:, [fitted.index(c) for c in self.classes]]

    def details(self, path: str, progress) -> dict:
        """Return the saved model's details and its test-set predictions (a frame)."""
        model = joblib.load(path)
        progress("predicting the test rows", 0.1)
        y_pred = model.predict(self.X_test)
        y_true = self.y_test.to_numpy()
        rng = np.random.default_rng(self.random_state)
        predictions = pd.DataFrame({"row_number": self.X_test.index.to_numpy() + 1})
        predictions["actual"] = y_true
        predictions["predicted"] = y_pred
        if self.task == CLASSIFICATION:
            details, proba = self._classification_details(model, y_true, y_pred)
            if proba is not None and len(self.classes) <= 10:
                for k, c in enumerate(self.classes):
                    predictions[f"probability_{c}"] = proba[:, k]
        else:
            details = self._regression_details(y_true, y_pred, rng)
            predictions["residual"] = y_true - y_pred
        progress("permutation importance", 0.4)
        details["importance"] = self._importance(model, rng)
        return {"details": details, "predictions": predictions}

    def _classification_details(self, model, y_true, y_pred):
        labels = self.classes
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
        report = classification_report(
            y_true, y_pred, labels=labels, output_dict=True, zero_division=0
        )
        rows = []
        for key, values in report.items():
            if isinstance(values, dict):
                rows.append(
                    {
                        "class": str(key),
                        "precision": float(values["precision"]),
                        "recall": float(values["recall"]),
                        "f1": float(values["f1-score"]),
                        "support": int(values["support"]),
                    }
                )
        proba = self._proba(model, self.X_test)
        curves, roc_note = [], ""
        if len(labels) == 2:
            score = metrics.positive_scores(model, self.X_test, labels, self.positive)
            if 0 < (y_true == self.positive).sum() < len(y_true):
                curves.append(_roc(y_true == self.positive, score, self.positive))
            else:
                roc_note = "The test rows hold a single class, so there is no ROC curve."
        else:
            # probabilities, else the decision function (Ridge Classifier, Linear SVM)
            scores = proba
            if scores is None:
                scores = metrics.class_scores(model, self.X_test, labels)
            if scores is None:
                roc_note = "This model gives no class scores, so there is no ROC curve."
            else:
                for k, c in enumerate(labels):
                    if 0 < (y_true == c).sum() < len(y_true):
                        curves.append(_roc(y_true == c, scores[:, k], c))
                if proba is None:
                    roc_note = "Scores: the model's decision function (it has no probabilities)."
        details = {
            "kind": CLASSIFICATION,
            "classes": [str(c) for c in labels],
            "positive": None if self.positive is None else str(self.positive),
            "confusion": matrix.tolist(),
            "report": rows,
            "roc": curves,
            "roc_note": roc_note,
        }
        return details, proba

    def _regression_details(self, y_true, y_pred, rng) -> dict:
        n = len(y_true)
        pick = np.sort(rng.choice(n, SCATTER_POINTS, replace=False)) if n > SCATTER_POINTS else None
        actual = y_true if pick is None else y_true[pick]
        predicted = y_pred if pick is None else y_pred[pick]
        residuals = y_true - y_pred
        counts, edges = np.histogram(residuals[np.isfinite(residuals)], bins=RESIDUAL_BINS)
        return {
            "kind": "regression",
            "scatter": {
                "actual": [float(v) for v in actual],
                "predicted": [float(v) for v in predicted],
            },
            "points_total": int(n),
            "residuals": {"edges": [float(e) for e in edges], "counts": counts.tolist()},
        }

    def _importance(self, model, rng) -> dict:
        X, y = self.X_test, self.y_test
        if len(X) > IMPORTANCE_ROWS:
            pick = np.sort(rng.choice(len(X), IMPORTANCE_ROWS, replace=False))
            X, y = X.iloc[pick], y.iloc[pick]
        result = permutation_importance(
            model,
            X,
            y,
            scoring=self.scorer,
            n_repeats=IMPORTANCE_REPEATS,
            random_state=self.random_state,
            n_jobs=1,
        )
        unit = 100.0 if self.metric == "mape" else 1.0
        ranked = sorted(
            zip(X.columns, result.importances_mean, result.importances_std, strict=True),
            key=lambda t: -t[1],
        )
        return {
            "rows": len(X),
            "repeats": IMPORTANCE_REPEATS,
            "features": [
                {"column": str(c), "mean": float(m) * unit, "std": float(s) * unit}
                for c, m, s in ranked[:IMPORTANCE_TOP]
            ],
        }


def _roc(truth, score, label) -> dict:
    fpr, tpr, _ = roc_curve(truth, score)
    if len(fpr) > ROC_POINTS:
        keep = np.unique(np.linspace(0, len(fpr) - 1, ROC_POINTS).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {
        "class": str(label),
        "auc": float(roc_auc_score(truth, score)),
        "fpr": [round(float(v), 5) for v in fpr],
        "tpr": [round(float(v), 5) for v in tpr],
    }


def _beats(score: float, best: float | None, metric: str, task: str) -> bool:
    if best is None:
        return True
    higher = next(m.higher_is_better for m in metrics.METRICS[task] if m.key == metric)
    return score > best if higher else score < best


def _dump(model, path: Path) -> None:
    """Write the fitted pipeline atomically (a killed worker never leaves half a file)."""
    partial = path.with_name(path.name + ".partial")
    joblib.dump(model, partial)
    os.replace(partial, path)


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def serve(commands, replies) -> None:
    """Answer commands until ``stop`` or end of input (see the module docs)."""
    trainer: Trainer | None = None

    def send(message) -> None:
        pickle.dump(message, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()

    def progress(text: str, fraction: float) -> None:
        send(("progress", text, fraction))

    while True:
        try:
            command, *args = pickle.load(commands)
        except EOFError:
            return
        try:
            if command == "setup":
                setup = args[0]
                threadpool_limits(limits=int(setup["n_jobs"]))
                trainer = Trainer(**setup)
                send(("ready", trainer.describe()))
            elif command == "train":
                send(("result", trainer.train(**args[0], progress=progress)))
            elif command == "details":
                send(("details", trainer.details(**args[0], progress=progress)))
            elif command == "stop":
                return
        except Exception as err:  # noqa: BLE001 - reported to the client, which marks the model
            log.warning("ML worker: %s failed", command, exc_info=True)
            send(("error", _plain(err), traceback.format_exc(limit=5)))


def _plain(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:300]


def main() -> None:
    """Entry point: protocol on the original stdout; anything printed goes to stderr."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s ml-worker: %(message)s",
    )
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
