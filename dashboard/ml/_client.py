"""The client side of the training process: start it, ask it, stop it when over budget.

A scikit-learn fit cannot be interrupted from the thread that runs it, so every model is
trained in a separate process (``python -m dashboard.ml._worker``, a fresh interpreter: no
fork after BLAS or OpenMP threads started). The process loads the prepared data once and
trains the models one after the other. A request that runs past its time budget, or past
the memory limit, is answered by killing the process; the next request starts a new one
with the same data, split and folds (everything is seeded).

The process dies with its parent (it watches its parent pid), so Cancel, which kills the
job process tree, also stops the training.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psutil

from dashboard.machine import thread_environment

log = logging.getLogger(__name__)

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the repository root
_POLL_S = 0.1
# The training process runs without pyarrow (about 40 MB less: pandas falls back to Python
# strings), so everything sent to it is made of NumPy / Python objects (`plain_frame`).
# (A finder that refuses the import, not ``sys.modules["pyarrow"] = None``: scikit-learn
# looks pyarrow up in ``sys.modules`` and expects a module or nothing.)
_LAUNCH = """
import sys


class NoPyarrow:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] == "pyarrow":
            raise ImportError("pyarrow is left out of the training process")


sys.meta_path.insert(0, NoPyarrow)
from dashboard.ml._worker import main

main()
"""
STARTUP_BUDGET_S = 300.0
"""Time allowed to start the process and split the data (imports take a second or two)."""


class WorkerStopped(Exception):
    """The training process was stopped or died before answering.

    Attributes:
        why: ``"time"`` (over the time budget), ``"memory"`` (over the memory limit) or
            ``"died"`` (it exited by itself, e.g. killed by the system).
        detail: A short explanation (exit code, memory reached…).
    """

    def __init__(self, why: str, detail: str = ""):
        super().__init__(f"{why}: {detail}")
        self.why, self.detail = why, detail


class WorkerError(Exception):
    """The training process answered with an error (the message is its first line)."""


class SetupFailed(Exception):
    """The training process could not start or take the data (no model can run)."""


def plain_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with Arrow-backed text (values, categories, column names) as objects.

    The values do not change; only their storage, so that a process without pyarrow can
    unpickle the frame.
    """
    out = df.copy(deep=False)
    for position in range(df.shape[1]):
        out.isetitem(position, plain_series(df.iloc[:, position]))
    out.columns = pd.Index([str(c) for c in df.columns], dtype=object)
    return out


