import multiprocessing
import os
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.errors import AccessDenied, DataLoadError, InvalidParameter, ItemNotFound
from dashboard.store._store import PROTECTED_NAMES, DatasetStore


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_store(tmp_path, **kwargs) -> DatasetStore:
    return DatasetStore(tmp_path / "store", **kwargs)


def sample_frame(n: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype="int64"),
            "value": rng.normal(size=n),
            "label": [f"row {i}" for i in range(n)],
        }
    )


def item_files(store: DatasetStore) -> set[str]:
    return {p.stem for p in (store.root / "items").iterdir()}


def test_st001_dtypes_round_trip(tmp_path):
    store = make_store(tmp_path)
    df = pd.DataFrame(
        {
            "cat": pd.Categorical(["a", "b", None, "a", "c"]),
            "ordered": pd.Categorical(["lo", "hi", "lo", "mid", "hi"], ordered=True),
            "text": pd.array(["x", None, "z", "é", ""], dtype="str"),
            "i8": np.array([1, -2, 3, 127, -128], dtype="int8"),
            "f32": np.array([1.5, np.nan, 3.25, 0, -1], dtype="float32"),
            "flag": [True, False, True, True, False],
            "when": pd.to_datetime(["2020-01-01", "2021-06-30", None, "1999-12-31", "2024-02-29"]),
            "when_tz": pd.date_range("2020-03-29", periods=5, freq="h", tz="Europe/Paris"),
            "nullable": pd.array([1, None, 3, 4, None], dtype="Int64"),
        }
    )
    info = store.put_frame("s1", "data", df, row_group_rows=2)
    back = store.read_frame("s1", info.key)
    pd.testing.assert_frame_equal(back, df)
    assert (info.rows, info.columns) == (5, 9)
    assert info.bytes_disk == (store.root / "items" / f"{info.key}.parquet").stat().st_size
    assert info.bytes_memory > 0
    assert pq.ParquetFile(store.parquet_path("s1", info.key)).metadata.num_row_groups == 3


def test_st002_index_is_dropped_and_columns_selected(tmp_path):
    store = make_store(tmp_path)
    df = sample_frame(6).set_index("id")
    key = store.put_frame("s1", "x", df).key
    back = store.read_frame("s1", key, columns=["label", "value"])
    assert list(back.columns) == ["label", "value"]
    assert back.index.equals(pd.RangeIndex(6))
    with pytest.raises(InvalidParameter, match="nope"):
        store.read_frame("s1", key, columns=["nope"])


def test_st003_empty_frame_round_trips(tmp_path):
    store = make_store(tmp_path)
    df = sample_frame(0)
    info = store.put_frame("s1", "empty", df)
    pd.testing.assert_frame_equal(store.read_frame("s1", info.key), df)
    assert store.read_rows("s1", info.key, 0, 10).empty


def test_st004_unstorable_frame_gives_clear_error(tmp_path):
    store = make_store(tmp_path)
    df = pd.DataFrame({"ok": [1, 2], "mixed": [1, "a"]})
    with pytest.raises(DataLoadError, match="'mixed' mixes values"):
        store.put_frame("s1", "bad", df)
    assert store.items("s1") == []
    assert not any((store.root / "tmp").iterdir())
    assert not any((store.root / "items").iterdir())


def test_st005_session_scoping(tmp_path):
    store = make_store(tmp_path)
    key = store.put_frame("A", "data", sample_frame()).key
    for call in (
        lambda: store.info("B", key),
        lambda: store.read_frame("B", key),
        lambda: store.read_rows("B", key, 0, 2),
        lambda: store.parquet_path("B", key),
        lambda: store.update_meta("B", key, x=1),
        lambda: store.remove("B", key, force=True),
    ):
        with pytest.raises(AccessDenied):
            call()
    for bad in ("x" * 22, "", None, "../../etc/passwd", "a/b" * 10):
        with pytest.raises(ItemNotFound):
            store.info("A", bad)
    assert store.info_by_name("B", "data") is None
    assert store.items("B") == []
    assert store.info("A", key).name == "data"


