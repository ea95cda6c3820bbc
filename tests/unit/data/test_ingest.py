import gzip
import io
import re
import zipfile

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.data._ingest import (
    FileFormat,
    IngestResult,
    detect_format,
    excel_sheets,
    ingest_to_arrow,
    ingest_to_parquet,
    load_table,
)
from dashboard.data._optimize import optimize_parquet
from dashboard.errors import DataLoadError

# Traces of internals that must never reach a user-facing message.
JUNK = re.compile(r"Traceback|Error:|Exception|Arrow|pyarrow|openpyxl|zipfile|errno|\bline \d+")


def write(tmp_path, name, data) -> object:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def ingest(tmp_path, path, **kwargs) -> tuple[IngestResult, pd.DataFrame]:
    dest = tmp_path / "out.parquet"
    result = ingest_to_parquet(path, dest, **kwargs)
    return result, pd.read_parquet(dest)


def assert_load_error(path, phrase, **kwargs) -> str:
    dest = path.parent / "failed.parquet"
    with pytest.raises(DataLoadError) as excinfo:
        ingest_to_parquet(path, dest, **kwargs)
    message = str(excinfo.value)
    assert phrase.lower() in message.lower(), message
    assert not JUNK.search(message), message
    assert not dest.exists()
    with pytest.raises(DataLoadError):
        load_table(path, sheet=kwargs.get("sheet"))
    return message


def make_xlsx(path, sheets: dict[str, list[list]]) -> None:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


# --- good files ------------------------------------------------------------------------


def test_in001_comma_csv(tmp_path):
    path = write(tmp_path, "sales.csv", "id,name,price\n1,apple,1.5\n2,pear,2.25\n")
    fmt = detect_format(path)
    assert fmt == FileFormat("csv", "utf-8", ",", ".", None, ())
    result, df = ingest(tmp_path, path)
    assert result == IngestResult(3 - 1, ("id", "name", "price"), fmt, None, {})
    assert df["id"].tolist() == [1, 2]
    assert df["name"].tolist() == ["apple", "pear"]
    assert df["price"].tolist() == [1.5, 2.25]


def test_in002_semicolon_with_decimal_comma(tmp_path):
    path = write(tmp_path, "de.csv", "Name;Preis;Menge\nÄpfel;1,5;3\nBirnen;12,25;4\n")
    fmt = detect_format(path)
    assert (fmt.delimiter, fmt.decimal) == (";", ",")
    df = load_table(path)
    assert df["Preis"].tolist() == [1.5, 12.25]
    assert df["Name"].tolist() == ["Äpfel", "Birnen"]


@pytest.mark.parametrize(
    ("name", "delimiter"), [("data.tsv", "\t"), ("data.csv", "|"), ("data.csv", ";")]
)
def test_in003_other_delimiters(tmp_path, name, delimiter):
    text = delimiter.join(["a", "b", "c"]) + "\n"
    text += "".join(delimiter.join([str(i), f"x, {i}", "1.5"]) + "\n" for i in range(5))
    path = write(tmp_path, name, text)
    assert detect_format(path).delimiter == delimiter
    df = load_table(path)
    assert list(df.columns) == ["a", "b", "c"]
    assert df["b"].tolist() == [f"x, {i}" for i in range(5)]
    assert df["c"].tolist() == [1.5] * 5


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("utf-16-be", "utf-16-be")],
)
def test_in004_unicode_encodings(tmp_path, encoding, detected):
    data = "city,price\nZürich,3\n東京,4\n".encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # a BOM, big-endian
        detected = "utf-16"
    path = write(tmp_path, "cities.csv", data)
    result, df = ingest(tmp_path, path)
    assert result.format.encoding == detected
    assert list(df.columns) == ["city", "price"]
    assert df["city"].tolist() == ["Zürich", "東京"]


def test_in005_cp1252_and_latin1(tmp_path):
    cp = write(tmp_path, "cp.csv", "item,price\nCafé,3 €\nNaïve,5 €\n".encode("cp1252"))
    result, df = ingest(tmp_path, cp)
    assert result.format.encoding == "cp1252"
    assert df["item"].tolist() == ["Café", "Naïve"]
    assert df["price"].tolist() == ["3 €", "5 €"]
    # 0x8d is undefined in cp1252, so only latin-1 decodes this file.
    latin = write(tmp_path, "latin.csv", "name,code\nGröße,a\x8db\n".encode("latin-1"))
    result, df = ingest(tmp_path, latin)
    assert result.format.encoding == "latin-1"
    assert df["name"].tolist() == ["Größe"]
    assert df["code"].tolist() == ["a\x8db"]


