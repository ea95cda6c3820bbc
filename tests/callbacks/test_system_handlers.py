"""System handlers in-process: memory widget, cleanup, System page state, emergency unlock."""

import multiprocessing
import os
import re
import time

import numpy as np
import pandas as pd
import pytest
from dash import no_update

from callbacks.system import cleanup_session, emergency_unlock, page_state, widget_state
from dashboard.errors import AccessDenied
from dashboard.jobs import cancel_active, execute

FORK = multiprocessing.get_context("fork")
NOTHING = "Nothing to clean up: no large unprotected items and no expired sessions."
AUTO = "Memory above 90 %: automatic cleanup. "
TEXT = re.compile(r"^[\d,]+ MB of (?P<budget>[\d,]+) MB \((?P<pct>\d+) %\)$")


def build(make_app, **overrides):
    return make_app(job_memory_limit_mb=100_000, enable_test_jobs=True, **overrides).services


def big_frame(mb: float = 2.5) -> pd.DataFrame:
    rows = int(mb * (1 << 20) / 8)
    return pd.DataFrame({"x": np.random.default_rng(0).random(rows)})


def names(services, session):
    return sorted(i.name for i in services.store.items(session))


# --- widget_state -------------------------------------------------------------------------


def test_cbsys001_widget_shows_usage_of_the_budget_in_green(make_app):
    services = build(make_app, memory_budget_mb=100_000)
    text, pct, color, cleanup_class, note = widget_state(services, None, False)

    match = TEXT.match(text)
    assert match, text
    assert match["budget"] == "100,000"
    assert color == "success"
    assert "d-none" in cleanup_class  # no Clean up button in the green zone
    assert note == ""
    assert 0 <= pct < 70


def test_cbsys002_widget_counts_this_web_process(make_app):
    services = build(make_app)  # default 1,024 MB budget
    text, pct, *_ = widget_state(services, None, False)
    match = TEXT.match(text)
    assert match and match["budget"] == "1,024"
    assert int(match["pct"]) > 0 and pct > 0  # the web process (this one) is counted
    assert os.getpid() in services.processes.live()


def test_cbsys003_red_zone_cleans_up_once_a_minute(make_app):
    services = build(make_app, memory_budget_mb=50, large_item_mb=1)
    session = services.signer.new()
    services.store.put_frame(session, "scratch", big_frame())
    services.store.put_frame(session, "data", big_frame())

    text, pct, color, cleanup_class, note = widget_state(services, session, False)

    assert TEXT.match(text)["budget"] == "50"
    assert pct == 100 and color == "danger"
    assert cleanup_class == "mt-1"  # Clean up button shown
    assert note.startswith(AUTO + "Cleaned up 1 item(s), freed ")
    assert note.endswith(" MB on disk.")
    assert names(services, session) == ["data"]  # data is never removed

    # within the minute: no second automatic cleanup, no note
    services.store.put_frame(session, "scratch", big_frame())
    assert widget_state(services, session, False)[4] == ""
    assert names(services, session) == ["data", "scratch"]


def test_cbsys004_red_zone_reports_nothing_to_clean(make_app):
    services = build(make_app, memory_budget_mb=50)
    note = widget_state(services, services.signer.new(), False)[4]
    assert note == AUTO + NOTHING


def test_cbsys005_red_zone_without_a_session_does_not_clean(make_app):
    services = build(make_app, memory_budget_mb=50)
    assert widget_state(services, "forged", False)[4] == ""
    assert widget_state(services, None, True)[4] == ""


def test_cbsys006_clicked_cleanup_in_green_zone_reports_without_prefix(make_app):
    services = build(make_app, memory_budget_mb=100_000, large_item_mb=1)
    session = services.signer.new()
    services.store.put_frame(session, "scratch", big_frame())

    note = widget_state(services, session, True)[4]
    assert note.startswith("Cleaned up 1 item(s)")
    assert names(services, session) == []
    # a click is not rate-limited
    assert widget_state(services, session, True)[4] == NOTHING


def test_cbsys007_orange_zone_offers_cleanup_without_running_it(make_app):
    probe = build(make_app)
    probe.register_web_process()
    used = probe.memory_status().used_mb
    services = build(make_app, memory_budget_mb=max(1, round(used / 0.85)), large_item_mb=1)
    session = services.signer.new()
    services.store.put_frame(session, "scratch", big_frame())

    _, pct, color, cleanup_class, note = widget_state(services, session, False)

    assert 80 <= pct <= 90, pct
    assert color == "#fd7e14"
    assert cleanup_class == "mt-1"
    assert note == ""
    assert names(services, session) == ["scratch"]  # only the red zone cleans up by itself


# --- cleanup_session ----------------------------------------------------------------------


def test_cbsys008_cleanup_removes_large_unprotected_items_only(make_app):
    services = build(make_app, large_item_mb=1)
    session = services.signer.new()
    for name in ("scratch", "data", "data_full", "profile"):
        services.store.put_frame(session, name, big_frame())
    services.store.put_frame(session, "small", pd.DataFrame({"x": [1, 2, 3]}))
    scratch = services.store.info_by_name(session, "scratch")

    message = cleanup_session(services, session)

    freed_mb = scratch.bytes_disk / (1 << 20)
    assert message == f"Cleaned up 1 item(s), freed {freed_mb:,.1f} MB on disk."
    assert names(services, session) == ["data", "data_full", "profile", "small"]
    assert cleanup_session(services, session) == NOTHING


