"""The cleaning step builder: each operation's own fields, and steps the cleaning accepts."""

import pandas as pd
import pytest

from callbacks.cleaning import build_step
from components.profile import step_fields
from dashboard.cleaning._apply import OPERATIONS, apply_steps, validate_steps

FRAME = pd.DataFrame(
    {
        "amount": [-1.5, 2.0, None, 400.0, 3.0],
        "when": ["31/01/2024", "01/02/2024", "n.a.", "03/02/2024", None],
        "price": pd.Series(["1.234,5", "2,5", "oops", "50 %", None], dtype="str"),
        "label": pd.Categorical([" a", "B ", "a", None, "b"]),
    }
)
COLUMNS = {
    "parse_dates": ["when"],
    "convert_numeric": ["price"],
    "fix_negative": ["amount"],
    "remove_outliers": ["amount"],
    "fill_missing": ["amount"],
    "standardize_categories": ["label"],
    "trim_text": ["label"],
}


@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_clb001_every_operation_builds_a_valid_step_from_its_own_defaults(op):
    fields = step_fields(op, OPERATIONS[op])
    values = {c["value"] for c in fields["choices"]}
    assert fields["choice"] is None or fields["choice"] in values
    step = build_step(op, COLUMNS.get(op), None, fields["choice"], None, fields["flags_on"])
    if op in ("parse_dates", "convert_numeric"):
        step["allow_missing"] = True  # the frame holds 'n.a.' and 'oops' on purpose
    assert validate_steps(FRAME, [step])[0]["op"] == op


def test_clb002_settings_a_user_ticks_reach_the_step():
    step = build_step("parse_dates", ["when"], None, None, None, ["dayfirst", "allow_missing"])
    assert step == {
        "op": "parse_dates",
        "columns": ["when"],
        "dayfirst": True,
        "allow_missing": True,
    }
    frame = apply_steps(FRAME, validate_steps(FRAME, [step])).frame
    assert frame["when"].dt.strftime("%Y-%m-%d").tolist()[:2] == ["2024-01-31", "2024-02-01"]

    step = build_step("convert_numeric", ["price"], None, ",", None, ["percent", "allow_missing"])
    frame = apply_steps(FRAME, validate_steps(FRAME, [step])).frame
    assert frame["price"].tolist()[:2] == [1234.5, 2.5]
    assert frame["price"][3] == pytest.approx(0.5)  # "50 %" as a fraction
    assert pd.isna(frame["price"][2])  # 'oops' became missing, as ticked


def test_clb003_each_operation_shows_only_its_own_choices_and_flags():
    dates = step_fields("parse_dates", OPERATIONS["parse_dates"])
    assert dates["choices"] == [] and {f["value"] for f in dates["flags"]} == {
        "dayfirst",
        "allow_missing",
    }
    assert dates["number"] is None and dates["value"] is False
    fill = step_fields("fill_missing", OPERATIONS["fill_missing"])
    assert [c["value"] for c in fill["choices"]] == ["median", "mean", "mode", "constant"]
    assert fill["value"] is True
    case = step_fields("standardize_categories", OPERATIONS["standardize_categories"])
    assert "keep" in [c["value"] for c in case["choices"]] and case["flags_on"] == ["strip"]
    assert step_fields("remove_outliers", OPERATIONS["remove_outliers"])["number"]