def test_in006_quoted_newlines_and_quotes(tmp_path):
    text = 'id,comment\n1,"line one\nline two"\n2,"say ""hi"", then go"\n3,plain\n'
    path = write(tmp_path, "notes.csv", text)
    df = load_table(path)
    assert df["comment"].tolist() == ["line one\nline two", 'say "hi", then go', "plain"]


def test_in007_duplicate_and_empty_headers(tmp_path):
    path = write(tmp_path, "dups.csv", "a,a,,b,a_2,a\n1,2,3,4,5,6\n")
    result, df = ingest(tmp_path, path)
    assert result.columns == ("a", "a_3", "column_3", "b", "a_2", "a_4")
    assert result.renamed == {"a_3": "a", "column_3": "", "a_4": "a"}
    assert df.iloc[0].tolist() == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("name", ["UPPER.CSV", "export.txt", "no_extension"])
def test_in008_names_are_only_hints(tmp_path, name):
    path = write(tmp_path, "upload.tmp", "x;y\n1;2\n")
    result, df = ingest(tmp_path, path, filename=name)
    assert result.format.kind == "csv"
    assert result.columns == ("x", "y")
    assert df["y"].tolist() == [2]


def test_in009_gzip_csv(tmp_path):
    path = write(tmp_path, "big.csv.gz", gzip.compress(b"a,b\n1,x\n2,y\n"))
    assert detect_format(path).compression == "gzip"
    df = load_table(path)
    assert df["b"].tolist() == ["x", "y"]


def test_in010_parquet_with_duplicate_columns(tmp_path):
    table = pa.table([pa.array([1, 2]), pa.array(["u", "v"])], names=["k", "k"])
    path = tmp_path / "in.bin"
    pq.write_table(table, path)
    assert detect_format(path).kind == "parquet"
    result, df = ingest(tmp_path, path, filename="data.parquet")
    assert result.columns == ("k", "k_2")
    assert result.renamed == {"k_2": "k"}
    assert df["k_2"].tolist() == ["u", "v"]


def test_in011_xlsx_second_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    make_xlsx(
        path,
        {
            "Summary": [["note"], ["see next sheet"]],
            "Data": [["id", "when", "amount", None, "id"], [1, None, 2.5, None, "a"], [2]],
        },
    )
    assert excel_sheets(path) == ["Summary", "Data"]
    fmt = detect_format(path)
    assert (fmt.kind, fmt.sheets) == ("excel", ("Summary", "Data"))
    result, df = ingest(tmp_path, path, sheet="Data")
    assert result.sheet == "Data"
    assert result.columns == ("id", "when", "amount", "column_4", "id_2")
    assert df["id"].tolist() == [1, 2]
    assert df["amount"].tolist()[0] == 2.5
    assert df["id_2"].tolist()[0] == "a"
    first = load_table(path)
    assert first["note"].tolist() == ["see next sheet"]


def test_in012_xlsx_later_chunk_widens_columns(tmp_path):
    rows = [["n", "x", "late"]] + [[i, i, None] for i in range(300)] + [[1.5, "text", 7]]
    path = tmp_path / "mixed.xlsx"
    make_xlsx(path, {"S": rows})
    calls = []
    result, df = ingest(
        tmp_path, path, block_size=4096, progress=lambda done, total: calls.append((done, total))
    )  # 64-row chunks
    assert result.rows == 301
    assert calls[-1] == (302, 302)  # sheet rows, header included
    assert df["n"].iloc[-1] == 1.5 and df["n"].iloc[0] == 0
    assert df["x"].tolist()[-2:] == ["299", "text"]
    assert df["late"].iloc[-1] == 7
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups > 1


def test_in013_later_block_widens_csv_columns(tmp_path):
    lines = ["id,value,code"] + [f"{i},{i},{i}" for i in range(2000)]
    lines += ["2000,2.5,007", "2001,3,x-1", "2002,,"]
    path = write(tmp_path, "late.csv", "\n".join(lines) + "\n")
    result, df = ingest(tmp_path, path, block_size=4096)
    assert result.rows == 2003
    assert df["id"].dtype == "int64"
    assert df["value"].tolist()[-4:-1] == [1999.0, 2.5, 3.0]
    assert df["code"].tolist()[-4:-1] == ["1999", "007", "x-1"]
    assert pd.isna(df["code"].iloc[-1])
    schema = pq.read_schema(tmp_path / "out.parquet")
    assert schema.field("value").type == pa.float64()
    assert schema.field("code").type == pa.string()


