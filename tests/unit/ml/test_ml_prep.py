"""The ML rules without training: task inference, exclusions, bad input, catalogue, text."""

import numpy as np
import pandas as pd
import pytest

from dashboard.data._datasets import column_table
from dashboard.errors import InvalidParameter
from dashboard.ml import _catalogue as catalogue
from dashboard.ml._compare import compare_models
from dashboard.ml._metrics import METRICS, classification_metrics, metric, metric_columns
from dashboard.ml._prep import (
    build_preprocessor,
    date_parts,
    facts_from_column_table,
    facts_from_frame,
    infer_task,
    plan_features,
    prepare,
)

ISSUE_CLASSIFIERS = [
    "Logistic Regression",
    "Ridge Classifier",
    "Linear SVM",
    "k-Nearest Neighbours",
    "Gaussian Naive Bayes",
    "Decision Tree",
    "Random Forest",
    "Extra Trees",
    "AdaBoost",
    "Gradient Boosting",
    "Histogram Gradient Boosting",
    "MLP",
]
ISSUE_REGRESSORS = [
    "Linear Regression",
    "Ridge",
    "Lasso",
    "Elastic Net",
    "Bayesian Ridge",
    "k-Nearest Neighbours",
    "SVR",
    "Decision Tree",
    "Random Forest",
    "Extra Trees",
    "Gradient Boosting",
    "Histogram Gradient Boosting",
]


def mixed_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "order_id": np.arange(1, n + 1),
            "code": [f"C{i:05d}" for i in range(n)],
            "constant": ["same"] * n,
            "empty": [None] * n,
            "amount": rng.normal(100, 20, n),
            "flag": rng.random(n) < 0.4,
            "city": pd.Categorical(rng.choice(["Lyon", "Paris", "Nice"], n)),
            "shop": pd.Series([f"shop {i % 40}" for i in range(n)], dtype="str"),
            "when": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
            "label": rng.choice(["yes", "no"], n),
        }
    )


def test_ml101_identifier_constant_and_empty_columns_are_left_out_with_reasons():
    df = mixed_frame()
    plan = plan_features(facts_from_frame(df), "label")
    reasons = {e["column"]: e["reason"] for e in plan.excluded}
    assert reasons["order_id"].startswith("identifier-like (a distinct whole number")
    assert reasons["code"] == "identifier-like (100% of its values are distinct)"
    assert reasons["constant"] == "constant (a single value)"
    assert reasons["empty"] == "no values"
    assert plan.numeric == ("amount", "flag")
    assert plan.categorical == ("city",)
    assert plan.high_cardinality == ("shop",)  # 40 distinct values: target encoded
    assert plan.datetime == ("when",)


def test_ml102_the_column_table_gives_the_same_plan_as_the_frame():
    df = mixed_frame()
    from_meta = plan_features(facts_from_column_table(column_table(df)), "label")
    assert from_meta == plan_features(facts_from_frame(df), "label")


def test_ml103_task_is_inferred_from_the_target():
    df = pd.DataFrame(
        {
            "price": np.linspace(1, 100, 60),
            "stars": np.tile([1, 2, 3, 4, 5], 12),
            "ok": np.tile([True, False], 30),
            "kind": np.tile(["a", "b", "c"], 20),
        }
    )
    facts = {f.name: f for f in facts_from_frame(df)}
    assert infer_task(facts["price"]) == ("regression", "is numeric with 60 distinct values")
    assert infer_task(facts["stars"])[0] == "classification"
    assert infer_task(facts["ok"])[0] == "classification"
    assert infer_task(facts["kind"]) == ("classification", "holds 3 distinct values")


def frame(y, n_features: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"x{i}": rng.normal(size=len(y)) for i in range(n_features)}
    return pd.DataFrame({**data, "y": y})


