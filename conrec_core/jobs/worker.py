"""The process that runs one job: `python -m conrec_core.jobs.worker WORKSPACE JOB_ID [KINDS_MODULE]` (started by
JobRegistry)."""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback

from ..errors import ConrecError
from ..quiet import quiet_libraries
from .registry import KINDS_MODULE, JobCancelled, JobRegistry, _now, job_kinds, process_start

PROGRESS_INTERVAL = 0.5  # seconds between record writes: the page polls about once a second


def run(workspace: str, job_id: str, kinds_module: str = KINDS_MODULE) -> int:
    registry = JobRegistry(workspace, kinds_module)
    job = registry.update(job_id, _start)
    reporter = _Reporter(registry, job_id)

    def progress(fraction: float, message: str = "") -> None:
        if registry.cancel_requested(job_id):
            raise JobCancelled()
        reporter.report(fraction, message)

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
    reporter.stop()
    registry.update(job_id, lambda final: _finish(final, end))
    return code


class _Reporter:
    """Writes progress to the job record at most every PROGRESS_INTERVAL; a report that came sooner is written by
    a background flush once the interval has passed, so the last message before a long silent step (the last
    batch of a decode, then writing the predictions) is the one the page shows, never the one before it."""

    def __init__(self, registry: JobRegistry, job_id: str):
        self.registry, self.job_id = registry, job_id
        self.lock = threading.Lock()
        self.pending: tuple[float, str] | None = None
        self.last_write = 0.0
        self.stopped = threading.Event()
        self.flusher = threading.Thread(target=self._flush_loop, daemon=True)
        self.flusher.start()

    def report(self, fraction: float, message: str) -> None:
        with self.lock:
            self.pending = (fraction, message)
            if time.monotonic() - self.last_write >= PROGRESS_INTERVAL or fraction >= 1.0:
                self._write()

    def stop(self) -> None:
        self.stopped.set()
        self.flusher.join()

    def _flush_loop(self) -> None:
        while not self.stopped.wait(PROGRESS_INTERVAL / 2):
            with self.lock:
                if self.pending is not None and time.monotonic() - self.last_write >= PROGRESS_INTERVAL:
                    self._write()

    def _write(self) -> None:  # under the lock
        fraction, message = self.pending
        self.registry.update(self.job_id, lambda current: _report(current, fraction, message))
        self.pending, self.last_write = None, time.monotonic()


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
