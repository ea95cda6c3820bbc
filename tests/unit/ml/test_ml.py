"""compare_models end to end: real training processes, checked against scikit-learn itself."""

import time

import numpy as np
import pandas as pd
import psutil
import pytest
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import (
    KFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
    train_test_split,
)
from sklearn.preprocessing import TargetEncoder
from sklearn.tree import DecisionTreeClassifier

from dashboard.errors import DataInsightsError
from dashboard.ml._client import TrainingWorker, WorkerStopped, plain_frame, plain_series
from dashboard.ml._compare import compare_models


@pytest.fixture(scope="module")
def credit(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "german_credit.csv")


def regression_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    colour = rng.choice(["red", "green", "blue"], n)
    y = 3 * x[:, 0] - 2 * x[:, 1] + (colour == "red") * 4 + rng.normal(0, 0.5, n) + 20
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "colour": colour, "y": y})
    frame.loc[rng.random(n) < 0.05, "b"] = np.nan
    return frame


def test_ml001_binary_metrics_and_folds_equal_scikit_learn_on_the_same_split(credit):
    result = compare_models(
        credit, target="default", models=["Logistic Regression", "Decision Tree"], cv_folds=4
    )
    assert result.task == "classification" and result.positive == 2  # the rarer class
    assert list(result.table["model"]) == ["Logistic Regression", "Decision Tree"]
    best = result.table.set_index("model").loc[result.best]
    # the same split, made by scikit-learn directly
    X = credit.drop(columns="default")
    y = credit["default"]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    assert sorted(result.predictions["row_number"] - 1) == sorted(X_test.index)
    pipe = result.best_pipeline
    y_pred = pipe.predict(X_test)
    proba = pipe.predict_proba(X_test)[:, list(pipe.classes_).index(2)]
    assert best["accuracy"] == accuracy_score(y_test, y_pred)
    assert best["balanced_accuracy"] == balanced_accuracy_score(y_test, y_pred)
    assert best["precision"] == precision_score(y_test, y_pred, pos_label=2)
    assert best["recall"] == recall_score(y_test, y_pred, pos_label=2)
    assert best["f1"] == f1_score(y_test, y_pred, pos_label=2)
    assert best["roc_auc"] == roc_auc_score(y_test == 2, proba)
    # the fold scores are cross_val_score of the same (unfitted) pipeline on the training part
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    expected = cross_val_score(clone(pipe), X_train, y_train, cv=folds, scoring="balanced_accuracy")
    assert result.cv_scores[result.best] == pytest.approx(list(expected), abs=1e-12)
    assert best["cv_mean"] == pytest.approx(expected.mean(), abs=1e-12)
    # the predictions file gives the same figures
    preds = result.predictions.set_index("row_number").loc[X_test.index + 1]
    assert (preds["predicted"].to_numpy() == y_pred).all()
    assert (preds["actual"].to_numpy() == y_test.to_numpy()).all()


