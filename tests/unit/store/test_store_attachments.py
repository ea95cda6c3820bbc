"""A file attached to a stored item (e.g. a fitted model) lives and dies with the item."""

import os
import time

import pandas as pd
import pytest

from dashboard.errors import AccessDenied, ItemNotFound
from dashboard.store._store import DatasetStore

CARD = pd.DataFrame({"model": ["Ridge"], "score": [0.9]})


def attachment(store: DatasetStore, content: bytes = b"model bytes") -> os.PathLike:
    path = store.scratch_path(suffix=".joblib")
    path.write_bytes(content)
    return path


def files(store: DatasetStore) -> list[str]:
    return sorted(p.suffix for p in (store.root / "items").iterdir())


def test_st101_attachment_is_moved_in_counted_and_read_back(tmp_path):
    store = DatasetStore(tmp_path / "store")
    src = attachment(store, b"x" * 1000)
    info = store.put_frame("s1", "ml_model", CARD, attachment=src)
    assert not src.exists()  # moved, not copied
    assert info.attachment == ".joblib"
    path = store.attachment_path("s1", info.key)
    assert path.read_bytes() == b"x" * 1000
    parquet = store.parquet_path("s1", info.key).stat().st_size
    assert info.bytes_disk == parquet + 1000
    assert store.info_by_name("s1", "ml_model").attachment == ".joblib"


def test_st102_replacing_removing_and_expiring_drop_the_attachment(tmp_path):
    clock = [1_000_000.0]
    store = DatasetStore(tmp_path / "store", session_ttl_s=60, clock=lambda: clock[0])
    first = store.put_frame("s1", "ml_model", CARD, attachment=attachment(store, b"one"))
    second = store.put_frame("s1", "ml_model", CARD, attachment=attachment(store, b"two"))
    assert files(store) == [".joblib", ".parquet"]
    with pytest.raises(ItemNotFound):
        store.attachment_path("s1", first.key)
    assert store.attachment_path("s1", second.key).read_bytes() == b"two"
    plain = store.put_frame("s1", "ml_model", CARD)  # a version without a file
    assert plain.attachment is None and files(store) == [".parquet"]
    with pytest.raises(ItemNotFound, match="no file attached"):
        store.attachment_path("s1", plain.key)

    third = store.put_frame("s1", "ml_model", CARD, attachment=attachment(store))
    store.remove("s1", third.key)
    assert files(store) == []

    store.put_frame("s2", "ml_model", CARD, attachment=attachment(store))
    clock[0] += 3600
    store.expire_idle_sessions()
    assert files(store) == []


def test_st103_attachments_are_session_scoped_and_kept_by_the_orphan_sweep(tmp_path):
    store = DatasetStore(tmp_path / "store")
    info = store.put_frame("s1", "ml_model", CARD, attachment=attachment(store))
    with pytest.raises(AccessDenied):
        store.attachment_path("s2", info.key)
    stray = store.root / "items" / "abcdefghijklmnopqrstuv.joblib"
    stray.write_bytes(b"left by a crash")
    old = time.time() - 7200
    for p in (store.root / "items").iterdir():
        os.utime(p, (old, old))
    assert store.sweep_orphans() == 1
    assert not stray.exists() and store.attachment_path("s1", info.key).is_file()


def test_st104_bad_attachment_suffix_is_refused_and_nothing_is_stored(tmp_path):
    store = DatasetStore(tmp_path / "store")
    bad = store.scratch_path(suffix=".Bad Name")
    bad.write_bytes(b"x")
    with pytest.raises(ValueError, match="Invalid attachment suffix"):
        store.put_frame("s1", "ml_model", CARD, attachment=bad)
    assert store.info_by_name("s1", "ml_model") is None and files(store) == []
