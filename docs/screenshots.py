"""Refresh the page screenshots in docs/img/ from headless Chromium.

Usage (from the repository root, after ``make test`` installed Chromium)::

    .venv/bin/python docs/screenshots.py

Starts the app on a free 127.0.0.1 port with a temporary data folder, loads the first
sample on the Data page (Restaurant tips), then saves every page at 1400×1000 and 1024×768 as
``docs/img/<page>-<width>.png``. The server and its folder are removed at the end.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
SIZES = ((1400, 1000), (1024, 768))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


def _wait_for(predicate, timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError("the page did not get there in time")


def main() -> None:
    """Start the app, load a sample, save the screenshots."""
    sys.path.insert(0, str(ROOT))
    from callbacks.pages import PAGES

    port = _free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "DI_SECRET_KEY": secrets.token_hex(32),
            "DI_DATA_DIR": data,
            "DI_ENV": "development",
        }
        server = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        browser = _browser()
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(lambda: _answers(base))
            browser.set_window_size(*SIZES[0])
            browser.get(base + "/data")
            _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[id*='data-sample-button']"))
            browser.find_elements(By.CSS_SELECTOR, "[id*='data-sample-button']")[0].click()
            _wait_for(lambda: "Loaded" in browser.find_element(By.TAG_NAME, "body").text, 120)
            OUT.mkdir(parents=True, exist_ok=True)
            for width, height in SIZES:
                browser.set_window_size(width, height)
                for page in PAGES:
                    browser.get(base + page.path)
                    time.sleep(3)  # the page's callbacks render
                    name = page.path.strip("/") or "home"
                    browser.save_screenshot(str(OUT / f"{name}-{width}.png"))
        finally:
            browser.quit()
            server.terminate()
            server.wait(10)


def _answers(base: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    main()