def test_ml002_multiclass_and_regression_metrics_equal_scikit_learn():
    rng = np.random.default_rng(1)
    n = 300
    x = rng.normal(size=(n, 2))
    species = np.where(x[:, 0] > 0.5, "c", np.where(x[:, 1] > 0, "b", "a"))
    multi = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "kind": species})
    result = compare_models(multi, target="kind", models=["Logistic Regression"], test_size=0.25)
    row = result.table.iloc[0]
    X_train, X_test, y_train, y_test = train_test_split(
        multi[["x0", "x1"]], multi["kind"], test_size=0.25, random_state=0, stratify=multi["kind"]
    )
    pipe = result.best_pipeline
    y_pred = pipe.predict(X_test)
    assert row["f1"] == f1_score(y_test, y_pred, average="weighted")
    assert row["f1_macro"] == f1_score(y_test, y_pred, average="macro")
    assert row["roc_auc"] == roc_auc_score(
        y_test, pipe.predict_proba(X_test), multi_class="ovr", labels=["a", "b", "c"]
    )
    matrix = result.details["confusion"]
    assert sum(map(sum, matrix)) == len(X_test) and result.details["classes"] == ["a", "b", "c"]

    frame = regression_frame()
    result = compare_models(frame, target="y", models=["Ridge"], metric="rmse")
    assert result.task == "regression"
    row = result.table.iloc[0]
    X_train, X_test, y_train, y_test = train_test_split(
        frame.drop(columns="y"), frame["y"], test_size=0.2, random_state=0
    )
    y_pred = result.best_pipeline.predict(X_test)
    assert row["r2"] == r2_score(y_test, y_pred)
    assert row["rmse"] == root_mean_squared_error(y_test, y_pred)
    assert row["mae"] == mean_absolute_error(y_test, y_pred)
    assert row["mape"] == mean_absolute_percentage_error(y_test, y_pred) * 100  # shown in %
    folds = KFold(5, shuffle=True, random_state=0)
    scores = cross_validate(
        clone(result.best_pipeline),
        X_train,
        y_train,
        cv=folds,
        scoring="neg_root_mean_squared_error",
    )["test_score"]
    assert result.cv_scores["Ridge"] == pytest.approx(list(-scores), abs=1e-9)
    assert len(result.details["scatter"]["actual"]) == len(X_test)
    assert sum(result.details["residuals"]["counts"]) == len(X_test)


def test_ml003_no_leakage_where_a_leaky_pipeline_scores_suspiciously_well():
    # The target is pure noise; "group" has about one row per value (63 % distinct, so not
    # an identifier). Target-encoding it on all rows before cross-validation lets a row see
    # its own label: a leak.
    rng = np.random.default_rng(7)
    n = 1_200
    frame = pd.DataFrame(
        {
            "group": [f"g{i}" for i in rng.integers(0, n, n)],
            "noise": rng.normal(size=n),
            "y": rng.choice(["no", "yes"], n),
        }
    )
    leaky_codes = TargetEncoder(target_type="binary").fit(frame[["group"]], frame["y"])
    leaked = leaky_codes.transform(frame[["group"]])
    leaky = cross_val_score(
        DecisionTreeClassifier(max_depth=4, random_state=0),
        leaked,
        frame["y"],
        cv=5,
        scoring="balanced_accuracy",
    ).mean()
    assert leaky > 0.75  # what a leaky pipeline would report

    result = compare_models(frame, target="y", models=["Decision Tree", "Logistic Regression"])
    table = result.table.set_index("model")
    assert table.loc[result.best, "cv_mean"] < 0.6
    assert (table["balanced_accuracy"] < 0.6).all()
    assert result.features == ("noise", "group")  # the group is used (target encoded)


