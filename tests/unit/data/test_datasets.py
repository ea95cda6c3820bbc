import numpy as np
import pandas as pd
import pytest

from dashboard.data import _datasets as datasets
from dashboard.errors import DataLoadError, InvalidParameter
from dashboard.settings import Settings
from dashboard.store._store import DatasetStore

SESSION = "session-a"
THRESHOLD, SAMPLE = 50, 20


@pytest.fixture
def small_settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "jobs",
        sample_threshold_rows=THRESHOLD,
        sample_rows=SAMPLE,
        secret_key="k",
        environment="development",
    )


@pytest.fixture
def store(small_settings) -> DatasetStore:
    s = DatasetStore(small_settings.store_dir)
    yield s
    s.close()


def write_csv(path, rows: int):
    """Write ``rows`` rows: id, segment (60 % A, 30 % B, 10 % C), score with gaps."""
    segment = np.array(["A"] * 6 + ["B"] * 3 + ["C"])[np.arange(rows) % 10]
    score = np.round(np.arange(rows) * 0.5, 1).astype(object)
    score[::4] = None  # a quarter missing
    frame = pd.DataFrame({"id": np.arange(rows), "segment": segment, "score": score})
    frame.to_csv(path, index=False)
    return path


def load(store, settings, path, session=SESSION):
    return datasets.load_file(store, session, path, settings=settings, filename=path.name)


def data_state(store, session=SESSION):
    """(key, version) of ``data`` and ``data_full``, or None for a missing one."""
    return tuple(
        (info.key, info.version) if info else None
        for info in (store.info_by_name(session, n) for n in ("data", "data_full"))
    )


def scratch_files(store):
    return sorted(p.name for p in (store.root / "tmp").iterdir())


def test_ds001_small_file_becomes_data_only(store, small_settings, tmp_path):
    active = load(store, small_settings, write_csv(tmp_path / "small.csv", 10))
    assert (active.rows, active.rows_full, active.columns, active.sampled) == (10, 10, 3, False)
    assert active.full_key is None
    assert store.info_by_name(SESSION, "data_full") is None
    data = store.read_frame(SESSION, active.data_key)
    assert data["id"].tolist() == list(range(10))
    meta = store.info(SESSION, active.data_key).meta
    assert meta["source"]["filename"] == "small.csv"
    assert meta["sampling"] == {"sampled": False, "size": 10, "stratify": None, "rows_full": 10}
    assert scratch_files(store) == []


def test_ds002_small_file_removes_the_stale_full_copy_of_a_big_one(store, small_settings, tmp_path):
    big = load(store, small_settings, write_csv(tmp_path / "big.csv", 120))
    assert big.full_key is not None
    small = load(store, small_settings, write_csv(tmp_path / "small.csv", 10))
    assert store.info_by_name(SESSION, "data_full") is None
    assert not (store.root / "items" / f"{big.full_key}.parquet").exists()
    assert store.info_by_name(SESSION, "data").key == small.data_key
    assert store.info(SESSION, small.data_key).version == 2


def test_ds003_big_file_is_sampled_and_the_full_data_kept(store, small_settings, tmp_path):
    active = load(store, small_settings, write_csv(tmp_path / "big.csv", 120))
    assert (active.rows, active.rows_full, active.columns, active.sampled) == (20, 120, 3, True)
    full = store.read_frame(SESSION, active.full_key)
    sample = store.read_frame(SESSION, active.data_key)
    assert full["id"].tolist() == list(range(120))
    ids = sample["id"].tolist()
    assert len(set(ids)) == 20 and ids == sorted(ids) and set(ids) <= set(range(120))
    # every sampled row is the file's row, not a mix of rows
    pd.testing.assert_frame_equal(
        sample, full.set_index("id").loc[ids].reset_index(), check_dtype=False
    )
    meta = store.info(SESSION, active.data_key).meta
    assert meta["sampling"]["sampled"] is True
    assert meta["sampling"]["rows_full"] == 120
    assert meta["full_key"] == active.full_key
    assert scratch_files(store) == []


