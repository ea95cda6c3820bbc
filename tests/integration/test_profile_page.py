"""Browser flow of the Profile page (the read-only part: profile job, cards, charts)."""

from __future__ import annotations

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
