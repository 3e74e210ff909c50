"""Start real conrec processes and kill -9 them at chosen moments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def start(arguments: list[str], log: Path) -> subprocess.Popen:
    """A Python process in the repository, in its own session, output to `log`."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    with open(log, "w") as handle:
        return subprocess.Popen([sys.executable, *arguments], cwd=REPO, env=env, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything it started: no cleanup code runs."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def wait_for(condition, process: subprocess.Popen | None, timeout: float = 120.0, poll: float = 0.001) -> None:
    """Poll until `condition()` holds; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended (code {process.returncode}) before the moment to kill it")
        if time.monotonic() > deadline:
            raise AssertionError("the moment to kill never came")
        time.sleep(poll)


def log_lines(log: Path) -> list[str]:
    return log.read_text(errors="replace").splitlines() if log.is_file() else []