def test_ds004_sample_is_reproducible(store, small_settings, tmp_path):
    path = write_csv(tmp_path / "big.csv", 120)
    first = load(store, small_settings, path, session="one")
    second = load(store, small_settings, path, session="two")
    a = store.read_frame("one", first.data_key)
    b = store.read_frame("two", second.data_key)
    pd.testing.assert_frame_equal(a, b)


def test_ds005_column_table_of_a_loaded_file(store, small_settings, tmp_path):
    active = load(store, small_settings, write_csv(tmp_path / "small.csv", 10))
    table = {
        row["column"]: row for row in store.info(SESSION, active.data_key).meta["column_table"]
    }
    assert list(table) == ["id", "segment", "score"]
    # score: rows 0, 4, 8 are missing out of 10
    assert (table["score"]["non_null"], table["score"]["missing_pct"]) == (7, 30.0)
    assert table["score"]["unique"] == 7
    assert (table["segment"]["non_null"], table["segment"]["unique"]) == (10, 3)
    assert (table["id"]["missing_pct"], table["id"]["unique"]) == (0.0, 10)
    assert all(row["memory"] > 0 for row in table.values())


def test_ds006_column_table_values():
    frame = pd.DataFrame(
        {"x": [1.0, None, 1.0, 2.0], "label": ["a", "b", None, None], "flag": [True] * 4}
    )
    rows = datasets.column_table(frame)
    assert [(r["column"], r["non_null"], r["missing_pct"], r["unique"]) for r in rows] == [
        ("x", 3, 25.0, 2),
        ("label", 2, 50.0, 2),
        ("flag", 4, 0.0, 1),
    ]
    assert rows[2]["dtype"] == "bool"


def test_ds007_column_table_of_an_empty_frame_has_no_division_by_zero():
    rows = datasets.column_table(pd.DataFrame({"x": pd.Series([], dtype="float64")}))
    assert rows[0]["missing_pct"] == 0.0 and rows[0]["non_null"] == 0


def test_ds008_resample_with_a_size(store, small_settings, tmp_path):
    before = load(store, small_settings, write_csv(tmp_path / "big.csv", 120))
    after = datasets.resample(store, SESSION, size=30)
    assert (after.rows, after.rows_full, after.sampled) == (30, 120, True)
    assert after.full_key == before.full_key
    assert after.version == before.version + 1
    info = store.info(SESSION, after.data_key)
    assert info.meta["sampling"]["size"] == 30
    assert info.meta["source"]["filename"] == "big.csv"  # the source is kept
    assert len(info.meta["column_table"]) == 3
    assert store.read_frame(SESSION, after.data_key)["id"].is_unique


def test_ds009_resample_stratified_keeps_class_shares(store, small_settings, tmp_path):
    load(store, small_settings, write_csv(tmp_path / "big.csv", 120))
    after = datasets.resample(store, SESSION, size=40, stratify="segment")
    sample = store.read_frame(SESSION, after.data_key)
    counts = sample["segment"].astype(str).value_counts().to_dict()
    assert counts == {"A": 24, "B": 12, "C": 4}  # 60 / 30 / 10 % of 40
    assert store.info(SESSION, after.data_key).meta["sampling"]["stratify"] == "segment"
    again = datasets.resample(store, SESSION, size=40, stratify="segment")
    pd.testing.assert_frame_equal(store.read_frame(SESSION, again.data_key), sample)