def test_ml004_preprocessing_is_fitted_on_the_training_rows_only():
    frame = regression_frame(300)
    frame.loc[frame.index % 3 == 0, "a"] += 50  # rows differ a lot: medians tell them apart
    frame.loc[frame.index % 7 == 0, "a"] = np.nan
    result = compare_models(frame, target="y", models=["Ridge"])
    X_train, X_test, *_ = train_test_split(
        frame.drop(columns="y"), frame["y"], test_size=0.2, random_state=0
    )
    numeric = result.best_pipeline.named_steps["prepare"].named_transformers_["numeric"]
    imputer, scaler = numeric.steps[0][1], numeric.steps[1][1]
    columns = list(imputer.feature_names_in_)
    assert imputer.statistics_ == pytest.approx(X_train[columns].median().to_numpy())
    assert imputer.statistics_[0] != pytest.approx(frame["a"].median())
    filled = X_train[columns].fillna(X_train[columns].median())
    assert scaler.mean_ == pytest.approx(filled.mean().to_numpy())


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_ml005_time_budget_stops_a_slow_model_and_the_run_goes_on():
    rng = np.random.default_rng(3)
    n, k = 20_000, 40
    frame = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"x{i}" for i in range(k)])
    frame["y"] = np.where(frame["x0"] + rng.normal(0, 1, n) > 0, "up", "down")
    before = _children()
    seen = []
    started = time.monotonic()
    result = compare_models(
        frame,
        target="y",
        models=["Gradient Boosting", "Logistic Regression"],
        time_budget_s=8,  # Logistic Regression needs ~2 s here, Gradient Boosting ~1 min
        on_model=lambda partial: seen.append(list(partial.table["status"])),
    )
    elapsed = time.monotonic() - started
    table = result.table.set_index("model")
    assert table.loc["Gradient Boosting", "status"] == "over time budget"
    assert table.loc["Gradient Boosting", "reason"] == "Stopped after its 8 s time budget."
    assert np.isnan(table.loc["Gradient Boosting", "cv_mean"])
    assert table.loc["Logistic Regression", "status"] == "ok"
    assert result.best == "Logistic Regression" and result.details is not None
    assert seen == [[], ["over time budget"], ["over time budget", "ok"]]
    # the stopped model did not run on: far less than its own ~minute of work
    assert elapsed < 50
    assert _children() <= before  # no training process left behind
    assert any("Gradient Boosting: stopped at the 8 s time budget." in s for s in result.summary)


def test_ml006_models_too_slow_for_the_size_are_skipped_with_the_reason():
    frame = regression_frame(12_600)
    result = compare_models(frame, target="y", models=["SVR", "Ridge"], cv_folds=3)
    table = result.table.set_index("model")
    assert table.loc["SVR", "status"] == "skipped"
    assert "above its limit of 10,000" in table.loc["SVR", "reason"]
    assert table.loc["Ridge", "status"] == "ok" and result.best == "Ridge"


def test_ml007_a_model_over_the_memory_limit_is_stopped_and_the_next_one_runs():
    rng = np.random.default_rng(0)
    n = 20_000
    X = pd.DataFrame(rng.normal(size=(n, 10)), columns=[f"x{i}" for i in range(10)])
    frame = X.assign(y=3 * X["x0"] + rng.normal(size=n))
    setup = {
        "X": plain_frame(X),
        "y": plain_series(frame["y"]),
        "task": "regression",
        "plan": {"numeric": list(X.columns)},
        "classes": [],
        "positive": None,
        "test_size": 0.2,
        "cv_folds": 3,
        "random_state": 0,
        "metric": "r2",
        "n_jobs": 2,
    }
    ridge = {"name": "Ridge", "best": None, "save_path": None}
    with TrainingWorker(setup, n_jobs=2) as worker:
        worker.request("train", ridge, budget_s=120)
        idle = psutil.Process(worker.pid).memory_info().rss / 2**20
        # a forest needs tens of MB more than the idle process (its peak_mb says ~35)
        limit = idle + 20
        with pytest.raises(WorkerStopped) as stop:
            forest = {**ridge, "name": "Random Forest"}
            worker.request("train", forest, budget_s=120, memory_limit_mb=limit)
        assert stop.value.why == "memory" and worker.pid is None
        again = worker.request("train", ridge, budget_s=120, memory_limit_mb=limit)
        assert again["row"]["status"] == "ok" and worker.starts == 2

    result = compare_models(
        frame, target="y", models=["Random Forest", "Ridge"], memory_limit_mb=limit
    )
    table = result.table.set_index("model")
    assert table.loc["Random Forest", "status"] == "over memory limit"
    assert table.loc["Random Forest", "reason"].startswith("Stopped at ")
    assert table.loc["Ridge", "status"] == "ok" and result.best == "Ridge"


def test_ml010_no_room_to_even_hold_the_data_fails_with_a_message():
    with pytest.raises(DataInsightsError, match="needed more than 40 MB just to hold the data"):
        compare_models(regression_frame(), target="y", models=["Ridge"], memory_limit_mb=40)