def test_cbsys009_cleanup_leaves_other_sessions_alone(make_app):
    services = build(make_app, large_item_mb=1)
    mine, other = services.signer.new(), services.signer.new()
    services.store.put_frame(other, "scratch", big_frame())
    assert cleanup_session(services, mine) == NOTHING
    assert names(services, other) == ["scratch"]


# --- page_state ---------------------------------------------------------------------------


def test_cbsys010_page_lists_items_jobs_and_columns(make_app):
    services = build(make_app)
    session = services.signer.new()
    column_table = [{"column": "x", "dtype": "float64", "memory": "2.5 MB", "extra": 1}]
    data = services.store.put_frame(
        session, "data", big_frame(), meta={"column_table": column_table}
    )
    services.store.put_frame(session, "scratch", pd.DataFrame({"y": [1, 2]}))
    done = execute(services, session, {"kind": "selftest", "steps": 1, "step_s": 0})
    failed = execute(services, session, {"kind": "selftest", "steps": 0})
    assert done["ok"] and not failed["ok"]

    state = page_state(services, session, {"data_key": data.key})

    items = {row["name"]: row for row in state["items"]}
    assert set(items) == {"data", "scratch"}
    assert items["data"]["protected"] == "yes" and items["scratch"]["protected"] == "no"
    assert items["data"]["rows"] == data.rows and items["data"]["columns"] == 1
    assert items["data"]["memory_mb"] == pytest.approx(2.5, rel=0.01)
    assert [(j["kind"], j["state"]) for j in state["jobs"]] == [
        ("selftest", "failed"),
        ("selftest", "done"),
    ]  # newest first
    assert state["jobs"][0]["error"] == failed["message"]
    assert state["jobs"][1]["error"] == "" and state["jobs"][1]["peak_rss_mb"] > 0
    assert state["columns"] == [{"column": "x", "dtype": "float64", "memory": "2.5 MB"}]
    assert os.getpid() in [p["pid"] for p in state["processes"]]
    assert state["active"] is False
    assert state["summary"].startswith("Memory ")
    assert state["summary"].endswith(" · 2 stored item(s) · no job running")


def test_cbsys011_page_shows_the_running_job(make_app, sleeper):
    services = build(make_app)
    session = services.signer.new()
    job = services.jobs.create(session, "ml", "Random Forest on data (1,000 rows)")
    services.jobs.start(job.job_id, sleeper.pid)

    state = page_state(services, session, None)

    assert state["active"] is True
    assert state["summary"].endswith("running: Random Forest on data (1,000 rows)")
    assert state["jobs"][0]["state"] == "running"
    roles = {p["pid"]: p["role"] for p in state["processes"]}
    assert roles.get(sleeper.pid) == "job"
    assert state["columns"] == []


def test_cbsys012_page_ignores_a_dataset_key_it_cannot_read(make_app):
    services = build(make_app)
    session, other = services.signer.new(), services.signer.new()
    foreign = services.store.put_frame(other, "data", pd.DataFrame({"a": [1]}))
    assert page_state(services, session, {"data_key": foreign.key})["columns"] == []
    assert page_state(services, session, {"data_key": "A" * 22})["columns"] == []


def test_cbsys013_page_refuses_an_invalid_session(make_app):
    with pytest.raises(AccessDenied):
        page_state(build(make_app), "forged", None)


# --- emergency_unlock ---------------------------------------------------------------------


def test_cbsys014_unlock_without_a_job_clears_the_lock(make_app):
    services = build(make_app)
    unlock, message, cancel_class = emergency_unlock(services, services.signer.new())
    assert unlock is False
    assert message.children == "Unlocked: no job is running." and message.color == "success"
    assert cancel_class == "d-none"


def test_cbsys015_unlock_with_a_live_job_offers_to_cancel(make_app, sleeper):
    services = build(make_app)
    session = services.signer.new()
    job = services.jobs.create(session, "ml", "Random Forest")
    services.jobs.start(job.job_id, sleeper.pid)

    unlock, message, cancel_class = emergency_unlock(services, session)

    assert unlock is no_update  # the lock stays
    assert message.children == "A job is still running (Random Forest). Cancel it to unlock."
    assert message.color == "warning"
    assert cancel_class == ""  # the Cancel button is shown
    assert sleeper.is_alive()

    cancel_active(services, session)
    sleeper.join(5)
    assert emergency_unlock(services, session)[0] is False


def test_cbsys016_unlock_with_a_dead_job_reaps_it_and_unlocks(make_app):
    services = build(make_app)
    session = services.signer.new()
    proc = FORK.Process(target=time.sleep, args=(30,), daemon=True)
    proc.start()
    job = services.jobs.create(session, "ml", "Random Forest")
    services.jobs.start(job.job_id, proc.pid)
    proc.kill()
    proc.join()

    assert emergency_unlock(services, session)[0] is False
    assert services.jobs.get(job.job_id).state.value == "failed"


def test_cbsys017_unlock_refuses_an_invalid_session(make_app):
    with pytest.raises(AccessDenied):
        emergency_unlock(build(make_app), "forged")
