"""Browser flow of the Market Basket page: sample, long layout, rules, filter, CSV download."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import requests
from selenium.webdriver.common.by import By

from components.ids import Basket, Shell
from tests.integration.helpers import console_errors, grid_cells, wait_until

pytestmark = pytest.mark.browser


def set_value(dash_duo, ident, value):
    """Choose ``value`` in a control (Selenium clicks on dropdown menus are unreliable)."""
    dash_duo.wait_for_element(f"#{ident}")
    dash_duo.driver.execute_script(
        "window.dash_clientside.set_props(arguments[0], {value: arguments[1]});", ident, value
    )


def click(dash_duo, ident):
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ident}"))


def test_mb201_sample_long_layout_rules_filter_and_download(dash_duo, make_app):
    dash_duo.driver.set_window_size(1400, 1200)
    dash_duo.start_server(make_app())
    dash_duo.wait_for_element(f"#{Shell.NAV}")
    dash_duo.driver.get(dash_duo.server_url + "/basket")

    # no data yet: the page offers its sample
    dash_duo.wait_for_element(f"#{Basket.SAMPLE}").click()
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 20,998 rows", timeout=60)
    dash_duo.wait_for_contains_text(f"#{Basket.DETECTED}", "grouped by 'invoice'", timeout=20)

    # the long layout, its columns, and the default thresholds
    long_choice = dash_duo.driver.find_element(
        By.XPATH, f"//*[@id='{Basket.LAYOUT}']//label[contains(., 'Long')]"
    )
    long_choice.click()
    assert dash_duo.find_element(f"#{Basket.LONG_GROUP}").is_displayed()
    assert not dash_duo.find_element(f"#{Basket.ONEHOT_GROUP}").is_displayed()
    assert "invoice" in dash_duo.find_element(f"#{Basket.TRANSACTION}").text
    assert "product" in dash_duo.find_element(f"#{Basket.ITEM}").text
    assert "quantity" in dash_duo.find_element(f"#{Basket.QUANTITY}").text  # returns left out
    click(dash_duo, Basket.RUN)

    dash_duo.wait_for_contains_text(
        f"#{Shell.MESSAGE}", "Found 953 rules in 4,600 transactions", timeout=60
    )
    dash_duo.wait_for_contains_text(f"#{Basket.RULE_COUNT}", "953")
    dash_duo.wait_for_contains_text(f"#{Basket.SUMMARY}", "Strongest rule")
    # the rules grid and the scatter
    consequents = wait_until(lambda: grid_cells(dash_duo, f"#{Basket.RULES_GRID}", "consequents"))
    assert consequents[0] == "vanilla extract"
    points = wait_until(
        lambda: dash_duo.driver.find_elements(
            By.CSS_SELECTOR, f"#{Basket.SCATTER} .scatterlayer .point"
        )
    )
    assert len(points) == 953

    # filter by an item: every rule shown holds it
    set_value(dash_duo, Basket.FILTER_ITEM, "bread")
    dash_duo.wait_for_contains_text(f"#{Basket.FILTER_NOTE}", "rules with bread")

    def shown_rules():
        sides = zip(
            grid_cells(dash_duo, f"#{Basket.RULES_GRID}", "antecedents"),
            grid_cells(dash_duo, f"#{Basket.RULES_GRID}", "consequents"),
            strict=False,
        )
        return [a.split(", ") + c.split(", ") for a, c in sides]

    rows = wait_until(lambda: (r := shown_rules()) and all("bread" in x for x in r) and r)
    assert len(rows) >= 5

    # download the rules as CSV through the page's link
    link = dash_duo.driver.find_element(By.XPATH, "//a[contains(., 'Rules (CSV)')]")
    response = requests.get(link.get_attribute("href"), timeout=30)
    assert response.status_code == 200
    assert "basket-rules-v1.csv" in response.headers["Content-Disposition"]
    frame = pd.read_csv(io.BytesIO(response.content))
    assert len(frame) == 953
    assert frame.loc[0, "antecedents"] == "chocolate chips, flour, sugar"
    assert console_errors(dash_duo) == []
