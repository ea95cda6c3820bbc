import io

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from openpyxl import load_workbook

from dashboard.data import _exports as exports
from dashboard.data._exports import iter_csv, neutralize_formulas, parquet_file, write_excel
from dashboard.errors import AccessDenied, InvalidParameter
from dashboard.store._store import DatasetStore

S = "session-1"


@pytest.fixture
def store(tmp_path):
    return DatasetStore(tmp_path / "store")


def risky_frame(n=7):
    base = pd.DataFrame(
        {
            "text": ["=SUM(A1)", "+1", "-x", "@x", "-5", "ok", None],
            "number": [-5, 1, 2, 3, 4, 5, 6],
            "float": [-1.5, 0.25, np.nan, 3.0, 4.0, 5.0, 6.0],
            "cat": pd.Series(["=a", "b", "=a", "\tc", "b", None, "b"], dtype="category"),
            "when": pd.to_datetime(["2024-01-02"] * 6 + [None]),
            "flag": [True, False, True, True, False, True, False],
        }
    )
    return pd.concat([base] * (n // 7), ignore_index=True) if n > 7 else base


def test_exp001_neutralize_formulas_text_only():
    out = neutralize_formulas(risky_frame())
    assert out["text"].tolist()[:6] == ["'=SUM(A1)", "'+1", "'-x", "'@x", "'-5", "ok"]
    assert pd.isna(out["text"][6])
    assert out["number"].tolist() == [-5, 1, 2, 3, 4, 5, 6]
    assert out["float"][0] == -1.5
    assert out["cat"].tolist()[:4] == ["'=a", "b", "'=a", "'\tc"]
    assert isinstance(out["cat"].dtype, pd.CategoricalDtype)


def test_exp002_neutralize_header_and_object_column_and_input_untouched():
    df = pd.DataFrame({"=bad": ["\r=x", 1], "ok": ["a", "b"]}).astype({"=bad": object})
    before = df.copy()
    out = neutralize_formulas(df)
    assert list(out.columns) == ["'=bad", "ok"]
    assert out["'=bad"].tolist() == ["'\r=x", 1]
    pdt.assert_frame_equal(df, before)


def test_exp003_csv_streams_equal_pandas(store):
    df = risky_frame(7 * 30)
    info = store.put_frame(S, "data", df, row_group_rows=50)
    chunks = list(iter_csv(store, S, info.key, chunk_rows=40))
    assert len(chunks) > 3
    assert chunks[0].startswith(b"\xef\xbb\xbf") and not chunks[1].startswith(b"\xef\xbb\xbf")
    expected = neutralize_formulas(df).to_csv(index=False).encode()
    assert b"".join(chunks) == b"\xef\xbb\xbf" + expected
    back = pd.read_csv(io.BytesIO(b"".join(chunks)), encoding="utf-8-sig")
    assert back["number"].tolist() == df["number"].tolist()


def test_exp004_csv_dates_formatted_consistently_across_chunks(store):
    df = pd.DataFrame(
        {
            "t": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03 10:30:00", None], format="ISO8601"
            )
        }
    )
    info = store.put_frame(S, "data", df)
    text = b"".join(iter_csv(store, S, info.key, chunk_rows=2)).decode("utf-8-sig")
    assert text.splitlines() == [
        "t",
        "2024-01-01 00:00:00",
        "2024-01-02 00:00:00",
        "2024-01-03 10:30:00",
        '""',  # pandas quotes a lone missing value so the row is not blank
    ]


def test_exp005_csv_of_another_session_refused(store):
    info = store.put_frame(S, "data", risky_frame())
    with pytest.raises(AccessDenied):
        list(iter_csv(store, "other", info.key))


def test_exp006_excel_holds_values_and_neutralized_text(store, tmp_path):
    df = risky_frame()
    info = store.put_frame(S, "data", df)
    dest = write_excel(store, S, info.key, tmp_path / "out.xlsx")
    sheet = load_workbook(dest, read_only=True)["data"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("text", "number", "float", "cat", "when", "flag")
    assert [r[0] for r in rows[1:]] == ["'=SUM(A1)", "'+1", "'-x", "'@x", "'-5", "ok", None]
    assert [r[1] for r in rows[1:]] == [-5, 1, 2, 3, 4, 5, 6]
    assert rows[1][2] == -1.5 and rows[3][2] is None
    assert rows[1][3] == "'=a" and rows[1][5] is True
    assert rows[1][4] == pd.Timestamp("2024-01-02").to_pydatetime() and rows[7][4] is None


def test_exp007_excel_row_limit(store, tmp_path, monkeypatch):
    info = store.put_frame(S, "data", pd.DataFrame({"a": range(10)}))
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 10)
    with pytest.raises(InvalidParameter, match="has 10 rows; Excel holds at most 9 data rows"):
        write_excel(store, S, info.key, tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 11)
    assert write_excel(store, S, info.key, tmp_path / "x.xlsx").exists()


def test_exp008_parquet_file_is_the_stored_file(store):
    df = risky_frame()
    info = store.put_frame(S, "data", df)
    path = parquet_file(store, S, info.key)
    pdt.assert_frame_equal(pd.read_parquet(path), store.read_frame(S, info.key))
