"""Machine Learning page wiring: the settings form, the results, the page's callbacks.

The job itself is ``dashboard.ml.job`` (kind ``ml``); this module lists it in ``KINDS``. The
page re-reads the stored ``ml_results`` on the shell's job poll whenever it changed, so the
table fills in as each model finishes.

The web process never imports scikit-learn: ``dashboard.ml`` and the catalogue, metric and
preparation modules it lists are plain Python until the training process imports them.
"""

from __future__ import annotations

import logging

import pandas as pd
from dash import Input, Output, State, ctx, html, no_update

from callbacks.jobs import request_job
from callbacks.results import download_links, stale_message, stored_result
from components import ml as page
from components.ids import ML as IDS
from components.ids import Shell
from dashboard.data import NO_DATA, SAMPLES
from dashboard.errors import DataInsightsError
from dashboard.ml import (
    CATALOGUE,
    CLASSIFICATION,
    DEFAULT_METRIC,
    METRICS,
    REGRESSION,
    default_cv_folds,
    default_models,
    facts_from_column_table,
    infer_task,
    model_names,
    plan_features,
    skip_reason,
    training_rows,
)
from dashboard.ml import plots as ml_plots
from dashboard.ml.job import (
    DEFAULT_BUDGET_S,
    ML,
    MODEL,
    PREDICTIONS,
    RESULTS,
)

log = logging.getLogger(__name__)

KINDS = (ML,)
_SAMPLE_TARGETS = {s.name: s.target for s in SAMPLES if s.target}


# --- the settings form ---------------------------------------------------------------------


def default_target(data, columns: list[str]) -> str | None:
    """The sample's target when the data is a sample, else the last column."""
    filename = (data.meta.get("source") or {}).get("filename") or ""
    target = _SAMPLE_TARGETS.get(filename.split(".")[0])
    if target in columns:
        return target
    return columns[-1] if columns else None


def _metric_options(task: str) -> list[dict]:
    return [{"label": m.label, "value": m.key} for m in METRICS[task] if m.rankable]


def form_state(
    data, target: str | None = None, task: str = "auto", previous=None, test_percent=None
) -> dict:
    """Return the settings form's values and options for the dataset ``data`` (its meta).

    Args:
        data: The ``data`` item's info (the column table in its meta; no rows are read).
        target: The chosen target (None: ``previous`` or the default).
        task: ``auto``, ``classification`` or ``regression``.
        previous: Meta of the last run on this data, to start from its settings.
        test_percent: The chosen test share in % (None: ``previous``'s, else 20). The
            pre-selected models and the "skipped above" labels use the training rows of
            that split, rounded as the split itself does (``training_rows``).
    """
    facts = facts_from_column_table(data.meta.get("column_table", []))
    columns = [f.name for f in facts]
    previous = previous if previous and previous.get("target") in columns else None
    if target is None and previous:
        target = previous["target"]
        task = previous.get("task_choice") or "auto"
    if target not in columns:
        target = default_target(data, columns)
    by_name = {f.name: f for f in facts}
    target_facts = by_name[target]
    inferred, why = infer_task(target_facts)
    chosen = inferred if task == "auto" else task
    plan = plan_features(facts, target)
    usable = [c for c in columns if c in plan.features]
    rows = target_facts.non_null
    same_run = (
        bool(previous) and previous.get("target") == target and previous.get("task") == chosen
    )
    if test_percent in (None, ""):
        test_percent = round(100 * float(previous.get("test_size", 0.2))) if same_run else 20
    train_rows = training_rows(rows, float(test_percent) / 100)
    options = []
    for name in model_names(chosen):
        skipped = skip_reason(CATALOGUE[chosen][name], train_rows)
        limit = CATALOGUE[chosen][name].max_rows
        options.append(
            {
                "label": f"{name} (skipped above {limit:,} training rows)" if skipped else name,
                "value": name,
            }
        )
    sampling = data.meta.get("sampling") or {}
    if sampling.get("sampled"):
        data_note = (
            f"Trains on the analysis sample: {data.rows:,} of {sampling.get('rows_full', 0):,} "
            "rows (change it on the Data page)."
        )
    else:
        data_note = f"Trains on all {data.rows:,} rows of the dataset."
    state = {
        "data_note": data_note,
        "target": target,
        "task": task,
        "task_options": [
            {"label": f"Automatic ({inferred})", "value": "auto"},
            {"label": "Classification", "value": CLASSIFICATION},
            {"label": "Regression", "value": REGRESSION},
        ],
        "task_note": f"Inferred {inferred}: '{target}' {why}."
        if target_facts.kind in ("numeric", "boolean", "text")
        else f"'{target}' holds dates or durations; choose another target.",
        "feature_options": usable,
        "features": usable,
        "excluded": page.excluded_list(list(plan.excluded)),
        "model_options": options,
        "models": default_models(chosen, train_rows),
        "models_note": "Pre-selected for this data size; slow models are left out above "
        "20,000 training rows.",
        "metric_options": _metric_options(chosen),
        "metric": DEFAULT_METRIC[chosen],
        "test_percent": test_percent,
        "folds": default_cv_folds(rows),
        "budget": DEFAULT_BUDGET_S,
    }
    if same_run:
        state.update(
            features=[c for c in previous.get("features", []) if c in usable] or usable,
            models=[m for m in previous.get("models", []) if m in CATALOGUE[chosen]],
            metric=previous.get("metric") or state["metric"],
            folds=previous.get("cv_folds") or state["folds"],
            budget=previous.get("time_budget_s") or DEFAULT_BUDGET_S,
        )
    return state


