"""The background job runner, with real worker processes."""

import doctest
import os
import signal
import time
from datetime import datetime, timezone

import pytest

from conrec_core.errors import ConrecError
from conrec_core.jobs import registry as registry_module
from conrec_core.jobs.registry import Job, JobRegistry, process_start, time_estimate
from conrec_core.jobs.params import ImportJob
from tests.job_kinds import BurstJob, SleepJob


@pytest.fixture
def registry(tmp_path):
    return JobRegistry(tmp_path / "ws.duckdb", "tests.job_kinds")


def wait_until(condition, timeout: float = 30) -> None:
    """Poll until `condition()` holds; the worker process may take a while to start on a busy machine."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_job_runs_in_the_background_and_reports_progress(registry):
    job = registry.submit("sleep", SleepJob(steps=20, seconds=0.1))
    assert job.active
    wait_until(lambda: registry.get(job.id).progress > 0)
    running = registry.get(job.id)
    assert running.status == "running" and 0 < running.progress < 1 and running.message.startswith("step")
    done = registry.wait(job.id, timeout=60)
    assert (done.status, done.progress, done.result) == ("done", 1.0, {"steps": 20})
    assert done.started_at and done.finished_at


def test_the_last_report_before_a_silent_step_is_the_one_the_record_shows(registry):
    job = registry.submit("burst", BurstJob(reports=50, silence=4.0))
    wait_until(lambda: registry.get(job.id).message == "decoded 50 of 50", timeout=30)
    assert registry.get(job.id).status == "running"  # shown while the silent step still runs
    assert registry.wait(job.id, timeout=60).status == "done"


def test_submitting_again_returns_the_running_job(registry):
    first = registry.submit("sleep", SleepJob(steps=30, seconds=0.1))
    again = registry.submit("sleep", SleepJob(steps=1))
    assert again.id == first.id and len(registry.list()) == 1
    registry.cancel(first.id)
    registry.wait(first.id, timeout=30)


def test_cancel_stops_the_job(registry):
    job = registry.submit("sleep", SleepJob(steps=200, seconds=0.05))
    wait_until(lambda: registry.get(job.id).progress > 0)
    assert registry.cancel(job.id).status == "cancelling"
    stopped = registry.wait(job.id, timeout=30)
    assert stopped.status == "cancelled" and stopped.progress < 1
    assert registry.submit("sleep", SleepJob(steps=1)).id != job.id  # a new job may start now


def test_a_cancel_never_puts_back_the_record_of_a_job_that_ended_meanwhile(registry, monkeypatch):
    job = registry.submit("sleep", SleepJob(steps=200, seconds=0.05))
    wait_until(lambda: registry.get(job.id).progress > 0)
    running = registry.get(job.id)
    registry.cancel(job.id)
    assert registry.wait(job.id, timeout=30).status == "cancelled"
    # the race a loaded machine once produced: cancel read the record while the job ran, and the worker wrote its
    # end before cancel wrote "cancelling", which then read as a dead worker's job, "failed"
    monkeypatch.setattr(registry, "get", lambda job_id: running)
    assert registry.cancel(job.id).status == "cancelled"
    monkeypatch.undo()
    ended = registry.get(job.id)
    assert ended.status == "cancelled" and ended.message == "cancelled by the user"


def test_a_failing_job_records_its_error(registry):
    job = registry.wait(registry.submit("sleep", SleepJob(steps=1, fail=True)).id, timeout=30)
    assert job.status == "failed" and job.error == "asked to fail"


def test_a_killed_worker_is_reported_as_failed(registry):
    job = registry.submit("sleep", SleepJob(steps=500, seconds=0.05))
    pid = int(registry.path(job.id).with_suffix(".pid").read_text().split()[0])
    wait_until(lambda: registry.get(job.id).progress > 0)  # killed mid-run, not before it started
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not registry.get(job.id).active, timeout=10)
    failed = registry.get(job.id)
    assert failed.status == "failed" and "stopped unexpectedly" in failed.error


def test_unknown_kinds_and_ids_are_refused(registry):
    with pytest.raises(ConrecError, match="unknown job kind"):
        registry.submit("mine-bitcoin", {})
    with pytest.raises(ConrecError, match="not a job id"):
        registry.get("../../etc/passwd")


def test_a_reused_pid_is_not_mistaken_for_the_worker(registry):
    # a record says "running" with the PID of a live, unrelated process (this test's own) started at another
    # time: the job is reported failed, and cancel never signals that process
    stranger = Job(id="abc123def456", kind="sleep", params={}, status="running", pid=os.getpid(),
                   pid_started=process_start(os.getpid()) + 1)
    registry.write(stranger)
    assert registry.get(stranger.id).status == "failed"
    alive_again = Job(id="bcd234efa567", kind="sleep", params={}, status="cancelling", pid=os.getpid(),
                      pid_started=process_start(os.getpid()) + 1)
    registry.write(alive_again)
    registry._flag(alive_again.id).touch()
    registry.enforce_cancel(alive_again.id, grace=-1)  # this process is still here to assert
    assert registry.submit("sleep", SleepJob(steps=1)).id not in (stranger.id, alive_again.id)


def test_unreadable_records_are_passed_over(registry):
    registry.wait(registry.submit("sleep", SleepJob(steps=1)).id, timeout=30)
    (registry.folder / "deadbeef0000.json").write_text('{"id": "deadbeef0000", "kind": "sle')  # truncated
    (registry.folder / "foreign.json").write_text('{"hello": "world"}')
    assert [job.status for job in registry.list()] == ["done"]
    with pytest.raises(ConrecError, match="unreadable"):
        registry.read("foreign")


def test_a_record_written_by_a_newer_version_still_reads(registry):
    job = registry.wait(registry.submit("sleep", SleepJob(steps=1)).id, timeout=30)
    record = registry.path(job.id)
    record.write_text(record.read_text().replace('"kind"', '"added_later": 1, "kind"'))
    assert registry.read(job.id).status == "done"


def test_the_time_estimate_extrapolates_progress():
    result = doctest.testmod(registry_module)
    assert result.attempted >= 2 and result.failed == 0
    early = Job("a", "sft", {}, status="running", progress=0.01, started_at="2026-01-01T10:00:00+00:00")
    assert time_estimate(early, datetime(2026, 1, 1, 10, 0, 30, tzinfo=timezone.utc)) == (30.0, None)
    assert time_estimate(Job("b", "sft", {})) is None  # queued: not started


def test_a_failed_import_job_names_the_column_and_leaves_the_workspace(tmp_path):
    (tmp_path / "log.csv").write_text("u,i,t,k\n1,2,1700000000,neg\n1,3,next week,pos\n")
    (tmp_path / "mapping.json").write_text('{"events": {"user": "u", "item": "i", "time": "t", '
                                           '"kind": {"column": "k", "negative": ["neg"], "positive": ["pos"]}}}')
    registry = JobRegistry(tmp_path / "ws.duckdb")
    job = registry.wait(registry.submit("import", ImportJob(source=str(tmp_path / "log.csv"),
                                                              mapping=str(tmp_path / "mapping.json"))).id, timeout=120)
    assert job.status == "failed" and job.error_column == "t"
    assert job.error.endswith("column 't', row 2: cannot read 'next week' as seconds since the epoch from 1970 to 2099")
    assert not (tmp_path / "ws.duckdb").exists()


def test_a_record_with_a_pid_and_no_start_time_never_gets_a_process_signalled(registry):
    import subprocess
    import sys

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        job = registry.submit("sleep", SleepJob(steps=1, seconds=0.0))
        registry.wait(job.id, timeout=60)
        crafted = registry.update(job.id, lambda record: (setattr(record, "status", "running"),
                                                          setattr(record, "pid", bystander.pid),
                                                          setattr(record, "pid_started", None)))
        assert crafted.pid == bystander.pid and crafted.pid_started is None
        registry.cancel(job.id)
        flag = registry._flag(job.id)
        os.utime(flag, (time.time() - 3600, time.time() - 3600))  # asked long ago: past any grace
        registry.enforce_cancel(job.id, grace=0.0)
        time.sleep(0.5)
        assert bystander.poll() is None  # the unrelated process lives on
    finally:
        bystander.kill()
        bystander.wait()

