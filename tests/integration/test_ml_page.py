"""Browser flows of the Machine Learning page (real Chromium, real job and training processes)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from components.ids import ML, Data, Shell
from tests.integration.helpers import console_errors, grid_cells, upload_file, wait_until
from tests.integration.test_data_page import open_data_page

pytestmark = pytest.mark.browser


def click(dash_duo, element) -> None:
    # JS click: the element may sit under a chart or outside the window
    dash_duo.driver.execute_script("arguments[0].click();", element)


def choose_models(dash_duo, wanted: list[str]) -> None:
    """Tick exactly ``wanted`` in the model checklist, as a user clicking the boxes."""
    for box in dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ML.MODELS} .form-check"):
        label = box.find_element(By.TAG_NAME, "label").text
        checkbox = box.find_element(By.TAG_NAME, "input")
        if checkbox.is_selected() != (label in wanted):
            click(dash_duo, checkbox)
    wait_until(
        lambda: (
            sorted(
                b.find_element(By.TAG_NAME, "label").text
                for b in dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ML.MODELS} .form-check")
                if b.find_element(By.TAG_NAME, "input").is_selected()
            )
            == sorted(wanted)
        ),
        message="the model checklist did not take the choice",
    )


def model_cells(dash_duo) -> list[str]:
    """The results table's model names in row order (the column is pinned to the left)."""
    return grid_cells(dash_duo, f"#{ML.TABLE}", "model")


def open_ml_page(dash_duo) -> None:
    dash_duo.driver.get(dash_duo.server_url + "/ml")
    dash_duo.wait_for_element(f"#{ML.MODELS}", timeout=20)


def nav_locked(dash_duo) -> bool:
    link = dash_duo.driver.find_element(By.CSS_SELECTOR, f"#{Shell.NAV} a[href='/data']")
    return "disabled" in (link.get_attribute("class") or "")


def test_ml301_train_three_models_with_progress_lock_rows_and_confusion_matrix(dash_duo, make_app):
    open_data_page(dash_duo, make_app())
    sample = dash_duo.driver.find_element(
        By.CSS_SELECTOR, f"[id*='{Data.SAMPLE_BUTTON}'][id*='tips']"
    )
    click(dash_duo, sample)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 244 rows", timeout=30)
    open_ml_page(dash_duo)

    dash_duo.select_dcc_dropdown(f"#{ML.TARGET}", value="smoker")
    dash_duo.wait_for_contains_text(f"#{ML.TASK_NOTE}", "Inferred classification")
    models = ["Logistic Regression", "Decision Tree", "Random Forest"]
    choose_models(dash_duo, models)
    click(dash_duo, dash_duo.find_element(f"#{ML.TRAIN}"))

    # progress in the banner, navigation locked while it runs
    dash_duo.wait_for_contains_text(f"#{Shell.JOB_STATUS}", " of 3", timeout=30)
    assert dash_duo.find_element(f"#{Shell.JOB_STATUS}").text.startswith("Training ")
    assert nav_locked(dash_duo)

    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Trained 3 of 3 models", timeout=120)
    wait_until(lambda: not nav_locked(dash_duo), message="navigation still locked")
    names = wait_until(lambda: model_cells(dash_duo))
    assert sorted(names) == sorted(models)
    assert grid_cells(dash_duo, f"#{ML.TABLE}", "status") == ["ok"] * 3
    # figures are shown rounded to 4 significant digits, not as 0.982828282828
    scores = grid_cells(dash_duo, f"#{ML.TABLE}", "cv_mean")
    assert len(scores) == 3 and all(re.fullmatch(r"[01](\.\d+)?", s) for s in scores)
    assert all(len(re.sub(r"\D", "", s).lstrip("0")) <= 4 for s in scores), scores
    dash_duo.wait_for_contains_text(f"#{ML.BEST}", "Confusion matrix")
    cells = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ML.CONFUSION_GRAPH} .hm")
    assert cells, "the confusion matrix heatmap is not drawn"
    assert "ranks first" in dash_duo.find_element(f"#{ML.SUMMARY}").text
    assert console_errors(dash_duo) == []


def slow_table(path, rows: int = 12_000, columns: int = 60) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.normal(size=(rows, columns)).round(4), columns=[f"x{i}" for i in range(columns)]
    )
    frame["y"] = (3 * frame["x0"] + rng.normal(size=rows)).round(3)
    frame.to_csv(path, index=False)


def test_ml302_cancel_mid_run_keeps_the_finished_models(dash_duo, make_app, tmp_path):
    slow_table(tmp_path / "wide.csv")
    open_data_page(dash_duo, make_app())
    upload_file(dash_duo, tmp_path / "wide.csv")
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 12,000 rows", timeout=60)
    open_ml_page(dash_duo)
    dash_duo.wait_for_contains_text(f"#{ML.TASK_NOTE}", "Inferred regression")  # y, last column
    choose_models(dash_duo, ["Ridge", "Gradient Boosting", "Lasso"])
    click(dash_duo, dash_duo.find_element(f"#{ML.TRAIN}"))

    # the table fills in while the job runs: Ridge and Lasso, then Gradient Boosting takes long
    dash_duo.wait_for_contains_text(f"#{Shell.JOB_STATUS}", "Gradient Boosting", timeout=60)
    wait_until(
        lambda: sorted(model_cells(dash_duo)) == ["Lasso", "Ridge"],
        timeout=30,
        message="the finished models' rows did not appear while the job ran",
    )
    click(dash_duo, dash_duo.find_element(f"#{Shell.JOB_CANCEL}"))

    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Cancelled", timeout=30)
    dash_duo.wait_for_contains_text(
        f"#{ML.STATUS}", "This run stopped after 2 of 3 models", timeout=30
    )
    assert sorted(model_cells(dash_duo)) == ["Lasso", "Ridge"]
    assert grid_cells(dash_duo, f"#{ML.TABLE}", "status") == ["ok", "ok"]
    wait_until(lambda: not nav_locked(dash_duo), message="navigation still locked")
    # a reload shows the same kept results
    dash_duo.driver.refresh()
    dash_duo.wait_for_contains_text(f"#{ML.STATUS}", "This run stopped after 2 of 3", timeout=30)
    assert sorted(model_cells(dash_duo)) == ["Lasso", "Ridge"]