def render_setup(services, session_id: str | None):
    """Return the settings card for the session's dataset (or a note to load one)."""
    try:
        session = services.signer.verify(session_id)
    except DataInsightsError:
        return page.note("Reload the page to start a session.")
    stored = stored_result(services, session, RESULTS)
    if stored.data is None:
        return page.note(NO_DATA)
    if not stored.data.meta.get("column_table"):
        return page.note("This dataset has no column information; load it again.")
    previous = stored.item.meta if stored.item is not None and not stored.stale else None
    state = form_state(stored.data, previous=previous)
    columns = [c["column"] for c in stored.data.meta["column_table"]]
    return page.setup_card(columns, state)


def build_request(target, task, features, models, test_percent, folds, metric, budget) -> dict:
    """Return the job request from the form's values (checked again in the job).

    Models run in catalogue order (fast linear models first), whatever the click order.
    """
    order = {}
    for task_name in (CLASSIFICATION, REGRESSION):
        for i, name in enumerate(model_names(task_name)):
            order.setdefault(name, i)
    models = sorted(models or [], key=lambda m: order.get(m, len(order)))
    return {
        "kind": ML.name,
        "target": target,
        "task": None if task in (None, "auto") else task,
        "task_choice": task or "auto",
        "features": list(features) if features else None,
        "models": models,
        "test_size": (test_percent or 20) / 100,
        "cv_folds": folds,
        "metric": metric,
        "time_budget_s": budget if budget not in (None, "") else DEFAULT_BUDGET_S,
    }


# --- the results ---------------------------------------------------------------------------


def _running(services, session: str) -> bool:
    active = services.jobs.active_for(session)
    return active is not None and active.kind == ML.name


def results_signature(services, session_id: str | None) -> str:
    """Return what the results view depends on (it re-renders when this changes)."""
    try:
        session = services.signer.verify(session_id)
    except DataInsightsError:
        return "no-session"
    stored = stored_result(services, session, RESULTS)
    key = stored.item.key if stored.item else "-"
    data = stored.data.version if stored.data else "-"
    return f"{key}|{data}|{_running(services, session)}"


def _table_rows(table: pd.DataFrame, higher_is_better: bool) -> list[dict]:
    ok = table[(table["status"] == "ok") & table["cv_mean"].notna()]
    ranked = ok.sort_values("cv_mean", ascending=not higher_is_better, kind="stable")
    rest = table.drop(index=ranked.index)
    ordered = pd.concat([ranked, rest])
    rows = []
    for rank, (_, row) in enumerate(ordered.iterrows(), start=1):
        values = {k: (None if pd.isna(v) else v) for k, v in row.items()}
        values["rank"] = rank if rank <= len(ranked) else None
        rows.append(values)
    return rows


