"""The process that runs one job: `python -m conrec_core.jobs.worker WORKSPACE JOB_ID [KINDS_MODULE]` (started by
JobRegistry)."""

from __future__ import annotations

import os
import sys
import time
import traceback

from ..errors import ConrecError
from ..quiet import quiet_libraries
from .registry import KINDS_MODULE, JobCancelled, JobRegistry, _now, job_kinds, process_start

PROGRESS_INTERVAL = 0.5  # seconds between record writes: the page polls about once a second


def run(workspace: str, job_id: str, kinds_module: str = KINDS_MODULE) -> int:
    registry = JobRegistry(workspace, kinds_module)
    job = registry.update(job_id, _start)
    last_write = 0.0

    def progress(fraction: float, message: str = "") -> None:
        nonlocal last_write
        if registry.cancel_requested(job_id):
            raise JobCancelled()
        now = time.monotonic()
        if now - last_write >= PROGRESS_INTERVAL or fraction >= 1.0:
            registry.update(job_id, lambda current: _report(current, fraction, message))
            last_write = now

    kind = job_kinds(kinds_module)[job.kind]
    try:
        result = kind.run(workspace, kind.params.from_dict(job.params), progress)
        end, code = {"status": "done", "progress": 1.0, "result": result}, 0
    except JobCancelled:
        end, code = {"status": "cancelled", "message": "cancelled by the user"}, 0
    except ConrecError as error:
        end, code = {"status": "failed", "error": str(error), "error_column": getattr(error, "column", None)}, 1
    except Exception as error:  # a bug: keep the traceback in the log, show one line in the app
        traceback.print_exc()
        end, code = {"status": "failed", "error": f"{type(error).__name__}: {error} (details in the job log)"}, 1
    registry.update(job_id, lambda final: _finish(final, end))
    return code


def _start(job) -> None:
    job.status, job.started_at, job.pid = "running", _now(), os.getpid()
    job.pid_started = process_start(job.pid)


def _report(job, fraction: float, message: str) -> None:
    job.progress, job.message = max(0.0, min(1.0, float(fraction))), message


def _finish(job, end: dict) -> None:
    for name, value in end.items():
        setattr(job, name, value)
    job.finished_at = _now()


if __name__ == "__main__":
    quiet_libraries()
    sys.exit(run(*sys.argv[1:4]))
