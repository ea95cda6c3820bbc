"""The job interpreter: ``python -m dashboard.jobs`` reads a job spec on stdin and runs it.

Started by ``dashboard.jobs.launch`` (inside Dash's forked relay process) as a fresh
interpreter that opens every database itself. It imports the domain only: no Dash, Flask,
plotly or ``components`` (``tests/test_layers.py`` checks it).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time

from dashboard.jobs._execute import execute
from dashboard.jobs._launch import MARK, settings_from_json
from dashboard.jobs._processes import prefer_oom_kill
from dashboard.kinds import job_context


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _emit(message: dict) -> None:
    sys.stdout.write(MARK + json.dumps(message, default=str) + "\n")
    sys.stdout.flush()


def main() -> None:
    """Entry point of the job process: read the spec from stdin, run, print the result."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s job %(name)s: %(message)s",
    )
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    prefer_oom_kill()  # the kernel, should it run out of memory, kills the job, not the web
    spec = json.loads(sys.stdin.read())
    settings = settings_from_json(spec["settings"])
    context = job_context(settings)
    result = execute(
        context,
        spec["session_id"],
        spec["request"],
        lambda value: _emit({"progress": list(value)}),
    )
    _emit({"result": result})


if __name__ == "__main__":
    main()