def _status_note(meta: dict, table: pd.DataFrame, running: bool, stale: bool):
    done, total = len(table), len(meta.get("models", []))
    if stale:
        return page.note(stale_message("model results", "Train models"), color="warning")
    if running:
        return page.note(
            f"Training: {done} of {total} models finished so far; the table fills in as each "
            "one ends.",
            color="info",
            id=IDS.STATUS + "-running",
        )
    if meta.get("state") != "done":
        return page.note(
            f"This run stopped after {done} of {total} models (cancelled or interrupted). "
            "The finished models are kept below.",
            color="secondary",
        )
    return None


def _charts(meta: dict, rows: list[dict]) -> list:
    label, higher = meta.get("metric_label", ""), meta.get("higher_is_better", True)
    return [
        page.graph(
            IDS.METRIC_GRAPH,
            ml_plots.metric_comparison(rows, meta.get("metric", ""), label, higher),
        ),
        page.graph(
            IDS.CV_GRAPH,
            ml_plots.cv_boxes(meta.get("cv_scores") or {}, [r["model"] for r in rows], label),
        ),
        page.graph(IDS.TIME_GRAPH, ml_plots.time_vs_score(rows, label)),
    ]


def _best_section(meta: dict):
    details = meta.get("details")
    if not details:
        return None
    phrase, higher = meta.get("metric_phrase", ""), meta.get("higher_is_better", True)
    importance = page.graph(IDS.IMPORTANCE_GRAPH, ml_plots.importance(details, phrase, higher))
    if details.get("kind") == CLASSIFICATION:
        graphs = [
            page.graph(IDS.CONFUSION_GRAPH, ml_plots.confusion(details)),
            page.graph(IDS.ROC_GRAPH, ml_plots.roc_curves(details)),
        ]
        positive = details.get("positive")
        caption = (
            html.P(
                f"Precision, recall and F1 in the table are those of the positive class "
                f"'{positive}' (the less frequent one).",
                className="small text-muted",
            )
            if positive
            else None
        )
        extra = [caption, page.report_grid(details.get("report") or []), importance]
        return page.best_details(graphs, extra)
    graphs = [
        page.graph(IDS.SCATTER_GRAPH, ml_plots.predicted_vs_actual(details, meta.get("target"))),
        page.graph(IDS.RESIDUALS_GRAPH, ml_plots.residuals(details)),
    ]
    return page.best_details(graphs, importance)


def render_results(services, session_id: str | None):
    """Return ``(status, results)`` of the page from the stored ``ml_results``."""
    try:
        session = services.signer.verify(session_id)
    except DataInsightsError:
        return None, None
    store = services.store
    stored = stored_result(services, session, RESULTS)
    if stored.data is None:
        return None, None
    running = _running(services, session)
    if stored.item is None:
        message = "Training has started; results appear as each model finishes."
        return page.note(
            message if running else "No models trained yet: click “Train models”."
        ), None
    meta = stored.item.meta
    table = store.read_frame(session, stored.item.key)
    rows = _table_rows(table, meta.get("higher_is_better", True))
    metric_keys = [m for m in METRICS[meta["task"]] if m.key in table.columns]
    label = meta.get("metric_label", "")
    columns = [("cv_mean", f"CV {label}"), ("cv_std", "CV ±")]
    columns += [(m.key, f"Test {m.label}") for m in metric_keys]
    files = {"Results (CSV)": (RESULTS, "csv")}
    model = store.info_by_name(session, MODEL)
    if (
        meta.get("state") == "done"
        and model is not None
        and model.meta.get("run_id") == meta.get("run_id")
    ):
        files["Test-set predictions (CSV)"] = (PREDICTIONS, "csv")
        files[f"Best model: {meta.get('best')} (joblib)"] = (MODEL, "joblib")
    summary = meta.get("summary") or []
    content = page.results_section(
        {
            "summary": page.summary(summary) if summary else None,
            "table": page.results_grid(rows, columns, meta.get("best")),
            "downloads": page.downloads(download_links(services, session, files)),
            "charts": _charts(meta, rows),
            "best_title": f"Best model: {meta.get('best')}",
            "best": _best_section(meta) if meta.get("state") == "done" else None,
        }
    )
    return _status_note(meta, table, running, stored.stale), content


