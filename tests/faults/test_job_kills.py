"""kill -9 the app's real job workers (codebook, SFT, GRPO, predict) in the middle of their work: afterwards the
workspace opens, doctor finds nothing half-written, every listed artefact loads and matches its fingerprint,
and the job resumes or reruns to the result an uninterrupted run gives."""

import pytest
import torch
from safetensors.torch import load_file

from conrec_core.jobs.registry import JobRegistry, job_kinds
from conrec_core.lm.checkpoints import checkpoint_dir, list_checkpoints, load_checkpoint, read_training
from conrec_core.decoding.prediction_store import read_predictions
from conrec_core.maintenance.doctor import PROBLEM, doctor
from conrec_core.semantic_ids.store import codebook_dir, list_codebooks, load_codebook
from harness import wait_for

from conftest import TINY_STEPS, writable_copy

pytestmark = pytest.mark.slow


def typed(kind: str, params: dict):
    """A job's parameters as its kind's Settings dataclass, from the JSON a record holds."""
    return job_kinds()[kind].params.from_dict(params)


def kill_when(registry: JobRegistry, job_id: str, condition) -> None:
    """SIGKILL the job's worker once `condition(job)` holds (checked between its progress reports)."""
    import os
    import signal

    wait_for(lambda: condition(registry.read(job_id)) or not registry.read(job_id).active, None, timeout=600,
             poll=0.02)
    job = registry.read(job_id)
    assert job.active, f"the job ended before the moment to kill it: {job.status} {job.error}"
    os.killpg(job.pid, signal.SIGKILL)
    assert registry.wait(job_id, timeout=30).status == "failed"  # the registry notices the dead worker


def healthy(workspace) -> None:
    findings = doctor(workspace)
    assert [f for f in findings if f.status == PROBLEM] == []
    for record in list_codebooks(workspace):
        load_codebook(workspace, record["name"])  # checks the weights against the fingerprint
    for info in list_checkpoints(workspace):
        load_checkpoint(info.folder)


def finish(registry: JobRegistry, kind: str, params: dict):
    job = registry.wait(registry.submit(kind, typed(kind, params)).id, timeout=900)
    assert job.status == "done", job.error
    return job


def test_a_killed_codebook_job_keeps_the_old_codebook_and_reruns_to_the_same_sids(lm_world, tmp_path):
    workspace = writable_copy(lm_world, tmp_path / "ws")
    before = load_codebook(workspace, "default")
    params = {"name": "default", "compute_map": False,
              "config": {**before.config.to_dict()}}
    registry = JobRegistry(workspace)
    job = registry.submit("codebook", typed("codebook", params))
    kill_when(registry, job.id, lambda j: j.progress >= 0.3)
    healthy(workspace)
    assert load_codebook(workspace, "default").fingerprint == before.fingerprint  # the old one, whole
    finish(registry, "codebook", params)
    after = load_codebook(workspace, "default")
    assert after.sids.sids == before.sids.sids  # same settings, same seed: the same semantic IDs
    assert [p.name for p in codebook_dir(workspace, "default").parent.iterdir()] == ["default"]


def test_a_killed_sft_job_resumes_to_the_weights_of_an_uninterrupted_run(lm_world, tiny_checkpoint, tmp_path):
    _, uninterrupted = tiny_checkpoint
    workspace = writable_copy(lm_world, tmp_path / "ws")
    params = {"name": "tiny", "config": {"steps": TINY_STEPS, "eval_every": 30, "checkpoint_every": 30,
                                         "eval_examples": 20}}
    registry = JobRegistry(workspace)
    job = registry.submit("sft", typed("sft", params))
    folder = checkpoint_dir(workspace, "tiny")

    def saved_once(_job) -> bool:
        try:
            return read_training(folder).get("step", 0) >= 30
        except Exception:
            return False
    kill_when(registry, job.id, saved_once)
    healthy(workspace)
    assert read_training(folder)["step"] == 30 and not read_training(folder).get("finished")
    finish(registry, "sft", params)
    assert read_training(folder)["step"] == TINY_STEPS
    resumed = load_file(str(folder / "model.safetensors"))
    straight = load_file(str(uninterrupted.folder / "model.safetensors"))
    assert resumed.keys() == straight.keys()
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], atol=1e-4, rtol=1e-3)


def test_a_killed_grpo_job_leaves_no_half_checkpoint_and_reruns(tiny_world, tmp_path):
    workspace, _ = tiny_world
    registry = JobRegistry(workspace)
    params = {"name": "grpo-killed", "warmup": "tiny",
              "config": {"steps_per_stage": 2, "prompts_per_step": 4, "group_size": 4, "eval_every": 1,
                         "eval_samples": 12}}
    job = registry.submit("grpo", typed("grpo", params))
    kill_when(registry, job.id, lambda j: j.progress >= 0.4)
    healthy(workspace)
    finish(registry, "grpo", params)
    healthy(workspace)
    assert read_training(checkpoint_dir(workspace, "grpo-killed"))["finished"]


def test_a_killed_predict_job_keeps_the_old_predictions_and_reruns_to_the_same(tiny_world):
    workspace, _ = tiny_world
    registry = JobRegistry(workspace)
    params = {"checkpoint": "tiny", "decoding": {"beams": 8, "returns": 8}}
    finish(registry, "predict", params)
    first = read_predictions(workspace, "tiny")
    job = registry.submit("predict", typed("predict", params))
    kill_when(registry, job.id, lambda j: j.progress >= 0.3)
    healthy(workspace)
    assert read_predictions(workspace, "tiny").equals(first)  # the old predictions, all of them
    finish(registry, "predict", params)
    again = read_predictions(workspace, "tiny")
    assert again.drop(columns="created_at").equals(first.drop(columns="created_at"))
