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
import secrets
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import requests

from bench._server import Gunicorn, Sampler, memory, wait_until
from bench._util import DEFAULT_ROWS, MB, REPO, child_env, mb, table
from bench.make_data import mixed_csv

GROWTH_GOAL_MB = 30


# --- processes ----------------------------------------------------------------------------


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


# --- browser --------------------------------------------------------------------------------


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
        env = child_env()
        env.pop("DI_ENV", None)
        env.pop("DI_CACHE_DIR", None)
        secret = secrets.token_hex(32)
        env.update(DI_SECRET_KEY=secret, DI_DATA_DIR=str(folder / "data"))
        if args.arrow_pool:
            env["ARROW_DEFAULT_MEMORY_POOL"] = args.arrow_pool
            print(f"ARROW_DEFAULT_MEMORY_POOL={args.arrow_pool}")
        access_log = (
            ["--access-logfile", "-", "--access-logformat", "%(p)s %(m)s %(U)s %(s)s %(B)s %(M)sms"]
            if args.access_log
            else []
        )
        with Gunicorn(folder, env, extra_args=access_log) as server:
            url, master, workers = server.url, server.master, server.workers
            print(f"healthy after {server.healthy_s:.1f} s")
            time.sleep(1)
            master_rss = master.memory_info().rss
            snaps = {"idle": memory(workers)}
            sampler = server.sampler = Sampler(master)
            sampler.start()
            if not args.no_api_upload:
                seconds, answer = api_upload(url, secret, csv)
                print(f"POST /api/upload (requests, streamed): {seconds:.1f} s, {answer}")
                time.sleep(0.5)
                snaps["after API upload"] = memory(workers)

            driver = server.browser()
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
        log_text = server.log_text

    report(args, snaps, master_rss, sampler, workers, upload_started, elapsed, deepest)
    for pid, before in maps_before.items():
        print(f"\nworker {pid}: mappings that grew from 'page loaded' to the end")
        print_map_growth(before, maps_after[pid])
    if args.access_log:
        print("\naccess log (pid method path status bytes time):")
        for line in log_text.splitlines():
            if line.startswith("<"):
                print("  " + line)
    if errors := server.log_problems():
        print("\ngunicorn log, warnings and errors:")
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
