"""Benchmark: the job layer under a real gunicorn, driven from headless Chromium.

Usage (from the repository root)::

    .venv/bin/python bench/jobs.py                   # 10 latency runs, 20 jobs for RSS
    .venv/bin/python bench/jobs.py --latency-runs 3 --rss-jobs 5   # quicker

Starts ``gunicorn app:server -w 2 --preload -b 127.0.0.1:<port> --no-control-socket`` with
``DI_SECRET_KEY``, ``DI_DATA_DIR`` in a temp folder, ``DI_ENABLE_TEST_JOBS=1`` and
``DI_JOB_MEMORY_LIMIT_MB=400``, opens the app in headless Chromium and starts ``selftest``
jobs the way a page does (``set_props`` on the shell's job-request store). Prints:

* (a) latency of a trivial job (1 step, ``step_s=0``): request -> first text in the banner's
  ``#shell-job-status``, and request -> the result in ``#shell-message``, measured with
  ``performance.now()`` in a ``MutationObserver`` (so the poll rate of this script does not
  matter); median / min / max over ``--latency-runs``, plus the server-side split read
  from the job registry (request -> record created -> started -> finished);
* (b) the memory limit: a job allocating 50 MB per step for 20 steps under the 400 MB
  limit: state, the step it reached, the peak RSS the registry recorded, the peak an
  outside sampler saw, the message shown, and ``/healthz`` afterwards;
* (c) RSS / USS of each web worker before and after ``--rss-jobs`` trivial jobs run one
  after another (no growth expected);
* the selftest's admission calibration hint: measured peak of a job allocating N MB vs
  ``dashboard.jobs._admission.estimate_job(SELFTEST, rows=0, bytes_memory=N MB)``.

Everything runs on 127.0.0.1; gunicorn, the browser and the temp folder are removed at
the end.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import requests

from bench._server import Gunicorn, Sampler, memory, wait_until
from bench._util import MB, child_env, median, table

LIMIT_MB = 400
STATUS, MESSAGE, BANNER, REQUEST = (
    "shell-job-status",
    "shell-message",
    "shell-job-banner",
    "shell-job-request",
)

# Records every text change of the banner status and the message (and the banner's class)
# with performance.now(), so latencies do not depend on how often Python polls.
OBSERVE_JS = """
if (!window.__diBench) {
  const ids = arguments[0];
  const bench = {events: [], last: {}};
  window.__diBench = bench;
  // watch the whole body and look the elements up each time: a re-mounted element would
  // silently detach an observer bound to the old node
  const check = () => {
    const now = performance.now();
    for (const id of ids) {
      const el = document.getElementById(id);
      const text = el ? el.textContent : '', cls = el ? el.className : '';
      const key = text + '\\u0000' + cls;
      if (bench.last[id] !== key) {
        bench.last[id] = key;
        bench.events.push([id, now, text, cls]);
      }
    }
  };
  check();
  new MutationObserver(check).observe(document.body, {
    childList: true, subtree: true, characterData: true, attributes: true,
    attributeFilter: ['class']});
}
for (const id of arguments[0]) {
  if (!document.getElementById(id)) { return 'missing ' + id; }
}
return 'ok';
"""

# Clears the previous outcome, then puts the request into the job-request store.
START_JS = """
const bench = window.__diBench;
const set = window.dash_clientside.set_props;
set(arguments[0], {children: ''});
set(arguments[1], {children: ''});
bench.events = [];
const t = Date.now() / 1000;
bench.t0 = performance.now();
set(arguments[2], {data: Object.assign({kind: 'selftest', t: t}, arguments[3])});
return t;
"""

EVENTS_JS = "return [window.__diBench.t0, window.__diBench.events];"


# --- one job from the browser ------------------------------------------------------------


def start_job(driver, **params) -> float:
    """Request a self-test job; return the request's ``t`` (epoch seconds, browser clock)."""
    return driver.execute_script(START_JS, MESSAGE, STATUS, REQUEST, params)


