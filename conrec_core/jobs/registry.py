"""Long work outside the app: a job is a background process with a record file the app polls.

A Streamlit script is rerun (and its work killed) on every click, so training never runs inside one.
`JobRegistry.submit` starts `python -m conrec_core.jobs.worker` in its own session; the worker writes its
status and progress to `<workspace>.files/jobs/<id>.json`; any page, tab or rerun reads the same record.
One job of a kind runs per workspace at a time: submitting again returns the running one.
"""

from __future__ import annotations

import contextlib
import importlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..errors import ConrecError
from ..data.workspace import artifacts_dir

ACTIVE = ("queued", "running", "cancelling")
FINISHED = ("done", "failed", "cancelled")
# The module whose JOB_KINDS table (kind -> jobs.kinds.JobKind) a registry and its workers use. The worker is told
# it by the registry that started it, never by a job record, so a crafted record can name no other code.
KINDS_MODULE = "conrec_core.jobs.kinds"
CANCEL_GRACE_SECONDS = 10.0  # after this, a job that ignores its cancel flag is terminated


@dataclass
class Job:
    id: str
    kind: str
    params: dict
    status: str = "queued"
    progress: float = 0.0
    message: str = ""
    pid: int | None = None
    pid_started: int | None = None  # its start time in clock ticks since boot: PIDs are reused, the pair is not
    created_at: str = field(default_factory=lambda: _now())
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    error_column: str | None = None  # the input column a failed import's message is about, shown beside it
    result: dict | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def time_estimate(job: Job, now: datetime | None = None) -> tuple[float, float | None] | None:
    """(seconds elapsed, seconds left) of a running job, the second extrapolated from its progress so far (None
    until it has done 2%: the first stages' pace says little); None before it starts.

    >>> job = Job("a", "sft", {}, status="running", progress=0.25, started_at="2026-01-01T10:00:00+00:00")
    >>> time_estimate(job, datetime(2026, 1, 1, 10, 1, tzinfo=timezone.utc))
    (60.0, 180.0)
    """
    if job.started_at is None:
        return None
    elapsed = max(0.0, ((now or datetime.now(timezone.utc)) - datetime.fromisoformat(job.started_at)).total_seconds())
    left = elapsed * (1 - job.progress) / job.progress if job.progress >= 0.02 else None
    return elapsed, left


def job_kinds(module: str = KINDS_MODULE) -> dict:
    """The JOB_KINDS table of `module`."""
    return importlib.import_module(module).JOB_KINDS


