"""The app under gunicorn, headless Chromium and an RSS sampler, for the benchmarks.

``Gunicorn`` starts ``gunicorn app:server -w N --preload`` on a free port with the given
environment, waits for ``/healthz`` and its workers, and on exit closes the browser and the
sampler it was given, stops the master and kills whatever job process outlived it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from bench._util import REPO

GUNICORN = Path(sys.executable).with_name("gunicorn")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Seen:
    """What the sampler saw of one process under the gunicorn master."""

    pid: int
    parent: int
    created: float
    first: float
    last: float
    peak_rss: int = 0
    cmd: str = ""


class Sampler(threading.Thread):
    """Polls RSS of every descendant of the master (workers and their job processes)."""

    def __init__(self, master: psutil.Process, interval: float = 0.2) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.master = master
        self.interval = interval
        self.seen: dict[int, Seen] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def sample(self) -> None:
        """Record the current RSS of every live descendant of the master."""
        now = time.monotonic()
        try:
            children = self.master.children(recursive=True)
        except psutil.Error:
            return
        for proc in children:
            try:
                with proc.oneshot():
                    if proc.status() == psutil.STATUS_ZOMBIE:
                        continue
                    rss = proc.memory_info().rss
                    key = proc.pid
                    entry = self.seen.get(key)
                    if entry is None or entry.created != proc.create_time():
                        entry = Seen(proc.pid, proc.ppid(), proc.create_time(), now, now)
                        try:
                            entry.cmd = " ".join(proc.cmdline())[:80]
                        except psutil.Error:
                            pass
                        self.seen[key] = entry
                    entry.last = now
                    entry.peak_rss = max(entry.peak_rss, rss)
            except psutil.Error:
                continue

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop_event.set()
        self.join(timeout=5)


def workers_of(master: psutil.Process) -> list[psutil.Process]:
    return sorted(master.children(recursive=False), key=lambda p: p.pid)


def memory(procs: list[psutil.Process]) -> dict[int, tuple[int, int]]:
    """``pid -> (rss, uss)`` in bytes."""
    out = {}
    for proc in procs:
        info = proc.memory_full_info()
        out[proc.pid] = (info.rss, info.uss)
    return out


def stop_gunicorn(proc: subprocess.Popen, sampler: Sampler | None) -> None:
    """SIGTERM the master, wait, SIGKILL its group on timeout, then kill leftover jobs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print("gunicorn did not stop within 30 s: killing its process group")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for entry in sampler.seen.values() if sampler else []:
        try:
            leftover = psutil.Process(entry.pid)
            if leftover.create_time() == entry.created and leftover.is_running():
                print(f"killing leftover process {entry.pid} ({entry.cmd})")
                leftover.kill()
        except psutil.Error:
            continue


BROWSER_MARK = "DI_BENCH_BROWSER"


def start_browser(profile: Path, mark: str):
    """Start headless Chromium; every process it spawns inherits ``BROWSER_MARK=mark``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-proxy-server",
        "--disable-breakpad",
        "--disable-crash-reporter",
    ):
        options.add_argument(flag)
    service = Service(CHROMEDRIVER, log_path=os.devnull, env={**os.environ, BROWSER_MARK: mark})
    return webdriver.Chrome(service=service, options=options)


def kill_marked(mark: str) -> int:
    """Kill processes left by our browser (e.g. its crash handler), found by their env mark."""
    killed = 0
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid != os.getpid() and proc.environ().get(BROWSER_MARK) == mark:
                proc.kill()
                killed += 1
        except psutil.Error:
            continue
    return killed


class Gunicorn:
    """``with Gunicorn(folder, env) as server:`` the app served by gunicorn until the block ends.

    Inside the block ``server.url``, ``server.master`` and ``server.workers`` are set; attach
    ``server.sampler`` (a started ``Sampler``) and ``server.driver`` (from
    ``server.browser()``) and they are stopped on exit too. After the block ``server.log_text``
    holds gunicorn's output.
    """

    def __init__(
        self,
        folder: Path,
        env: dict[str, str],
        workers: int = 2,
        extra_args: Sequence[str] = (),
        announce: str = "",
    ) -> None:
        self.folder = folder
        self.env = env
        self.n_workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [
            str(GUNICORN),
            "app:server",
            "-w",
            str(workers),
            "--preload",
            "-b",
            f"127.0.0.1:{self.port}",
            "--no-control-socket",
            *extra_args,
        ]
        self.announce = announce
        self.log_path = folder / "gunicorn.log"
        self.log_text = ""
        self.healthy_s = 0.0
        self.sampler: Sampler | None = None
        self.driver = None
        self.mark = os.urandom(8).hex()
        self.proc: subprocess.Popen | None = None
        self.master: psutil.Process | None = None
        self.workers: list[psutil.Process] = []

    def __enter__(self) -> Gunicorn:
        shown = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(self.cmd))
        print(f"starting: {self.announce}{shown}")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.master = psutil.Process(self.proc.pid)
            started = time.monotonic()
            wait_until(self._healthy, 60, what="/healthz")
            self.workers = wait_until(self._all_workers, 30, what=f"{self.n_workers} workers")
            self.healthy_s = time.monotonic() - started
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + self.log_path.read_text()[-3000:])
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).json().get("status") == "ok"
        except (requests.RequestException, ValueError):
            return False

    def _all_workers(self) -> list[psutil.Process]:
        found = workers_of(self.master)
        return found if len(found) == self.n_workers else []

    def browser(self):
        """Start headless Chromium (closed on exit) and return its driver."""
        self.driver = start_browser(self.folder / "chrome", self.mark)
        return self.driver

    def __exit__(self, *exc) -> None:
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception as err:  # noqa: BLE001 - keep cleaning up
                print(f"browser did not quit cleanly: {err}")
            self.driver = None
        time.sleep(0.5)
        if leftovers := kill_marked(self.mark):
            print(f"killed {leftovers} process(es) the browser left behind (crash handler)")
        if self.sampler is not None:
            self.sampler.stop()
        stop_gunicorn(self.proc, self.sampler)
        self._log.close()
        self.log_text = self.log_path.read_text(errors="replace")

    def log_problems(self, most: int = 20) -> list[str]:
        """Warnings, errors and tracebacks from gunicorn's output (after the block)."""
        return [
            line
            for line in self.log_text.splitlines()
            if "ERROR" in line or "Traceback" in line or "WARNING" in line
        ][:most]