def test_in014_quotes_after_plain_blocks_switch_reader(tmp_path):
    # Plain lines are cut into segments read in parallel; from the first segment with a
    # quote on, the streaming reader (which follows quoting) reads the rest.
    lines = ["id,text,amount"] + [f"{i},row {i},{i}" for i in range(3000)]
    lines += ['3000,"two\r\nlines, quoted",1.25', '3001,"say ""hi""",2']
    lines += [f"{i},row {i},{i}" for i in range(3002, 4000)]
    path = write(tmp_path, "mixed.csv", "\r\n".join(lines) + "\r\n")
    small, df = ingest(tmp_path, path, block_size=4096)
    assert small.rows == 4000
    assert df["id"].tolist() == list(range(4000))
    assert df["text"].iloc[3000] == "two\r\nlines, quoted"
    assert df["text"].iloc[3001] == 'say "hi"'
    assert df["amount"].iloc[3000] == 1.25 and df["amount"].dtype == "float64"
    pd.testing.assert_frame_equal(df, load_table(path))


def test_in015_many_blocks_and_progress(tmp_path):
    rows = 5000
    text = "a,b,c\n" + "".join(f"{i},name {i},{i * 0.5}\n" for i in range(rows))
    path = write(tmp_path, "many.csv", text)
    calls = []
    result, df = ingest(
        tmp_path, path, block_size=8192, progress=lambda done, total: calls.append((done, total))
    )
    assert result.rows == rows == len(df)
    assert df["a"].tolist() == list(range(rows))
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups > 1
    done = [d for d, _ in calls]
    assert len(calls) > 2
    assert done == sorted(done)
    assert calls[-1] == (path.stat().st_size, path.stat().st_size)


def test_in016_row_longer_than_block(tmp_path):
    path = write(tmp_path, "wide.csv", "a,b\n1," + "x" * 20000 + "\n2,y\n")
    result, df = ingest(tmp_path, path, block_size=4096)
    assert result.rows == 2
    assert len(df["b"].iloc[0]) == 20000


def test_in017_invalid_utf8_after_sample_falls_back(tmp_path):
    head = "name,n\n" + "plain,1\n" * 140_000  # past the 1 MiB detection sample
    path = write(tmp_path, "late.csv", head.encode() + "Café,2\n".encode("cp1252"))
    result, df = ingest(tmp_path, path)
    assert result.format.encoding == "cp1252"
    assert df["name"].iloc[-1] == "Café"


# --- bad files -------------------------------------------------------------------------


def test_in101_empty_file(tmp_path):
    assert_load_error(write(tmp_path, "e.csv", b""), "The file is empty")
    assert_load_error(write(tmp_path, "blank.csv", b"\n \n"), "empty")


def test_in102_header_only(tmp_path):
    message = assert_load_error(write(tmp_path, "h.csv", "a,b,c\n"), "column names but no rows")
    assert "h.csv" in message
    book = tmp_path / "h.xlsx"
    make_xlsx(book, {"S": [["a", "b"]]})
    assert_load_error(book, "column names but no rows")