def test_st006_protection(tmp_path):
    store = make_store(tmp_path)
    infos = {name: store.put_frame("s", name, sample_frame()) for name in PROTECTED_NAMES}
    store.put_frame("s", "data_full", sample_frame(), protected=False)  # name still wins
    extra = store.put_frame("s", "result", sample_frame(), protected=True)
    assert all(i.protected for i in infos.values())
    assert store.info_by_name("s", "data_full").protected
    for info in store.items("s"):
        with pytest.raises(InvalidParameter):
            store.remove("s", info.key)
    report = store.cleanup("s", min_bytes=0)
    assert report.removed == () and report.freed_bytes == 0
    assert store.remove("s", extra.key, force=True) == extra.bytes_disk
    data_key = store.key_for("s", "data")
    assert store.remove("s", data_key, force=True) > 0
    assert store.key_for("s", "data") is None
    assert data_key not in item_files(store)


def test_st007_replace_bumps_version_and_removes_old_file(tmp_path):
    store = make_store(tmp_path)
    first = store.put_frame("s", "data", sample_frame(5), meta={"source": "a.csv"})
    second = store.put_frame("s", "data", sample_frame(7))
    assert (first.version, second.version) == (1, 2)
    assert second.key != first.key
    assert item_files(store) == {second.key}
    with pytest.raises(ItemNotFound):
        store.read_frame("s", first.key)
    assert store.key_for("s", "data") == second.key
    assert len(store.read_frame("s", second.key)) == 7
    # Versions keep counting after a removal, so (name, version) is never reused.
    store.remove("s", second.key, force=True)
    assert store.put_frame("s", "data", sample_frame(1)).version == 3
    # Another session has its own counter.
    assert store.put_frame("t", "data", sample_frame(1)).version == 1


def test_st008_update_meta(tmp_path):
    store = make_store(tmp_path)
    info = store.put_frame("s", "data", sample_frame(), meta={"a": 1})
    updated = store.update_meta("s", info.key, b=[1, 2], a=2)
    assert updated.meta == {"a": 2, "b": [1, 2]}
    assert (updated.key, updated.version) == (info.key, info.version)
    assert store.info("s", info.key).meta == {"a": 2, "b": [1, 2]}
    with pytest.raises(TypeError):
        store.update_meta("s", info.key, bad=object())


