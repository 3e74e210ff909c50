"""The process that runs one job: `python -m conrec_core.jobs.worker WORKSPACE JOB_ID` (started by JobRegistry)."""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback

from ..errors import ConrecError
from ..quiet import quiet_libraries
from .registry import JOB_KINDS, JobCancelled, JobRegistry, _now, process_start

PROGRESS_INTERVAL = 0.5  # seconds between record writes: the page polls about once a second


def run(workspace: str, job_id: str) -> int:
    registry = JobRegistry(workspace)
    job = registry.read(job_id)
    job.status, job.started_at, job.pid = "running", _now(), os.getpid()
    job.pid_started = process_start(job.pid)
    registry.write(job)
    last_write = 0.0

    def progress(fraction: float, message: str = "") -> None:
        nonlocal last_write
        if registry.cancel_requested(job_id):
            raise JobCancelled()
        now = time.monotonic()
        if now - last_write >= PROGRESS_INTERVAL or fraction >= 1.0:
            current = registry.read(job_id)
            current.progress, current.message = max(0.0, min(1.0, float(fraction))), message
            registry.write(current)
            last_write = now

    module_name, function_name = JOB_KINDS[job.kind].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    try:
        result = function(workspace, job.params, progress)
        final = registry.read(job_id)
        final.status, final.progress, final.result = "done", 1.0, result
        code = 0
    except JobCancelled:
        final = registry.read(job_id)
        final.status, final.message = "cancelled", "cancelled by the user"
        code = 0
    except ConrecError as error:
        final = registry.read(job_id)
        final.status, final.error = "failed", str(error)
        final.error_column = getattr(error, "column", None)
        code = 1
    except Exception as error:  # a bug: keep the traceback in the log, show one line in the app
        traceback.print_exc()
        final = registry.read(job_id)
        final.status, final.error = "failed", f"{type(error).__name__}: {error} (details in the job log)"
        code = 1
    final.finished_at = _now()
    registry.write(final)
    return code


if __name__ == "__main__":
    quiet_libraries()
    sys.exit(run(sys.argv[1], sys.argv[2]))
