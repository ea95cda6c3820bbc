import io
import os

import pytest

from dashboard.data._uploads import UploadArea, UploadTooLarge, _human_size, clean_filename
from dashboard.errors import AccessDenied, DataLoadError, InvalidParameter, ItemNotFound


def make_area(tmp_path, max_bytes=1000) -> UploadArea:
    return UploadArea(tmp_path / "uploads", max_bytes=max_bytes)


def stored_files(area: UploadArea) -> list[str]:
    return sorted(p.name for p in area.root.iterdir() if p.is_file())


def test_up001_receive_and_get(tmp_path):
    area = make_area(tmp_path)
    body = b"a,b\n1,2\n" * 10
    upload = area.receive("s1", "sales.csv", io.BytesIO(body), chunk_size=7)
    assert upload.size == len(body)
    assert upload.filename == "sales.csv"
    assert upload.path.read_bytes() == body
    assert upload.path.parent == area.root.resolve()
    got = area.get("s1", upload.upload_id)
    assert (got.path, got.size, got.filename) == (upload.path, upload.size, "sales.csv")
    # Another UploadArea object on the same root (another worker) sees it.
    assert make_area(tmp_path).get("s1", upload.upload_id).size == len(body)


def test_up002_too_large_leaves_nothing(tmp_path):
    area = make_area(tmp_path, max_bytes=100)
    with pytest.raises(UploadTooLarge) as excinfo:
        area.receive("s1", "big.csv", io.BytesIO(b"x" * 101), chunk_size=10)
    assert isinstance(excinfo.value, InvalidParameter)
    assert str(excinfo.value) == "The file is larger than the 100 bytes upload limit."
    assert stored_files(area) == []
    # Exactly at the limit is accepted.
    assert area.receive("s1", "ok.csv", io.BytesIO(b"x" * 100)).size == 100


def test_up002b_limit_is_shown_in_human_units():
    assert _human_size(500 * 1024 * 1024) == "500 MB"
    assert _human_size(1536 * 1024 * 1024) == "1.5 GB"
    assert _human_size(1023 * 1024 * 1024) == "1023 MB"


def test_up003_limit_message_names_the_real_limit(tmp_path):
    area = make_area(tmp_path, max_bytes=2 * 1024 * 1024)

    class Endless(io.RawIOBase):
        reads = 0

        def read(self, n=-1):
            self.reads += 1
            return b"y" * n

    stream = Endless()
    with pytest.raises(UploadTooLarge, match=r"^The file is larger than the 2 MB upload limit\.$"):
        area.receive("s1", "endless.bin", stream, chunk_size=1 << 20)
    assert stream.reads == 3  # stopped as soon as the limit was passed
    assert stored_files(area) == []


def test_up004_empty_body(tmp_path):
    area = make_area(tmp_path)
    with pytest.raises(DataLoadError, match="The file is empty."):
        area.receive("s1", "empty.csv", io.BytesIO(b""))
    assert stored_files(area) == []


def test_up005_scoping(tmp_path):
    area = make_area(tmp_path)
    upload = area.receive("A", "a.csv", io.BytesIO(b"1"))
    with pytest.raises(AccessDenied):
        area.get("B", upload.upload_id)
    with pytest.raises(AccessDenied):
        area.discard("B", upload.upload_id)
    for bad in ("x" * 22, "../../etc/passwd", "", None, upload.upload_id + "/.."):
        with pytest.raises(ItemNotFound):
            area.get("A", bad)
    area.discard("A", upload.upload_id)
    with pytest.raises(ItemNotFound):
        area.get("A", upload.upload_id)
    area.discard("A", upload.upload_id)  # already gone: no error
    assert stored_files(area) == []


@pytest.mark.parametrize(
    ("client_name", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.csv", "y.csv"),
        ("/abs/path/data.xlsx", "data.xlsx"),
        ("evil\x00.csv", "evil.csv"),
        ("line\nbreak\r.csv", "linebreak.csv"),
        ("rtl\u202etxt.exe", "rtltxt.exe"),
        ("..", "upload"),
        ("", "upload"),
        ("  spaced.csv  ", "spaced.csv"),
    ],
)
def test_up006_client_filenames_are_display_only(tmp_path, client_name, shown):
    area = make_area(tmp_path)
    upload = area.receive("s", client_name, io.BytesIO(b"data"))
    assert upload.filename == shown
    assert area.get("s", upload.upload_id).filename == shown
    real_root = os.path.realpath(area.root)
    assert os.path.dirname(os.path.realpath(upload.path)) == real_root
    assert upload.path.name == f"{upload.upload_id}.upload"
    assert not (tmp_path / "etc").exists()


def test_up007_long_names_keep_their_extension():
    name = clean_filename("a" * 1000 + ".parquet")
    assert len(name) <= 200 and name.endswith(".parquet")
    assert clean_filename(None) == "upload"


def test_up008_path_outside_root_is_refused(tmp_path):
    area = make_area(tmp_path)
    upload = area.receive("s", "a.csv", io.BytesIO(b"1"))
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    upload.path.unlink()
    upload.path.symlink_to(outside)
    with pytest.raises(ItemNotFound):
        area.get("s", upload.upload_id)


def test_up009_sweep(tmp_path):
    area = make_area(tmp_path)
    old = area.receive("s", "old.csv", io.BytesIO(b"old"))
    stray = area.root / "leftover.part"
    stray.write_bytes(b"partial")
    now = old.created + 1000
    os.utime(stray, (now - 2000, now - 2000))
    new = area.receive("t", "new.csv", io.BytesIO(b"new"))  # another session's
    os.utime(new.path, (now, now))
    # Pretend the new one arrived later than the cutoff.
    area._index.set(
        f"up:{new.upload_id}", {**area._index.get(f"up:{new.upload_id}"), "created": now}
    )
    assert area.sweep(older_than_s=500, now=now) == 2
    with pytest.raises(ItemNotFound):
        area.get("s", old.upload_id)
    assert area.get("t", new.upload_id).size == 3
    assert not stray.exists() and not old.path.exists()


def test_up010_a_session_keeps_only_its_newest_upload(tmp_path):
    area = make_area(tmp_path)
    first = area.receive("s1", "a.csv", io.BytesIO(b"a\n1\n"))
    other = area.receive("s2", "b.csv", io.BytesIO(b"b\n2\n"))
    second = area.receive("s1", "c.csv", io.BytesIO(b"c\n3\n"))
    with pytest.raises(ItemNotFound):
        area.get("s1", first.upload_id)
    assert area.get("s1", second.upload_id).filename == "c.csv"
    assert area.get("s2", other.upload_id).filename == "b.csv"  # other sessions untouched
    assert len([n for n in stored_files(area) if n.endswith(".upload")]) == 2
