import numpy as np
import pandas as pd
import pytest

from dashboard.data._sampling import sample_indices, sample_parquet, stratified_indices
from dashboard.errors import DataLoadError, InvalidParameter


@pytest.fixture
def parquet_file(tmp_path):
    n = 1_000
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "row": np.arange(n),
            "label": pd.Series(rng.choice(["common", "usual", None], n, p=[0.6, 0.35, 0.05])),
            "value": rng.random(n),
        }
    )
    df.loc[[5, 500], "label"] = "rare"
    path = tmp_path / "data.parquet"
    df.to_parquet(path, row_group_size=128)
    return path


def test_smp001_sample_indices_size_sorted_unique():
    positions = sample_indices(10_000, 250, seed=1)
    assert positions.shape == (250,)
    assert (np.diff(positions) > 0).all()
    assert positions.min() >= 0 and positions.max() < 10_000


def test_smp002_sample_indices_reproducible():
    assert np.array_equal(sample_indices(10_000, 100, seed=5), sample_indices(10_000, 100, seed=5))
    assert not np.array_equal(sample_indices(10_000, 100, seed=5), sample_indices(10_000, 100))


def test_smp003_size_at_least_rows_returns_everything():
    assert np.array_equal(sample_indices(7, 7), np.arange(7))
    assert np.array_equal(sample_indices(7, 100), np.arange(7))
    assert sample_indices(0, 5).size == 0
    assert np.array_equal(stratified_indices(pd.Series(list("aab")), 3), np.arange(3))


@pytest.mark.parametrize("size", [0, -3, 2.5, "10", True])
def test_smp004_invalid_size_is_rejected(size):
    with pytest.raises(InvalidParameter, match="sample size"):
        sample_indices(100, size)
    with pytest.raises(InvalidParameter, match="sample size"):
        stratified_indices(pd.Series(["a", "b"]), size)


def test_smp005_stratified_proportions_within_one_row():
    labels = pd.Series(["a"] * 5_000 + ["b"] * 3_000 + ["c"] * 1_500 + ["d"] * 500)
    labels = labels.sample(frac=1, random_state=0).reset_index(drop=True)
    size = 777
    positions = stratified_indices(labels, size, seed=2)
    assert positions.size == size
    assert (np.diff(positions) > 0).all()
    got = labels.iloc[positions].value_counts()
    exact = labels.value_counts() * size / len(labels)
    assert ((got - exact).abs() <= 1).all(), (got, exact)


def test_smp006_rare_class_and_missing_class_are_kept():
    labels = pd.Series(["big"] * 9_990 + ["rare"] * 2 + [None] * 8)
    positions = stratified_indices(labels, 50, seed=0)
    sampled = labels.iloc[positions]
    assert positions.size == 50
    assert (sampled == "rare").sum() == 1
    assert sampled.isna().sum() == 1
    assert (sampled == "big").sum() == 48


def test_smp007_stratified_reproducible_and_seed_sensitive():
    labels = pd.Series(np.tile(["x", "y", "z"], 1_000))
    first = stratified_indices(labels, 90, seed=4)
    assert np.array_equal(first, stratified_indices(labels, 90, seed=4))
    assert not np.array_equal(first, stratified_indices(labels, 90, seed=5))
    assert labels.iloc[first].value_counts().tolist() == [30, 30, 30]


def test_smp008_fewer_rows_than_classes():
    labels = pd.Series(["a"] * 90 + ["b"] * 5 + ["c"] * 5)
    positions = stratified_indices(labels, 2, seed=0)
    assert positions.size == 2


def test_smp009_sample_parquet_reads_the_chosen_rows(parquet_file):
    full = pd.read_parquet(parquet_file)
    sample = sample_parquet(parquet_file, 60, seed=9)
    expected = full.iloc[sample_indices(len(full), 60, seed=9)].reset_index(drop=True)
    pd.testing.assert_frame_equal(sample, expected)
    assert isinstance(sample.index, pd.RangeIndex)
    pd.testing.assert_frame_equal(sample, sample_parquet(parquet_file, 60, seed=9))
    assert not sample.equals(sample_parquet(parquet_file, 60, seed=10))


def test_smp010_sample_parquet_stratified(parquet_file):
    full = pd.read_parquet(parquet_file)
    sample = sample_parquet(parquet_file, 100, stratify="label", seed=1)
    positions = stratified_indices(full["label"], 100, seed=1)
    pd.testing.assert_frame_equal(sample, full.iloc[positions].reset_index(drop=True))
    assert (sample["label"] == "rare").sum() >= 1
    assert sample["label"].isna().sum() >= 1
    assert sample["row"].is_monotonic_increasing


def test_smp011_sample_parquet_everything_and_errors(parquet_file):
    full = pd.read_parquet(parquet_file)
    pd.testing.assert_frame_equal(sample_parquet(parquet_file, 5_000), full)
    with pytest.raises(InvalidParameter, match="no such column.*label"):
        sample_parquet(parquet_file, 10, stratify="colour")
    with pytest.raises(InvalidParameter, match="sample size"):
        sample_parquet(parquet_file, 0)


def test_smp012_sample_parquet_drops_stored_index(tmp_path):
    path = tmp_path / "indexed.parquet"
    pd.DataFrame({"x": range(10)}, index=pd.Index(range(100, 110), name="k")).to_parquet(path)
    sample = sample_parquet(path, 3, seed=0)
    assert isinstance(sample.index, pd.RangeIndex)
    assert list(sample.columns) == ["x"]


def test_smp013_unreadable_parquet_is_a_load_error(tmp_path):
    with pytest.raises(DataLoadError, match="not a readable Parquet"):
        sample_parquet(tmp_path / "missing.parquet", 10)
