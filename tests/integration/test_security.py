"""Security headers: every page works under the Content-Security-Policy, with no console error."""

from __future__ import annotations

import time

import pytest
import requests
from selenium.webdriver.common.by import By

from callbacks.pages import PAGES
from components.ids import Basket, Shell

pytestmark = pytest.mark.browser


def test_sec001_every_page_renders_under_the_policy_without_console_errors(dash_duo, make_app):
    dash_duo.start_server(make_app())
    dash_duo.wait_for_element(f"#{Shell.NAV}")
    headers = requests.get(dash_duo.server_url + "/", timeout=10).headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in policy and "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    # a page with grids and charts (the basket sample: rules grid, scatter, network)
    dash_duo.driver.get(dash_duo.server_url + "/basket")
    dash_duo.wait_for_element(f"#{Basket.SAMPLE}").click()
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded", timeout=60)
    for page in PAGES:
        dash_duo.driver.get(dash_duo.server_url + page.path)
        dash_duo.wait_for_element(f"#{Shell.NAV}")
        time.sleep(1.5)  # charts and grids render after the page's callbacks
        assert dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{Shell.PAGE} *"), page.path
        errors = [entry["message"] for entry in dash_duo.get_logs()]
        assert errors == [], (page.path, errors)
