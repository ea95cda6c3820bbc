import datetime
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.data._optimize import (
    ROW_GROUP_ROWS,
    OptimizationReport,
    optimize_frame,
    optimize_parquet,
)
from dashboard.errors import DataLoadError, InvalidParameter


def assert_same_values(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """Every value is unchanged, exactly (no float tolerance); categories compare as values.

    Missing values compare equal whatever their spelling (None, NaN, NA, NaT); a
    ``datetime.date`` equals the midnight timestamp of its day (nothing else does).
    """
    assert before.columns.equals(after.columns)
    assert before.index.equals(after.index)
    for i in range(before.shape[1]):
        left = before.iloc[:, i].astype(object).to_numpy()
        right = after.iloc[:, i].astype(object).to_numpy()
        missing = pd.isna(left)
        assert (missing == pd.isna(right)).all(), before.columns[i]
        pairs = zip(left[~missing], right[~missing], strict=True)
        assert all(_same(a, b) for a, b in pairs), before.columns[i]


def _same(a, b) -> bool:
    if type(a) is datetime.date and isinstance(b, pd.Timestamp):
        return pd.Timestamp(a) == b  # a date held in a datetime64 column
    return a == b


def optimized_dtype(values, dtype=None, **kwargs) -> str:
    before = pd.DataFrame({"x": pd.Series(values, dtype=dtype)})
    after, _ = optimize_frame(before, **kwargs)
    assert_same_values(before, after)
    return str(after["x"].dtype)


def mixed_frame(n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "small": rng.integers(-100, 100, n),
            "count": rng.integers(0, 250, n),
            "wide": rng.integers(-3_000, 3_000, n),
            "id": np.arange(n) * 2**33,
            "whole": rng.integers(0, 100, n).astype(float),
            "quarters": rng.integers(0, 40, n) / 4,
            "noise": rng.random(n),
            "gappy": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 8, n) / 2),
            "colour": rng.choice(["red", "green", "blue"], n),
            "code": [f"c{i}" for i in range(n)],
            "level": pd.Series(rng.choice(["lo", "hi", None], n), dtype="str"),
            "flag": rng.random(n) < 0.5,
            "maybe": pd.Series([True, None] * (n // 2), dtype=object),
            "score": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 50, n)), "Int64"),
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
            "day": pd.Series(
                [datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 400) for i in range(n)],
                dtype=object,
            ).where(rng.random(n) >= 0.05),
        }
    )


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        ([-128, 127], "int64", "int8"),
        ([-129, 0], "int64", "int16"),
        ([0, 127], "int64", "int8"),
        ([0, 255], "int64", "uint8"),
        ([0, 256], "int64", "int16"),
        ([-32_768, 32_767], "int64", "int16"),
        ([0, 65_535], "int64", "uint16"),
        ([-(2**31), 2**31 - 1], "int64", "int32"),
        ([0, 2**32 - 1], "int64", "uint32"),
        ([-1, 2**31], "int64", "int64"),
        ([0, 2**64 - 1], "uint64", "uint64"),
        ([1, 2], "int8", "int8"),
        ([0, 300], "int32", "int16"),
    ],
)
def test_opt001_integers_take_the_smallest_type(values, dtype, expected):
    assert optimized_dtype(values, dtype) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.1, 0.2], "float64"),
        ([0.5, 1.25, -3.75], "float32"),
        ([1e39, 0.5], "float64"),
        ([0.5, np.inf], "float32"),
        ([1.0, 2.0, 300.0], "int16"),
        ([-0.0, 1.0], "int8"),
        ([1.0, np.nan], "float32"),
        ([0.1, np.nan], "float64"),
        ([np.nan, np.nan], "float32"),
        ([1.0, 2.0**40 + 1], "float64"),
        ([1.0, 2.0**40], "float32"),
    ],
)
def test_opt002_floats_shrink_only_when_lossless(values, expected):
    assert optimized_dtype(values, "float64") == expected


def test_opt003_float32_input_stays_unless_whole():
    assert optimized_dtype([0.5, 1.5], "float32") == "float32"
    assert optimized_dtype([1.0, 2.0], "float32") == "int8"


