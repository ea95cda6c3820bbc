"""Benchmark: memory of the gunicorn web workers across a real 1M-row upload and ingest.

Usage (from the repository root)::

    .venv/bin/python bench/web_memory.py                # 1,000,000 rows
    .venv/bin/python bench/web_memory.py --rows 200000  # quicker

Starts ``gunicorn app:server -w 2 --preload -b 127.0.0.1:<port> --no-control-socket`` with
``DI_SECRET_KEY`` and ``DI_DATA_DIR`` in a temp folder, streams the CSV once to
``POST /api/upload`` with ``requests`` (a fresh ``SessionSigner`` session; skipped with
``--no-api-upload``), then drives headless Chromium the way a user would: open ``/data``,
choose the CSV in the page's file input (the app's own ``assets/upload.js`` streams it to
``POST /api/upload``), wait for "Loaded N rows" in the shell message (the ingest runs as a
Dash background job), scroll the preview grid and let the page settle. Worker RSS / USS
(psutil) are printed when idle, after the API upload, after the page is loaded and at the
end; growth from "page loaded" to the end must stay <= 30 MB per worker. A sampler thread
also records the peak RSS of every process under the master (workers and job processes).

Everything runs on 127.0.0.1; gunicorn, the browser and the temp folder are removed at
the end (the generated CSV stays cached in bench/out/). Diagnosis options: ``--maps``
(which memory mappings of each worker grew), ``--access-log`` (gunicorn access log with
the worker pid of each request), ``--arrow-pool`` (sets ``ARROW_DEFAULT_MEMORY_POOL``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import requests

from bench._util import DEFAULT_ROWS, MB, REPO, child_env, mb, table
from bench.make_data import mixed_csv

GROWTH_GOAL_MB = 30
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


# --- processes ----------------------------------------------------------------------------


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


def mappings(proc: psutil.Process) -> dict[str, tuple[int, int]]:
    """``path -> (rss, anonymous)`` bytes of a process's memory mappings, grouped by path."""
    out = {}
    for m in proc.memory_maps(grouped=True):
        out[m.path or "[anonymous mmap]"] = (m.rss, m.anonymous)
    return out


def print_map_growth(before: dict, after: dict, top: int = 8) -> None:
    """Print the mappings whose RSS grew most between two ``mappings`` snapshots."""
    deltas = []
    for path, (rss, anon) in after.items():
        old_rss, old_anon = before.get(path, (0, 0))
        deltas.append((rss - old_rss, anon - old_anon, path))
    deltas.sort(reverse=True)
    for d_rss, d_anon, path in deltas[:top]:
        if d_rss <= 0:
            break
        print(f"    {d_rss / MB:+7.1f} MB RSS ({d_anon / MB:+7.1f} MB anonymous)  {path}")


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


# --- browser --------------------------------------------------------------------------------


BROWSER_MARK = "DI_BENCH_BROWSER"


def api_upload(url: str, secret: str, csv: Path) -> tuple[float, dict]:
    """Stream ``csv`` to ``POST /api/upload`` for a new signed session; return (s, answer)."""
    from dashboard.sessions import SessionSigner

    session = SessionSigner(secret).new()
    started = time.monotonic()
    with open(csv, "rb") as body:
        answer = requests.post(
            f"{url}/api/upload",
            data=body,  # a file object: requests streams it with a Content-Length
            headers={
                "X-Session-Id": session,
                "X-File-Name": csv.name,
                "Content-Type": "application/octet-stream",
            },
            timeout=120,
        )
    answer.raise_for_status()
    return time.monotonic() - started, answer.json()


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


def text_of(driver, element_id: str) -> str:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.ID, element_id).text
    except WebDriverException:
        return ""


SCROLL_JS = """
const root = document.querySelector('#data-preview');
if (!root) { return null; }
const scroller = root.querySelector('.ag-body-viewport');
const bar = root.querySelector('.ag-body-vertical-scroll-viewport');
for (const el of [scroller, bar]) {
  if (el) { el.scrollTop = arguments[0]; el.dispatchEvent(new Event('scroll')); }
}
const rows = [...root.querySelectorAll('.ag-center-cols-container .ag-row')]
  .map(r => parseInt(r.getAttribute('row-index'), 10)).filter(n => !isNaN(n));
return rows.length ? Math.max(...rows) : -1;
"""


