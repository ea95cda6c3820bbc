import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest

from dashboard.cleaning._apply import (
    OPERATIONS,
    apply_steps,
    apply_to_store,
    clean_parquet,
    preview,
    undo,
    validate_steps,
)
from dashboard.errors import InvalidParameter
from dashboard.store._store import DatasetStore

S = "session-1"


def run(df, *steps):
    return apply_steps(df, list(steps))


def cat(values):
    return pd.Series(values, dtype="category")


# --- operations ---------------------------------------------------------------------------


def test_cln001_every_operation_is_described():
    assert len(OPERATIONS) == 12
    for spec in OPERATIONS.values():
        assert spec["title"] and spec["description"] and isinstance(spec["params"], dict)


def test_cln002_remove_empty_rows_counts_blank_text_and_category():
    df = pd.DataFrame(
        {"a": [1.0, np.nan, np.nan], "b": ["x", "  ", None], "c": cat(["u", None, "v"])}
    )
    result = run(df, {"op": "remove_empty_rows"})
    assert result.frame["c"].tolist() == ["u", "v"]
    report = result.steps[0]
    assert (report.rows_before, report.rows_after, report.cells_changed) == (3, 2, 0)


def test_cln003_normalize_column_names_snake_case_and_unique():
    df = pd.DataFrame([[1, 2, 3, 4]], columns=["Order Date", "order_date", "unitPrice", "  "])
    result = run(df, {"op": "normalize_column_names"})
    assert list(result.frame.columns) == ["order_date", "order_date_2", "unit_price", "column"]
    assert result.steps[0].cells_changed == 0
    assert "Renamed 4" in result.steps[0].message


def test_cln004_remove_constant_columns_keeps_value_plus_missing():
    df = pd.DataFrame(
        {
            "same": [1, 1, 1],
            "same_cat": cat(["a", "a", "a"]),
            "empty": [np.nan] * 3,
            "holes": ["a", None, "a"],
            "varies": [1, 2, 3],
        }
    )
    result = run(df, {"op": "remove_constant_columns"})
    assert list(result.frame.columns) == ["holes", "varies"]
    assert result.steps[0].columns_after == 2


def test_cln005_drop_missing_columns_threshold():
    df = pd.DataFrame({"a": [1, None, None, None], "b": ["x", None, "y", "z"], "c": [1, 2, 3, 4]})
    result = run(df, {"op": "drop_missing_columns", "threshold": 50})
    assert list(result.frame.columns) == ["b", "c"]
    result = run(df, {"op": "drop_missing_columns", "threshold": 0})
    assert list(result.frame.columns) == ["c"]


def test_cln006_trim_text_str_and_category_merges_categories():
    df = pd.DataFrame(
        {"s": [" a", "b ", None, "c"], "k": cat([" x", "x", None, "y "]), "n": [1, 2, 3, 4]}
    )
    result = run(df, {"op": "trim_text"})
    frame = result.frame
    assert frame["s"].tolist()[:2] == ["a", "b"] and pd.isna(frame["s"][2])
    assert frame["s"].dtype == df["s"].dtype
    assert isinstance(frame["k"].dtype, pd.CategoricalDtype)
    assert sorted(frame["k"].cat.categories) == ["x", "y"]
    assert frame["k"].tolist()[:2] == ["x", "x"] and frame["k"][3] == "y"
    assert result.steps[0].cells_changed == 4  # ' a', 'b ', ' x', 'y '


def test_cln007_trim_text_refuses_number_column():
    with pytest.raises(InvalidParameter, match="'n' holds numbers"):
        run(pd.DataFrame({"n": [1]}), {"op": "trim_text", "columns": ["n"]})


def test_cln008_parse_dates_text_and_category_dayfirst():
    df = pd.DataFrame({"d": ["01/02/2024", "15/03/2024", None], "c": cat(["2024-01-05"] * 3)})
    result = run(df, {"op": "parse_dates", "columns": ["d", "c"], "dayfirst": True})
    frame = result.frame
    assert frame["d"].tolist()[:2] == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-15")]
    assert pd.isna(frame["d"][2])
    assert frame["c"].tolist() == [pd.Timestamp("2024-01-05")] * 3
    assert pd.api.types.is_datetime64_any_dtype(frame["d"])
    assert result.steps[0].cells_changed == 5


