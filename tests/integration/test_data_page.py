"""Browser flows of the Data page (real Chromium, real background jobs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.ids import Data, Shell
from tests.integration.helpers import console_errors, grid_cells, upload_file, wait_until

pytestmark = pytest.mark.browser


def write_sales_csv(path, rows: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "order_id": np.arange(1, rows + 1),
            "city": rng.choice(["Lyon", "Paris", "Nice"], rows),
            "amount": rng.integers(1, 400, rows) / 4,
            "pack.size": rng.integers(1, 9, rows),  # a dot in a name is no nested field
        }
    )
    frame.to_csv(path, index=False)
    return frame


def open_data_page(dash_duo, app):
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(f"#{Shell.NAV}")
    dash_duo.driver.get(dash_duo.server_url + "/data")
    dash_duo.wait_for_element(f"#{Data.UPLOAD_ZONE}")


def test_data001_upload_csv_shows_report_preview_and_columns(dash_duo, make_app, tmp_path):
    frame = write_sales_csv(tmp_path / "sales.csv", 500)
    open_data_page(dash_duo, make_app())

    upload_file(dash_duo, tmp_path / "sales.csv")

    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 500 rows × 4 columns", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Data.REPORT}", "saved")
    dash_duo.wait_for_contains_text(f"#{Data.SAMPLING_TEXT}", "Using all 500 rows")
    # the optimization report lists every column with its new type
    report_types = wait_until(lambda: grid_cells(dash_duo, f"#{Data.REPORT_GRID}", "after"))
    assert "category" in report_types and "int16" in report_types
    # the preview grid pages rows in from the store: first rows equal the file's
    first_ids = wait_until(lambda: grid_cells(dash_duo, f"#{Data.PREVIEW}", "order_id"))
    assert first_ids[:3] == ["1", "2", "3"]
    cities = grid_cells(dash_duo, f"#{Data.PREVIEW}", "city")
    assert cities[:3] == list(frame["city"][:3])
    sizes = grid_cells(dash_duo, f"#{Data.PREVIEW}", "pack.size")
    assert sizes[:3] == [str(v) for v in frame["pack.size"][:3]]
    # the column table: one row per column
    names = wait_until(lambda: grid_cells(dash_duo, f"#{Data.COLUMNS_GRID}", "column"))
    assert sorted(names) == sorted(frame.columns)
    assert console_errors(dash_duo) == []


def test_data002_bad_file_shows_message_and_keeps_dataset(dash_duo, make_app, tmp_path):
    write_sales_csv(tmp_path / "good.csv", 200)
    bad = tmp_path / "photo.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    open_data_page(dash_duo, make_app())
    upload_file(dash_duo, tmp_path / "good.csv")
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 200 rows", timeout=30)

    upload_file(dash_duo, bad)

    dash_duo.wait_for_element(f"#{Shell.MESSAGE} .alert-danger", timeout=30)
    message = dash_duo.find_element(f"#{Shell.MESSAGE}").text
    assert "photo.csv looks like a binary file (a PNG image), not a table" in message
    assert "Traceback" not in message
    # the earlier dataset is still the active one, intact
    dash_duo.wait_for_contains_text(f"#{Data.SAMPLING_TEXT}", "Using all 200 rows")
    ids = wait_until(lambda: grid_cells(dash_duo, f"#{Data.PREVIEW}", "order_id"))
    assert ids[:2] == ["1", "2"]


def test_data003_large_file_is_sampled_and_page_says_so(dash_duo, make_app, tmp_path):
    write_sales_csv(tmp_path / "big.csv", 2_500)
    app = make_app(sample_threshold_rows=1_000, sample_rows=300)
    open_data_page(dash_duo, app)

    upload_file(dash_duo, tmp_path / "big.csv")

    dash_duo.wait_for_contains_text(
        f"#{Data.SAMPLING_TEXT}", "Using 300 sampled rows of 2,500", timeout=30
    )
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "300 rows for analysis")
    # the full data stays on disk as data_full, the sample is data
    session = dash_duo.driver.execute_script(
        f"return JSON.parse(window.sessionStorage.getItem('{Shell.SESSION}'))"
    )
    store = app.services.store
    assert store.info_by_name(session, "data_full").rows == 2_500
    assert store.info_by_name(session, "data").rows == 300


def test_data004_oversized_upload_is_refused_with_message(dash_duo, make_app, tmp_path):
    big = tmp_path / "huge.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 300_000)  # 1.2 MB, over a 1 MB limit
    open_data_page(dash_duo, make_app(max_upload_mb=1))

    upload_file(dash_duo, big)

    dash_duo.wait_for_contains_text(
        f"#{Shell.MESSAGE}", "larger than the 1 MB upload limit", timeout=15
    )


def test_data005_resample_and_use_full_data(dash_duo, make_app, tmp_path):
    write_sales_csv(tmp_path / "big.csv", 2_500)
    open_data_page(dash_duo, make_app(sample_threshold_rows=1_000, sample_rows=300))
    upload_file(dash_duo, tmp_path / "big.csv")
    dash_duo.wait_for_contains_text(
        f"#{Data.SAMPLING_TEXT}", "Using 300 sampled rows of 2,500", timeout=30
    )

    size = dash_duo.find_element(f"#{Data.SAMPLE_SIZE}")
    dash_duo.clear_input(size)
    size.send_keys("500")
    dash_duo.find_element(f"#{Data.SAMPLE_APPLY}").click()
    dash_duo.wait_for_contains_text(
        f"#{Data.SAMPLING_TEXT}", "Using 500 sampled rows of 2,500", timeout=30
    )

    dash_duo.find_element(f"#{Data.SAMPLE_FULL}").click()
    dash_duo.wait_for_contains_text(
        f"#{Data.SAMPLING_TEXT}", "Using the full data (2,500 rows)", timeout=30
    )
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Using the full data: 2,500 rows.")


def test_data006_excel_with_two_sheets_offers_the_sheet_choice(dash_duo, make_app, tmp_path):
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"a": [1, 2, 3]}).to_excel(writer, sheet_name="2023", index=False)
        pd.DataFrame({"b": range(7), "c": list("abcdefg")}).to_excel(
            writer, sheet_name="2024", index=False
        )
    open_data_page(dash_duo, make_app())
    upload_file(dash_duo, book)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 3 rows × 1 columns", timeout=30)

    dash_duo.select_dcc_dropdown(f"#{Data.SHEET_SELECT}", value="2024")
    dash_duo.wait_for_contains_text(f"#{Data.SHEET_SELECT}", "2024")
    dash_duo.driver.execute_script(  # the closed menu can still cover the button for a moment
        "arguments[0].click();", dash_duo.find_element(f"#{Data.SHEET_APPLY}")
    )

    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 7 rows × 2 columns", timeout=30)
    names = wait_until(lambda: grid_cells(dash_duo, f"#{Data.COLUMNS_GRID}", "column"))
    assert sorted(names) == ["b", "c"]
