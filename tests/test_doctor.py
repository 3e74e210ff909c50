"""doctor: a healthy workspace passes; each planted fault is found, and repaired where that is safe."""

import json
import shutil
import subprocess
import sys

from conrec_core.data.workspace import artifacts_dir, open_workspace
from conrec_core.jobs.registry import Job, JobRegistry
from conrec_core.lm.checkpoints import checkpoint_dir
from conrec_core.maintenance.doctor import OK, PROBLEM, REPAIRED, doctor
from conrec_core.semantic_ids.store import codebook_dir, load_codebook

from conftest import REPO

GONE = 999_999_999  # a PID no process has


def by_status(findings, status):
    return [f"{f.part}: {f.message}" for f in findings if f.status == status]


def plant_faults(workspace):
    """One of each fault doctor knows, in a copy of a trained workspace."""
    folder = workspace.parent
    (folder / f".{workspace.name}.building-{GONE}").write_bytes(b"half an import")
    codebook = codebook_dir(workspace, "default")
    codebook.rename(codebook.with_name(f".default.new-{GONE}"))  # killed between the commit and the swap
    weights = checkpoint_dir(workspace, "tiny") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated
    registry = JobRegistry(workspace)
    registry.write(Job(id="deadjob", kind="sft", params={}, status="running", pid=GONE))
    (registry.folder / "garbage.json").write_text("{not json")
    exports = artifacts_dir(workspace) / "exports"
    exports.mkdir()
    (exports / f".slice.csv.{GONE}.tmp").write_text("half")
    (exports / "slice.csv").write_text("user_id\nedited\n")
    (exports / "slice.manifest.json").write_text(json.dumps({"file": "slice.csv", "rows": 1, "sha256": "0" * 64}))
    spark_run = artifacts_dir(workspace) / "spark" / f"run-0123456789ab-{GONE}"  # a Spark run killed mid-way
    spark_run.mkdir(parents=True)
    (spark_run / "events.parquet").write_bytes(b"PAR1")
    with open_workspace(workspace, read_only=False) as con:
        con.execute("DROP TABLE item_map")


def test_a_healthy_workspace_passes(tiny_world):
    workspace, _ = tiny_world
    findings = doctor(workspace)
    assert by_status(findings, PROBLEM) == [] and by_status(findings, REPAIRED) == []
    assert "checkpoint 'tiny': sft, step 60, weights verified" in by_status(findings, OK)
    assert any(part.startswith("codebook 'default': weights match") for part in by_status(findings, OK))


def test_planted_faults_are_found_and_the_safe_ones_repaired(tiny_world):
    workspace, _ = tiny_world
    plant_faults(workspace)
    findings = doctor(workspace)
    repaired, problems = by_status(findings, REPAIRED), by_status(findings, PROBLEM)
    assert f"leftovers: removed .{workspace.name}.building-{GONE}, left by an import that was killed" in repaired
    assert "codebook 'default': finished a save that was killed after the database commit" in repaired
    assert "job deadjob: sft: its worker is gone; marked failed" in repaired
    assert f"leftovers: removed .slice.csv.{GONE}.tmp, left by an export that was killed" in repaired
    assert "workspace: created the missing tables (empty): item_map" in repaired
    assert (f"leftovers: removed Spark exchange folder run-0123456789ab-{GONE}, left by a Spark run that was killed"
            in repaired)
    assert problems == [
        "checkpoint 'tiny': model.safetensors is not the file this checkpoint was saved with (changed or truncated)",
        "job file garbage.json: unreadable (truncated, or not a job record); the app passes over it",
        "export 'slice': slice.csv does not match its manifest (another export replaced it, or it was edited); "
        "export it again"]
    load_codebook(workspace, "default")  # whole again
    assert JobRegistry(workspace).read("deadjob").status == "failed"
    assert [f.status for f in doctor(workspace) if f.status == REPAIRED] == []  # nothing left to repair


def test_check_only_changes_nothing_and_the_command_exits_1_on_problems(tiny_world):
    workspace, _ = tiny_world
    plant_faults(workspace)
    files = sorted(str(p.relative_to(workspace.parent)) for p in workspace.parent.rglob("*"))
    before = {p: (workspace.parent / p).read_bytes() for p in files if (workspace.parent / p).is_file()}
    done = subprocess.run([sys.executable, "-m", "conrec_core", "doctor", "--workspace", str(workspace),
                           "--check-only"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "PROBLEM" in done.stdout and "Traceback" not in done.stderr
    assert sorted(str(p.relative_to(workspace.parent)) for p in workspace.parent.rglob("*")) == files
    assert {p: (workspace.parent / p).read_bytes() for p in before} == before
