"""Plain-language summary of a model comparison (rules, no external service).

Sentences, in order: which model won and by how much, how stable it is across folds, how
it does on the held-out rows against a naive baseline, which features matter, what did not
run, and which columns were left out.
"""

from __future__ import annotations

import math

import pandas as pd

from dashboard.ml._catalogue import CLASSIFICATION
from dashboard.ml._metrics import METRICS

#: Fold standard deviation (in the metric's unit, for 0-1 metrics) under which a model is
#: called stable; above ``UNSTABLE_STD`` its score depends on which rows it saw.
STABLE_STD, UNSTABLE_STD = 0.02, 0.05


def format_value(key: str, value) -> str:
    """Format a metric value for a sentence (``0.912``, ``1,234``, ``12.3 %``)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if key == "mape":
        return f"{value:,.1f} %"
    if key in ("rmse", "mae"):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.3f}"


def _label(task: str, key: str) -> str:
    return next(m.phrase for m in METRICS[task] if m.key == key)


def summarize(result) -> list[str]:
    """Return a few sentences about a complete ``Comparison``."""
    table = result.table
    sentences: list[str] = []
    ok = table[table["status"] == "ok"]
    ranked = ok.dropna(subset=["cv_mean"]).sort_values(
        "cv_mean", ascending=not result.higher_is_better, kind="stable"
    )
    label = _label(result.task, result.metric)
    if ranked.empty:
        sentences.append("No model finished with a cross-validated score to rank it by.")
    else:
        sentences += _winner(result, ranked, label)
        sentences += _importance(result)
    sentences += _not_run(table, result.time_budget_s)
    if result.excluded:
        left = ", ".join(f"{e['column']} ({e['reason']})" for e in result.excluded[:6])
        more = len(result.excluded) - 6
        sentences.append(f"Left out: {left}" + (f" and {more} more." if more > 0 else "."))
    if result.dropped_rows:
        sentences.append(
            f"{result.dropped_rows:,} rows without a value in '{result.target}' were not used."
        )
    return sentences


def _winner(result, ranked: pd.DataFrame, label: str) -> list[str]:
    key = result.metric
    first = ranked.iloc[0]
    std = first["cv_std"]
    out = [
        f"{first['model']} ranks first by cross-validated {label}: "
        f"{format_value(key, first['cv_mean'])} ± {format_value(key, std)} over "
        f"{result.cv_folds} folds of the {result.train_rows:,} training rows."
    ]
    if len(ranked) > 1:
        second = ranked.iloc[1]
        gap = abs(first["cv_mean"] - second["cv_mean"])
        tied = gap <= max(std, second["cv_std"])
        out.append(
            f"The runner-up, {second['model']}, scores {format_value(key, second['cv_mean'])}"
            + (
                "; the gap is within one standard deviation across folds, so the two are "
                "practically tied."
                if tied
                else f", a clear gap of {format_value(key, gap)}."
            )
        )
    if key in ("rmse", "mae", "mape"):
        pass  # error metrics have the target's unit: no absolute stability threshold
    elif std <= STABLE_STD:
        out.append("Its fold scores vary little, so the result is stable.")
    elif std >= UNSTABLE_STD:
        out.append(
            "Its fold scores vary a lot: the result depends on which rows it sees; more data "
            "or more folds would make it more reliable."
        )
    out.append(_held_out(result, first))
    return out


def _held_out(result, first) -> str:
    n = f"{result.test_rows:,} held-out test rows"
    if result.task == CLASSIFICATION:
        text = (
            f"On the {n} it reaches accuracy {format_value('accuracy', first['accuracy'])} "
            f"and balanced accuracy {format_value('balanced_accuracy', first['balanced_accuracy'])}"
        )
        classes = len(result.classes) or 2
        return text + f" (guessing would give a balanced accuracy of {1 / classes:.3f})."
    text = (
        f"On the {n} it reaches R² {format_value('r2', first['r2'])}, RMSE "
        f"{format_value('rmse', first['rmse'])} and MAE {format_value('mae', first['mae'])}"
    )
    if first["r2"] < 0:
        return text + ": worse than always predicting the average."
    return text + "."


def _importance(result) -> list[str]:
    features = ((result.details or {}).get("importance") or {}).get("features") or []
    useful = [f["column"] for f in features if f["mean"] > 0][:3]
    if not useful:
        return []
    return [
        "The features that matter most to it (permutation importance on the test rows): "
        + ", ".join(useful)
        + "."
    ]


def _not_run(table: pd.DataFrame, budget_s: float) -> list[str]:
    out = []
    for status, words in (
        ("over time budget", f"stopped at the {budget_s:g} s time budget"),
        ("over memory limit", "stopped at the memory limit"),
        ("failed", "failed (the table says why)"),
        ("skipped", "skipped, too slow for this many rows"),
    ):
        names = table.loc[table["status"] == status, "model"].tolist()
        if names:
            out.append(f"{', '.join(names)}: {words}.")
    return out
