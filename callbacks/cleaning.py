"""Cleaning on the Profile page: build steps, preview, apply and undo as jobs."""

from __future__ import annotations

from dash import Input, Output, State, ctx, no_update

from callbacks.jobs import request_job
from components import profile as page
from components.ids import Profile as IDS
from components.ids import Shell
from components.widgets import alert
from dashboard.cleaning import OPERATIONS
from dashboard.cleaning.job import CLEAN, CLEAN_PREVIEW, UNDO
from dashboard.errors import InvalidParameter

NEEDS_COLUMNS = {
    "parse_dates",
    "convert_numeric",
    "fix_negative",
    "remove_outliers",
    "fill_missing",
    "standardize_categories",
}
OPTIONAL_COLUMNS = {"trim_text", "remove_duplicates"}


def build_step(op: str, columns, number, choice, value, flags=()) -> dict:
    """Turn the step builder's fields into one step (validated later, in the job).

    Args:
        op: Operation name.
        columns: Chosen columns.
        number: The number field (threshold %, k or t).
        choice: The operation's choice (method, action, case, decimal mark, copy to keep).
        value: The constant fill value.
        flags: On/off settings that are on (``dayfirst``, ``allow_missing``, ``strip``,
            ``percent``).

    Raises:
        InvalidParameter: A step that needs columns has none.
    """
    columns = list(columns or [])
    flags = set(flags or ())
    if op in NEEDS_COLUMNS and not columns:
        raise InvalidParameter("Choose the columns this step applies to.")
    step: dict = {"op": op}
    if op in NEEDS_COLUMNS | OPTIONAL_COLUMNS and columns:
        step["columns"] = columns
    if op == "drop_missing_columns":
        step["threshold"] = 50 if number is None else number
    elif op == "fix_negative":
        step["action"] = choice if choice in ("absolute", "zero", "drop_row") else "absolute"
    elif op == "remove_outliers":
        step["method"] = choice if choice in ("iqr", "zscore") else "iqr"
        if number is not None:
            step["k" if step["method"] == "iqr" else "t"] = number
    elif op == "fill_missing":
        method = choice if choice in ("median", "mean", "mode", "constant") else "median"
        spec = {"method": method, **({"value": value} if method == "constant" else {})}
        step["columns"] = {c: dict(spec) for c in columns}
    elif op == "standardize_categories":
        step["case"] = choice if choice in ("lower", "upper", "title") else None
        step["strip"] = "strip" in flags
    elif op == "parse_dates":
        step["dayfirst"] = "dayfirst" in flags
        step["allow_missing"] = "allow_missing" in flags
    elif op == "convert_numeric":
        step["decimal"] = choice if choice in ("auto", ".", ",") else "auto"
        step["percent"] = "fraction" if "percent" in flags else "number"
        step["allow_missing"] = "allow_missing" in flags
    elif op == "remove_duplicates":
        step["keep"] = choice if choice in ("first", "last") else "first"
    return step


def register(app, services) -> None:
    """Wire the cleaning step builder and its jobs."""

    @app.callback(
        Output(IDS.CLEAN_STEPS, "data"),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.CLEAN_ADD, "n_clicks"),
        Input(IDS.CLEAN_CLEAR, "n_clicks"),
        State(IDS.CLEAN_OP, "value"),
        State(IDS.CLEAN_COLUMNS, "value"),
        State(IDS.CLEAN_NUMBER, "value"),
        State(IDS.CLEAN_CHOICE, "value"),
        State(IDS.CLEAN_VALUE, "value"),
        State(IDS.CLEAN_FLAGS, "value"),
        State(IDS.CLEAN_STEPS, "data"),
        prevent_initial_call=True,
    )
    def edit_steps(add, clear, op, columns, number, choice, value, flags, steps):
        if ctx.triggered_id == IDS.CLEAN_CLEAR and clear:
            return [], ""
        if not add:
            return no_update, no_update
        try:
            step = build_step(op, columns, number, choice, value, flags)
        except InvalidParameter as err:
            return no_update, alert(str(err), color="warning")
        return [*(steps or []), step], ""

    @app.callback(
        Output(IDS.CLEAN_CHOICE, "options"),
        Output(IDS.CLEAN_CHOICE, "value"),
        Output(IDS.CLEAN_CHOICE, "placeholder"),
        Output(IDS.CLEAN_CHOICE, "disabled"),
        Output(IDS.CLEAN_FLAGS, "options"),
        Output(IDS.CLEAN_FLAGS, "value"),
        Output(IDS.CLEAN_NUMBER, "placeholder"),
        Output(IDS.CLEAN_NUMBER, "value"),
        Output(IDS.CLEAN_NUMBER, "disabled"),
        Output(IDS.CLEAN_VALUE, "disabled"),
        Output(IDS.CLEAN_COLUMNS, "disabled"),
        Output(IDS.CLEAN_HINT, "children"),
        Input(IDS.CLEAN_OP, "value"),
    )
    def fields(op):
        # each operation shows its own settings; values never carry over to the next step
        f = page.step_fields(op, OPERATIONS.get(op, {}))
        return (
            f["choices"],
            f["choice"],
            f["choice_label"],
            not f["choices"],
            f["flags"],
            f["flags_on"],
            f["number"] or "—",
            None,
            f["number"] is None,
            not f["value"],
            not f["columns"],
            f["hint"],
        )

    @app.callback(Output(IDS.CLEAN_LIST, "children"), Input(IDS.CLEAN_STEPS, "data"))
    def show_steps(steps):
        return page.step_items(steps or [])

    @app.callback(
        Output(Shell.JOB_REQUEST, "data", allow_duplicate=True),
        Output(Shell.MESSAGE, "children", allow_duplicate=True),
        Input(IDS.CLEAN_PREVIEW, "n_clicks"),
        Input(IDS.CLEAN_APPLY, "n_clicks"),
        Input(IDS.CLEAN_UNDO, "n_clicks"),
        State(IDS.CLEAN_STEPS, "data"),
        State(IDS.CLEAN_FULL, "value"),
        State(Shell.NAV_LOCK, "data"),
        prevent_initial_call=True,
    )
    def request(preview_clicks, apply_clicks, undo_clicks, steps, also_full, locked):
        clicked = {
            IDS.CLEAN_PREVIEW: preview_clicks,
            IDS.CLEAN_APPLY: apply_clicks,
            IDS.CLEAN_UNDO: undo_clicks,
        }.get(ctx.triggered_id)
        if not clicked:
            return no_update, no_update
        if ctx.triggered_id == IDS.CLEAN_UNDO:
            return request_job(locked, {"kind": UNDO.name})
        if not steps:
            return no_update, alert("Add at least one step first.", color="warning")
        kind = CLEAN_PREVIEW.name if ctx.triggered_id == IDS.CLEAN_PREVIEW else CLEAN.name
        return request_job(locked, {"kind": kind, "steps": steps, "also_full": bool(also_full)})

    @app.callback(
        Output(IDS.CLEAN_REPORT, "children"),
        Input(Shell.JOB_RESULT, "data"),
        prevent_initial_call=True,
    )
    def show_preview(result):
        if not result or not result.get("ok"):
            return no_update
        if result.get("kind") == CLEAN_PREVIEW.name:
            return page.preview_table(result.get("preview") or [])
        if result.get("kind") in (CLEAN.name, UNDO.name):
            return ""
        return no_update