def test_cln008b_parse_dates_order_follows_the_data_whatever_the_default():
    df = pd.DataFrame({"d": ["13/02/2024", "03/04/2024", "01/12/2023"]})
    frame = run(df, {"op": "parse_dates", "columns": ["d"], "dayfirst": False}).frame
    assert frame["d"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-13", "2024-04-03", "2023-12-01"]
    us = pd.DataFrame({"d": ["02/13/2024", "03/04/2024"]})
    frame = run(us, {"op": "parse_dates", "columns": ["d"], "dayfirst": True}).frame
    assert frame["d"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-13", "2024-03-04"]
    either = pd.DataFrame({"d": ["03/04/2024", "05/06/2024"]})
    frame = run(either, {"op": "parse_dates", "columns": ["d"], "dayfirst": True}).frame
    assert frame["d"].dt.strftime("%Y-%m-%d").tolist() == ["2024-04-03", "2024-06-05"]


def test_cln008c_dates_written_both_ways_are_refused_with_a_message():
    df = pd.DataFrame({"d": ["31/01/2024", "01/31/2024"]})
    with pytest.raises(InvalidParameter, match="both day first .* and month first"):
        run(df, {"op": "parse_dates", "columns": ["d"]})


def test_cln009_parse_dates_refuses_text_unless_allowed():
    df = pd.DataFrame({"d": ["2024-01-02", "soon", "later"]})
    with pytest.raises(InvalidParameter, match="'soon'"):
        run(df, {"op": "parse_dates", "columns": ["d"]})
    result = run(df, {"op": "parse_dates", "columns": ["d"], "allow_missing": True})
    assert result.frame["d"].isna().tolist() == [False, True, True]
    assert "became missing" in result.steps[0].message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1,234", "12,500", "3.5"], [1234.0, 12500.0, 3.5]),
        (["1.234,5", "2.000", "3,5"], [1234.5, 2000.0, 3.5]),
        (["3,5", "4,25", "1"], [3.5, 4.25, 1.0]),
        (["$ 1 234", "€12", "(5)"], [1234, 12, -5]),
        (["15%", "-2.5%", "0%"], [15.0, -2.5, 0.0]),
        (["1 234,5", "−7", "+8"], [1234.5, -7.0, 8.0]),
    ],
)
def test_cln010_convert_numeric_formats(values, expected):
    result = run(pd.DataFrame({"x": values}), {"op": "convert_numeric", "columns": ["x"]})
    assert result.frame["x"].tolist() == expected
    assert pd.api.types.is_numeric_dtype(result.frame["x"])


def test_cln011_convert_numeric_whole_numbers_become_integers_and_missing_words():
    df = pd.DataFrame({"a": ["1", "2"], "b": cat(["3", "n/a"])})
    frame = run(df, {"op": "convert_numeric", "columns": ["a", "b"]}).frame
    assert frame["a"].dtype == np.int64
    assert frame["b"].dtype == np.float64 and np.isnan(frame["b"][1])


def test_cln012_convert_numeric_refuses_text_with_examples_unless_allowed():
    df = pd.DataFrame({"price": ["10", "abc", "12", "zz", None]})
    with pytest.raises(InvalidParameter, match=r"2 value\(s\) of 'price'.*'abc', 'zz'"):
        run(df, {"op": "convert_numeric", "columns": ["price"]})
    result = run(df, {"op": "convert_numeric", "columns": ["price"], "allow_missing": True})
    assert result.frame["price"][[0, 2]].tolist() == [10.0, 12.0]
    assert result.frame["price"].isna().sum() == 3
    assert result.steps[0].cells_changed == 4  # None stays missing


def test_cln013_convert_numeric_percent_as_fraction():
    frame = run(
        pd.DataFrame({"p": ["15%", "50 %"]}),
        {"op": "convert_numeric", "columns": ["p"], "percent": "fraction"},
    ).frame
    assert frame["p"].tolist() == [0.15, 0.5]


@pytest.mark.parametrize(
    ("action", "expected"),
    [("absolute", [1, 2, None, 0]), ("zero", [1, 0, None, 0])],
)
def test_cln014_fix_negative_nullable_int(action, expected):
    df = pd.DataFrame({"q": pd.Series([1, -2, None, 0], dtype="Int8")})
    result = run(df, {"op": "fix_negative", "columns": ["q"], "action": action})
    assert result.frame["q"].dtype == "Int8"
    assert result.frame["q"].tolist() == [1, expected[1], pd.NA, 0]
    assert result.steps[0].cells_changed == 1


