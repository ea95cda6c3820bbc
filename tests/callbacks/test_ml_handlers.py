"""The ML job and page handlers, without a browser: real store, real job and training processes."""

import io
import threading
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import psutil
import pytest
from dash import no_update

from callbacks import jobs
from callbacks.ml import (
    build_request,
    form_outputs,
    form_state,
    render_results,
    render_setup,
    results_signature,
)
from callbacks.routes import download_token
from dashboard.errors import JobRejected
from dashboard.jobs import launch
from dashboard.jobs._admission import check_admission
from dashboard.jobs._registry import JobState
from dashboard.ml.job import ML, MODEL, PREDICTIONS, RESULTS, estimate_ml
from tests.integration.helpers import wait_until


def ingest_sample(services, session, name):
    result = jobs.execute(services, session, {"kind": "ingest", "source": "sample", "name": name})
    assert result["ok"], result


def ingest_frame(services, session, frame, name="table.csv"):
    content = frame.to_csv(index=False).encode()
    upload = services.uploads.receive(session, name, io.BytesIO(content))
    request = {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
    assert jobs.execute(services, session, request)["ok"]


def ml_request(**overrides):
    request = {
        "kind": "ml",
        "target": "diagnosis",
        "models": ["Logistic Regression", "Decision Tree", "Gaussian Naive Bayes"],
    }
    return {**request, **overrides}


def texts(component) -> str:
    """Every string inside a Dash component tree, joined."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(texts(c) for c in component)
    children = getattr(component, "children", None)
    return texts(children)


def find(component, ident):
    if getattr(component, "id", None) == ident:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = find(child, ident)
            if found is not None:
                return found
    return None


def test_ml201_job_stores_results_predictions_and_the_model(make_app, services, session):
    app = make_app()
    services = app.services
    session = services.signer.new()
    ingest_sample(services, session, "breast_cancer")
    shown = []
    result = jobs.execute(services, session, ml_request(), shown.append)
    assert result["ok"], result
    assert result["message"].startswith("Trained 3 of 3 models on 569 rows. Best: ")
    banners = [line for *_, line in shown]
    assert "Training Logistic Regression — 1 of 3" in banners
    assert "Training Gaussian Naive Bayes — 3 of 3" in banners

    store = services.store
    data = store.info_by_name(session, "data")
    results = store.info_by_name(session, RESULTS)
    assert results.meta["state"] == "done" and results.meta["dataset_version"] == data.version
    assert results.version == 5  # empty at the start, then one write per model, then done
    table = store.read_frame(session, results.key)
    assert list(table["model"]) == ml_request()["models"] and (table["status"] == "ok").all()
    details = results.meta["details"]
    assert details["classes"] == ["benign", "malignant"] and details["positive"] == "malignant"
    assert len(details["importance"]["features"]) == 15
    model = store.info_by_name(session, MODEL)
    assert model.attachment == ".joblib" and model.meta["run_id"] == results.meta["run_id"]
    assert store.info_by_name(session, PREDICTIONS).rows == 114  # 20 % of 569, rounded up

    client = app.server.test_client()
    answer = client.get(f"/api/download/{download_token(services, session, MODEL, 'joblib')}")
    assert answer.status_code == 200
    assert "ml-model-diagnosis-v1.joblib" in answer.headers["Content-Disposition"]
    pipeline = joblib.load(io.BytesIO(answer.data))
    frame = store.read_frame(session, data.key)
    assert set(pipeline.predict(frame.head(20))) <= {"benign", "malignant"}
    csv = client.get(f"/api/download/{download_token(services, session, RESULTS, 'csv')}")
    assert csv.status_code == 200 and csv.data.decode("utf-8-sig").startswith("model,status")

    status, content = render_results(services, session)
    assert status is None  # current and complete: no note
    assert "ranks first by cross-validated balanced accuracy" in texts(content)
    grid = find(content, "ml-table")
    assert [r["model"] for r in grid.rowData][0] == results.meta["best"]
    assert find(content, "ml-confusion-graph") is not None
    assert find(content, "ml-roc-graph") is not None
    links = texts(find(content, "ml-downloads"))
    assert "Results (CSV)" in links and "(joblib)" in links


def test_ml202_bad_input_fails_the_job_and_keeps_the_earlier_results(services, session):
    ingest_sample(services, session, "iris")
    ok = jobs.execute(services, session, ml_request(target="species", models=["Decision Tree"]))
    assert ok["ok"], ok
    before = services.store.info_by_name(session, RESULTS)
    cases = {
        "'species' is not numeric, so it cannot be predicted by regression.": {
            "target": "species",
            "task": "regression",
        },
        "The target column 'nope' is not in the dataset.": {"target": "nope"},
        "Choose at least one model.": {"target": "species", "models": []},
        "Unknown classification model(s): Ridge.": {"target": "species", "models": ["Ridge"]},
        "The test share must be between 10 % and 40 %.": {"target": "species", "test_size": 0.6},
    }
    for message, overrides in cases.items():
        result = jobs.execute(services, session, ml_request(**overrides))
        assert result["ok"] is False and message in result["message"], result
    after = services.store.info_by_name(session, RESULTS)
    assert (after.key, after.version) == (before.key, before.version)


def test_ml203_new_data_makes_results_stale(services, session):
    ingest_sample(services, session, "iris")
    result = jobs.execute(
        services, session, ml_request(target="species", models=["Ridge Classifier"])
    )
    assert result["ok"], result
    ingest_sample(services, session, "wine")
    status, content = render_results(services, session)
    assert "from an earlier version of the data" in texts(status)
    assert find(content, "ml-table") is not None  # still shown, with the note


def test_ml205_run_over_its_time_limit_stops_its_training_process_and_keeps_the_rows(
    make_app,
):
    services = make_app(enable_test_jobs=True, job_memory_limit_mb=100_000, job_time_limit_s=8)
    services = services.services
    session = services.signer.new()
    rng = np.random.default_rng(0)
    n, k = 12_000, 60
    frame = pd.DataFrame(rng.normal(size=(n, k)).round(4), columns=[f"x{i}" for i in range(k)])
    frame["y"] = (frame["x0"] * 3 + rng.normal(size=n)).round(3)
    ingest_frame(services, session, frame)
    request = ml_request(target="y", models=["Ridge", "Gradient Boosting", "Random Forest"])

    result = launch(services, session, request)

    assert result["ok"] is False
    assert result["message"].startswith(
        "This job ran longer than its time limit of 8 s and was stopped. "
        "Try a smaller sample, fewer models or fewer columns."
    )
    assert services.slots.holders() == []
    survivors = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "dashboard.ml._worker" in " ".join(proc.cmdline()):
                survivors.append(proc)
        except psutil.Error:
            pass
    assert survivors == []  # the training process went with its job
    # the model that had finished is kept, as after Cancel
    item = services.store.info_by_name(session, RESULTS)
    assert list(services.store.read_frame(session, item.key)["model"]) == ["Ridge"]


def test_ml204_cancel_mid_run_keeps_the_finished_models(services, session):
    rng = np.random.default_rng(0)
    n, k = 12_000, 60
    frame = pd.DataFrame(rng.normal(size=(n, k)).round(4), columns=[f"x{i}" for i in range(k)])
    frame["y"] = (frame["x0"] * 3 + rng.normal(size=n)).round(3)
    ingest_frame(services, session, frame)
    request = {
        **jobs.request_job(
            False, ml_request(target="y", models=["Ridge", "Gradient Boosting", "Lasso"])
        )[0]
    }
    shown, outcome = [], {}
    thread = threading.Thread(
        target=lambda: outcome.update(launch(services, session, request, shown.append))
    )
    thread.start()

    def first_row():
        item = services.store.info_by_name(session, RESULTS)
        return item is not None and item.rows >= 1

    wait_until(first_row, timeout=120, message="the first model never finished")
    assert results_signature(services, session).endswith("|True")  # running
    # the job and its training process are the kernel's first choice should memory run out

    workers = []

    def oom_scores():
        found = {}
        for proc in psutil.Process().children(recursive=True):  # this test's processes
            try:
                line = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            for module in ("-m dashboard.jobs", "dashboard.ml._worker"):
                if module in line:
                    found[module] = Path(f"/proc/{proc.pid}/oom_score_adj").read_text().strip()
                    if module == "dashboard.ml._worker":
                        workers.append(proc)
        return set(found.values()) if len(found) == 2 else None

    assert wait_until(oom_scores, timeout=30) == {"1000"}
    status, _ = render_results(services, session)
    assert "Training: 1 of 3 models finished so far" in texts(status)
    jobs.cancel_active(services, session)
    thread.join(timeout=30)

    record = services.jobs.latest(session)
    assert record.state is JobState.CANCELLED
    item = services.store.info_by_name(session, RESULTS)
    table = services.store.read_frame(session, item.key)
    assert list(table["model"]) == ["Ridge"] and item.meta["state"] == "running"
    status, content = render_results(services, session)
    assert "This run stopped after 1 of 3 models" in texts(status)
    assert [r["model"] for r in find(content, "ml-table").rowData] == ["Ridge"]
    assert services.store.info_by_name(session, MODEL) is None  # no best model of a stopped run
    time.sleep(1.0)  # the training process notices its parent is gone within 0.5 s
    # this run's training process ended with it (other test runs may train meanwhile)
    assert workers and not [p for p in workers if p.is_running() and p.status() != "zombie"]


def test_ml205_form_defaults_come_from_the_column_table(services, session):
    ingest_sample(services, session, "tips")
    data = services.store.info_by_name(session, "data")
    state = form_state(data)
    assert state["target"] == "tip" and state["task"] == "auto"
    assert state["task_note"] == "Inferred regression: 'tip' is numeric with 123 distinct values."
    assert state["features"] == ["total_bill", "sex", "smoker", "day", "time", "size"]
    assert state["models"][0] == "Linear Regression" and "SVR" in state["models"]
    assert state["metric"] == "r2" and state["folds"] == 5 and state["test_percent"] == 20
    smoker = form_state(data, target="smoker")
    assert smoker["task_options"][0]["label"] == "Automatic (classification)"
    assert smoker["metric"] == "balanced_accuracy" and "MLP" in smoker["models"]
    setup = render_setup(services, session)
    assert find(setup, "ml-train") is not None
    request = build_request("tip", "auto", None, ["Ridge"], 25, 4, "mae", None)
    assert request == {
        "kind": "ml",
        "target": "tip",
        "task": None,
        "task_choice": "auto",
        "features": None,
        "models": ["Ridge"],
        "test_size": 0.25,
        "cv_folds": 4,
        "metric": "mae",
        "time_budget_s": 60,
    }


def test_ml206_admission_covers_the_chosen_models(services, session):
    ingest_sample(services, session, "wine")
    one = estimate_ml(services, session, {"models": ["Ridge Classifier"]})
    ten = estimate_ml(services, session, {"models": ["m"] * 10})
    assert one["models"] == 1 and ten["models"] == 10
    small = check_admission(ML, budget_mb=1024, used_mb=0, **one)
    large = check_admission(ML, budget_mb=1024, used_mb=0, **ten)
    assert large.needed_mb > small.needed_mb
    with pytest.raises(JobRejected, match="fewer models"):
        check_admission(ML, budget_mb=300, used_mb=0, **ten)


def test_ml207_banner_names_the_model_being_trained(services, session, sleeper):
    record = services.jobs.create(session, "ml", "Training 10 models to predict price")
    services.jobs.start(record.job_id, sleeper.pid)
    snapshot = {"done": 4.5, "total": 10, "step": "5 of 10", "percent": 45}
    services.jobs.heartbeat(
        record.job_id, progress={**snapshot, "summary": "Training Gradient Boosting"}
    )
    status = jobs.reconcile(services, session, None, None)[2]
    assert status.startswith("Training Gradient Boosting — 5 of 10 — ")
    assert status.endswith(" s")


def test_ml208_admission_leaves_out_models_too_slow_for_the_data(services, session):
    rng = np.random.default_rng(0)
    n = 12_600  # 10,080 training rows at a 20 % test share: SVR is skipped
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)})
    ingest_frame(services, session, frame)
    request = {"target": "y", "models": ["Ridge", "SVR"], "test_size": 0.2}
    assert estimate_ml(services, session, request)["models"] == 1
    # a larger test share leaves SVR under its limit: it trains and counts
    assert estimate_ml(services, session, {**request, "test_size": 0.25})["models"] == 2


def test_ml209_preselection_and_skip_labels_follow_the_chosen_test_share(
    make_app, services, session
):
    rng = np.random.default_rng(0)
    n = 12_600  # SVR's limit is 10,000 training rows: 10,080 at 20 %, 9,450 at 25 %
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)})
    ingest_frame(services, session, frame)
    data = services.store.info_by_name(session, "data")

    def svr(state):
        label = next(o["label"] for o in state["model_options"] if o["value"] == "SVR")
        return label, "SVR" in state["models"]

    assert svr(form_state(data, target="y")) == (
        "SVR (skipped above 10,000 training rows)",
        False,
    )
    at_25 = form_state(data, target="y", test_percent=25)
    assert at_25["test_percent"] == 25 and svr(at_25) == ("SVR", True)
    assert svr(form_state(data, target="y", test_percent=10))[1] is False
    # the form callback takes the share as an input and refreshes only the models' labels
    # then: the models the user ticked stay ticked
    outputs = form_outputs(services, session, "y", "auto", 25, share_only=True)
    assert outputs[5] == at_25["model_options"]
    assert all(o is no_update for o in outputs[:5] + outputs[6:])
    app = make_app()
    refresh = next(v for k, v in app.callback_map.items() if "ml-models.value" in k)
    assert "ml-test-share" in [i["id"] for i in refresh["inputs"]]