def test_opt004_masked_dtypes_stay_masked():
    assert optimized_dtype([1, None, 300], "Int64") == "Int16"
    assert optimized_dtype([1, None, 200], "Int64") == "UInt8"
    assert optimized_dtype([0.5, None], "Float64") == "Float32"
    assert optimized_dtype([True, None], "boolean") == "boolean"


@pytest.mark.parametrize("dtype", ["str", object])
@pytest.mark.parametrize(("n_distinct", "expected"), [(4, "category"), (5, None), (6, None)])
def test_opt005_category_threshold_is_strict(dtype, n_distinct, expected):
    # 10 non-null values and 2 missing ones: the limit is 0.5 * 10 = 5 distinct values.
    values = [f"v{i % n_distinct}" for i in range(10)] + [None, None]
    result = optimized_dtype(values, dtype)
    assert result == (expected or str(pd.Series(values, dtype=dtype).dtype))


def test_opt006_category_needs_two_rows_and_respects_limits():
    assert optimized_dtype(["a"], "str") == "str"
    assert optimized_dtype(["a", "a"], "str") == "str"  # 1 distinct is not < 0.5 * 2
    assert optimized_dtype(["a", "a", "a"], "str") == "category"
    assert optimized_dtype(["a", "b"] * 5, "str", category_max_unique_ratio=0.1) == "str"
    assert optimized_dtype(["a", "b", "c"] * 5, "str", max_categories=2) == "str"


def test_opt007_object_columns_of_bools():
    assert optimized_dtype([True, False, True], object) == "bool"
    assert optimized_dtype([True, None, False], object) == "boolean"
    assert optimized_dtype([True, np.nan, pd.NA], object) == "boolean"
    assert optimized_dtype([None, None], object) == "object"
    assert optimized_dtype([1, 0, 1], object) == "object"
    assert optimized_dtype([True, False], "bool") == "bool"
    assert optimized_dtype(["a", 1, "a", "a"], object) == "object"


def test_opt008_values_unchanged_and_input_untouched():
    df = mixed_frame()
    copy = df.copy()
    after, _ = optimize_frame(df)
    pd.testing.assert_frame_equal(df, copy)
    assert_same_values(df, after)
    assert after.dtypes.astype(str).to_dict() == {
        "small": "int8",
        "count": "uint8",
        "wide": "int16",
        "id": "int64",
        "whole": "int8",
        "quarters": "float32",
        "noise": "float64",
        "gappy": "float32",
        "colour": "category",
        "code": "str",
        "level": "category",
        "flag": "bool",
        "maybe": "boolean",
        "score": "Int8",
        "when": "datetime64[us]",
        "day": "datetime64[ms]",
    }


def test_opt009_report_matches_memory_usage():
    df = mixed_frame(500)
    after, report = optimize_frame(df)
    assert report.bytes_before == df.memory_usage(deep=True, index=False).sum()
    assert report.bytes_after == after.memory_usage(deep=True, index=False).sum()
    assert [c.column for c in report.columns] == list(df.columns)
    assert report.saved_bytes == report.bytes_before - report.bytes_after > 0
    assert report.saved_pct == pytest.approx(100 * report.saved_bytes / report.bytes_before)
    assert 0 < report.saved_pct < 100
    summary = json.loads(json.dumps(report.to_dict()))
    assert summary["saved_bytes"] == report.saved_bytes
    assert {c["column"] for c in summary["columns"]} == set(df.columns)
    assert {c.column for c in report.changed} >= {"small", "colour", "score"}
    assert OptimizationReport((), 0, 0).saved_pct == 0.0


def test_opt010_invalid_ratio_is_rejected():
    with pytest.raises(InvalidParameter, match="ratio"):
        optimize_frame(pd.DataFrame({"x": [1]}), category_max_unique_ratio=0)