def test_cln015_fix_negative_drop_row_and_int8_minimum():
    df = pd.DataFrame({"q": np.array([1, -128, 3], dtype="int8"), "f": [0.5, 1.0, -1.0]})
    dropped = run(df, {"op": "fix_negative", "columns": ["q", "f"], "action": "drop_row"})
    assert dropped.frame["q"].tolist() == [1]
    absolute = run(df, {"op": "fix_negative", "columns": ["q"], "action": "absolute"})
    assert absolute.frame["q"].tolist() == [1, 128, 3]


def test_cln016_remove_duplicates_all_and_subset_keep_last():
    df = pd.DataFrame(
        {"a": cat(["x", "x", "y", "x"]), "b": ["1", "1", None, "2"], "n": [1, 1, 2, 3]}
    )
    assert run(df, {"op": "remove_duplicates"}).frame["n"].tolist() == [1, 2, 3]
    last = run(df, {"op": "remove_duplicates", "columns": ["a"], "keep": "last"})
    assert last.frame["n"].tolist() == [2, 3]
    missing = pd.DataFrame({"s": [None, None, "a"]})
    assert len(run(missing, {"op": "remove_duplicates"}).frame) == 2


def test_cln017_remove_outliers_iqr_and_zscore_keep_missing():
    values = [10, 11, 12, 13, 14, 100, None]
    df = pd.DataFrame({"v": pd.Series(values, dtype="Float64")})
    iqr = run(df, {"op": "remove_outliers", "columns": ["v"], "method": "iqr", "k": 1.5})
    assert iqr.frame["v"].tolist() == [10, 11, 12, 13, 14, pd.NA]
    z = pd.DataFrame({"v": [0.0] * 20 + [10.0]})
    zres = run(z, {"op": "remove_outliers", "columns": ["v"], "method": "zscore", "t": 3})
    assert len(zres.frame) == 20
    assert (
        len(run(z, {"op": "remove_outliers", "columns": ["v"], "method": "zscore", "t": 5}).frame)
        == 21
    )


def test_cln018_fill_missing_each_method_and_kind():
    df = pd.DataFrame(
        {
            "i": pd.Series([1, None, 3, 10], dtype="Int16"),
            "f": [1.0, 2.0, np.nan, 5.0],
            "c": cat(["a", None, "b", "a"]),
            "s": ["x", None, "y", "y"],
            "k": cat(["u", None, "u", "u"]),
        }
    )
    steps = {
        "op": "fill_missing",
        "columns": {
            "i": {"method": "median"},
            "f": {"method": "mean"},
            "c": {"method": "mode"},
            "s": {"method": "constant", "value": "none"},
            "k": {"method": "constant", "value": "new"},
        },
    }
    result = run(df, steps)
    frame = result.frame
    assert frame["i"].tolist() == [1, 3, 3, 10] and frame["i"].dtype == "Int16"
    assert frame["f"][2] == pytest.approx(8 / 3)
    assert frame["c"].tolist() == ["a", "a", "b", "a"]
    assert frame["s"].tolist() == ["x", "none", "y", "y"]
    assert "new" in frame["k"].cat.categories and frame["k"][1] == "new"
    assert result.steps[0].cells_changed == 5


def test_cln018b_fill_missing_dates_and_number_categories():
    when = pd.to_datetime(["2024-01-05", None, "2024-01-05", "2024-03-01"])
    df = pd.DataFrame(
        {
            "d": when,  # as parse_dates leaves it: datetime64, no time zone
            "e": when,
            "z": when.tz_localize("UTC"),
            "n": pd.Series([1, 2, None, 2], dtype="category"),
        }
    )
    steps = {
        "op": "fill_missing",
        "columns": {
            "d": {"method": "mode"},
            "e": {"method": "constant", "value": "2024-02-01"},
            "z": {"method": "constant", "value": "2024-02-01"},
            "n": {"method": "constant", "value": "5"},
        },
    }
    frame = run(df, steps).frame
    assert frame["d"][1] == pd.Timestamp("2024-01-05") and frame["d"].dtype.kind == "M"
    assert frame["e"][1] == pd.Timestamp("2024-02-01") and frame["e"].dtype.kind == "M"
    assert frame["z"][1] == pd.Timestamp("2024-02-01", tz="UTC")
    assert str(frame["z"].dtype).endswith("UTC]")  # still dates, not text
    assert frame["n"].tolist() == [1, 2, 5, 2]  # a number among numbers, not the text "5"
    bad = {"op": "fill_missing", "columns": {"n": {"method": "constant", "value": "many"}}}
    with pytest.raises(InvalidParameter, match="'many' is not a number, but the categories"):
        run(df, bad)