class JobCancelled(Exception):
    """Raised inside a job when the user asked it to stop."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class JobRegistry:
    def __init__(self, workspace: Path | str, kinds_module: str = KINDS_MODULE):
        self.workspace = Path(workspace).resolve()
        self.folder = artifacts_dir(self.workspace) / "jobs"
        self.kinds_module = kinds_module

    def path(self, job_id: str) -> Path:
        if not job_id.isalnum():
            raise ConrecError(f"not a job id: {job_id!r}")
        return self.folder / f"{job_id}.json"

    def log_path(self, job_id: str) -> Path:
        return self.path(job_id).with_suffix(".log")

    def _flag(self, job_id: str) -> Path:
        """Exists once a cancel was requested; written by the app, read by the worker."""
        return self.path(job_id).with_suffix(".cancel")

    def _pid_file(self, job_id: str) -> Path:
        return self.path(job_id).with_suffix(".pid")

    def write(self, job: Job) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(job.id)
        temporary = target.with_suffix(f".tmp{os.getpid()}")
        temporary.write_text(json.dumps(asdict(job), indent=1))
        os.replace(temporary, target)  # readers see the old record or the new one, never half of one

    def update(self, job_id: str, change: Callable[[Job], None]) -> Job:
        """Read the record, apply `change` to it and write it back, with no other update in between: the app
        (cancel, a dead worker's mark) and the worker (progress, the end) both update a running job's record, and
        a plain read-then-write lets one of them put back a record the other had already replaced."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path(job_id).with_suffix(".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            job = self.read(job_id)
            change(job)
            self.write(job)
            return job

    def read(self, job_id: str) -> Job:
        try:
            record = json.loads(self.path(job_id).read_text())
            known = {spec.name for spec in fields(Job)}  # a record from a newer version may carry more
            return Job(**{key: value for key, value in record.items() if key in known})
        except FileNotFoundError:
            raise ConrecError(f"no job {job_id} in {self.folder}") from None
        except (ValueError, TypeError):  # truncated, or not a job record at all
            raise ConrecError(f"the job record {self.path(job_id)} is unreadable") from None

    def get(self, job_id: str) -> Job:
        """The job's record, marking it failed if its worker died without saying so."""
        job = self.read(job_id)
        process = self._process(job)
        if job.active and process is not None and not _alive(*process):
            job = self.update(job_id, _mark_dead)  # unless it finished in the meantime
        return job

    def list(self) -> list[Job]:
        """Every readable job, newest first; an unreadable record (truncated, foreign) is passed over."""
        if not self.folder.is_dir():
            return []
        jobs = []
        for path in self.folder.glob("*.json"):
            with contextlib.suppress(ConrecError):
                jobs.append(self.get(path.stem))
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def active(self, kind: str) -> Job | None:
        return next((j for j in self.list() if j.kind == kind and j.active), None)

    def latest(self, kind: str) -> Job | None:
        return next((j for j in self.list() if j.kind == kind), None)

    @contextlib.contextmanager
    def _lock(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def submit(self, kind: str, params) -> Job:
        """Start a job of `kind` with `params` (that kind's Settings dataclass, jobs/params.py), or return the
        one of this kind already running for the workspace."""
        kinds = job_kinds(self.kinds_module)
        if kind not in kinds:
            raise ConrecError(f"unknown job kind {kind!r}")
        if not isinstance(params, kinds[kind].params):
            raise TypeError(f"a {kind} job takes {kinds[kind].params.__name__}, not {type(params).__name__}")
        with self._lock():
            running = self.active(kind)
            if running is not None:
                return running
            job = Job(id=uuid.uuid4().hex[:12], kind=kind, params=params.to_dict())
            self.write(job)
            with open(self.log_path(job.id), "w") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "conrec_core.jobs.worker", str(self.workspace), job.id, self.kinds_module],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                    cwd=str(Path(__file__).resolve().parents[2]))
            # The worker writes its own record from now on; the pid goes to a side file so the two
            # processes never write the same file at once.
            self._pid_file(job.id).write_text(f"{process.pid} {process_start(process.pid)}")
            return self.get(job.id)

    def _process(self, job: Job) -> tuple[int, int | None] | None:
        """(pid, start time) of the job's worker, from its record or the side file written at submission."""
        if job.pid is not None:
            return job.pid, job.pid_started
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid, started = self._pid_file(job.id).read_text().split()
            return int(pid), int(started) if started != "None" else None
        return None

    def cancel(self, job_id: str) -> Job:
        """Ask the job to stop at its next progress report; terminate it if it does not within the grace time."""
        job = self.get(job_id)
        if not job.active:
            return job
        self._flag(job_id).touch()
        return self.update(job_id, _mark_cancelling)  # the worker may have ended since: then it stays ended

    def enforce_cancel(self, job_id: str, grace: float = CANCEL_GRACE_SECONDS) -> Job:
        """Terminate a job whose cancel was requested more than `grace` seconds ago and is still running."""
        job = self.get(job_id)
        flag = self._flag(job_id)
        process = self._process(job)
        if job.active and flag.exists() and time.time() - flag.stat().st_mtime > grace and process:
            pid, started = process
            # never signal a process that merely reuses the worker's old PID: only one whose start time matches the
            # record's (a record without one, crafted or damaged, proves nothing) and that leads its own group
            if started is not None and _alive(pid, started) and _leads_group(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)
            job = self.update(job_id, _mark_terminated)
        return job

    def cancel_requested(self, job_id: str) -> bool:
        return self._flag(job_id).exists()

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.2) -> Job:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if not job.active or time.monotonic() > deadline:
                return job
            time.sleep(poll)


def _mark_dead(job: Job) -> None:
    if job.active:
        job.status, job.finished_at = "failed", _now()
        job.error = "the worker process stopped unexpectedly (killed, or out of memory?); see its log"


def _mark_cancelling(job: Job) -> None:
    if job.active:
        job.status = "cancelling"


def _mark_terminated(job: Job) -> None:
    if job.active:
        job.status, job.finished_at, job.error = "cancelled", _now(), "terminated after ignoring cancel"


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None when there is no process."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return None


def process_start(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (field 22 of /proc/PID/stat); None if it is gone."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _leads_group(pid: int) -> bool:
    """Whether `pid` leads its process group, as a worker started in a session of its own does."""
    try:
        return os.getpgid(pid) == pid
    except (ProcessLookupError, PermissionError):
        return False


def _alive(pid: int, started: int | None = None) -> bool:
    """True while the process runs and, when `started` is known, is the same process that started then (a
    PID of a dead worker may belong to an unrelated process by now). A zombie counts as dead."""
    fields = _stat_fields(pid)
    if fields is None:
        return False
    if started is not None and len(fields) > 19 and int(fields[19]) != started:
        return False
    if fields[0] == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True
