"""Small helpers for the browser flows."""

from __future__ import annotations

import time

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
    """Return the rendered cell texts of one column of an AG Grid, in row order.

    Read in one script call, so a re-render of the grid between finding a cell and reading
    its text cannot leave a stale element behind.
    """
    return dash_duo.driver.execute_script(
        """
        const rows = [...document.querySelectorAll(arguments[0])];
        const index = (r) => Number(r.getAttribute('row-index'));
        rows.sort((a, b) => index(a) - index(b));
        return rows.map(r => {
            const cell = r.querySelector(`[col-id='${arguments[1]}']`);
            return cell ? cell.innerText.trim() : null;
        }).filter(t => t !== null);
        """,
        f"{grid_selector} .ag-center-cols-container .ag-row, "
        f"{grid_selector} .ag-pinned-left-cols-container .ag-row",
        col_id,
    )


def console_errors(dash_duo) -> list[dict]:
    """Return the browser console entries of level SEVERE."""
    return [e for e in dash_duo.get_logs() or [] if e.get("level") == "SEVERE"]
