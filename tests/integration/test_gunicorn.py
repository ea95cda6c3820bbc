"""Deployment smoke: the app under a real gunicorn with two workers, driven by a browser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from components.ids import Shell, System
from tests.integration.helpers import grid_cells, upload_file, wait_until
from tests.integration.test_data_page import write_sales_csv

pytestmark = [pytest.mark.browser, pytest.mark.gunicorn]
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_url(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DI_SECRET_KEY": "gunicorn-test-secret",
        "DI_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("DI_ENV", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "app:server",
            "-w",
            "2",
            "--preload",
            "-b",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--timeout",
            "60",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return requests.get(f"{url}/healthz", timeout=1).json()["status"] == "ok"
        except (requests.RequestException, ValueError):
            return proc.poll() is not None  # stop waiting if it died

    wait_until(healthy, timeout=30, message="gunicorn did not become healthy")
    assert proc.poll() is None, proc.stdout.read().decode()
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_gunicorn001_health_endpoint(gunicorn_url):
    answer = requests.get(f"{gunicorn_url}/healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_gunicorn002_upload_and_ingest_across_two_workers(dash_br, gunicorn_url, tmp_path):
    write_sales_csv(tmp_path / "sales.csv", 800)
    dash_br.server_url = gunicorn_url
    dash_br.driver.get(f"{gunicorn_url}/data")
    dash_br.wait_for_element("#data-upload-zone")
    wait_until(
        lambda: dash_br.driver.execute_script(
            f"return window.sessionStorage.getItem('{Shell.SESSION}')"
        )
    )

    upload_file(dash_br, tmp_path / "sales.csv")

    dash_br.wait_for_contains_text(f"#{Shell.MESSAGE}", "Loaded 800 rows × 4 columns", timeout=60)
    dash_br.wait_for_contains_text("#data-sampling-text", "Using all 800 rows")
    # the System page counts the gunicorn master (it holds the preloaded app) and a worker
    dash_br.driver.get(f"{gunicorn_url}/system")
    roles = wait_until(
        lambda: (
            {"web master", "web"} <= set(grid_cells(dash_br, f"#{System.PROCESSES_GRID}", "role"))
            and grid_cells(dash_br, f"#{System.PROCESSES_GRID}", "role")
        ),
        timeout=20,
        message="the System page does not list the gunicorn master and a worker",
    )
    assert roles.count("web master") == 1
