"""Browser flow of the Customer Value page: CDNOW uploaded, mapped, scored, downloaded."""

from __future__ import annotations

import json

import pytest
import requests
from selenium.webdriver.common.by import By

from components.ids import Rfm, Shell
from tests.integration.helpers import console_errors, grid_cells, upload_file, wait_until
from tests.integration.test_data_page import open_data_page

pytestmark = pytest.mark.browser


def click(dash_duo, ident):
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ident}"))


def download_href(dash_duo, item: str, fmt: str = "csv") -> str:
    # Dash writes a dict id as JSON with its keys sorted
    ident = json.dumps({"file": item, "format": fmt, "type": Rfm.DOWNLOAD}, separators=(",", ":"))
    return dash_duo.driver.execute_script(
        "return document.getElementById(arguments[0]).href", ident
    )


def test_rfm201_cdnow_mapped_scored_charted_and_downloaded(dash_duo, make_app, shared_data):
    open_data_page(dash_duo, make_app())
    upload_file(dash_duo, shared_data / "cdnow_transactions.csv")
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 69,659 rows", timeout=60)

    dash_duo.driver.get(dash_duo.server_url + "/rfm")
    # the mapping is proposed from the column names and types
    dash_duo.wait_for_contains_text(f"#{Rfm.CUSTOMER}", "customer_id")
    dash_duo.wait_for_contains_text(f"#{Rfm.DATE}", "order_date")
    dash_duo.wait_for_contains_text(f"#{Rfm.AMOUNT}", "amount")
    dash_duo.wait_for_contains_text(f"#{Rfm.STATUS}", "Run the analysis")
    k = dash_duo.find_element(f"#{Rfm.K}")
    dash_duo.clear_input(k)
    k.send_keys("3")
    click(dash_duo, Rfm.RUN)

    dash_duo.wait_for_contains_text(
        f"#{Shell.MESSAGE}", "Scored 23,502 of 23,570 customers", timeout=90
    )
    dash_duo.wait_for_contains_text(f"#{Rfm.CARDS}", "23,570")
    # the segment chart: one bar per segment that has customers
    bars = wait_until(
        lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{Rfm.SEGMENT_GRAPH} .bars path")
    )
    assert len(bars) == 9
    names = wait_until(lambda: grid_cells(dash_duo, f"#{Rfm.SEGMENT_GRID}", "segment"))
    assert len(names) == 11 and names[0] == "Champions" and "Cannot Lose Them" in names
    assert "Champions are 31 % of customers" in dash_duo.find_element(f"#{Rfm.SUMMARY}").text
    assert "k = 3" in dash_duo.driver.page_source

    answer = requests.get(download_href(dash_duo, "rfm_customers"), timeout=30)
    assert answer.status_code == 200
    lines = answer.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("customer,recency,frequency,monetary,r_score,f_score,m_score")
    assert len(lines) == 23_502 + 1
    assert lines[1].startswith("00001,546,1,11.77,")  # customer 00001: one order of 11.77
    segments = requests.get(download_href(dash_duo, "rfm_segments"), timeout=30)
    rows = segments.content.decode("utf-8-sig").strip().splitlines()
    assert rows[0].startswith("segment,customers,share_pct,revenue,revenue_share_pct")
    assert len(rows) == 11 + 1 and rows[1].startswith("Champions,7231,30.8,")
    assert console_errors(dash_duo) == []

    # a date column as the amount: refused at once, the results stay on the page
    dash_duo.select_dcc_dropdown(f"#{Rfm.AMOUNT}", value="order_date")
    click(dash_duo, Rfm.RUN)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "holds dates, not amounts", timeout=15)
    assert grid_cells(dash_duo, f"#{Rfm.SEGMENT_GRID}", "segment")[0] == "Champions"
    shares = grid_cells(dash_duo, f"#{Rfm.SEGMENT_GRID}", "share_pct")
    assert shares[0] == "30.8 %"
    assert "d-none" in dash_duo.find_element(f"#{Shell.JOB_BANNER}").get_attribute("class")