def test_st009_failed_write_keeps_previous_item(tmp_path, monkeypatch):
    store = make_store(tmp_path)
    old = store.put_frame("s", "data", sample_frame(5))
    calls = {"n": 0}
    real_write = pq.ParquetWriter.write_table

    def crashing_write(self, table, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError("disk full")
        return real_write(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", crashing_write)
    with pytest.raises(OSError, match="disk full"):
        store.put_frame("s", "data", sample_frame(50), row_group_rows=10)
    monkeypatch.undo()
    assert calls["n"] == 2
    assert store.key_for("s", "data") == old.key
    assert len(store.read_frame("s", old.key)) == 5
    assert item_files(store) == {old.key}
    assert not any((store.root / "tmp").iterdir())


def test_st010_index_failure_leaves_no_file(tmp_path, monkeypatch):
    store = make_store(tmp_path)
    old = store.put_frame("s", "data", sample_frame(5))
    real_set = store._index.set

    def failing_set(key, value, *args, **kwargs):
        if key.startswith("sess:"):
            raise RuntimeError("crash in the middle of the index update")
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(store._index, "set", failing_set)
    with pytest.raises(RuntimeError):
        store.put_frame("s", "data", sample_frame(9))
    monkeypatch.undo()
    # The transaction rolled back: the old item is intact and the new file is gone.
    assert store.key_for("s", "data") == old.key
    assert store.info("s", old.key).version == 1
    assert len(store.items("s")) == 1
    assert item_files(store) == {old.key}


def test_st011_orphan_sweep(tmp_path):
    store = make_store(tmp_path)
    kept = store.put_frame("s", "data", sample_frame())
    hour_ago = time.time() - 7200
    orphan = store.root / "items" / "AAAAAAAAAAAAAAAAAAAAAA.parquet"
    orphan.write_bytes(b"PAR1 partial")
    partial = store.scratch_path()
    partial.write_bytes(b"half written")
    fresh = store.scratch_path()
    fresh.write_bytes(b"being written right now")
    for path in (orphan, partial):
        os.utime(path, (hour_ago, hour_ago))
    os.utime(store.parquet_path("s", kept.key), (hour_ago, hour_ago))
    assert store.sweep_orphans() == 2
    assert not orphan.exists() and not partial.exists() and fresh.exists()
    assert len(store.read_frame("s", kept.key)) == 10
    # An index entry whose file vanished is dropped too.
    store.parquet_path("s", kept.key).unlink()
    assert store.sweep_orphans() == 1
    assert store.items("s") == [] and store.key_for("s", "data") is None


def test_st012_new_store_object_sees_items(tmp_path):
    store = make_store(tmp_path)
    info = store.put_frame("s", "data", sample_frame(), meta={"file": "x.csv"})
    store.close()
    reopened = make_store(tmp_path)
    assert reopened.info("s", info.key).meta == {"file": "x.csv"}
    assert reopened.key_for("s", "data") == info.key
    pd.testing.assert_frame_equal(reopened.read_frame("s", info.key), sample_frame())
    assert reopened.put_frame("s", "data", sample_frame(3)).version == 2


def _worker(root, session, worker_id, rounds):
    store = DatasetStore(root)
    for i in range(rounds):
        df = pd.DataFrame({"worker": [worker_id] * (i + 1), "round": list(range(i + 1))})
        store.put_frame(session, "data", df)
        store.put_frame(session, f"w{worker_id}", df)
        key = store.key_for(session, "data")
        try:
            store.read_rows(session, key, 0, 1)
        except ItemNotFound:
            pass  # replaced by another worker in between: allowed


def test_st013_concurrent_processes_keep_index_consistent(tmp_path):
    root = tmp_path / "store"
    store = DatasetStore(root)
    store.put_frame("s", "seed", sample_frame())  # parent holds an open index connection
    ctx = multiprocessing.get_context("fork")
    workers, rounds = 3, 6
    procs = [ctx.Process(target=_worker, args=(root, "s", w, rounds)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    items = store.items("s")
    assert sorted(i.name for i in items) == ["data", "seed", "w0", "w1", "w2"]
    assert store.info_by_name("s", "data").version == workers * rounds
    for w in range(workers):
        assert store.info_by_name("s", f"w{w}").version == rounds
    assert item_files(store) == {i.key for i in items}
    for info in items:
        assert len(store.read_frame("s", info.key)) == info.rows
    assert not any((root / "tmp").iterdir())


def test_st014_read_rows_reads_only_needed_groups(tmp_path, monkeypatch):
    store = make_store(tmp_path)
    df = sample_frame(10)
    key = store.put_frame("s", "data", df, row_group_rows=4).key  # groups of 4, 4, 2
    seen = []
    real = pq.ParquetFile.read_row_groups

    def spy(self, row_groups, *args, **kwargs):
        seen.append(list(row_groups))
        return real(self, row_groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    monkeypatch.setattr(pq.ParquetFile, "read", lambda *a, **k: pytest.fail("full read"))

    def expect(start, stop, groups, columns=None):
        seen.clear()
        got = store.read_rows("s", key, start, stop, columns=columns)
        want = df.iloc[start:stop]
        if columns:
            want = want[columns]
        pd.testing.assert_frame_equal(got, want)
        assert seen == ([groups] if groups else [])

    expect(0, 3, [0])
    expect(5, 9, [1, 2])
    expect(3, 5, [0, 1])
    expect(4, 8, [1])
    expect(8, 100, [2])
    expect(2, 9, [0, 1, 2], columns=["label"])
    expect(10, 20, None)
    expect(6, 6, None)
    with pytest.raises(InvalidParameter):
        store.read_rows("s", key, 5, 2)
    with pytest.raises(InvalidParameter):
        store.read_rows("s", key, -1, 2)


def test_st015_cleanup_by_size(tmp_path):
    store = make_store(tmp_path)
    small = store.put_frame("s", "small", sample_frame(5))
    big = store.put_frame("s", "big", sample_frame(5000))
    store.put_frame("s", "data", sample_frame(5000))
    other = store.put_frame("t", "big", sample_frame(5000))
    threshold = small.bytes_memory + 1
    report = store.cleanup("s", min_bytes=threshold)
    assert [i.key for i in report.removed] == [big.key]
    assert report.freed_bytes == big.bytes_disk
    assert sorted(i.name for i in store.items("s")) == ["data", "small"]
    assert store.info("t", other.key).name == "big"
    assert big.key not in item_files(store)


def test_st016_idle_sessions_expire(tmp_path):
    clock = Clock()
    store = make_store(tmp_path, session_ttl_s=100, clock=clock, touch_interval_s=0)
    old = store.put_frame("old", "data", sample_frame())
    store.put_frame("old", "result", sample_frame())
    clock.t += 60
    active = store.put_frame("active", "data", sample_frame())
    clock.t += 50  # "old" idle 110 s, "active" idle 50 s
    report = store.expire_idle_sessions()  # the store's clock is the default "now"
    assert sorted(i.name for i in report.removed) == ["data", "result"]
    assert report.freed_bytes > 0
    with pytest.raises(ItemNotFound):
        store.info("old", old.key)
    assert store.items("old") == []
    assert store.info("active", active.key)
    # Reading keeps a session alive.
    clock.t += 90
    store.read_rows("active", active.key, 0, 1)
    assert store.expire_idle_sessions(now=clock.t + 50).removed == ()
    assert store.expire_idle_sessions(now=clock.t + 101).removed[0].key == active.key
    assert item_files(store) == set()


def test_st017_quota_evicts_lru_unprotected_first(tmp_path):
    clock = Clock()
    store = make_store(tmp_path, clock=clock, touch_interval_s=0)
    df = sample_frame(200)
    put = {}
    for name, session in [("data", "s1"), ("a", "s1"), ("b", "s2"), ("c", "s1")]:
        clock.t += 1
        put[name] = store.put_frame(session, name, df)
    clock.t += 1
    store.read_rows("s1", put["a"].key, 0, 1)  # a is now the most recently used
    assert store.enforce_quota().removed == ()
    total = store.total_bytes()
    assert total == sum(i.bytes_disk for i in put.values())
    store.disk_quota_bytes = total - put["b"].bytes_disk - 1  # two items must go
    report = store.enforce_quota()
    assert [i.name for i in report.removed] == ["b", "c"]
    assert store.total_bytes() <= store.disk_quota_bytes
    store.disk_quota_bytes = 1  # only protected data left after a: evicted last
    assert [i.name for i in store.enforce_quota().removed] == ["a", "data"]
    assert store.total_bytes() == 0


def test_st018_put_file_from_scratch(tmp_path):
    store = make_store(tmp_path)
    path = store.scratch_path()
    assert path.parent == store.root / "tmp" and not path.exists()
    df = sample_frame(30)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=8)
    info = store.put_file("s", "data_full", path, meta={"rows_total": 30})
    assert not path.exists()
    assert (info.rows, info.columns, info.protected) == (30, 3, True)
    assert info.bytes_memory > 0
    pd.testing.assert_frame_equal(store.read_frame("s", info.key), df)
    with pytest.raises(DataLoadError):
        bad = store.scratch_path()
        bad.write_bytes(b"not parquet")
        store.put_file("s", "x", bad)


def test_st019_last_used_is_touched_at_most_every_interval(tmp_path):
    clock = Clock()
    store = make_store(tmp_path, clock=clock, touch_interval_s=5)
    info = store.put_frame("s", "data", sample_frame())
    assert store.info("s", info.key).last_used == info.created
    clock.t += 1
    store.read_rows("s", info.key, 0, 2)  # first read in this process: written
    assert store.info("s", info.key).last_used == clock.t
    first = clock.t
    clock.t += 2
    store.read_rows("s", info.key, 2, 4)  # within the interval: skipped
    assert store.info("s", info.key).last_used == first
    clock.t += 5
    store.read_frame("s", info.key)
    assert store.info("s", info.key).last_used == clock.t


def test_st020_items_newest_first(tmp_path):
    clock = Clock()
    store = make_store(tmp_path, clock=clock)
    for name in ("one", "two", "three"):
        clock.t += 1
        store.put_frame("s", name, sample_frame(2))
    assert [i.name for i in store.items("s")] == ["three", "two", "one"]