def test_ds010_use_full_data(store, small_settings, tmp_path):
    before = load(store, small_settings, write_csv(tmp_path / "big.csv", 120))
    after = datasets.resample(store, SESSION, size=None, use_full=True)
    assert (after.rows, after.rows_full, after.sampled) == (120, 120, False)
    assert store.read_frame(SESSION, after.data_key)["id"].tolist() == list(range(120))
    # the full copy stays, so the user can go back to a sample
    assert store.info_by_name(SESSION, "data_full").key == before.full_key
    back = datasets.resample(store, SESSION, size=25)
    assert (back.rows, back.sampled) == (25, True)
    assert scratch_files(store) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 120}, "The sample size must be smaller than the 120 rows of the full data"),
        ({"size": 500}, "The sample size must be smaller than the 120 rows of the full data"),
        ({"size": 0}, "Enter a sample size as a whole number of rows"),
        ({"size": -5}, "Enter a sample size as a whole number of rows"),
        ({"size": None}, "Enter a sample size as a whole number of rows"),
        ({"size": 30, "stratify": "nope"}, "Cannot stratify by 'nope': there is no such column"),
    ],
)
def test_ds011_impossible_resample_is_refused_and_data_unchanged(
    store, small_settings, tmp_path, kwargs, message
):
    load(store, small_settings, write_csv(tmp_path / "big.csv", 120))
    before = data_state(store)
    with pytest.raises(InvalidParameter) as caught:
        datasets.resample(store, SESSION, **kwargs)
    assert str(caught.value).startswith(message)
    assert data_state(store) == before


def test_ds012_resample_without_full_data_is_refused(store, small_settings, tmp_path):
    load(store, small_settings, write_csv(tmp_path / "small.csv", 10))
    before = data_state(store)
    for kwargs in ({"size": 5}, {"size": None, "use_full": True}):
        with pytest.raises(InvalidParameter, match="nothing to resample"):
            datasets.resample(store, SESSION, **kwargs)
    assert data_state(store) == before


def test_ds013_resample_with_nothing_loaded_is_refused(store):
    with pytest.raises(InvalidParameter, match="nothing to resample"):
        datasets.resample(store, SESSION, size=5)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02\x03\x04binary\x00" * 50, b"<html><body>not a table</body></html>"],
    ids=["empty", "binary", "html"],
)
def test_ds014_failed_ingest_keeps_previous_dataset_and_leaves_no_scratch(
    store, small_settings, tmp_path, content
):
    load(store, small_settings, write_csv(tmp_path / "big.csv", 120))
    before = data_state(store)
    previous = store.read_frame(SESSION, before[0][0])
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(DataLoadError) as caught:
        load(store, small_settings, bad)
    assert "bad.csv" in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert data_state(store) == before
    pd.testing.assert_frame_equal(store.read_frame(SESSION, before[0][0]), previous)
    assert store.read_frame(SESSION, before[1][0]).shape == (120, 3)
    assert scratch_files(store) == []


def test_ds015_progress_reports_each_step(store, small_settings, tmp_path):
    steps = []
    datasets.load_file(
        store,
        SESSION,
        write_csv(tmp_path / "big.csv", 120),
        settings=small_settings,
        progress=lambda step, done, total: steps.append(step),
    )
    assert [s for s in dict.fromkeys(steps)] == [
        "Reading the file",
        "Optimizing memory",
        "Sampling",
    ]


def test_ds_load_goes_through_arrow_and_keeps_dates_and_gappy_flags(
    store, small_settings, tmp_path
):
    rows = 120
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "day": [f"2024-03-{1 + i % 28:02d}" for i in range(rows)],
            "flag": np.where(np.arange(rows) % 4 == 0, None, np.arange(rows) % 2 == 0),
        }
    )
    path = tmp_path / "typed.csv"
    frame.to_csv(path, index=False)
    active = load(store, small_settings, path)
    full = store.read_frame(SESSION, active.full_key)
    assert (str(full["day"].dtype), str(full["flag"].dtype)) == ("datetime64[ms]", "boolean")
    assert full["day"].iloc[0] == pd.Timestamp("2024-03-01")
    assert full["flag"].isna().tolist() == [i % 4 == 0 for i in range(rows)]
    assert full["flag"].iloc[1:4].tolist() == [False, True, False]
    report = store.info(SESSION, active.data_key).meta["report"]
    changed = {c["column"]: c["dtype_after"] for c in report["columns"]}
    assert changed["day"] == "datetime64[ms]" and changed["flag"] == "boolean"
    sample = store.read_frame(SESSION, active.data_key)
    assert sample.dtypes.to_dict() == full.dtypes.to_dict()
    assert scratch_files(store) == []
