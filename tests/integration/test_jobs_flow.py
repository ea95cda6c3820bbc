"""Browser flows of the job layer: lock, banner, reload, cancel, kill, memory limit."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
import requests
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By

from components.ids import Shell
from dashboard.jobs._selftest import set_hold
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.browser


def start_selftest(browser, **params) -> None:
    """Put a self-test job request into the shell's job-request store, as a page would."""
    browser.driver.execute_script(
        "window.dash_clientside.set_props(arguments[0],"
        " {data: Object.assign({kind: 'selftest', t: Date.now() / 1000}, arguments[1])});",
        Shell.JOB_REQUEST,
        params,
    )


def nav_disabled(browser) -> list[bool]:
    links = browser.driver.find_elements(By.CSS_SELECTOR, f"#{Shell.NAV} a")
    return ["disabled" in (link.get_attribute("class") or "") for link in links]


def session_of(browser) -> str:
    return browser.driver.execute_script(
        f"return JSON.parse(window.sessionStorage.getItem('{Shell.SESSION}'))"
    )


def open_app(browser, app=None, url=None):
    if app is not None:
        browser.start_server(app)
    else:
        browser.server_url = url
    browser.wait_for_element(f"#{Shell.NAV}")
    wait_until(lambda: session_of(browser), message="no session id")


@pytest.fixture
def held(settings):
    folder = settings.cache_dir / "selftest"
    set_hold(folder, True)
    yield folder
    set_hold(folder, False)


def test_job001_lock_banner_and_reload_reattach(dash_duo, make_app, held):
    open_app(dash_duo, make_app(enable_test_jobs=True))
    start_selftest(dash_duo, steps=3, step_s=0.1)

    dash_duo.wait_for_contains_text(f"#{Shell.JOB_STATUS}", "Self-test (3 steps) — Step 1 of 3")
    wait_until(lambda: all(nav_disabled(dash_duo)), message="navigation was not locked")
    # the Home page's own link to the Data page is locked too: a click does not leave
    home_link = dash_duo.find_element(f"#{Shell.PAGE} a[href='/data']")
    wait_until(lambda: home_link.value_of_css_property("pointer-events") == "none")
    try:
        home_link.click()
    except ElementClickInterceptedException:
        pass
    assert dash_duo.driver.current_url.rstrip("/") == dash_duo.server_url.rstrip("/")

    dash_duo.driver.refresh()  # the browser forgets the job; the server does not
    dash_duo.wait_for_contains_text(f"#{Shell.JOB_STATUS}", "Step 1 of 3", timeout=10)
    wait_until(lambda: all(nav_disabled(dash_duo)), message="lock not rebuilt after reload")

    set_hold(held, False)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Self-test finished", timeout=15)
    wait_until(lambda: not any(nav_disabled(dash_duo)), message="navigation stayed locked")
    home_link = dash_duo.find_element(f"#{Shell.PAGE} a[href='/data']")
    wait_until(lambda: home_link.value_of_css_property("pointer-events") == "auto")


def test_job002_cancel_unlocks_and_records_cancelled(dash_duo, make_app, held):
    app = make_app(enable_test_jobs=True)
    open_app(dash_duo, app)
    start_selftest(dash_duo, steps=3, step_s=0.1)
    dash_duo.wait_for_contains_text(f"#{Shell.JOB_STATUS}", "Step 1 of 3")

    dash_duo.find_element(f"#{Shell.JOB_CANCEL}").click()

    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Cancelled", timeout=10)
    wait_until(lambda: not any(nav_disabled(dash_duo)), message="still locked after cancel")
    latest = app.services.jobs.latest(session_of(dash_duo))
    assert latest.state.value == "cancelled"


def test_job003_killed_job_unlocks_with_message_within_5s(dash_duo, make_app, held):
    app = make_app(enable_test_jobs=True)
    open_app(dash_duo, app)
    start_selftest(dash_duo, steps=3, step_s=0.1)
    dash_duo.wait_for_contains_text(f"#{Shell.JOB_STATUS}", "Step 1 of 3")
    record = app.services.jobs.active_for(session_of(dash_duo))

    os.kill(record.pid, signal.SIGKILL)

    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "stopped unexpectedly", timeout=5)
    wait_until(lambda: not any(nav_disabled(dash_duo)), timeout=5, message="still locked")