def form_outputs(services, session_id, target, task, test_percent, share_only: bool) -> tuple:
    """Return the form's outputs (see ``register``) after a target, task or share change.

    A new test share changes the training rows, so only the models' labels ("skipped above
    N training rows") are refreshed (``share_only``); the models the user picked, the
    features, metric and folds stay.
    """
    keep = (no_update,) * 10
    try:
        session = services.signer.verify(session_id)
    except DataInsightsError:
        return keep
    data = services.store.info_by_name(session, "data")
    if data is None or not target:
        return keep
    state = form_state(data, target=target, task=task or "auto", test_percent=test_percent)
    if share_only:
        return (*keep[:5], state["model_options"], *keep[6:])
    return (
        state["task_note"],
        state["task_options"],
        state["feature_options"],
        state["features"],
        state["excluded"],
        state["model_options"],
        state["models"],
        state["metric_options"],
        state["metric"],
        state["folds"],
    )


# --- wiring --------------------------------------------------------------------------------


def register(app, services) -> None:
    """Wire the Machine Learning page."""

    @app.callback(
        Output(IDS.SETUP, "children"),
        Input(Shell.DATASET, "data"),
        State(Shell.SESSION, "data"),
    )
    def setup(_dataset, session_id):
        return render_setup(services, session_id)

    @app.callback(
        Output(IDS.TASK_NOTE, "children"),
        Output(IDS.TASK, "options"),
        Output(IDS.FEATURES, "options"),
        Output(IDS.FEATURES, "value"),
        Output(IDS.EXCLUDED, "children"),
        Output(IDS.MODELS, "options"),
        Output(IDS.MODELS, "value"),
        Output(IDS.METRIC, "options"),
        Output(IDS.METRIC, "value"),
        Output(IDS.FOLDS, "value"),
        Input(IDS.TARGET, "value"),
        Input(IDS.TASK, "value"),
        Input(IDS.TEST_SHARE, "value"),
        State(Shell.SESSION, "data"),
        prevent_initial_call=True,
    )
    def on_target(target, task, test_percent, session_id):
        return form_outputs(
            services, session_id, target, task, test_percent, ctx.triggered_id == IDS.TEST_SHARE
        )

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.TRAIN, "n_clicks"),
        State(Shell.NAV_LOCK, "data"),
        State(IDS.TARGET, "value"),
        State(IDS.TASK, "value"),
        State(IDS.FEATURES, "value"),
        State(IDS.MODELS, "value"),
        State(IDS.TEST_SHARE, "value"),
        State(IDS.FOLDS, "value"),
        State(IDS.METRIC, "value"),
        State(IDS.BUDGET, "value"),
        prevent_initial_call=True,
    )
    def train(clicks, locked, *form):
        if not clicks:
            return no_update, no_update
        return request_job(locked, build_request(*form))

    @app.callback(
        Output(IDS.STATUS, "children"),
        Output(IDS.RESULTS, "children"),
        Output(IDS.SEEN, "data"),
        # Not the job's result or banner: outputs of the running background callback, Dash
        # would hold this callback back until the job ends. The poll ticks every second
        # while a job runs, and the signature says when the stored results changed.
        Input(Shell.JOB_POLL, "n_intervals"),
        Input(Shell.DATASET, "data"),
        State(IDS.SEEN, "data"),
        State(Shell.SESSION, "data"),
    )
    def results(_n, _dataset, seen, session_id):
        signature = results_signature(services, session_id)
        if signature == seen and ctx.triggered_id == Shell.JOB_POLL:
            return no_update, no_update, no_update
        status, content = render_results(services, session_id)
        return status, content, signature
