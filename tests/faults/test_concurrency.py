"""Readers and writers on one workspace at once: the app's reads never fail while jobs and commands write, no
write is lost, and a writer that cannot get the lock waits, or fails with one clear line."""

import subprocess
import sys
import threading
import time

import pytest

from conrec_core.data import stats
from conrec_core.data.workspace import open_workspace
from conrec_core.errors import WorkspaceBusy
from conrec_core.evaluation.scoring import read_sample_metrics, store_metrics
from conrec_core.evaluation.slices import evaluated_samples
from conrec_core.semantic_ids.store import list_codebooks
from conrec_core.views.user import predicted_users
from harness import REPO, kill, log_lines, start, wait_for

from conftest import writable_copy

HOLD_A_READER = ("import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=True); "
                 "print('open', flush=True); time.sleep(float(sys.argv[2])); con.close()")


def page_reads(workspace) -> None:
    """What the overview, inspector, codebook and review pages read on a rerun."""
    with open_workspace(workspace) as con:
        stats.summarize(con)
        stats.negatives_per_day(con)
        stats.split_table(con)
    predicted_users(workspace)
    list_codebooks(workspace)
    evaluated_samples(workspace, "test")


def test_result_writes_wait_for_a_reader_that_holds_on(small_world, tmp_path):
    workspace = writable_copy(small_world, tmp_path / "copy")
    metrics = read_sample_metrics(workspace)  # empty frame with the right columns
    log = tmp_path / "reader.log"
    reader = start(["-c", HOLD_A_READER, str(workspace), "3"], log)
    try:
        wait_for(lambda: "open" in log_lines(log), reader)
        with pytest.raises(WorkspaceBusy) as busy:  # an ordinary writer gives up with one line
            with open_workspace(workspace, read_only=False, lock_timeout=0.5):
                pass
        assert "in use by another process" in str(busy.value) and "\n" not in str(busy.value)
        started = time.monotonic()
        store_metrics(workspace, "held", "test", metrics.iloc[:0])  # a result write waits instead
        assert time.monotonic() - started > 1.0  # it really had to wait for the reader
    finally:
        kill(reader)


def test_pages_read_while_a_command_and_a_second_command_write(small_world, tmp_path):
    workspace = writable_copy(small_world, tmp_path / "copy")
    failures, reads = [], [0]
    stop = threading.Event()

    def read_in_a_loop():
        while not stop.is_set():
            try:
                page_reads(workspace)
                reads[0] += 1
            except Exception as error:  # anything here would surface on a page
                failures.append(repr(error))

    reader = threading.Thread(target=read_in_a_loop)
    reader.start()
    try:
        evaluate = start(["-m", "conrec_core", "evaluate", "--workspace", str(workspace),
                          "--baselines", "most_disliked", "item_cf"], tmp_path / "evaluate.log")
        swing_command = start(["-m", "conrec_core", "swing", "--workspace", str(workspace)], tmp_path / "swing.log")
        codes = evaluate.wait(timeout=300), swing_command.wait(timeout=300)
    finally:
        stop.set()
        reader.join()
    assert codes == (0, 0), (tmp_path / "evaluate.log").read_text() + (tmp_path / "swing.log").read_text()
    assert failures == []
    assert reads[0] > 3
    with open_workspace(workspace) as con:  # both commands' writes are there
        methods = {m for (m,) in con.execute("SELECT DISTINCT method FROM sample_metrics").fetchall()}
        swing_rows = con.execute("SELECT count(*) FROM swing_neighbours").fetchall()[0][0]
    assert {"most_disliked", "item_cf"} <= methods
    assert swing_rows > 0
