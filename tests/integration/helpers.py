"""Small helpers for the browser flows."""

from __future__ import annotations

import time

from selenium.webdriver.common.by import By

from components.ids import Data


def upload_file(dash_duo, path) -> None:
    """Choose ``path`` in the Data page's file input (as a user picking a file)."""
    field = dash_duo.wait_for_element(f"#{Data.UPLOAD_INPUT}")
    field.send_keys(str(path))


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.2, message: str = ""):
    """Poll ``predicate`` until it returns a truthy value; fail with ``message`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or "condition not met in time")


def grid_cells(dash_duo, grid_selector: str, col_id: str) -> list[str]:
    """Return the rendered cell texts of one column of an AG Grid."""
    cells = dash_duo.driver.find_elements(
        By.CSS_SELECTOR, f"{grid_selector} .ag-center-cols-container [col-id='{col_id}']"
    )
    return [c.text for c in cells]


def console_errors(dash_duo) -> list[dict]:
    """Return the browser console entries of level SEVERE."""
    return [e for e in dash_duo.get_logs() or [] if e.get("level") == "SEVERE"]