@pytest.mark.parametrize(
    ("df", "kwargs", "message"),
    [
        (frame(["a"] * 40), {}, "'y' has a single class ('a'), so there is nothing to predict."),
        (
            frame(["a"] * 30 + ["b"] * 9 + ["c"]),
            {},
            "Class 'c' of 'y' has only one row, so the rows cannot be split",
        ),
        (
            frame(["a", "b"] * 20, n_features=1),
            {"task": "regression"},
            "'y' is not numeric, so it cannot be predicted by regression.",
        ),
        (
            pd.DataFrame({"id": range(40), "same": 1, "y": ["a", "b"] * 20}),
            {},
            "There is no usable feature column (id: identifier-like",
        ),
        (frame([f"c{i}" for i in range(51)] * 8), {}, "'y' has 51 classes; classification"),
        (frame([None] * 40), {}, "The target 'y' has no values (every row is missing)."),
        (frame(["a"] * 37 + ["b"] * 3), {}, "Class 'b' of 'y' has only 3 rows; with 5-fold"),
        (frame(["a", "b"] * 20), {"target": "nope"}, "The target column 'nope' is not in"),
        (frame(["a", "b"] * 5), {}, "Only 10 rows have a value in 'y'; at least 20"),
        (frame(["a", "b"] * 20), {"task": "clustering"}, "The task must be classification"),
        (frame(["a", "b"] * 20), {"features": ["x0", "gone"]}, "Column(s) 'gone' are not in"),
    ],
)
def test_ml104_bad_input_is_refused_with_one_sentence(df, kwargs, message):
    kwargs = {"target": "y", **kwargs}
    with pytest.raises(InvalidParameter) as err:
        prepare(df, **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": ["SVR"]}, "Unknown classification model(s): SVR."),
        ({"models": []}, "Choose at least one model."),
        ({"metric": "r2"}, "Rank classification models by one of: accuracy,"),
        ({"test_size": 0.5}, "The test share must be between 10 % and 40 %."),
        ({"cv_folds": 2}, "Cross-validation needs between 3 and 10 folds."),
        ({"time_budget_s": 0}, "The time budget per model must be between 1 and 3,600"),
    ],
)
def test_ml105_bad_settings_are_refused_before_any_training(kwargs, message):
    calls = []
    with pytest.raises(InvalidParameter) as err:
        compare_models(frame(["a", "b"] * 30), target="y", on_model=calls.append, **kwargs)
    assert message in str(err.value)
    assert calls == []  # nothing started: the partial-results callback never ran


def test_ml106_catalogue_has_the_issue_names_and_builds_every_estimator():
    assert catalogue.model_names("classification") == ISSUE_CLASSIFIERS
    assert catalogue.model_names("regression") == ISSUE_REGRESSORS
    for task in catalogue.TASKS:
        for spec in catalogue.CATALOGUE[task].values():
            estimator = catalogue.build_estimator(spec, random_state=3, n_jobs=2, train_rows=50_000)
            params = estimator.get_params()
            if spec.seeded:
                assert params.get("random_state", params.get("regressor__random_state")) == 3
            if spec.forest:
                assert params["max_samples"] == catalogue.FOREST_MAX_SAMPLES
            if "class_weight" in spec.params:
                assert params["class_weight"] == "balanced"


def test_ml107_defaults_by_size_and_skips_with_reasons():
    small = catalogue.default_models("regression", 1_000)
    assert small == ISSUE_REGRESSORS
    large = catalogue.default_models("regression", 40_000)
    assert "SVR" not in large and "Gradient Boosting" not in large and len(large) == 10
    svr = catalogue.CATALOGUE["regression"]["SVR"]
    assert catalogue.skip_reason(svr, 10_000) is None
    assert catalogue.skip_reason(svr, 12_000) == (
        "Skipped: 12,000 training rows is above its limit of 10,000 "
        "(its training time grows with the square of the rows)."
    )
    assert len(catalogue.default_models("classification", 40_000)) == 10


def test_ml108_binary_metrics_use_the_less_frequent_class_as_positive():
    from sklearn.metrics import f1_score, precision_score, recall_score

    y_true = np.array(["ok"] * 8 + ["bad"] * 4)
    y_pred = np.array(["ok"] * 6 + ["bad"] * 2 + ["bad"] * 3 + ["ok"])
    out = classification_metrics(y_true, y_pred, classes=["bad", "ok"], positive="bad")
    assert out["precision"] == precision_score(y_true, y_pred, pos_label="bad")
    assert out["recall"] == recall_score(y_true, y_pred, pos_label="bad")
    assert out["f1"] == f1_score(y_true, y_pred, pos_label="bad")
    assert out["roc_auc"] is None  # no scores given
    assert metric_columns("classification", 2) == [
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
    ]
    assert "f1_macro" in metric_columns("classification", 3)
    assert [m.key for m in METRICS["regression"]] == ["r2", "rmse", "mae", "mape"]
    assert metric("regression", "rmse").higher_is_better is False
    assert metric("classification", "balanced_accuracy").phrase == "balanced accuracy"


def test_ml109_preprocessing_turns_dates_into_parts_and_keeps_original_names():
    df = mixed_frame()
    plan = plan_features(facts_from_frame(df), "label")
    pre = build_preprocessor(plan, scale=True, task="classification", n_classes=2, random_state=0)
    out = pre.fit_transform(df, df["label"])
    names = list(pre.get_feature_names_out())
    assert {
        "dates__when_year",
        "dates__when_month",
        "dates__when_day",
        "dates__when_weekday",
    } <= set(names)
    assert out.shape == (len(df), len(names)) and np.isfinite(out).all()
    parts = date_parts(pd.DataFrame({"d": pd.to_datetime(["2024-03-09", None])}))
    assert parts.iloc[0].tolist() == [2024.0, 3.0, 9.0, 5.0]  # a Saturday
    assert parts.iloc[1].isna().all()