def plain_series(s: pd.Series) -> pd.Series:
    """Return ``s`` with Arrow-backed text values or categories stored as Python objects."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        categories = s.cat.categories
        if not pd.api.types.is_numeric_dtype(categories.dtype):
            plain = pd.Index(categories.astype(object), dtype=object)
            s = s.cat.set_categories(plain, ordered=s.cat.ordered)
    elif isinstance(s.dtype, pd.StringDtype) or pd.api.types.is_string_dtype(s.dtype):
        s = s.astype(object)
    return s.rename(None if s.name is None else str(s.name))


def _environment(n_jobs: int) -> dict[str, str]:
    # Thread pools sized before the libraries start them. Two malloc arenas: the forests'
    # threads otherwise keep an arena each of freed tree memory (measured: a forest's peak
    # 142 → 105 MB). A fixed mmap threshold would return even more, but doubled the time
    # of Histogram Gradient Boosting (many mid-sized allocations), so it is left alone.
    env = thread_environment(n_jobs)
    env.setdefault("MALLOC_ARENA_MAX", "2")
    env["PYTHONPATH"] = str(_PACKAGE_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class TrainingWorker:
    """One training process holding one comparison's data.

    Args:
        setup: Keyword arguments of ``dashboard.ml._worker.Trainer``.
        n_jobs: CPU share of the process (thread pools are capped to it).
    """

    def __init__(self, setup: dict, *, n_jobs: int):
        self._setup = setup
        self._n_jobs = n_jobs
        self._proc: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self.split: dict | None = None
        self.starts = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def pid(self) -> int | None:
        """Pid of the running process, or None."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _start(self, memory_limit_mb: float | None) -> None:
        self._proc = subprocess.Popen(  # noqa: S603 - our own module, no user text
            [sys.executable, "-c", _LAUNCH],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_environment(self._n_jobs),
            cwd=_PACKAGE_ROOT,
        )
        self.starts += 1
        self._replies = queue.Queue()
        threading.Thread(
            target=_read_replies, args=(self._proc.stdout, self._replies), daemon=True
        ).start()
        try:
            self.split = self._ask(
                ("setup", self._setup), STARTUP_BUDGET_S, memory_limit_mb, None, expect="ready"
            )
        except WorkerStopped as err:
            self.kill()
            if err.why == "memory":
                message = (
                    f"The training process needed more than {memory_limit_mb:,.0f} MB just to "
                    "hold the data. Try a smaller sample or fewer columns."
                )
            else:
                message = f"The training process could not start ({err.why}: {err.detail})."
            raise SetupFailed(message) from err
        except WorkerError as err:
            self.kill()
            raise SetupFailed(f"The data could not be prepared for training ({err}).") from err

    def close(self) -> None:
        """Ask the process to exit (kill it if it does not within a few seconds)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            pickle.dump(("stop",), proc.stdin)
            proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Stop the process at once (SIGKILL)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def __enter__(self) -> TrainingWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ requests
    def request(
        self,
        command: str,
        payload: dict,
        *,
        budget_s: float,
        memory_limit_mb: float | None = None,
        on_progress: Callable[[str, float], None] | None = None,
    ):
        """Send one command and return its answer.

        Starts the process first if needed (its start-up is not counted in ``budget_s``).

        Raises:
            WorkerStopped: Over ``budget_s`` or ``memory_limit_mb`` (the process is killed),
                or the process died.
            WorkerError: The command failed inside the process.
            SetupFailed: The process could not start or take the data.
        """
        if self.pid is None:
            self._start(memory_limit_mb)
        expect = {"train": "result", "details": "details"}[command]
        return self._ask((command, payload), budget_s, memory_limit_mb, on_progress, expect)

    def _ask(self, message, budget_s, memory_limit_mb, on_progress, expect):
        proc = self._proc
        try:
            pickle.dump(message, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
        except OSError:
            self.kill()
            raise WorkerStopped("died", "the training process stopped unexpectedly") from None
        started = time.monotonic()
        watched = _Process(proc.pid)
        while True:
            try:
                reply = self._replies.get(timeout=_POLL_S)
            except queue.Empty:
                reply = None
            if reply is not None:
                kind = reply[0]
                if kind == "progress" and on_progress is not None:
                    on_progress(reply[1], reply[2])
                elif kind == expect:
                    return reply[1]
                elif kind == "error":
                    raise WorkerError(reply[1])
                elif kind == "eof":
                    code = proc.wait()
                    self._proc = None
                    raise WorkerStopped("died", f"exit code {code}")
                continue
            if time.monotonic() - started > budget_s:
                self.kill()
                raise WorkerStopped("time", f"{budget_s:g} s")
            if memory_limit_mb is not None:
                rss = watched.rss_mb()
                if rss > memory_limit_mb:
                    self.kill()
                    raise WorkerStopped("memory", f"{rss:,.0f} MB")


class _Process:
    def __init__(self, pid: int):
        try:
            self._proc = psutil.Process(pid)
        except psutil.NoSuchProcess:
            self._proc = None

    def rss_mb(self) -> float:
        if self._proc is None:
            return 0.0
        try:
            return self._proc.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            return 0.0


def _read_replies(stream, replies: queue.Queue) -> None:
    while True:
        try:
            replies.put(pickle.load(stream))
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            replies.put(("eof",))
            return