def test_cln019_fill_missing_int_with_fraction_widens():
    df = pd.DataFrame({"i": pd.Series([1, None, 2, 5], dtype="Int8")})
    frame = run(df, {"op": "fill_missing", "columns": {"i": {"method": "mean"}}}).frame
    assert frame["i"].dtype == "Float64" and frame["i"][1] == pytest.approx(8 / 3)


def test_cln020_standardize_categories_case_and_spaces():
    df = pd.DataFrame(
        {"c": cat([" New  York", "new york", "PARIS", None]), "s": ["a B", "A b", None, "x"]}
    )
    result = run(df, {"op": "standardize_categories", "columns": ["c", "s"], "case": "title"})
    frame = result.frame
    assert frame["c"].tolist()[:3] == ["New York", "New York", "Paris"]
    assert list(frame["c"].cat.categories) == ["New York", "Paris"]
    assert frame["s"][[0, 1, 3]].tolist() == ["A B", "A B", "X"] and pd.isna(frame["s"][2])
    assert result.steps[0].cells_changed == 6


def test_cln021_apply_does_not_mutate_input():
    df = pd.DataFrame({"s": [" a", None]})
    copy = df.copy()
    run(df, {"op": "trim_text"}, {"op": "fill_missing", "columns": {"s": {"method": "mode"}}})
    pdt.assert_frame_equal(df, copy)


# --- validation ---------------------------------------------------------------------------


def test_cln030_unknown_operation():
    with pytest.raises(InvalidParameter, match="'explode' is not a cleaning operation"):
        validate_steps(pd.DataFrame({"a": [1]}), [{"op": "explode"}])


def test_cln031_column_gone_after_rename_or_drop():
    df = pd.DataFrame({"Price": [1.0, 2.0], "gone": [1, 1]})
    with pytest.raises(InvalidParameter, match="The column 'Price' is not in the dataset any more"):
        validate_steps(
            df,
            [{"op": "normalize_column_names"}, {"op": "fix_negative", "columns": ["Price"]}],
        )
    with pytest.raises(InvalidParameter, match="The column 'gone' is not in the dataset any more"):
        apply_steps(
            df,
            [
                {"op": "remove_constant_columns"},
                {"op": "fix_negative", "columns": ["gone"], "action": "zero"},
            ],
        )


def test_cln032_wrong_fill_type():
    df = pd.DataFrame({"price": [1.0, None]})
    step = {"op": "fill_missing", "columns": {"price": {"method": "constant", "value": "abc"}}}
    with pytest.raises(InvalidParameter, match="'abc' is not a number, but 'price' holds numbers."):
        validate_steps(df, [step])
    step["columns"]["price"]["value"] = "2.5"
    assert validate_steps(df, [step])[0]["columns"]["price"]["value"] == 2.5
    with pytest.raises(InvalidParameter, match="median needs numbers"):
        validate_steps(
            pd.DataFrame({"c": ["a"]}),
            [{"op": "fill_missing", "columns": {"c": {"method": "median"}}}],
        )


def test_cln033_removes_every_row_or_column():
    df = pd.DataFrame({"v": [-1, -2]})
    steps = [{"op": "fix_negative", "columns": ["v"], "action": "drop_row"}]
    with pytest.raises(InvalidParameter, match="would remove every row; nothing was applied"):
        apply_steps(df, steps)
    assert preview(df, steps)[0]["rows_after"] == 0
    with pytest.raises(InvalidParameter, match="every column"):
        apply_steps(pd.DataFrame({"c": [1, 1]}), [{"op": "remove_constant_columns"}])


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"op": "drop_missing_columns", "threshold": 150}, "between 0 and 100"),
        ({"op": "drop_missing_columns", "threshold": "x"}, "must be a number"),
        ({"op": "remove_outliers", "columns": ["v"], "k": 0}, "IQR multiplier"),
        ({"op": "remove_outliers", "columns": ["v"], "t": -1}, "z-score threshold"),
        ({"op": "fix_negative", "columns": ["v"], "action": "explode"}, "not a valid choice"),
        ({"op": "fix_negative", "columns": []}, "Choose at least one column"),
        ({"op": "trim_text", "colums": ["v"]}, "unknown setting 'colums'"),
    ],
)
def test_cln034_bad_parameters(step, message):
    with pytest.raises(InvalidParameter, match=message):
        validate_steps(pd.DataFrame({"v": [1.0]}), [step])