def test_opt011_parquet_matches_frame_decisions(tmp_path):
    src, dest = tmp_path / "src.parquet", tmp_path / "dest.parquet"
    mixed_frame(3_000).to_parquet(src, row_group_size=700)
    assert pq.ParquetFile(src).num_row_groups == 5
    calls = []
    report = optimize_parquet(src, dest, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 10) for i in range(1, 11)]

    source = pd.read_parquet(src)
    in_memory, frame_report = optimize_frame(source)
    streamed = pd.read_parquet(dest)
    assert streamed.dtypes.to_dict() == in_memory.dtypes.to_dict()
    pd.testing.assert_frame_equal(streamed, in_memory)
    assert_same_values(source, streamed)
    assert [(c.dtype_before, c.dtype_after) for c in report.columns] == [
        (c.dtype_before, c.dtype_after) for c in frame_report.columns
    ]
    # Output row groups hold ROW_GROUP_ROWS rows whatever the source's row groups.
    assert pq.ParquetFile(dest).num_row_groups == 1


def test_opt012_parquet_size_estimate_within_15_percent(tmp_path):
    src, dest = tmp_path / "src.parquet", tmp_path / "dest.parquet"
    mixed_frame(3_000).to_parquet(src, row_group_size=1_000)
    report = optimize_parquet(src, dest)
    before = pd.read_parquet(src).memory_usage(deep=True, index=False).sum()
    after = pd.read_parquet(dest).memory_usage(deep=True, index=False).sum()
    assert report.bytes_before == pytest.approx(before, rel=0.15)
    assert report.bytes_after == pytest.approx(after, rel=0.15)


def test_opt013_parquet_without_pandas_metadata_and_in_place(tmp_path):
    path = tmp_path / "plain.parquet"
    table = pa.table(
        {
            "gaps": pa.array([1, None, 3] * 10),
            "huge": pa.array([2**40 + 1, None, 1] * 10),
            "text": pa.array(["x", "y", None] * 10, pa.large_string()),
            "const": pa.array([5] * 30),
        }
    )
    pq.write_table(table, path, row_group_size=7)
    source = table.to_pandas()
    expected, _ = optimize_frame(source)
    optimize_parquet(path, path)
    result = pd.read_parquet(path)
    assert result.dtypes.astype(str).tolist() == ["float32", "float64", "category", "int8"]
    assert result.dtypes.to_dict() == expected.dtypes.to_dict()
    assert_same_values(source, result)
    assert list(tmp_path.iterdir()) == [path]


def test_opt014_parquet_keeps_a_stored_index(tmp_path):
    src, dest = tmp_path / "src.parquet", tmp_path / "dest.parquet"
    df = pd.DataFrame({"x": [1, 2, 3]}, index=pd.Index([10, 20, 30], name="key"))
    df.to_parquet(src)
    report = optimize_parquet(src, dest)
    result = pd.read_parquet(dest)
    assert result.index.equals(df.index)
    assert [c.column for c in report.columns] == ["x"]
    assert str(result["x"].dtype) == "int8"


