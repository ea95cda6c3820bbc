import datetime
import json
import math
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.cleaning._apply import apply_steps
from dashboard.errors import DataLoadError, InvalidParameter
from dashboard.profile import _stream as _profile_stream
from dashboard.profile._compute import (
    Profile,
    compute_profile,
    correlations,
    distribution,
    streaming_column_stats,
)
from dashboard.profile.plots import MISSING_BARS, correlation_figure, missing_figure


def column(profile: Profile, name: str) -> dict:
    return next(c for c in profile.columns if c["name"] == name)


def issues_of(profile: Profile, kind: str, name: str | None = None) -> list[dict]:
    return [
        i for i in profile.issues if i["kind"] == kind and (name is None or i["column"] == name)
    ]


def to_json(value) -> str:
    return json.dumps(value, allow_nan=False)


def varied_frame(n: int = 200, seed: int = 1) -> pd.DataFrame:
    """Every dtype the optimizer produces, with missing values."""
    rng = np.random.default_rng(seed)
    gaps = rng.random(n) < 0.1
    return pd.DataFrame(
        {
            "i8": rng.integers(-100, 100, n).astype("int8"),
            "u16": rng.integers(0, 60_000, n).astype("uint16"),
            "f32": rng.normal(size=n).astype("float32"),
            "f64": np.where(gaps, np.nan, rng.normal(5, 2, n)),
            "nint": pd.array(np.where(gaps, None, rng.integers(0, 9, n)), dtype="Int16"),
            "cat": pd.Categorical(rng.choice(["red", "green", "blue", None], n)),
            "text": pd.Series(rng.choice(["x", "y", None], n), dtype="str"),
            "flag": rng.random(n) < 0.3,
            "nflag": pd.array(np.where(gaps, None, rng.random(n) < 0.5), dtype="boolean"),
            "when": pd.Series(
                pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D")
            ).astype("datetime64[ms]"),
        }
    )


# --- statistics ---------------------------------------------------------------------------


def test_numeric_statistics_match_hand_computed_values():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 100.0, np.nan]})
    c = column(compute_profile(df), "x")
    assert c["semantic"] == "numeric"
    assert (c["missing"], c["missing_pct"], c["unique"]) == (1, 16.67, 5)
    assert (c["min"], c["max"], c["mean"]) == (1.0, 100.0, 22.0)
    # deviations -21 -20 -19 -18 78: squares sum to 7610, over n - 1 = 4
    assert c["std"] == pytest.approx(math.sqrt(7610 / 4))
    assert (c["q25"], c["q50"], c["q75"]) == (2.0, 3.0, 4.0)
    assert c["outliers"] == 1  # fences at 2 - 3 and 4 + 3: only 100 is beyond


def test_quartiles_interpolate_like_pandas():
    s = pd.Series([3, 1, 4, 1, 5, 9, 2, 6], dtype="int32")
    c = column(compute_profile(s.to_frame("x")), "x")
    assert [c["q25"], c["q50"], c["q75"]] == s.quantile([0.25, 0.5, 0.75]).tolist()
    assert (c["min"], c["max"]) == (1, 9) and isinstance(c["min"], int)
    assert c["std"] == pytest.approx(s.std())


def test_infinite_values_are_counted_but_kept_out_of_statistics():
    df = pd.DataFrame({"x": [1.0, 3.0, np.inf, -np.inf, np.nan]})
    c = column(compute_profile(df), "x")
    assert (c["missing"], c["infinite"], c["min"], c["max"], c["mean"]) == (1, 2, 1.0, 3.0, 2.0)


def test_top_values_and_datetime_range():
    df = pd.DataFrame(
        {
            "cat": pd.Categorical(["a", "b", "a", None, "a", "c"], categories=["a", "b", "c", "z"]),
            "text": pd.Series(["p", "q", "q", None, "q", "p"], dtype="str"),
            "flag": pd.array([True, False, True, None, True, True], dtype="boolean"),
            "when": pd.to_datetime(
                ["2024-03-01", None, "2023-12-31 10:00", "2024-01-01", None, "2024-02-29"],
                format="ISO8601",
            ).astype("datetime64[ms]"),
        }
    )
    p = compute_profile(df)
    cat = column(p, "cat")
    assert cat["top"][0] == {"value": "a", "count": 3}
    assert sorted((t["value"], t["count"]) for t in cat["top"][1:]) == [("b", 1), ("c", 1)]
    assert cat["unique"] == 3  # the unused category 'z' is not counted
    assert column(p, "text")["top"] == [{"value": "q", "count": 3}, {"value": "p", "count": 2}]
    assert column(p, "flag")["top"] == [{"value": True, "count": 4}, {"value": False, "count": 1}]
    when = column(p, "when")
    assert (when["min"], when["max"], when["missing"]) == (
        "2023-12-31T10:00:00",
        "2024-03-01T00:00:00",
        2,
    )