def test_cln035_validate_normalizes_defaults():
    steps = validate_steps(
        pd.DataFrame({"v": [1.0]}), [{"op": "remove_outliers", "columns": ["v"]}]
    )
    assert steps == [
        {"op": "remove_outliers", "columns": ["v"], "method": "iqr", "k": 1.5, "t": 3.0}
    ]


def test_cln036_preview_reports_each_step():
    df = pd.DataFrame({"a": [" x", "x", None], "b": [1, 1, 2]})
    reports = preview(df, [{"op": "trim_text"}, {"op": "remove_duplicates"}])
    assert [(r["rows_before"], r["rows_after"], r["cells_changed"]) for r in reports] == [
        (3, 3, 1),
        (3, 2, 0),
    ]
    assert reports[1]["message"].startswith("Removed 1 of 3 rows")


# --- store: versions, undo, full data -----------------------------------------------------


@pytest.fixture
def store(tmp_path):
    return DatasetStore(tmp_path / "store")


def test_cln040_apply_to_store_and_undo_round_trip(store):
    df = pd.DataFrame({"s": [" a", "b", None], "v": [1.0, -2.0, 3.0]})
    first = store.put_frame(S, "data", df, meta={"source": "x.csv"})
    result = apply_to_store(
        store, S, [{"op": "trim_text"}, {"op": "fix_negative", "columns": ["v"], "action": "zero"}]
    )
    assert result["version"] == first.version + 1 and result["parent_version"] == first.version
    data = store.info_by_name(S, "data")
    assert data.meta["steps"][0]["op"] == "trim_text" and data.meta["source"] == "x.csv"
    assert data.meta["parent_version"] == first.version
    assert store.read_frame(S, data.key)["v"].tolist() == [1.0, 0.0, 3.0]
    previous = store.info_by_name(S, "data_previous")
    assert previous is not None and not previous.protected

    restored = undo(store, S)
    assert restored["version"] == data.version + 1 and restored["undone_from"] == data.version
    back = store.info_by_name(S, "data")
    pdt.assert_frame_equal(store.read_frame(S, back.key), df)
    assert back.meta["undone_from"] == data.version and "steps" not in back.meta
    assert back.protected
    with pytest.raises(InvalidParameter, match="There is nothing to undo."):
        undo(store, S)


def test_cln041_refused_step_changes_nothing(store):
    store.put_frame(S, "data", pd.DataFrame({"v": [-1.0]}))
    with pytest.raises(InvalidParameter, match="every row"):
        apply_to_store(store, S, [{"op": "fix_negative", "columns": ["v"], "action": "drop_row"}])
    assert store.info_by_name(S, "data").version == 1
    assert store.info_by_name(S, "data_previous") is None


def full_frame(n=20_000):
    rng = np.random.default_rng(1)
    x = rng.normal(size=n)
    x[::997] = 50.0
    return pd.DataFrame(
        {
            "x": x,
            "t": pd.Series(rng.choice([" a", "b ", None], n)).astype("category"),
            "num": pd.Series(rng.choice(["1.234,5", "2", "n/a", "3,25"], n)),
            "k": rng.integers(0, 40, n),
            "m": pd.Series(np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 9, n))),
        }
    )


FULL_STEPS = [
    {"op": "trim_text"},
    {"op": "convert_numeric", "columns": ["num"]},
    {"op": "remove_outliers", "columns": ["x"], "method": "iqr"},
    {"op": "remove_duplicates", "columns": ["t", "k", "m"]},
    {"op": "fill_missing", "columns": {"m": {"method": "median"}, "t": {"method": "mode"}}},
    {"op": "normalize_column_names"},
]