def test_opt015_unreadable_parquet_is_a_load_error(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(DataLoadError, match="bad.parquet.*not a readable Parquet"):
        optimize_parquet(bad, tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_opt016_value_helper_catches_float32_rounding():
    before = pd.DataFrame({"x": [0.1, 0.2]})
    with pytest.raises(AssertionError):
        assert_same_values(before, before.astype("float32"))
    assert_same_values(before, before.astype("float64"))


def test_opt017_frame_dates_and_nullable_bools():
    day = datetime.date(2024, 2, 29)
    before = pd.DataFrame(
        {
            "day": pd.Series([day, None, datetime.date(1, 1, 1), np.nan], dtype=object),
            "flag": pd.Series([True, None, False, np.nan], dtype=object),
            "stamp": pd.Series([day, datetime.datetime(2024, 1, 1, 3), None, day], dtype=object),
        }
    )
    after, report = optimize_frame(before)
    assert_same_values(before, after)
    assert after.dtypes.astype(str).to_dict() == {
        "day": "datetime64[ms]",
        "flag": "boolean",
        "stamp": "object",  # a datetime among the dates: not only dates, left alone
    }
    assert after["day"].iloc[0] == pd.Timestamp("2024-02-29")
    assert after["day"].isna().tolist() == [False, True, False, True]
    assert after["flag"].tolist() == [True, pd.NA, False, pd.NA]
    changed = {c.column: (c.dtype_before, c.dtype_after) for c in report.changed}
    assert changed == {"day": ("object", "datetime64[ms]"), "flag": ("object", "boolean")}
    assert all(c.bytes_after < c.bytes_before for c in report.changed)


def ingest_like_table(n: int) -> pa.Table:
    """A table as ingest writes it: no pandas metadata, dates as date32, bools with nulls."""
    rng = np.random.default_rng(3)
    days = rng.integers(0, 3_000, n).astype("datetime64[D]").astype(object)
    day_gaps = rng.random(n) < 0.1
    flag_gaps = rng.random(n) < 0.2
    return pa.table(
        {
            "id": pa.array(np.arange(n)),
            "day": pa.array(days, pa.date32(), mask=day_gaps),
            "full_day": pa.array(days, pa.date32()),
            "flag": pa.array(rng.random(n) < 0.5, mask=flag_gaps),
            "solid": pa.array(rng.random(n) < 0.5),
            "colour": pa.array(rng.choice(["red", "green", "blue"], n)),
        }
    )


def write_arrow(table: pa.Table, path, chunk: int) -> None:
    with pa.ipc.new_file(str(path), table.schema) as writer:
        writer.write_table(table, max_chunksize=chunk)


EXPECTED_DTYPES = {
    "id": "int16",
    "day": "datetime64[ms]",
    "full_day": "datetime64[ms]",
    "flag": "boolean",
    "solid": "bool",
    "colour": "category",
}


@pytest.mark.parametrize("kind", ["parquet", "arrow"])
def test_opt018_dates_and_nullable_bools_from_files(tmp_path, kind):
    n = 20_000
    table = ingest_like_table(n)
    src, dest = tmp_path / f"src.{kind}", tmp_path / "dest.parquet"
    if kind == "parquet":
        pq.write_table(table, src, row_group_size=3_000)
    else:
        write_arrow(table, src, chunk=3_000)
    calls = []
    report = optimize_parquet(src, dest, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1][0] == calls[-1][1] and len(calls) == calls[-1][1]

    source = table.to_pandas()  # dates as datetime.date objects, bools with nulls as objects
    result = pd.read_parquet(dest)
    assert result.dtypes.astype(str).to_dict() == EXPECTED_DTYPES
    assert isinstance(result.index, pd.RangeIndex) and list(result.columns) == table.column_names
    assert_same_values(source, result)
    in_memory, _ = optimize_frame(source)
    pd.testing.assert_frame_equal(result, in_memory)

    changed = {c.column: (c.dtype_before, c.dtype_after) for c in report.changed}
    assert changed["day"] == ("object", "datetime64[ms]")
    assert changed["full_day"] == ("object", "datetime64[ms]")
    assert changed["flag"] == ("object", "boolean")
    assert "solid" not in changed
    assert report.bytes_before == pytest.approx(source.memory_usage(deep=True).sum(), rel=0.15)
    assert report.bytes_after == pytest.approx(result.memory_usage(deep=True).sum(), rel=0.15)

    metadata = pq.ParquetFile(dest).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, n - 2 * ROW_GROUP_ROWS]


def test_opt019_arrow_source_keeps_pandas_metadata_and_equals_parquet_source(tmp_path):
    df = mixed_frame(3_000)
    table = pa.Table.from_pandas(df, preserve_index=False)
    write_arrow(table, tmp_path / "src.arrow", chunk=1_000)
    df.to_parquet(tmp_path / "src.parquet", row_group_size=1_000, index=False)
    from_arrow = optimize_parquet(tmp_path / "src.arrow", tmp_path / "a.parquet")
    from_parquet = optimize_parquet(tmp_path / "src.parquet", tmp_path / "p.parquet")
    assert from_arrow == from_parquet
    a, p = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "p.parquet")
    pd.testing.assert_frame_equal(a, p)
    assert str(a["maybe"].dtype) == "boolean" and str(a["day"].dtype) == "datetime64[ms]"
    assert_same_values(df, a)


def test_opt020_damaged_arrow_file_is_a_load_error(tmp_path):
    bad = tmp_path / "bad.arrow"
    bad.write_bytes(b"ARROW1\x00\x00 not really")
    with pytest.raises(DataLoadError, match="bad.arrow.*not a readable"):
        optimize_parquet(bad, tmp_path / "out.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.arrow"]
