"""Browser flow of the Profile page (the read-only part: profile job, cards, charts)."""

from __future__ import annotations

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from components.ids import Profile, Shell
from tests.integration.helpers import console_errors, upload_file, wait_until
from tests.integration.test_data_page import open_data_page, write_sales_csv

pytestmark = pytest.mark.browser


def test_profile001_profile_job_shows_cards_and_histogram(dash_duo, make_app, tmp_path):
    write_sales_csv(tmp_path / "sales.csv", 400)
    open_data_page(dash_duo, make_app())
    upload_file(dash_duo, tmp_path / "sales.csv")
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 400 rows", timeout=30)

    dash_duo.driver.get(dash_duo.server_url + "/profile")
    dash_duo.wait_for_contains_text(f"#{Profile.STATUS}", "No profile yet")
    dash_duo.find_element(f"#{Profile.RUN}").click()

    dash_duo.wait_for_contains_text(
        f"#{Shell.MESSAGE}", "Profiled 400 rows × 4 columns", timeout=30
    )
    dash_duo.wait_for_contains_text(f"#{Profile.CARDS}", "400")
    assert "/ 100" in dash_duo.find_element(f"#{Profile.SCORE}").text
    assert dash_duo.find_element(f"#{Profile.SCORE}").get_attribute("title")  # the formula
    # the histogram of the first column is drawn from server-side bins
    bars = wait_until(
        lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{Profile.DIST_GRAPH} .bars path")
    )
    assert len(bars) > 3
    assert console_errors(dash_duo) == []


def choose_op(dash_duo, value, label):
    # the dropdown sits far down the page, where Selenium's click lands on a chart overlay;
    # set_props needs the component rendered first (the page content arrives after the job)
    dash_duo.wait_for_element(f"#{Profile.CLEAN_OP}")
    dash_duo.driver.execute_script(
        "window.dash_clientside.set_props(arguments[0], {value: arguments[1]});",
        Profile.CLEAN_OP,
        value,
    )
    dash_duo.wait_for_contains_text(f"#{Profile.CLEAN_OP}", label)


def click(dash_duo, ident):
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ident}"))


def test_profile002_clean_preview_apply_and_undo(dash_duo, make_app, tmp_path):
    frame = write_sales_csv(tmp_path / "base.csv", 250)
    frame = pd.concat([frame, frame.head(50)], ignore_index=True)  # 50 duplicate rows
    frame["notes"] = None  # an empty column
    frame.to_csv(tmp_path / "messy.csv", index=False)
    open_data_page(dash_duo, make_app())
    upload_file(dash_duo, tmp_path / "messy.csv")
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 300 rows × 5 columns", timeout=30)
    dash_duo.driver.get(dash_duo.server_url + "/profile")
    click(dash_duo, Profile.RUN)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Profiled 300 rows", timeout=30)

    # two steps: remove duplicates, then drop columns above 50 % missing
    choose_op(dash_duo, "remove_duplicates", "Remove duplicate rows")
    click(dash_duo, Profile.CLEAN_ADD)
    choose_op(dash_duo, "drop_missing_columns", "Drop columns with many missing values")
    click(dash_duo, Profile.CLEAN_ADD)
    dash_duo.wait_for_contains_text(f"#{Profile.CLEAN_LIST}", "drop missing columns")

    click(dash_duo, Profile.CLEAN_PREVIEW)
    dash_duo.wait_for_contains_text(f"#{Profile.CLEAN_REPORT}", "300 → 250", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Profile.CLEAN_REPORT}", "5 → 4")

    click(dash_duo, Profile.CLEAN_APPLY)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "has 250 rows × 4 columns", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Profile.CARDS}", "250")

    click(dash_duo, Profile.CLEAN_UNDO)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Undone", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Profile.CARDS}", "300")