def test_cln042_clean_parquet_matches_in_memory(tmp_path):
    df = full_frame()
    store = DatasetStore(tmp_path / "s")
    store.put_frame(S, "data_full", df, row_group_rows=3_000)
    src = store.parquet_path(S, store.key_for(S, "data_full"))
    assert pq.ParquetFile(src).num_row_groups > 5
    steps = validate_steps(df, FULL_STEPS)
    dest = tmp_path / "out.parquet"
    calls = []
    reports = clean_parquet(src, dest, steps, lambda *a: calls.append(a))
    expected = apply_steps(df, steps)
    streamed = pd.read_parquet(dest)
    pdt.assert_frame_equal(streamed, expected.frame)
    assert [r.to_dict() for r in reports] == [r.to_dict() for r in expected.steps]
    assert calls and calls[-1][1] == calls[-1][2]


def test_cln043_apply_to_store_also_full_and_undo(store):
    df = full_frame(12_000)
    store.put_frame(S, "data_full", df, row_group_rows=2_000)
    store.put_frame(S, "data", df.iloc[:2_000], meta={"full_key": store.key_for(S, "data_full")})
    result = apply_to_store(store, S, FULL_STEPS, also_full=True)
    full = store.info_by_name(S, "data_full")
    assert result["full_steps"] and full.version == 2
    assert store.info_by_name(S, "data").meta["full_key"] == full.key
    cleaned = store.read_frame(S, full.key)
    assert cleaned["num"].dtype == np.float64 and cleaned["m"].notna().all()
    undo(store, S)
    full_back = store.info_by_name(S, "data_full")
    pdt.assert_frame_equal(store.read_frame(S, full_back.key), df)
    assert store.info_by_name(S, "data").meta["full_key"] == full_back.key


def test_cln044_apply_without_full_leaves_full_alone(store):
    df = full_frame(3_000)
    store.put_frame(S, "data_full", df)
    store.put_frame(S, "data", df.iloc[:500])
    result = apply_to_store(store, S, [{"op": "trim_text"}])
    assert result["full_steps"] is None
    assert store.info_by_name(S, "data_full").version == 1
    assert store.info_by_name(S, "data").meta["full_cleaned"] is False


def test_cln045_full_refusal_keeps_everything(store, tmp_path):
    df = pd.DataFrame({"n": ["1", "2"] * 50 + ["oops"]})
    store.put_frame(S, "data_full", df, row_group_rows=10)
    store.put_frame(S, "data", df.iloc[:20])
    with pytest.raises(InvalidParameter, match="'oops'"):
        apply_to_store(store, S, [{"op": "convert_numeric", "columns": ["n"]}], also_full=True)
    assert store.info_by_name(S, "data").version == 1
    assert store.info_by_name(S, "data_full").version == 1


def test_cln046_mode_fill_of_an_all_missing_category_uses_no_unused_label():
    df = pd.DataFrame(
        {"c": pd.Categorical([None, None], categories=["alpha", "beta"]), "k": [1, 2]}
    )
    result = run(df, {"op": "fill_missing", "columns": {"c": {"method": "mode"}}})
    assert result.frame["c"].isna().all()
    assert "c had no values to compute a fill value from" in result.steps[0].message


def test_cln047_sample_and_full_data_are_cleaned_with_the_same_statistics(store):
    full = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0, 100.0, None] * 50, "k": range(300)})
    sample = full.iloc[[0, 4, 5, 10, 11]].reset_index(drop=True)  # its own median: 52
    store.put_frame(S, "data_full", full)
    store.put_frame(S, "data", sample, meta={"sampling": {"sampled": True}})
    steps = [
        {"op": "fill_missing", "columns": {"v": {"method": "median"}}},
        {"op": "remove_outliers", "columns": ["v"], "method": "iqr", "k": 1.5},
    ]
    apply_to_store(store, S, steps, also_full=True)
    cleaned_sample = store.read_frame(S, store.key_for(S, "data"))
    cleaned_full = store.read_frame(S, store.key_for(S, "data_full"))
    # the full data's median (3) fills both; 100 is an outlier by the full data's bounds
    assert cleaned_full["v"].max() == 4.0 and 100.0 not in cleaned_sample["v"].tolist()
    assert cleaned_sample["v"].tolist() == [1.0, 3.0, 3.0]
    assert set(cleaned_sample["k"]) <= set(cleaned_full["k"])  # still a sample of it