def test_in103_binary_named_csv(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    message = assert_load_error(write(tmp_path, "photo.csv", png), "binary")
    assert "photo.csv" in message
    assert_load_error(write(tmp_path, "blob.csv", bytes(range(256)) * 8), "binary")


def test_in104_html_saved_as_csv(tmp_path):
    page = "\n  <!DOCTYPE html><HTML><body><table><tr><td>1</td></tr></table></body></HTML>"
    assert_load_error(write(tmp_path, "export.csv", page), "web page")


def test_in105_zip_with_csv_name(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner.csv", "a,b\n1,2\n")
    path = write(tmp_path, "data.csv", buffer.getvalue())
    assert_load_error(path, "is a ZIP archive, not a table. Unzip it")


def test_in106_truncated_xlsx(tmp_path):
    path = tmp_path / "full.xlsx"
    make_xlsx(path, {"S": [["a", "b"]] + [[i, f"row {i}"] for i in range(200)]})
    data = path.read_bytes()
    cut = write(tmp_path, "cut.xlsx", data[: len(data) // 2])
    assert_load_error(cut, "damaged or incomplete Excel file")


def test_in107_nul_bytes_in_text(tmp_path):
    path = write(tmp_path, "nul.csv", b"a,b\n1,2\x00\x00\n3,4\n")
    assert_load_error(path, "looks like a binary file")


def test_in108_unknown_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    make_xlsx(path, {"One": [["a"], [1]], "Two": [["b"], [2]]})
    message = assert_load_error(path, "no sheet named 'Three'", sheet="Three")
    assert "'One', 'Two'" in message


def test_in109_old_xls_and_other_archives(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    assert_load_error(write(tmp_path, "old.xls", ole), "old Excel 97-2003 .xls")
    assert_load_error(write(tmp_path, "x.csv", b"Rar!\x1a\x07\x00" + b"\x00" * 64), "RAR archive")
    tar = b"a.csv".ljust(257, b"\x00") + b"ustar" + b"\x00" * 300
    assert_load_error(write(tmp_path, "t.csv.gz", gzip.compress(tar)), "TAR archive")


def test_in110_ragged_row_and_bad_gzip(tmp_path):
    message = assert_load_error(write(tmp_path, "r.csv", "a,b\n1,2\n3,4,5\n"), "a row with 3")
    assert "header has 2 columns" in message
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 5000)
    assert_load_error(write(tmp_path, "c.csv.gz", data[: len(data) // 2]), "gzip")


def test_in111_damaged_parquet(tmp_path):
    table = pa.table({"a": list(range(1000))})
    pq.write_table(table, tmp_path / "ok.parquet")
    data = (tmp_path / "ok.parquet").read_bytes()
    path = write(tmp_path, "bad.parquet", data[: len(data) // 2])
    assert_load_error(path, "damaged or unsupported Parquet file")


def read_arrow(path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def both_outputs(tmp_path, path, **kwargs) -> tuple[IngestResult, pa.Table, pa.Table]:
    """Ingest ``path`` to Parquet and to Arrow IPC; return the result and both tables."""
    parquet, arrow = tmp_path / "out.parquet", tmp_path / "out.arrow"
    result = ingest_to_parquet(path, parquet, **kwargs)
    assert ingest_to_arrow(path, arrow, **kwargs) == result
    assert arrow.read_bytes()[:6] == b"ARROW1"
    return result, pq.read_table(parquet), read_arrow(arrow)


def test_in018_arrow_output_holds_the_same_table(tmp_path):
    lines = ["id,day,flag,amount,code"]
    lines += [
        f"{i},2024-01-{1 + i % 28:02d},{'true' if i % 3 else ''},{i / 4},c{i}" for i in range(3000)
    ]
    path = write(tmp_path, "table.csv", "\n".join(lines) + "\n")
    calls = []
    result, parquet, arrow = both_outputs(
        tmp_path, path, block_size=8192, progress=lambda done, total: calls.append((done, total))
    )
    assert result.rows == 3000 == arrow.num_rows
    assert arrow.equals(parquet)
    assert arrow.schema.field("day").type == pa.date32()
    assert arrow.schema.field("flag").type == pa.bool_()
    assert calls[-1] == (path.stat().st_size, path.stat().st_size)
    # The optimizer reads the Arrow file memory-mapped and writes the same Parquet file.
    optimize_parquet(tmp_path / "out.arrow", tmp_path / "a.parquet")
    optimize_parquet(tmp_path / "out.parquet", tmp_path / "p.parquet")
    a, p = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "p.parquet")
    pd.testing.assert_frame_equal(a, p)
    assert (str(a["day"].dtype), str(a["flag"].dtype)) == ("datetime64[ms]", "boolean")


def test_in019_arrow_output_of_excel_and_parquet(tmp_path):
    book = tmp_path / "book.xlsx"
    make_xlsx(book, {"S": [["n", "x"]] + [[i, f"v{i}"] for i in range(300)] + [[1.5, 7]]})
    result, parquet, arrow = both_outputs(tmp_path, book, block_size=4096)
    assert result.rows == 301 and arrow.equals(parquet)

    table = pa.table({"k": pa.array([1, 2, 3]), "t": pa.array(["u", None, "w"])})
    pq.write_table(table, tmp_path / "in.parquet")
    _, parquet, arrow = both_outputs(tmp_path, tmp_path / "in.parquet")
    assert arrow.equals(parquet) and arrow.column("t").to_pylist() == ["u", None, "w"]


def test_in020_parquet_with_changing_dictionaries_stays_parquet(tmp_path):
    # The row groups carry different dictionaries, which an Arrow IPC file cannot hold.
    first = pa.array(["a", "b"] * 50).dictionary_encode()
    second = pa.array(["c", "d"] * 50).dictionary_encode()
    table = pa.table({"k": pa.chunked_array([first, second]), "x": pa.array(range(200))})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=100)
    dest = tmp_path / "out.arrow"
    result = ingest_to_arrow(tmp_path / "in.parquet", dest, block_size=1024)
    assert result.rows == 200
    assert dest.read_bytes()[:4] == b"PAR1"
    optimize_parquet(dest, tmp_path / "final.parquet")
    df = pd.read_parquet(tmp_path / "final.parquet")
    assert df["k"].astype(str).tolist() == ["a", "b"] * 50 + ["c", "d"] * 50


def test_in021_arrow_output_errors(tmp_path):
    path = write(tmp_path, "ragged.csv", "a,b\n1,2\n3,4,5\n")
    dest = tmp_path / "failed.arrow"
    with pytest.raises(DataLoadError, match="ragged.csv has a row with 3 values"):
        ingest_to_arrow(path, dest)
    assert not dest.exists()
    with pytest.raises(ValueError, match="output"):
        ingest_to_parquet(path, tmp_path / "x", output="feather")


def test_in022_codes_with_leading_zeros_keep_their_zeros(tmp_path):
    path = write(tmp_path, "zip.csv", "zip,id,n\n02134,007,1\n10001,120,2\n90210,3,3\n")
    _, df = ingest(tmp_path, path)
    assert df["zip"].tolist() == ["02134", "10001", "90210"]
    assert df["id"].tolist() == ["007", "120", "3"]
    assert df["n"].tolist() == [1, 2, 3] and pd.api.types.is_integer_dtype(df["n"])
    optimized = tmp_path / "opt.parquet"
    optimize_parquet(tmp_path / "out.parquet", optimized)
    assert pd.read_parquet(optimized)["zip"].astype(str).tolist() == ["02134", "10001", "90210"]
    assert load_table(path)["zip"].tolist() == ["02134", "10001", "90210"]


# --- pathological shapes: refused from the first MB, before any parsing of the whole ------


def test_in112_one_line_of_millions_of_fields_is_refused_from_the_sample(tmp_path):
    # the file: 6 MB, one line of three million comma-separated fields
    path = write(tmp_path, "wide.csv", b"1," * 3_000_000 + b"\n")
    with pytest.raises(DataLoadError) as caught:
        detect_format(path)  # reads the first MB only
    assert "has at least 524,289 columns" in str(caught.value)
    message = assert_load_error(path, "reads tables of up to 5,000 columns")
    assert "check its separator" in message


def test_in113_a_table_just_over_the_column_cap_is_refused_with_its_width(tmp_path):
    header = ",".join(f"c{i}" for i in range(5_001))
    path = write(tmp_path, "w.csv", header + "\n" + ",".join("1" * 5_001) + "\n")
    assert_load_error(path, "w.csv has 5,001 columns; this app reads tables of up to 5,000")
    ok = write(
        tmp_path, "ok.csv", ",".join(f"c{i}" for i in range(5_000)) + "\n" + "1," * 4_999 + "1\n"
    )
    result, frame = ingest(tmp_path, ok)
    assert result.rows == 1 and frame.shape == (1, 5_000)


def test_in114_first_line_longer_than_the_sample_is_not_a_header(tmp_path):
    path = write(tmp_path, "long.csv", "x" * (3 << 20) + ",b\n1,2\n")
    assert_load_error(path, "The first line of long.csv is longer than 1 MB")


def test_in115_a_long_data_row_is_read_but_not_the_header_check(tmp_path):
    # a 2 MB text cell in the first data row: legitimate, and longer than the sample
    path = write(tmp_path, "cell.csv", "id,text\n1," + "y" * (2 << 20) + "\n2,short\n")
    result, frame = ingest(tmp_path, path, block_size=1 << 16)
    assert result.rows == 2 and len(frame.loc[0, "text"]) == 2 << 20


def test_in116_a_quote_that_never_closes_stops_at_the_row_cap(tmp_path, monkeypatch):
    import dashboard.data._csv_stream as csv_stream

    monkeypatch.setattr(csv_stream, "MAX_ROW_BYTES", 1 << 20)  # 64 MB in production
    path = write(tmp_path, "q.csv", 'a,b\n1,"open\n' + "2,more text\n" * 400_000)
    with pytest.raises(DataLoadError) as caught:
        ingest_to_parquet(path, tmp_path / "out.parquet", block_size=1 << 16)
    message = str(caught.value)
    assert message.startswith("q.csv has a row longer than 1 MB"), message
    assert "a quote" in message and "never closed" in message


def test_in117_excel_and_parquet_over_the_column_cap_are_refused(tmp_path):
    book = openpyxl.Workbook()
    book.active.append([f"c{i}" for i in range(5_001)])
    book.active.append(list(range(5_001)))
    book.save(tmp_path / "wide.xlsx")
    assert_load_error(tmp_path / "wide.xlsx", "wide.xlsx has 5,001 columns")
    table = pa.table({f"c{i}": [1] for i in range(5_001)})
    pq.write_table(table, tmp_path / "wide.parquet")
    assert_load_error(tmp_path / "wide.parquet", "wide.parquet has 5,001 columns")
