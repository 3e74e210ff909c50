"""A job kind for the runner's own tests: it only waits and reports progress (`JobRegistry(ws, "tests.job_kinds")`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from conrec_core.config import Settings, setting
from conrec_core.errors import ConrecError
from conrec_core.jobs.kinds import JobKind


@dataclass(frozen=True)
class SleepJob(Settings):
    steps: int = setting(10, "progress steps", low=0)
    seconds: float = setting(0.1, "seconds each step waits", low=0)
    fail: bool = setting(False, "end with an error")


def sleep(workspace: str, params: SleepJob, progress) -> dict:
    for step in range(params.steps):
        progress(step / params.steps, f"step {step + 1} of {params.steps}")
        time.sleep(params.seconds)
    if params.fail:
        raise ConrecError("asked to fail")
    progress(1.0, "finished")
    return {"steps": params.steps}


@dataclass(frozen=True)
class BurstJob(Settings):
    reports: int = setting(5, "progress reports in one quick burst", low=1)
    silence: float = setting(3.0, "seconds of work without a report after the burst", low=0)


def burst(workspace: str, params: BurstJob, progress) -> dict:
    """Reports faster than the record is written, then works in silence: as a decode's last batches do."""
    for done in range(1, params.reports + 1):
        progress(0.5 * done / params.reports, f"decoded {done} of {params.reports}")
    time.sleep(params.silence)
    return {"reports": params.reports}


JOB_KINDS = {"sleep": JobKind(SleepJob, sleep), "burst": JobKind(BurstJob, burst)}