def wait_outcome(driver, timeout: float) -> tuple[float | None, float, str, list]:
    """Wait for ``#shell-message``; return (ms to first status, ms to message, text, events).

    ``events`` are the non-empty status texts seen, as ``(ms after the request, text)``.
    """

    def outcome():
        t0, events = driver.execute_script(EVENTS_JS)
        shown = [e for e in events if e[0] == MESSAGE and e[2].strip()]
        return (t0, events, shown[0]) if shown else None

    t0, events, message = wait_until(outcome, timeout, interval=0.05, what="#shell-message")
    status = [e for e in events if e[0] == STATUS and e[2].strip()]
    first = status[0][1] - t0 if status else None
    seen = [(e[1] - t0, e[2].strip()) for e in status]
    return first, message[1] - t0, message[2].strip(), seen


class Stuck(RuntimeError):
    """A job's outcome never showed; carries the request time and what the browser saw."""

    def __init__(self, t: float, events: list, text: str = ""):
        super().__init__(f"no outcome for the job requested at {t:.3f}: {text!r}")
        self.t, self.events = t, events


def run_trivial(driver, timeout: float = 20) -> tuple:
    """Run one trivial job.

    Returns:
        ``(request t, ms to first progress, ms to result, statuses, job id shown)``.

    Raises:
        Stuck: No message within ``timeout`` or not the self-test's.
    """
    t = start_job(driver, steps=1, step_s=0, allocate_mb=0)
    try:
        first, done, text, seen = wait_outcome(driver, timeout)
    except TimeoutError:
        t0, events = driver.execute_script(EVENTS_JS)
        events = [(e[0], round(e[1] - t0), e[2].strip()[:90], e[3]) for e in events]
        raise Stuck(t, events) from None
    if "Self-test finished" not in text:
        raise Stuck(t, seen, text)
    wait_unlocked(driver)
    job_id = driver.execute_script(
        "return JSON.parse(window.sessionStorage.getItem('shell-job-seen'))"
    )
    return t, first, done, seen, job_id


