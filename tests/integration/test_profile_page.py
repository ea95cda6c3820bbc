"""Browser flow of the Profile page (the read-only part: profile job, cards, charts)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from components.ids import Data, Profile, Shell
from dashboard.cleaning._apply import apply_steps, validate_steps
from dashboard.data._samples import write_sample
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
    if isinstance(ident, dict):  # a dict id, as Dash writes it in the page
        selector = "[id='" + json.dumps(ident, separators=(",", ":"), sort_keys=True) + "']"
        element = dash_duo.wait_for_element(selector)
    else:
        element = dash_duo.wait_for_element(f"#{ident}")
    dash_duo.driver.execute_script("arguments[0].click();", element)


def set_value(dash_duo, ident, value):
    dash_duo.driver.execute_script(
        "window.dash_clientside.set_props(arguments[0], {value: arguments[1]});", ident, value
    )


def histogram_total(dash_duo) -> int:
    """Rows counted by the histogram as drawn in the browser (the figure's bar heights)."""
    return wait_until(
        lambda: dash_duo.driver.execute_script(
            "const g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
            "return g && g.data && g.data[0] ? g.data[0].y.reduce((a, b) => a + b, 0) : 0;",
            f"#{Profile.DIST_GRAPH}",
        )
    )


def test_profile002_clean_preview_apply_and_undo(dash_duo, make_app, tmp_path):
    # what the two steps do to the tips sample, computed by the cleaning module itself
    tips = pd.read_csv(write_sample("tips", tmp_path))
    steps = [
        {"op": "remove_duplicates"},
        {"op": "remove_outliers", "columns": ["total_bill"], "method": "iqr", "k": 1.5},
    ]
    expected = apply_steps(tips, validate_steps(tips, steps)).frame
    kept = len(expected)
    assert 200 < kept < 243

    open_data_page(dash_duo, make_app())
    click(dash_duo, {"type": Data.SAMPLE_BUTTON, "name": "tips"})
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 244 rows × 7 columns", timeout=30)
    dash_duo.driver.get(dash_duo.server_url + "/profile")
    click(dash_duo, Profile.RUN)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Profiled 244 rows", timeout=30)
    assert histogram_total(dash_duo) == 244  # total_bill, the first column

    choose_op(dash_duo, "remove_duplicates", "Remove duplicate rows")
    click(dash_duo, Profile.CLEAN_ADD)
    choose_op(dash_duo, "remove_outliers", "Remove outliers")
    set_value(dash_duo, Profile.CLEAN_COLUMNS, ["total_bill"])
    click(dash_duo, Profile.CLEAN_ADD)
    dash_duo.wait_for_contains_text(f"#{Profile.CLEAN_LIST}", "remove outliers")

    click(dash_duo, Profile.CLEAN_PREVIEW)
    dash_duo.wait_for_contains_text(f"#{Profile.CLEAN_REPORT}", "244 → 243", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Profile.CLEAN_REPORT}", f"243 → {kept}")

    click(dash_duo, Profile.CLEAN_APPLY)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", f"has {kept} rows × 7 columns", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Profile.CARDS}", str(kept))
    wait_until(lambda: histogram_total(dash_duo) == kept, message="histogram not redrawn")

    click(dash_duo, Profile.CLEAN_UNDO)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Undone", timeout=30)
    dash_duo.wait_for_contains_text(f"#{Profile.CARDS}", "244")
    wait_until(lambda: histogram_total(dash_duo) == 244, message="histogram not restored")