def open_data_page(driver, url: str) -> None:
    """Open ``/data`` and wait for the upload input and the session id."""
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/data")
    wait_until(lambda: driver.find_elements(By.ID, "data-upload-zone"), 30, what="the Data page")
    wait_until(
        lambda: driver.execute_script("return window.sessionStorage.getItem('shell-session')"),
        30,
        what="a session id in the browser",
    )
    wait_until(lambda: driver.find_elements(By.ID, "data-upload-input"), 10, what="file input")


def run_upload(driver, csv: Path, expected: str, timeout: float) -> float:
    """Choose ``csv`` in the page's file input; return seconds until ``expected`` shows."""
    from selenium.webdriver.common.by import By

    started = time.monotonic()
    driver.find_element(By.ID, "data-upload-input").send_keys(str(csv))

    def done():
        message = text_of(driver, "shell-message")
        if expected in message:
            return message
        if message.strip():
            raise RuntimeError(f"the app answered: {message!r}")
        return None

    message = wait_until(done, timeout, interval=0.5, what=f"'{expected}' in #shell-message")
    elapsed = time.monotonic() - started
    print(f"  app: {message}")
    return elapsed


def browse_results(driver) -> int:
    """Wait for the report, preview and column grids; scroll the preview a little."""
    from selenium.webdriver.common.by import By

    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#data-preview .ag-row"),
        60,
        what="preview rows",
    )
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#data-columns-grid .ag-row"),
        60,
        what="the column table",
    )
    deepest = -1
    for top in (1_500, 4_000, 8_000, 12_000, 20_000):
        driver.execute_script(SCROLL_JS, top)
        time.sleep(0.7)
        deepest = max(deepest, driver.execute_script(SCROLL_JS, top) or -1)
    time.sleep(3)
    return deepest


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Web worker memory across a real ingest.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the CSV")
    parser.add_argument("--timeout", type=float, default=300, help="ingest timeout, seconds")
    parser.add_argument(
        "--access-log", action="store_true", help="print gunicorn's access log (with worker pid)"
    )
    parser.add_argument(
        "--no-api-upload",
        action="store_true",
        help="skip the separate upload through requests (the browser uploads anyway)",
    )
    parser.add_argument(
        "--arrow-pool",
        choices=["mimalloc", "jemalloc", "system"],
        help="set ARROW_DEFAULT_MEMORY_POOL for gunicorn (diagnosis; default: pyarrow's own)",
    )
    parser.add_argument(
        "--maps", action="store_true", help="print which memory mappings of each worker grew"
    )
    args = parser.parse_args(argv)
    csv = mixed_csv(args.rows)
    print(f"input: {csv.relative_to(REPO)} ({args.rows:,} rows, {mb(csv.stat().st_size)} MB)")

    with tempfile.TemporaryDirectory(prefix="di-bench-web-") as tmp:
        folder = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = child_env()
        env.pop("DI_ENV", None)
        env.pop("DI_CACHE_DIR", None)
        secret = secrets.token_hex(32)
        env.update(DI_SECRET_KEY=secret, DI_DATA_DIR=str(folder / "data"))
        if args.arrow_pool:
            env["ARROW_DEFAULT_MEMORY_POOL"] = args.arrow_pool
            print(f"ARROW_DEFAULT_MEMORY_POOL={args.arrow_pool}")
        cmd = [
            str(GUNICORN),
            "app:server",
            "-w",
            "2",
            "--preload",
            "-b",
            f"127.0.0.1:{port}",
            "--no-control-socket",
        ]
        if args.access_log:
            cmd += [
                "--access-logfile",
                "-",
                "--access-logformat",
                "%(p)s %(m)s %(U)s %(s)s %(B)s %(M)sms",
            ]
        print("starting: " + " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)))
        log_path = folder / "gunicorn.log"
        log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler: Sampler | None = None
        driver = None
        mark = secrets.token_hex(8)
        try:
            master = psutil.Process(proc.pid)

            def healthy():
                if proc.poll() is not None:
                    raise RuntimeError("gunicorn exited:\n" + log_path.read_text()[-3000:])
                try:
                    return requests.get(f"{url}/healthz", timeout=2).json().get("status") == "ok"
                except (requests.RequestException, ValueError):
                    return False

            started = time.monotonic()
            wait_until(healthy, 60, what="/healthz")
            workers = wait_until(
                lambda: len(workers_of(master)) == 2 and workers_of(master), 30, what="2 workers"
            )
            print(f"healthy after {time.monotonic() - started:.1f} s")
            time.sleep(1)
            master_rss = master.memory_info().rss
            snaps = {"idle": memory(workers)}
            sampler = Sampler(master)
            sampler.start()
            if not args.no_api_upload:
                seconds, answer = api_upload(url, secret, csv)
                print(f"POST /api/upload (requests, streamed): {seconds:.1f} s, {answer}")
                time.sleep(0.5)
                snaps["after API upload"] = memory(workers)

            driver = start_browser(folder / "chrome", mark)
            open_data_page(driver, url)
            time.sleep(1)
            snaps["page loaded"] = memory(workers)
            maps_before = {w.pid: mappings(w) for w in workers} if args.maps else {}
            upload_started = time.monotonic()
            elapsed = run_upload(driver, csv, f"Loaded {args.rows:,} rows", args.timeout)
            deepest = browse_results(driver)
            snaps["after ingest + browsing"] = memory(workers)
            maps_after = {w.pid: mappings(w) for w in workers} if args.maps else {}
            sampler.sample()
        finally:
            if driver is not None:
                try:
                    driver.quit()
                except Exception as exc:  # noqa: BLE001 - keep cleaning up
                    print(f"browser did not quit cleanly: {exc}")
            time.sleep(0.5)
            if leftovers := kill_marked(mark):
                print(f"killed {leftovers} process(es) the browser left behind (crash handler)")
            if sampler is not None:
                sampler.stop()
            stop_gunicorn(proc, sampler)
            log.close()
        log_text = log_path.read_text(errors="replace")

    report(args, snaps, master_rss, sampler, workers, upload_started, elapsed, deepest)
    for pid, before in maps_before.items():
        print(f"\nworker {pid}: mappings that grew from 'page loaded' to the end")
        print_map_growth(before, maps_after[pid])
    if args.access_log:
        print("\naccess log (pid method path status bytes time):")
        for line in log_text.splitlines():
            if line.startswith("<"):
                print("  " + line)
    errors = [line for line in log_text.splitlines() if "ERROR" in line or "Traceback" in line]
    if errors:
        print("\ngunicorn log has errors:")
        print("\n".join("  " + e for e in errors[:20]))
    return 0


def report(args, snaps, master_rss, sampler, workers, upload_started, elapsed, deepest) -> None:
    pids = [w.pid for w in workers]
    phases = list(snaps)
    rows = []
    for pid in pids:
        row = [f"worker {pid}"]
        for phase in phases:
            rss, uss = snaps[phase][pid]
            row.append(f"{mb(rss)} / {mb(uss)}")
        first, last = snaps[phases[0]][pid], snaps[phases[-1]][pid]
        warm = snaps["page loaded"][pid]
        row += [
            f"{(last[0] - warm[0]) / MB:+,.1f}",
            f"{(last[0] - first[0]) / MB:+,.1f}",
            mb(sampler.seen[pid].peak_rss) if pid in sampler.seen else "?",
        ]
        rows.append(row)
    print()
    print(f"gunicorn master RSS {mb(master_rss)} MB (preloaded app)")
    print("worker memory, RSS / USS in MB:")
    print(
        table(
            ["", *phases, "growth from page loaded", "growth from idle", "peak RSS"],
            rows,
        )
    )
    jobs = [s for s in sampler.seen.values() if s.pid not in pids]
    if jobs:
        print("\nother processes under the master (background job processes):")
        print(
            table(
                ["pid", "parent", "first seen s", "alive ~s", "peak RSS MB"],
                [
                    [
                        j.pid,
                        j.parent,
                        f"{j.first - upload_started:.1f}",
                        f"{j.last - j.first:.1f}",
                        mb(j.peak_rss),
                    ]
                    for j in sorted(jobs, key=lambda j: j.first)
                ],
            )
        )
    worst = max((snaps[phases[-1]][pid][0] - snaps["page loaded"][pid][0]) / MB for pid in pids)
    worst_idle = max((snaps[phases[-1]][pid][0] - snaps["idle"][pid][0]) / MB for pid in pids)
    verdict = "ok" if worst <= GROWTH_GOAL_MB else "MISSED"
    print()
    print(f"ingest of {args.rows:,} rows (file chosen -> 'Loaded' shown): {elapsed:.1f} s")
    print(f"preview grid scrolled to row index {deepest}")
    print(
        f"largest worker RSS growth: {worst:+.1f} MB from page loaded, {worst_idle:+.1f} MB "
        f"from idle (goal <= {GROWTH_GOAL_MB} MB per worker): {verdict}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