def dump_job_processes(master: psutil.Process, workers) -> list[str]:
    """Describe (and ``py-spy dump``) every process under the master that is not a worker."""
    lines = []
    worker_pids = {w.pid for w in workers}
    spy = Path(sys.executable).with_name("py-spy")
    for proc in master.children(recursive=True):
        if proc.pid in worker_pids:
            continue
        try:
            age = time.time() - proc.create_time()
            lines.append(
                f"pid {proc.pid} ppid {proc.ppid()} {proc.status()} age {age:.1f} s "
                f"rss {proc.memory_info().rss / MB:.0f} MB: {' '.join(proc.cmdline())[:80]}"
            )
        except psutil.Error:
            continue
        if spy.exists():
            dump = subprocess.run(
                [str(spy), "dump", "--pid", str(proc.pid)],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
            lines += ["    " + x for x in (dump.stdout + dump.stderr).splitlines()[:60]]
    return lines


def run_many(driver, n: int, data_dir: Path, session: str, failures: list, diagnose) -> list:
    """Run ``n`` trivial jobs and return their ``run_trivial`` tuples.

    A stuck job is recorded in ``failures`` (with the registry's view of it and
    ``diagnose()``) and the run goes on after the page is reloaded.
    """
    out = []
    for _ in range(n):
        try:
            out.append(run_trivial(driver))
        except Stuck as err:
            procs = diagnose()
            recs = [r for r in job_records(data_dir, session) if r.created >= err.t - 0.05]
            failures.append((err, recs, procs))
            driver.refresh()
            wait_until(lambda: session_of(driver), 30, what="the session after a reload")
            wait_until(
                lambda: driver.execute_script("return !!window.dash_clientside?.set_props"),
                30,
                what="dash_clientside.set_props",
            )
            driver.execute_script(OBSERVE_JS, [STATUS, MESSAGE, BANNER])
            wait_unlocked(driver, 30)
    return out


def wait_unlocked(driver, timeout: float = 10) -> None:
    """Wait until the job banner is hidden again (by ``running=`` or the registry poll)."""
    wait_until(
        lambda: driver.execute_script(
            "const b = document.getElementById(arguments[0]);"
            "return b && b.className.includes('d-none');",
            BANNER,
        ),
        timeout,
        interval=0.05,
        what="the banner to hide",
    )


def session_of(driver) -> str:
    return driver.execute_script(
        "return JSON.parse(window.sessionStorage.getItem('shell-session'))"
    )


def registry_of(data_dir: Path):
    from dashboard.jobs import JobRegistry

    return JobRegistry(data_dir / "jobs" / "registry")


def job_records(data_dir: Path, session: str, limit: int = 100_000):
    """The session's jobs from the registry, oldest first."""
    registry = registry_of(data_dir)
    try:
        return list(reversed(registry.history(session, limit=limit)))
    finally:
        registry.close()


def stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{median(values):,.0f} ms (min {min(values):,.0f}, max {max(values):,.0f})"


def rss_table(pids, before, after) -> str:
    rows = []
    for pid in pids:
        (r0, u0), (r1, u1) = before[pid], after[pid]
        rows.append(
            [
                f"worker {pid}",
                f"{r0 / MB:,.1f} / {u0 / MB:,.1f}",
                f"{r1 / MB:,.1f} / {u1 / MB:,.1f}",
                f"{(r1 - r0) / MB:+,.1f}",
                f"{(u1 - u0) / MB:+,.1f}",
            ]
        )
    return table(["", "before RSS / USS", "after RSS / USS", "RSS growth", "USS growth"], rows)


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Job layer latency, memory limit, worker RSS.")
    parser.add_argument("--latency-runs", type=int, default=10)
    parser.add_argument("--rss-jobs", type=int, default=20)
    parser.add_argument("--calibrate-mb", type=int, default=150, help="0 skips the calibration")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="di-bench-jobs-") as tmp:
        folder = Path(tmp)
        data_dir = folder / "data"
        env = child_env()
        for name in ("DI_ENV", "DI_CACHE_DIR", "DI_MAX_CONCURRENT_JOBS", "DI_MEMORY_BUDGET_MB"):
            env.pop(name, None)
        env.update(
            DI_SECRET_KEY=secrets.token_hex(32),
            DI_DATA_DIR=str(data_dir),
            DI_ENABLE_TEST_JOBS="1",
            DI_JOB_MEMORY_LIMIT_MB=str(LIMIT_MB),
        )
        results: dict = {}
        announce = f"DI_ENABLE_TEST_JOBS=1 DI_JOB_MEMORY_LIMIT_MB={LIMIT_MB} "
        with Gunicorn(folder, env, announce=announce) as server:
            url, master, workers = server.url, server.master, server.workers
            sampler = server.sampler = Sampler(master, interval=0.05)
            sampler.start()

            driver = server.browser()
            driver.get(url)
            wait_until(lambda: session_of(driver), 30, what="a session id in the browser")
            wait_until(
                lambda: driver.execute_script("return !!window.dash_clientside?.set_props"),
                30,
                what="dash_clientside.set_props",
            )
            observed = driver.execute_script(OBSERVE_JS, [STATUS, MESSAGE, BANNER])
            if observed != "ok":
                raise RuntimeError(f"cannot observe the shell: {observed}")
            session = session_of(driver)
            time.sleep(1)
            results["idle"] = memory(workers)

            # (a) latency of a trivial job
            failures: list = []

            def diagnose():
                return dump_job_processes(master, workers)

            results["failures"] = failures
            latency = run_many(driver, args.latency_runs, data_dir, session, failures, diagnose)
            results["latency"] = latency

            # (c) web workers' RSS around N trivial jobs, one after another
            results["before"] = memory(workers)
            rss_runs = run_many(driver, args.rss_jobs, data_dir, session, failures, diagnose)
            time.sleep(1)
            results["after"] = memory(workers)
            results["rss_runs"] = rss_runs

            # calibration: a job allocating N MB that stays below the limit
            if args.calibrate_mb:
                steps = max(1, args.calibrate_mb // 50)
                start_job(driver, steps=steps, step_s=0.3, allocate_mb=args.calibrate_mb // steps)
                _, _, text, _ = wait_outcome(driver, 30)
                results["calibration"] = (steps * (args.calibrate_mb // steps), text)
                wait_unlocked(driver)

            # (b) memory limit: 50 MB per step for 20 steps, limit 400 MB
            limit_started = time.monotonic()
            start_job(driver, steps=20, step_s=0.2, allocate_mb=50)
            _, limit_ms, limit_text, _ = wait_outcome(driver, 60)
            results["limit"] = (limit_ms, limit_text, time.monotonic() - limit_started)
            wait_unlocked(driver)
            health = requests.get(f"{url}/healthz", timeout=5)
            results["health"] = (health.status_code, health.text.strip()[:200])
            results["workers_alive"] = [w.is_running() for w in workers]
            sampler.sample()
            results["records"] = job_records(data_dir, session)

    report(args, results, workers, sampler)
    if errors := server.log_problems():
        print("\ngunicorn log, warnings and errors:")
        print("\n".join("  " + e for e in errors[:20]))
    return 0


def report(args, results, workers, sampler) -> None:
    records = results["records"]
    by_t = sorted(records, key=lambda r: r.created)
    pids = [w.pid for w in workers]

    by_id = {r.job_id: r for r in by_t}

    print("\n(a) trivial job (1 step, step_s=0), request -> shown in the browser")
    lat = results["latency"]
    first = [x[1] for x in lat if x[1] is not None]
    done = [x[2] for x in lat]
    print(
        f"  runs: {len(lat)} finished (+{len(results['failures'])} stuck overall, below); "
        f"first progress seen in {len(first)} of them"
    )
    print(f"  request -> first text in #shell-job-status: {stats(first)}")
    print(f"  request -> result in #shell-message:        {stats(done)}")
    gaps = [x[2] - x[1] for x in lat if x[1] is not None]
    print(f"  first progress -> result: {stats(gaps)}")
    firsts: dict[str, int] = {}
    for x in lat:
        for _, text in x[3][:1]:
            firsts[text] = firsts.get(text, 0) + 1
    print(f"  first status text shown: {firsts}")
    split = {"created": [], "started": [], "finished": [], "shown": []}
    for t, _, d, _, job_id in lat:
        rec = by_id.get(job_id)
        if rec is None or rec.started is None or rec.finished is None:
            continue
        split["created"].append((rec.created - t) * 1000)
        split["started"].append((rec.started - rec.created) * 1000)
        split["finished"].append((rec.finished - rec.started) * 1000)
        split["shown"].append(d - (rec.finished - t) * 1000)
    print("  server-side split (registry timestamps vs the browser's request time):")
    for label, key in (
        ("request -> job registered (Dash fork + fresh interpreter + imports)", "created"),
        ("registered -> running (admission, slot)", "started"),
        ("running -> finished (the job body)", "finished"),
        ("finished -> result shown (relay, Dash's 1 s poll, browser)", "shown"),
    ):
        print(f"    {label:<70} {stats(split[key])}")
    all_done = done + [x[2] for x in results["rss_runs"]]
    print(f"  all {len(all_done)} trivial jobs, request -> result: {stats(all_done)}")
    ticks: dict[int, int] = {}
    for d in all_done:
        ticks[int(d // 1000)] = ticks.get(int(d // 1000), 0) + 1
    print(
        "  by second (Dash polls a background callback every 1,000 ms): "
        + ", ".join(f"{k}-{k + 1} s: {v}" for k, v in sorted(ticks.items()))
    )

    print(f"\n(c) web workers before / after {args.rss_jobs} trivial jobs (MB)")
    print(rss_table(pids, results["before"], results["after"]))
    print("  from the idle page (before the first job) to the end of (c):")
    print(rss_table(pids, results["idle"], results["after"]))

    if "calibration" in results:
        from dashboard.jobs import (
            SELFTEST,
            estimate_job,
        )

        n_mb, text = results["calibration"]
        trivial = [
            r.peak_rss_mb
            for r in by_t
            if r.kind == "selftest"
            and r.summary.startswith("Self-test (1 steps)")
            and r.peak_rss_mb
        ]
        cal = [r for r in by_t if r.summary != "Self-test (1 steps)" and r.state.value == "done"]
        print("\nadmission calibration (selftest: factor 1.0, overhead 0 MB)")
        if trivial:
            print(
                f"  trivial job peak RSS (registry): median {median(trivial):,.1f} MB "
                f"(min {min(trivial):,.1f}, max {max(trivial):,.1f}) over {len(trivial)} jobs"
            )
        if cal:
            peak = cal[-1].peak_rss_mb
            est = estimate_job(SELFTEST, rows=0, bytes_memory=n_mb * MB)
            base = median(trivial) if trivial else 0.0
            print(
                f"  job allocating {n_mb} MB: measured peak {peak:,.1f} MB, "
                f"estimate_job -> {est:,.1f} MB (measured / estimate {peak / est:.2f})"
            )
            print(
                f"  implied: overhead ~{base:,.0f} MB (the job interpreter's baseline), "
                f"factor ~{(peak - base) / n_mb:.2f}"
            )
        else:
            print(f"  calibration job did not finish: {text!r}")

    print(f"\n(b) memory limit {LIMIT_MB} MB: 20 steps x 50 MB (step_s=0.2)")
    limit_ms, limit_text, _ = results["limit"]
    rec = by_t[-1] if by_t else None
    if rec is not None:
        step = (rec.progress or {}).get("step", "?")
        print(
            f"  registry: state={rec.state.value}, last progress '{step}', "
            f"peak_rss_mb={rec.peak_rss_mb:,.1f} (limit {LIMIT_MB}, "
            f"{rec.peak_rss_mb - LIMIT_MB:+,.1f} MB), "
            f"ran {((rec.finished or 0) - (rec.started or 0)):.2f} s"
        )
        job_peaks = [
            s
            for s in sampler.seen.values()
            if s.pid not in pids and "dashboard.jobs" in s.cmd and rec.pid == s.pid
        ]
        for s in job_peaks:
            print(
                f"  outside sampler (50 ms): job process {s.pid} peak RSS {s.peak_rss / MB:,.1f} MB"
            )
    print(f"  request -> message: {limit_ms:,.0f} ms; message: {limit_text!r}")
    code, body = results["health"]
    print(f"  /healthz afterwards: HTTP {code} {body}; workers alive: {results['workers_alive']}")

    print("\nprocesses seen under the gunicorn master (peak RSS, 50 ms sampling):")
    kinds: dict[str, list[float]] = {}
    for s in sampler.seen.values():
        if s.pid in pids:
            continue
        kind = (
            "job interpreter (python -m dashboard.jobs)"
            if "dashboard.jobs" in s.cmd
            else "Dash's forked relay (fork of a worker)"
        )
        kinds.setdefault(kind, []).append(s.peak_rss / MB)
    for kind, peaks in kinds.items():
        print(
            f"  {kind}: {len(peaks)} processes, peak RSS median {median(peaks):,.1f} MB, "
            f"max {max(peaks):,.1f} MB"
        )
    states: dict[str, int] = {}
    for r in by_t:
        states[r.state.value] = states.get(r.state.value, 0) + 1
    print(f"registry: {len(by_t)} jobs of this session, states {states}")
    for err, recs, procs in results["failures"]:
        print(f"\nSTUCK: {err}")
        for event in err.events:
            print(f"    browser: {event}")
        for r in recs:
            started, finished = (r.started or 0) - err.t, (r.finished or 0) - err.t
            print(
                f"    registry: {r.job_id[:8]} {r.state.value} created {r.created - err.t:+.3f} s"
                f" started {started:+.3f} finished {finished:+.3f} progress {r.progress}"
                f" error {r.error!r} result {r.result}"
            )
        if not recs:
            print("    registry: no job was created for this request")
        for line in procs:
            print(f"    process: {line}")


if __name__ == "__main__":
    raise SystemExit(main())