def test_top_values_stop_at_ten_and_long_text_is_clipped():
    values = [f"v{i:02d}" for i in range(15)] + ["long " * 100]
    c = column(compute_profile(pd.DataFrame({"t": values * 3})), "t")
    assert len(c["top"]) == 10
    assert all(len(t["value"]) <= 100 for t in c["top"])


def test_overview_counts():
    df = pd.DataFrame({"a": [1, 1, 2, np.nan], "b": ["x", "x", "y", None]})
    o = compute_profile(df).overview
    assert (o["rows"], o["columns"], o["missing_cells"], o["missing_cells_pct"]) == (4, 2, 2, 25.0)
    assert (o["duplicate_rows"], o["duplicate_pct"]) == (1, 25.0)
    assert o["memory_bytes"] == df.memory_usage(deep=True, index=False).sum()


# --- semantic types -----------------------------------------------------------------------


def test_semantic_types():
    n = 40
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "nint": pd.array([None] + list(range(n - 1)), dtype="Int64"),
            "cat": pd.Categorical(["a", "b"] * (n // 2)),
            "few": pd.Series(["a", "b", "c", "d"] * (n // 4), dtype="str"),
            "code": pd.Series([f"K{i:05d}" for i in range(n)], dtype="str"),
            "prose": pd.Series([f"a sentence number {i}" for i in range(n)], dtype="str"),
            "flag": [True, False] * (n // 2),
            "nflag": pd.array([True, None] * (n // 2), dtype="boolean"),
            "objflag": pd.Series([True, False] * (n // 2), dtype=object),
            "when": pd.date_range("2024-01-01", periods=n).astype("datetime64[ms]"),
            "dates": pd.Series([datetime.date(2024, 1, 1 + i % 28) for i in range(n)]),
            "customer_id": np.arange(n, dtype="int32"),
            "count": np.arange(n, dtype="int32"),  # all distinct but not named like an id
            "empty": pd.Series([None] * n, dtype="str"),
        }
    )
    semantic = {c["name"]: c["semantic"] for c in compute_profile(df).columns}
    assert semantic == {
        "num": "numeric",
        "nint": "numeric",
        "cat": "categorical",
        "few": "categorical",
        "code": "identifier",
        "prose": "text",
        "flag": "boolean",
        "nflag": "boolean",
        "objflag": "boolean",
        "when": "datetime",
        "dates": "datetime",
        "customer_id": "identifier",
        "count": "numeric",
        "empty": "text",
    }


def test_every_optimizer_dtype_profiles_to_json():
    df = varied_frame()
    p = compute_profile(df)
    assert [c["dtype"] for c in p.columns] == [str(t) for t in df.dtypes]
    to_json(p.to_dict())


# --- issues -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "severity"), [(100, "high"), (51, "high"), (50, "medium"), (21, "medium"),
                              (20, "low"), (1, "low"), (0, None)]
)  # fmt: skip
def test_missing_severity_thresholds(missing, severity):
    values = [np.nan] * missing + list(range(100 - missing))
    found = issues_of(compute_profile(pd.DataFrame({"x": values, "k": range(100)})), "missing")
    assert [i["severity"] for i in found] == ([severity] if severity else [])
    if severity == "high":
        assert found[0]["fix"] == {"op": "drop_missing_columns", "threshold": 50}
    elif severity:
        assert found[0]["fix"] == {"op": "fill_missing", "columns": {"x": {"method": "median"}}}


@pytest.mark.parametrize(("copies", "severity"), [(0, None), (1, "medium"), (9, "medium"),
                                                   (10, "high")])  # fmt: skip
def test_duplicate_rows_severity(copies, severity):
    df = pd.DataFrame({"k": list(range(100 - copies)) + [0] * copies})
    p = compute_profile(df)
    found = issues_of(p, "duplicates")
    assert [i["severity"] for i in found] == ([severity] if severity else [])
    assert p.overview["duplicate_rows"] == copies
    if found:
        assert found[0]["column"] is None and found[0]["fix"] == {"op": "remove_duplicates"}


def test_constant_columns():
    df = pd.DataFrame(
        {
            "same": ["x"] * 5,
            "num": [7] * 5,
            "gappy": ["x", None, "x", "x", "x"],  # a missing value is a second state
            "k": range(5),
        }
    )
    found = issues_of(compute_profile(df), "constant")
    assert [i["column"] for i in found] == ["same", "num"]
    assert found[0]["fix"] == {"op": "remove_constant_columns"}
    assert "'x'" in found[0]["message"]


def test_near_unique_text_is_an_identifier_issue():
    df = pd.DataFrame({"ref": [f"ORD-{i}" for i in range(50)], "k": [1, 2] * 25})
    (found,) = issues_of(compute_profile(df), "identifier")
    assert (found["column"], found["severity"], found["fix"]) == ("ref", "low", None)


@pytest.mark.parametrize(
    ("values", "decimal", "thousands"),
    [
        (["1", "2.5", "-3e2", "4"], ".", None),
        (["1,234", "2,345.5", "12"], ".", ","),
        (["1.234,5", "2,5", "12"], ",", "."),
        (["12,5", "3,25", "7"], ",", None),
    ],
)
def test_numbers_stored_as_text(values, decimal, thousands):
    df = pd.DataFrame({"x": pd.Series(values * 5, dtype="str")})
    (found,) = issues_of(compute_profile(df), "numbers_as_text")
    assert found["severity"] == "medium"
    assert found["fix"] == {
        "op": "convert_numeric",
        "columns": ["x"],
        "decimal": decimal,
        "allow_missing": False,
    }
    assert thousands in found["message"] if thousands else True


def test_numbers_as_text_in_category_and_object_columns_with_markers():
    values = ["1,5", "2,25", "NA", "", "3"] * 4 + ["oops"]
    df = pd.DataFrame({"c": pd.Categorical(values), "o": pd.Series(values, dtype=object)})
    p = compute_profile(df)
    for name in ("c", "o"):
        (found,) = issues_of(p, "numbers_as_text", name)
        assert found["fix"]["decimal"] == ","
        assert "1 value not numbers (e.g. 'oops')" in found["message"]


def test_codes_with_leading_zeros_and_mostly_text_are_not_numbers():
    df = pd.DataFrame({"zip": ["02134", "10001", "90210"] * 4, "words": ["1", "a", "b", "c"] * 3})
    assert issues_of(compute_profile(df), "numbers_as_text") == []


def test_mixed_types_in_object_column():
    df = pd.DataFrame({"m": pd.Series([1, 2.5, "3", "n/a", 4, "x"], dtype=object)})
    (found,) = issues_of(compute_profile(df), "mixed_types")
    assert found["severity"] == "medium"
    assert "int" in found["message"] and "str" in found["message"]
    assert found["fix"] == {
        "op": "convert_numeric",
        "columns": ["m"],
        "decimal": ".",
        "allow_missing": True,
    }
    words = pd.DataFrame({"m": pd.Series(["a", "b", "c", 1], dtype=object)})
    (found,) = issues_of(compute_profile(words), "mixed_types")
    assert found["fix"] is None and "correct the source file" in found["message"]


@pytest.mark.parametrize("dtype", ["str", "category"])
def test_text_mostly_numbers_is_reported_as_mixing_numbers_and_text(dtype):
    # 70 % numbers: too few for "numbers stored as text", too many to say nothing
    values = ["1", "2.5", "3", "4", "5", "6", "7", "unknown", "none given", "x"] * 10
    df = pd.DataFrame({"v": pd.Series(values, dtype=dtype), "k": range(100)})
    (found,) = issues_of(compute_profile(df), "mixed_types")
    assert found["message"].startswith("'v' mixes numbers and text: 70% of its values read")
    cleaned = apply_steps(df, [found["fix"]]).frame
    assert cleaned["v"].dtype.kind == "f" and int(cleaned["v"].isna().sum()) == 30
    assert not issues_of(compute_profile(cleaned), "mixed_types")
    # a text column with a few numbers among words is not flagged
    few = pd.DataFrame({"v": pd.Series(["1", "a", "b", "c"] * 25, dtype=dtype)})
    assert not issues_of(compute_profile(few), "mixed_types")


def test_dates_stored_as_text_in_one_format():
    df = pd.DataFrame({"d": ["2024-01-31", "2024-02-29", "2023-12-01 10:30", None] * 3})
    (found,) = issues_of(compute_profile(df), "dates_as_text")
    assert found["severity"] == "low"
    assert found["fix"] == {
        "op": "parse_dates",
        "columns": ["d"],
        "dayfirst": False,
        "allow_missing": False,
    }


def test_dates_with_ambiguous_day_and_month():
    df = pd.DataFrame({"d": ["01/02/2024", "03/04/2024", "05/06/2024"]})
    (found,) = issues_of(compute_profile(df), "dates_as_text")
    assert found["severity"] == "medium"
    assert found["fix"]["dayfirst"] is True
    assert "either way round" in found["message"]
    us = pd.DataFrame({"d": ["01/02/2024", "12/31/2024", "05/06/2024"]})
    (found,) = issues_of(compute_profile(us), "dates_as_text")
    assert (found["severity"], found["fix"]["dayfirst"]) == ("low", False)


def test_dates_in_several_formats_are_inconsistent():
    df = pd.DataFrame({"d": ["2024-01-31", "2024-02-01", "31/01/2024", "15.03.2024", "junk"]})
    (found,) = issues_of(compute_profile(df), "inconsistent_dates")
    assert (found["severity"], found["fix"]) == (
        "medium",
        {"op": "parse_dates", "columns": ["d"], "dayfirst": False, "allow_missing": True},
    )
    assert "3 different formats" in found["message"]
    assert "1 value not dates" in found["message"]


@pytest.mark.parametrize(("outliers", "severity"), [(0, None), (1, "low"), (5, "low"),
                                                     (6, "medium")])  # fmt: skip
def test_outlier_severity(outliers, severity):
    values = [float(v % 10) for v in range(100 - outliers)] + [1000.0] * outliers
    found = issues_of(compute_profile(pd.DataFrame({"x": values})), "outliers")
    assert [i["severity"] for i in found] == ([severity] if severity else [])
    if found:
        assert f"{outliers:,} outlier" in found[0]["message"]
        assert found[0]["fix"] == {
            "op": "remove_outliers",
            "columns": ["x"],
            "method": "iqr",
            "k": 1.5,
        }


def test_issues_come_most_severe_first():
    df = pd.DataFrame({"gone": [np.nan] * 10, "x": [1.0] * 9 + [50.0], "k": range(10)})
    severities = [i["severity"] for i in compute_profile(df).issues]
    order = {"high": 0, "medium": 1, "low": 2}
    assert severities == sorted(severities, key=order.get)
    assert severities[0] == "high"


# --- quality score ------------------------------------------------------------------------


def test_quality_score_formula():
    df = pd.DataFrame(
        {
            "a": [1.0, np.nan, 3.0, 4.0, 1.0],
            "same": ["c"] * 5,
            "mixed": pd.Series([1, "x", 2, "y", 1], dtype=object),
            "b": ["p", "q", None, "s", "p"],
        }
    )
    o = compute_profile(df).overview
    # Row 4 copies row 0. Distinct rows 0-3, varying columns a, mixed, b: 2 of 12 cells are
    # missing, and 2 more ('x', 'y') would be by the suggested conversion of 'mixed'.
    assert o["quality_parts"] == {
        "missing": round(100 * 4 / 12, 2),
        "duplicates": 20.0,
        "constant_columns": 5.0,
        "mixed_types": 5.0,
    }
    assert o["quality_score"] == round(100 - sum(o["quality_parts"].values()), 1)
    assert "100 − min(40" in o["quality_formula"]


def test_quality_penalties_are_capped():
    n = 40
    df = pd.DataFrame({f"c{i}": [0] * n for i in range(5)} | {"gone": [np.nan] * n})
    df["half"] = [np.nan, 1.0] * (n // 2)
    df = pd.concat([df, df], ignore_index=True)
    o = compute_profile(df).overview
    assert o["quality_parts"]["constant_columns"] == 15.0
    assert o["quality_parts"]["duplicates"] <= 20.0
    assert 0 <= o["quality_score"] <= 100


def score(df: pd.DataFrame) -> float:
    return compute_profile(df).overview["quality_score"]


def messy_frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 60
    df = pd.DataFrame(
        {
            "a": np.where(rng.random(n) < 0.4, np.nan, rng.integers(0, 3, n)),
            "b": pd.Series(rng.choice(["x", "y", None], n), dtype="str"),
            "c": pd.Categorical(rng.choice(["u", "v"], n)),
            "empty": [np.nan] * n,
            "const": ["k"] * n,
            "const2": [3] * n,
        }
    )
    # Complete rows copied many times: removing them raises the share of missing cells.
    complete = df.dropna(subset=["a", "b"]).head(3)
    return pd.concat([df, *[complete] * 10], ignore_index=True).sample(frac=1, random_state=seed)


def test_the_suggested_conversion_of_mixed_values_does_not_lower_the_score():
    mixed = pd.Series([1] * 55 + [f"t{i}" for i in range(45)], dtype=object)
    mostly = pd.Series(["1", "2.5", "3", "4", "5", "6", "7", "unknown", "?", "x"] * 10)
    for column in (mixed, mostly):
        df = pd.DataFrame({"v": column, "k": range(100)})
        profile = compute_profile(df)
        (fix,) = [i["fix"] for i in profile.issues if i["column"] == "v"]
        cleaned = compute_profile(apply_steps(df, [fix]).frame)
        assert cleaned.overview["quality_score"] >= profile.overview["quality_score"]
    # the values that are not numbers count as missing before (30 % of one of two columns)
    assert profile.overview["quality_score"] == 85.0


@pytest.mark.parametrize("seed", range(6))
def test_cleaning_never_lowers_the_score(seed):
    df = messy_frame(seed)
    before = score(df)
    assert score(df.drop_duplicates()) >= before
    assert score(df.drop(columns=["empty"])) >= before
    assert score(df.drop(columns=["const"])) >= before
    assert score(df.drop(columns=["const", "const2", "empty"]).drop_duplicates()) >= before
    assert score(df.drop_duplicates().drop(columns=["const"])) >= score(df.drop_duplicates())


# --- distributions ------------------------------------------------------------------------


def test_histogram_counts_sum_to_present_values():
    rng = np.random.default_rng(0)
    values = np.where(rng.random(1000) < 0.1, np.nan, rng.normal(size=1000))
    d = distribution(pd.DataFrame({"x": values}), "x", bins=25)
    assert d["kind"] == "histogram"
    assert (len(d["edges"]), len(d["counts"])) == (26, 25)
    assert sum(d["counts"]) == 1000 - d["missing"]
    expected, edges = np.histogram(values[~np.isnan(values)], bins=25)
    assert d["counts"] == expected.tolist() and d["edges"] == pytest.approx(edges.tolist())


def test_histogram_of_small_integer_range_has_one_bin_per_value():
    s = pd.Series([1, 2, 2, 3, 3, 3, None], dtype="Int8")
    d = distribution(s.to_frame("x"), "x")
    assert d["edges"] == [0.5, 1.5, 2.5, 3.5] and d["counts"] == [1, 2, 3]
    assert d["missing"] == 1


def test_bar_distribution_keeps_top_20_and_sums_the_rest():
    values = [f"v{i}" for i in range(30) for _ in range(30 - i)] + [None] * 4
    d = distribution(pd.DataFrame({"t": pd.Series(values, dtype="str")}), "t")
    assert d["kind"] == "bar"
    assert d["values"][:2] == ["v0", "v1"] and d["counts"][:2] == [30, 29]
    assert len(d["values"]) == 20
    assert d["other"] == sum(range(1, 11)) and d["missing"] == 4
    flags = distribution(pd.DataFrame({"b": [True, False, True]}), "b")
    assert (flags["kind"], flags["values"], flags["counts"]) == ("bar", [True, False], [2, 1])


@pytest.mark.parametrize(
    ("days", "freq"), [(150, "D"), (1000, "W"), (3000, "M"), (30_000, "Y"), (100_000, "2Y")]
)
def test_timeline_picks_a_frequency_with_at_most_200_points(days, freq):
    when = pd.Series(pd.to_datetime("1900-01-03") + pd.to_timedelta(np.arange(days), "D"))
    d = distribution(pd.DataFrame({"w": when.astype("datetime64[ms]")}), "w")
    assert (d["kind"], d["freq"]) == ("timeline", freq)
    assert len(d["periods"]) <= 200 and sum(d["counts"]) == days
    assert d["periods"][0] <= "1900-01-03"


def test_timeline_counts_per_week_start_on_monday_and_include_empty_weeks():
    when = pd.to_datetime(["2024-01-01", "2024-01-07", "2024-01-08"] + ["2025-12-31"])
    d = distribution(pd.DataFrame({"w": when}), "w")
    assert d["freq"] == "W"
    assert d["periods"][:2] == ["2024-01-01", "2024-01-08"] and d["counts"][:2] == [2, 1]
    assert d["counts"][2] == 0 and sum(d["counts"]) == 4


def test_distribution_errors():
    df = pd.DataFrame({"x": [1, 2]})
    with pytest.raises(InvalidParameter, match=r"^There is no column 'y' in this dataset\.$"):
        distribution(df, "y")
    with pytest.raises(InvalidParameter):
        distribution(df, "x", bins=0)


def test_distribution_of_empty_and_all_missing_columns():
    df = pd.DataFrame({"x": [np.nan, np.nan], "t": pd.Series([None, None], dtype="str")})
    assert distribution(df, "x")["counts"] == []
    assert distribution(df, "t")["values"] == [] and distribution(df, "t")["missing"] == 2
    empty = pd.DataFrame({"d": pd.Series([], dtype="datetime64[ms]")})
    assert distribution(empty, "d")["periods"] == []


def test_distributions_stay_small_for_a_million_rows():
    n = 1_000_000
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "ids": pd.Series(rng.integers(0, 10**12, n).astype(str), dtype="str"),
            "when": pd.Series(rng.integers(0, 2 * 10**12, n).astype("datetime64[ms]")),
        }
    )
    started = time.perf_counter()
    for name in df.columns:
        assert len(to_json(distribution(df, name, bins=200))) < 200_000
    assert time.perf_counter() - started < 3


# --- correlations -------------------------------------------------------------------------


def test_pearson_equals_pandas_with_missing_values():
    rng = np.random.default_rng(2)
    n = 500
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "x": x,
            "y": np.where(rng.random(n) < 0.2, np.nan, 2 * x + rng.normal(size=n)),
            "z": pd.array(np.where(rng.random(n) < 0.3, None, rng.integers(0, 50, n)), "Int32"),
            "w": (x * -1 + 1e6).astype("float32"),
            "flag": rng.random(n) < 0.5,  # booleans are left out
            "t": ["a"] * n,
        }
    )
    result = correlations(df)
    assert result["columns"] == ["x", "y", "z", "w"] and not result["capped"]
    expected = df[result["columns"]].astype("float64").corr()
    assert np.array(result["matrix"]) == pytest.approx(expected.to_numpy(), abs=1e-6)


def test_spearman_equals_pandas():
    rng = np.random.default_rng(4)
    x = rng.normal(size=300)
    df = pd.DataFrame({"x": x, "y": np.exp(x) + rng.normal(0, 0.1, 300), "z": rng.random(300)})
    result = correlations(df, method="spearman")
    expected = df.corr(method="spearman").to_numpy()
    assert np.array(result["matrix"]) == pytest.approx(expected, abs=1e-6)


def test_correlations_are_capped_to_the_most_variable_columns():
    rng = np.random.default_rng(6)
    n = 200
    # Column c<i> has mean 100 and standard deviation i + 1: the coefficient of variation
    # grows with i, so the last 30 are the most variable.
    df = pd.DataFrame({f"c{i}": 100 + (i + 1) * rng.standard_normal(n) for i in range(40)})
    result = correlations(df)
    assert result["capped"] and result["candidates"] == 40
    assert result["columns"] == [f"c{i}" for i in range(10, 40)]
    assert len(result["matrix"]) == 30
    assert len(correlations(df, max_columns=5)["columns"]) == 5
    assert compute_profile(df).correlations["columns"] == result["columns"]
    # the heatmap says that it shows a selection
    title = correlation_figure(result).layout.title.text
    assert title == "Pearson correlation: the 30 most variable of 40 numeric columns"
    assert correlation_figure(correlations(df.iloc[:, :5])).layout.title.text == (
        "Pearson correlation"
    )


def test_missing_figure_of_wide_data_shows_the_worst_columns_and_stays_small():
    rng = np.random.default_rng(8)
    wide = pd.DataFrame(rng.random((50, 5_000)), columns=[f"c{i}" for i in range(5_000)])
    wide = wide.mask(wide < np.linspace(0.01, 0.5, 5_000))
    gaps = int(wide.isna().any().sum())
    assert gaps > 4_000
    fig = missing_figure(compute_profile(wide).missing)
    assert len(fig.to_json()) < 200_000
    assert len(fig.data[0].x) == MISSING_BARS
    assert (
        fig.layout.title.text
        == f"Missing values: the {MISSING_BARS} worst of {gaps:,} columns with gaps"
    )
    assert fig.data[0].x[0] == wide.isna().mean().idxmax()


def test_strongest_pairs_are_ordered_by_absolute_correlation():
    rng = np.random.default_rng(8)
    base = rng.normal(size=400)
    noise = rng.normal(size=(400, 3))
    df = pd.DataFrame(
        {
            "a": base,
            "b": base + 0.1 * noise[:, 0],  # r ~ 0.995
            "c": -base + 0.5 * noise[:, 1],  # r ~ -0.9
            "d": noise[:, 2],
        }
    )
    strongest = correlations(df)["strongest"]
    assert len(strongest) == 6
    assert (strongest[0]["a"], strongest[0]["b"]) == ("a", "b")
    magnitudes = [abs(p["r"]) for p in strongest]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert strongest[0]["r"] == pytest.approx(df["a"].corr(df["b"]), abs=1e-6)
    assert any(p["r"] < -0.8 for p in strongest[:3])


def test_correlations_leave_out_constant_identifier_and_sparse_columns():
    n = 30
    df = pd.DataFrame(
        {
            "x": np.arange(n, dtype=float),
            "y": np.arange(n, dtype=float) ** 2,
            "flat": [1.0] * n,
            "order_id": np.arange(n),
            "lonely": [1.0] + [np.nan] * (n - 1),
        }
    )
    assert correlations(df)["columns"] == ["x", "y"]
    with pytest.raises(InvalidParameter):
        correlations(df, method="kendall")
    with pytest.raises(InvalidParameter):
        compute_profile(df, correlation="kendall")


# --- missing values -----------------------------------------------------------------------


def test_missing_pattern():
    df = pd.DataFrame(
        {
            "a": [1, None, None, 4, 5, None],
            "b": ["x", None, "y", "z", None, None],
            "c": [1, 2, 3, 4, 5, 6],
        }
    )
    m = compute_profile(df).missing
    assert m["by_column"] == [
        {"column": "a", "missing": 3, "pct": 50.0},
        {"column": "b", "missing": 3, "pct": 50.0},
        {"column": "c", "missing": 0, "pct": 0.0},
    ]
    assert m["pattern"]["columns"] == ["a", "b"]
    assert m["pattern"]["rows"] == [
        {"pattern": [0, 0], "count": 2},  # ties: fewer / earlier missing columns first
        {"pattern": [1, 1], "count": 2},
        {"pattern": [1, 0], "count": 1},
        {"pattern": [0, 1], "count": 1},
    ]


def test_missing_pattern_keeps_the_10_worst_columns_and_15_patterns():
    rng = np.random.default_rng(9)
    n = 2000
    df = pd.DataFrame({f"c{i}": np.where(rng.random(n) < 0.05 * (i + 1), np.nan, 1.0)
                       for i in range(14)})  # fmt: skip
    pattern = compute_profile(df).missing["pattern"]
    assert pattern["columns"] == [f"c{i}" for i in range(13, 3, -1)]
    assert len(pattern["rows"]) == 15
    assert sum(r["count"] for r in pattern["rows"]) + pattern["other_rows"] == n


# --- edge cases and round trip ------------------------------------------------------------


def test_empty_frame_single_row_and_no_columns():
    empty = compute_profile(varied_frame().iloc[:0])
    assert empty.overview["rows"] == 0
    assert [i["kind"] for i in empty.issues] == ["no_rows"]
    to_json(empty.to_dict())
    one = compute_profile(varied_frame().iloc[:1])
    assert one.overview["duplicate_rows"] == 0
    assert issues_of(one, "constant") == []
    assert all(c["unique"] <= 1 for c in one.columns)
    to_json(one.to_dict())
    none = compute_profile(pd.DataFrame(index=range(3)))
    assert (none.overview["columns"], none.overview["quality_score"]) == (0, 100.0)


def test_all_missing_columns_of_every_kind():
    n = 5
    df = pd.DataFrame(
        {
            "f": [np.nan] * n,
            "i": pd.array([None] * n, dtype="Int64"),
            "s": pd.Series([None] * n, dtype="str"),
            "o": pd.Series([None] * n, dtype=object),
            "c": pd.Categorical([None] * n),
            "b": pd.array([None] * n, dtype="boolean"),
            "d": pd.Series([None] * n, dtype="datetime64[ms]"),
        }
    )
    p = compute_profile(df)
    assert all(c["missing_pct"] == 100.0 and c["unique"] == 0 for c in p.columns)
    assert {i["column"] for i in issues_of(p, "missing")} == set(df.columns)
    assert all(i["severity"] == "high" for i in issues_of(p, "missing"))
    to_json(p.to_dict())
    for name in df.columns:
        to_json(distribution(df, name))


def test_duplicate_and_non_text_column_names():
    df = pd.DataFrame([[1, 2, "a"], [3, 4, "b"]], columns=["x", "x", 7])
    p = compute_profile(df)
    assert [c["name"] for c in p.columns] == ["x", "x", "7"]
    assert distribution(df, "7")["kind"] == "bar"


def test_profile_json_round_trip():
    p = compute_profile(varied_frame(), dataset_version=3, correlation="spearman")
    text = json.dumps(p.to_dict(), allow_nan=False)
    back = Profile.from_dict(json.loads(text))
    assert back == p and back.dataset_version == 3
    with pytest.raises(ValueError):
        Profile.from_dict({"overview": {}})


def test_progress_is_reported_per_phase():
    calls = []
    compute_profile(varied_frame(), progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [
        "columns",
        "duplicates",
        "quality",
        "correlations",
        "missing",
        "done",
    ]
    assert calls[0][1:] == (0.0, 5) and calls[-1][1:] == (5.0, 5)


def test_profile_size_does_not_grow_with_rows():
    small = len(to_json(compute_profile(varied_frame(200)).to_dict()))
    large = len(to_json(compute_profile(varied_frame(20_000)).to_dict()))
    assert large < 1.2 * small + 2_000 and large < 50_000


# --- streaming statistics -----------------------------------------------------------------


def test_streaming_stats_equal_pandas_over_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(_profile_stream, "BATCH_ROWS", 3_000)  # batches straddle row groups
    df = varied_frame(20_000, seed=11)
    df["f64"] = df["f64"] * 1e6 + 1e9  # large offset: a naive sum of squares would cancel
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=8_192)
    assert pq.ParquetFile(path).num_row_groups == 3
    stats = {s["name"]: s for s in streaming_column_stats(path)}
    assert list(stats) == list(df.columns)
    for name in ("i8", "u16", "f32", "f64", "nint"):
        s, expected = stats[name], df[name].astype("float64")
        assert (s["rows"], s["missing"]) == (20_000, int(expected.isna().sum()))
        assert s["min"] == expected.min() and s["max"] == expected.max()
        assert s["mean"] == pytest.approx(expected.mean(), rel=1e-12)
        assert s["std"] == pytest.approx(expected.std(), rel=1e-9)
    assert stats["flag"]["mean"] == pytest.approx(df["flag"].mean())
    assert stats["nflag"]["missing"] == int(df["nflag"].isna().sum())
    assert stats["cat"]["min"] == "blue" and stats["cat"]["max"] == "red"
    assert stats["cat"]["missing"] == int(df["cat"].isna().sum())
    assert stats["when"]["min"] == df["when"].min().isoformat()
    assert stats["when"]["max"] == df["when"].max().isoformat()
    assert stats["text"]["mean"] is None
    to_json(list(stats.values()))


def test_streaming_stats_choose_columns_and_reject_unknown_ones(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": [1.0, np.nan, np.inf], "b": ["x", None, "y"]}), path)
    (a,) = streaming_column_stats(path, columns=["a"])
    assert (a["rows"], a["missing"], a["infinite"], a["mean"], a["std"]) == (3, 1, 1, 1.0, None)
    with pytest.raises(InvalidParameter, match="no column 'zz'"):
        streaming_column_stats(path, columns=["zz"])
    with pytest.raises(DataLoadError):
        streaming_column_stats(tmp_path / "missing.parquet")


def test_duplicates_are_exact_even_where_row_hashes_agree():
    # Row hashes read an object column as text: 1 and "1" hash alike but are not equal.
    df = pd.DataFrame({"o": pd.Series([1, "1", 1, 2.0, 2], dtype=object), "k": [0] * 5})
    assert compute_profile(df).overview["duplicate_rows"] == 2  # 1 == 1 and 2 == 2.0
    lists = pd.DataFrame({"o": pd.Series([[1], [1], [2]], dtype=object)})
    assert compute_profile(lists).overview["duplicate_rows"] == 1


def test_every_suggested_fix_is_a_step_the_cleaning_accepts_and_it_fixes_the_issue():
    from dashboard.cleaning._apply import apply_steps, validate_steps

    df = pd.DataFrame(
        {
            "n": pd.Series(["1.234,5", "2,25", "3"] * 10 + ["oops"], dtype="str"),
            "d": ["13/02/2024", "03/04/2024", "01/12/2023"] * 10 + [None],
            "m": pd.Series([1, 2.5, "3", "n/a"] * 7 + ["x", 5, 6], dtype=object),
            "gap": [1.0, None, 3.0] * 10 + [None],
            "label": pd.Categorical(["a", None, "b"] * 10 + ["a"]),
            "big": [float(i % 7) for i in range(30)] + [1e9],
        }
    )
    fixes = [i["fix"] for i in compute_profile(df).issues if i.get("fix")]
    kinds = {i["kind"] for i in compute_profile(df).issues if i.get("fix")}
    assert {"numbers_as_text", "dates_as_text", "mixed_types", "missing", "outliers"} <= kinds
    for fix in fixes:
        steps = validate_steps(df, [fix])  # raises InvalidParameter for a malformed fix
        assert steps[0]["op"] == fix["op"]
    dates = next(f for f in fixes if f["op"] == "parse_dates")
    parsed = apply_steps(df, validate_steps(df, [dates])).frame["d"]
    # 13/02 proves the column day-first: 03/04/2024 is the 3rd of April, not March 4th
    assert list(parsed[:3].dt.strftime("%Y-%m-%d")) == ["2024-02-13", "2024-04-03", "2023-12-01"]