def test_ml008_partial_results_come_after_each_model_and_survive_a_stop():
    partials = []

    class Stop(Exception):
        pass

    def on_model(partial):
        partials.append(partial)
        if len(partial.table) == 2:
            raise Stop  # as if the job were cancelled after the second model

    with pytest.raises(Stop):
        compare_models(
            regression_frame(),
            target="y",
            models=["Ridge", "Lasso", "Decision Tree"],
            on_model=on_model,
        )
    assert [len(p.table) for p in partials] == [0, 1, 2]
    last = partials[-1]
    assert not last.complete and list(last.table["model"]) == ["Ridge", "Lasso"]
    assert set(last.cv_scores) == {"Ridge", "Lasso"} and len(last.cv_scores["Ridge"]) == 5
    assert last.best == "Ridge" and last.train_rows == 320 and last.test_rows == 80


def test_ml009_dates_identifiers_and_importance_by_original_column():
    rng = np.random.default_rng(5)
    n = 400
    when = pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D")
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "when": when,
            "size": rng.normal(size=n),
            "y": when.month * 10 + rng.normal(0, 1, n),  # the month drives the target
        }
    )
    result = compare_models(frame, target="y", models=["Random Forest"])
    assert result.excluded[0]["column"] == "customer_id"
    top = result.details["importance"]["features"][0]
    assert top["column"] == "when" and top["mean"] > 0.5
    assert result.table.iloc[0]["r2"] > 0.9
    assert result.best_pipeline.predict(frame.drop(columns="y").head(3)).shape == (3,)
    assert any("The features that matter most" in s and "when" in s for s in result.summary)


def three_classes(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    kind = np.where(x[:, 0] > 0.5, "c", np.where(x[:, 1] > 0, "b", "a"))
    x = x + rng.normal(0, 0.6, size=(n, 2))  # overlapping classes: AUCs below 1
    return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "kind": kind})


def test_ml011_macro_ovr_auc_is_the_mean_of_binary_aucs_and_equals_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import get_scorer

    from dashboard.ml._metrics import class_scores, ovr_roc_auc, ovr_roc_auc_scorer

    frame = three_classes()
    X, y = frame[["x0", "x1"]], frame["kind"]
    model = LogisticRegression().fit(X, y)
    classes = ["a", "b", "c"]
    scores = class_scores(model, X, classes)
    auc, note = ovr_roc_auc(y, scores, classes)
    expected = roc_auc_score(y, model.predict_proba(X), multi_class="ovr", average="macro")
    assert note == "" and 0.5 < auc < 1
    assert auc == pytest.approx(expected, rel=1e-12)
    assert ovr_roc_auc_scorer(model, X, y) == pytest.approx(
        get_scorer("roc_auc_ovr")(model, X, y), rel=1e-12
    )
    # no scores at all: None with a reason, never a silent blank
    from dashboard.ml._metrics import classification_metrics

    out = classification_metrics(y, model.predict(X), classes=classes, scores=None)
    assert out["roc_auc"] is None and out["roc_auc_note"].startswith("ROC-AUC not computed")


@pytest.mark.parametrize("name", ["Ridge Classifier", "Linear SVM"])
def test_ml012_multiclass_roc_auc_and_curves_from_the_decision_function(name):
    frame = three_classes()
    result = compare_models(frame, target="kind", models=[name], metric="roc_auc", test_size=0.25)
    row = result.table.iloc[0]
    _, X_test, _, y_test = train_test_split(
        frame[["x0", "x1"]], frame["kind"], test_size=0.25, random_state=0, stratify=frame["kind"]
    )
    pipe = result.best_pipeline
    assert not hasattr(pipe, "predict_proba")
    margins = pipe.decision_function(X_test)
    fitted = list(pipe.classes_)
    per_class = [roc_auc_score(y_test == c, margins[:, fitted.index(c)]) for c in "abc"]
    assert row["roc_auc"] == pytest.approx(float(np.mean(per_class)), rel=1e-12)
    assert "ROC-AUC" not in row["reason"]
    # ranked by ROC-AUC: cross-validated with the same scores
    assert len(result.cv_scores[name]) == 5 and row["cv_mean"] > 0.5
    curves = result.details["roc"]
    assert [c["class"] for c in curves] == ["a", "b", "c"]
    assert [c["auc"] for c in curves] == pytest.approx(per_class, rel=1e-12)
    assert "decision function" in result.details["roc_note"]