def test_job004_job_over_its_memory_limit_fails_cleanly(dash_duo, make_app):
    limit = 400  # the job process starts near 150 MB (pandas, pyarrow); it allocates 600
    app = make_app(enable_test_jobs=True, job_memory_limit_mb=limit)
    open_app(dash_duo, app)

    start_selftest(dash_duo, steps=10, step_s=0.2, allocate_mb=60)

    dash_duo.wait_for_contains_text(
        f"#{Shell.MESSAGE}", f"needed more than {limit:,} MB", timeout=30
    )
    wait_until(lambda: not any(nav_disabled(dash_duo)), message="still locked")
    assert requests.get(f"{dash_duo.server_url}/healthz", timeout=5).status_code == 200
    assert app.services.jobs.latest(session_of(dash_duo)).state.value == "failed"


def test_job005_oversized_job_is_refused_before_it_starts(dash_duo, make_app):
    open_app(dash_duo, make_app(enable_test_jobs=True))

    start_selftest(dash_duo, steps=1, step_s=0, estimate_mb=50_000)

    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "needs about", timeout=15)
    wait_until(lambda: not any(nav_disabled(dash_duo)), message="still locked")


def test_job006_two_sessions_same_inputs_get_their_own_results(dash_duo, make_app):
    open_app(dash_duo, make_app(enable_test_jobs=True))
    driver = dash_duo.driver
    first_tab = driver.current_window_handle
    first = session_of(dash_duo)
    driver.switch_to.new_window("tab")  # a new tab is a new browser session (own storage)
    driver.get(dash_duo.server_url)
    wait_until(lambda: session_of(dash_duo), message="no session id in the second tab")
    second_tab, second = driver.current_window_handle, session_of(dash_duo)
    assert first != second

    start_selftest(dash_duo, steps=2, step_s=0.2)  # identical inputs in both sessions
    driver.switch_to.window(first_tab)
    start_selftest(dash_duo, steps=2, step_s=0.2)

    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", f"…{first[-6:]}", timeout=20)
    driver.switch_to.window(second_tab)
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", f"…{second[-6:]}", timeout=20)


def test_job007_outcome_reaches_the_page_when_the_relay_is_stuck(dash_duo, make_app, held):
    # Dash's background job only relays; the registry's outcome must arrive without it
    app = make_app(enable_test_jobs=True)
    open_app(dash_duo, app)
    start_selftest(dash_duo, steps=3, step_s=0.1)
    dash_duo.wait_for_contains_text(f"#{Shell.JOB_STATUS}", "Step 1 of 3")
    session = session_of(dash_duo)
    relay = psutil.Process(app.services.jobs.active_for(session).pid).parent()
    assert "dashboard.jobs" not in " ".join(relay.cmdline())  # the forked web process
    relay.suspend()  # stuck: it never reads the job's output or returns to Dash
    try:
        set_hold(held, False)
        wait_until(lambda: app.services.jobs.latest(session).state.terminal, timeout=15)
        finished = time.monotonic()
        dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", "Self-test finished", timeout=10)
        delivered = time.monotonic() - finished
        wait_until(lambda: not any(nav_disabled(dash_duo)), timeout=5, message="still locked")
        assert delivered <= 2.5, f"the outcome took {delivered:.1f} s to reach the page"
    finally:
        relay.kill()
    # the next job runs and its outcome shows
    start_selftest(dash_duo, steps=1, step_s=0)
    wait_until(lambda: len(app.services.jobs.history(session)) == 2, message="no second job")
    wait_until(lambda: app.services.jobs.latest(session).state.value == "done", timeout=20)
    second = app.services.jobs.latest(session).job_id
    wait_until(
        lambda: (
            dash_duo.driver.execute_script(
                f"return JSON.parse(window.sessionStorage.getItem('{Shell.JOB_SEEN}'))"
            )
            == second
        ),
        message="the second outcome was not shown",
    )


def test_job008_a_killed_relay_ends_its_job_and_the_page_says_so(dash_duo, make_app, held):
    app = make_app(enable_test_jobs=True)
    open_app(dash_duo, app)
    start_selftest(dash_duo, steps=3, step_s=0.1)
    dash_duo.wait_for_contains_text(f"#{Shell.JOB_STATUS}", "Step 1 of 3")
    session = session_of(dash_duo)
    job = psutil.Process(app.services.jobs.active_for(session).pid)

    job.parent().kill()  # Dash's relay gone: the job follows it (as on Cancel)

    psutil.wait_procs([job], timeout=5)
    assert not job.is_running()
    wait_until(lambda: app.services.jobs.latest(session).state.terminal, timeout=5)
    message = app.services.jobs.latest(session).error
    dash_duo.wait_for_contains_text(f"#{Shell.MESSAGE}", message[:40], timeout=5)
    wait_until(lambda: not any(nav_disabled(dash_duo)), timeout=5, message="still locked")