def test_ml013_too_slow_models_are_listed_as_skipped_even_when_not_requested():
    from dashboard.ml._compare import _resolve_models, default_models

    frame = regression_frame(12_600)  # 10,080 training rows: above SVR's 10,000
    result = compare_models(frame, target="y", models=["Ridge"], cv_folds=3)
    table = result.table.set_index("model")
    assert list(result.table["model"]) == ["Ridge", "SVR"] and result.models == ("Ridge", "SVR")
    assert table.loc["SVR", "status"] == "skipped"
    assert "above its limit of 10,000" in table.loc["SVR", "reason"]
    assert result.best == "Ridge"
    # models=None: the defaults, then every too-slow model of the task as a skipped row
    names = _resolve_models("regression", None, 100_001)
    assert names[: len(default_models("regression", 100_001))] == default_models(
        "regression", 100_001
    )
    assert names[-2:] == ["k-Nearest Neighbours", "SVR"]
    assert _resolve_models("classification", None, 100_001)[-1] == "k-Nearest Neighbours"
    assert _resolve_models("regression", None, 10_000) == default_models("regression", 10_000)


def test_ml014_near_unique_whole_numbers_named_like_ids_or_row_numbers_are_left_out():
    from dashboard.data._datasets import column_table
    from dashboard.ml._prep import facts_from_column_table, facts_from_frame, plan_features

    rng = np.random.default_rng(3)
    n = 400
    order_number = rng.permutation(n) + 1000
    order_number[:6] = order_number[6:12]  # 394 of 400 distinct: 98.5 %
    frame = pd.DataFrame(
        {
            "InvoiceNo": rng.permutation(n) + 536_000,  # all distinct, not in row order
            "CustomerID": rng.permutation(n),
            "order_number": order_number,
            "row": np.arange(n, 0, -1),  # a row number, counting down
            "step": np.arange(n) * 3,  # rises down the rows
            "width": rng.normal(10, 2, n),  # a near-unique decimal: a real feature
            "width_mm": rng.permutation(n) * 1.0 + 0.5,  # all distinct decimals: kept too
            "count": rng.integers(0, 300, n),  # plain whole numbers, 54 % distinct: kept
            "y": rng.normal(size=n),
        }
    )
    assert frame["order_number"].nunique() / n == 0.985
    plan = plan_features(facts_from_frame(frame), "y")
    reasons = {e["column"]: e["reason"] for e in plan.excluded}
    assert reasons["InvoiceNo"].startswith("identifier-like (a distinct whole number per row")
    assert reasons["CustomerID"].startswith("identifier-like")
    assert reasons["order_number"] == (
        "identifier-like (98.5% distinct whole numbers, named like an id)"
    )
    assert reasons["row"].startswith("identifier-like")
    assert reasons["step"] == "identifier-like (whole numbers strictly increasing down the rows)"
    assert plan.numeric == ("width", "width_mm", "count")
    # the web process reads the same facts from the column table (no rows)
    assert plan_features(facts_from_column_table(column_table(frame)), "y") == plan
    # a near-unique integer neither named like an id nor in row order stays
    shuffled = frame.assign(amount=rng.permutation(n) + 7)[["amount", "y"]]
    assert plan_features(facts_from_frame(shuffled), "y").numeric == ("amount",)
