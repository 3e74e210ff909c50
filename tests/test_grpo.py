import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from conrec_core.metrics import future_hit_rate
from conrec_core.cli import main
from conrec_core.rl import grpo as grpo_module
from conrec_core.rl.grpo import _shared_prompt_logits, grpo_step, model_inputs, prepare_run, sequence_logprobs, \
    snapshot, train_grpo
from conrec_core.rl.grpo_loss import constrained_logprobs
from conrec_core.rl.grpo_config import GRPOConfig
from conrec_core.lm.checkpoints import checkpoint_dir, list_checkpoints, load_checkpoint, read_metrics
from conrec_core.decoding.predict import predict
from conrec_core.data.samples import users_first
from conrec_core.data.workspace import open_workspace

from conftest import REPO

SMALL = dict(steps_per_stage=2, prompts_per_step=4, group_size=4, eval_every=1, eval_samples=12)


def changed(before: dict, after: dict) -> float:
    return max(float((after[name] - before[name]).abs().max()) for name in before)


def test_grpo_steps_move_the_policy_from_a_zero_kl_start_and_clip(tiny_world):
    workspace, _ = tiny_world
    run, _ = prepare_run(workspace, "tiny", GRPOConfig(prompts_per_step=6, group_size=6, updates_per_batch=4,
                                                       learning_rate=3e-3))
    start = snapshot(run)
    first = grpo_step(run, "negatives", 0, 1, beta=0.04)
    assert first["kl"] == pytest.approx(0.0, abs=1e-7)  # the sampling policy is the reference at step 1
    assert first["invalid_rate"] == 0.0 and first["group_reward_std"] > 0
    assert changed(start, snapshot(run)) > 0
    later = [grpo_step(run, "negatives", 0, step, beta=0.04) for step in range(2, 5)]
    assert later[-1]["kl"] > 0
    # with four updates per batch at a high rate the ratio leaves [0.8, 1.2] and the clipped term takes over
    assert max(s["ratio_outside"] for s in [first] + later) > 0
    assert max(s["clip_fraction"] for s in [first] + later) > 0
    # the reference stays frozen
    assert all(not p.requires_grad for p in run.reference.parameters())


def test_completion_logprobs_from_the_last_logits_equal_those_of_the_full_forward(tiny_world):
    workspace, _ = tiny_world
    run, _ = prepare_run(workspace, "tiny", GRPOConfig())
    model = run.reference.eval()
    generator = torch.Generator().manual_seed(0)
    vocab = model.get_output_embeddings().weight.shape[0]
    prompts = torch.randint(1, vocab, (6, 12), generator=generator)
    mask = torch.ones_like(prompts)
    mask[:3, :5] = 0  # left padding, as generate leaves it
    completions = torch.randint(1, vocab, (6, 5), generator=generator)
    allowed = torch.rand(6, 5, vocab, generator=generator) > 0.5
    allowed[torch.arange(6)[:, None], torch.arange(5), completions] = True
    inputs = model_inputs(SimpleNamespace(prompt_ids=prompts, prompt_mask=mask, completions=completions))
    with torch.no_grad():
        ours = sequence_logprobs(model, inputs, completions, allowed, 5)
        full = constrained_logprobs(model(**inputs).logits[:, -6:-1], completions, allowed)
    assert ours.shape == (6, 5) and torch.isfinite(ours).all()
    assert torch.allclose(ours, full, atol=1e-5)


def test_one_pass_per_prompt_gives_each_completion_the_log_probabilities_and_gradients_of_its_own_pass(tiny_world):
    workspace, _ = tiny_world
    run, _ = prepare_run(workspace, "tiny", GRPOConfig())
    model = run.model
    model.train()
    generator = torch.Generator().manual_seed(1)
    vocab = model.get_output_embeddings().weight.shape[0]
    group = 4
    prompts = torch.randint(1, vocab, (3, 10), generator=generator).repeat_interleave(group, dim=0)
    mask = torch.ones_like(prompts)
    mask[:group, :4] = 0  # the first prompt is left-padded, as generate leaves it
    completions = torch.randint(1, vocab, (3 * group, 5), generator=generator)
    allowed = torch.rand(3 * group, 5, vocab, generator=generator) > 0.5
    allowed[torch.arange(3 * group)[:, None], torch.arange(5), completions] = True
    inputs = model_inputs(SimpleNamespace(prompt_ids=prompts, prompt_mask=mask, completions=completions))
    figures = {}
    for copies in (1, group):
        model.zero_grad(set_to_none=True)
        logprobs = sequence_logprobs(model, inputs, completions, allowed, 5, copies)
        (logprobs * torch.linspace(-1, 1, 5)).sum().backward()
        figures[copies] = logprobs.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]
    with torch.no_grad():  # the tiny model's cache can be repeated, so the shared path ran
        assert _shared_prompt_logits(model, inputs, completions, group) is not None
    (separate, separate_grads), (shared, shared_grads) = figures[1], figures[group]
    assert torch.isfinite(shared).all() and torch.allclose(shared, separate, atol=1e-5)
    assert len(shared_grads) == len(separate_grads) > 0
    assert all(torch.allclose(a, b, atol=1e-5, rtol=1e-4) for a, b in zip(shared_grads, separate_grads))


def test_progressive_grpo_runs_three_stages_and_saves_the_best_of_each(tiny_world):
    workspace, _ = tiny_world
    result = train_grpo(workspace, "grpo-small", "tiny", GRPOConfig(**SMALL))
    summary = result.summary
    assert [s["prompt"] for s in summary["stages"]] == ["recent_negatives", "negatives", "negatives_positives"]
    for stage in summary["stages"]:  # the best includes the stage's start, so no stage ends worse
        assert stage["best"]["fhr"] >= stage["start"]["fhr"]
    records = read_metrics(result.folder)
    steps = [r for r in records if "reward_mean" in r]
    assert len(steps) == 6 and {r["stage"] for r in steps} == {1, 2, 3}
    assert all(r["invalid_rate"] == 0 for r in steps)
    assert {"reward_std", "kl", "clip_fraction", "beta"} <= set(steps[0])
    evaluations = [r for r in records if "validation" in r]
    assert evaluations[0]["event"] == "warm-up" and len(evaluations) == 1 + 3 * 3
    names = {info.name: info for info in list_checkpoints(workspace)}
    assert {"grpo-small", "grpo-small-stage-1", "grpo-small-stage-2", "grpo-small-stage-3"} <= set(names)
    final = summary["stages"][summary["final_stage"] - 1]
    assert final["best"]["fhr"] == max(stage["best"]["fhr"] for stage in summary["stages"])
    assert names["grpo-small"].training["prompt"] == final["prompt"]
    assert names["grpo-small-stage-1"].training["prompt"] == "recent_negatives"
    # the saved model is the best stage's, and predictions use that stage's prompt
    run = predict(workspace, "grpo-small", split="validation")
    assert run.invalid == 0 and run.samples > summary["validation"]["samples"] == SMALL["eval_samples"]
    # GRPO's validation scored the first eval_samples validation samples, users first: predict agrees on those
    with open_workspace(workspace) as con:
        rows = con.execute("""
            SELECT s.user_id, s.future_negatives, list(p.item_id ORDER BY p.rank) FROM samples s
            JOIN predictions p ON p.sample_id = s.sample_id AND p.checkpoint = 'grpo-small'
            WHERE s.split = 'validation' GROUP BY s.sample_id, s.user_id, s.future_negatives
            ORDER BY s.sample_id""").fetchall()
    first = [rows[i][1:] for i in users_first([user for user, _, _ in rows])][:SMALL["eval_samples"]]
    assert len(first) == SMALL["eval_samples"]
    fhr = sum(future_hit_rate(ranked, future, 20) for future, ranked in first) / len(first)
    assert fhr == pytest.approx(summary["validation"]["fhr"], abs=1e-5)  # GRPO records five decimals
    with open_workspace(workspace) as con:
        assert con.execute("SELECT count(*) FROM swing_neighbours").fetchall()[0][0] > 0  # built on first use


def test_a_regressing_stage_goes_back_to_its_best_and_raises_beta(tiny_world, monkeypatch):
    """Real GRPO steps and real decoding at every check; only the FHR each check reports is scripted. A large
    learning rate does not make validation fall on every machine (on one, the wrecked policy hit more popular
    items than the tiny warm-up model), so the fall the schedule reacts to is set here: start 0.5, then 0.0
    (more than a standard error below: back to the start's weights, β doubled), then 0.45 (within it)."""
    workspace, _ = tiny_world
    scripted = iter([0.5, 0.0, 0.45])
    checks = []
    real_evaluate = grpo_module.evaluate

    def scripted_evaluate(run, kind):
        figures = real_evaluate(run, kind)
        if len(checks) >= 1:  # the warm-up's own check is reported as measured
            figures = {**figures, "fhr": next(scripted)}
        checks.append(figures)
        return figures

    monkeypatch.setattr(grpo_module, "evaluate", scripted_evaluate)
    config = GRPOConfig(**{**SMALL, "stages": ("negatives",), "betas": (0.04,), "steps_per_stage": 2,
                           "learning_rate": 0.5, "eval_samples": 40})
    result = train_grpo(workspace, "grpo-wrecked", "tiny", config)
    stage = result.summary["stages"][0]
    assert len(checks) == 4 and all(c["samples"] > 0 for c in checks)  # warm-up, start, after steps 1 and 2
    assert stage["regressions"] == 1 and stage["beta_end"] == pytest.approx(0.08)
    evaluated = [r for r in read_metrics(result.folder) if r.get("stage") == 1 and "validation" in r]
    assert [r["event"] for r in evaluated] == ["start", "regression: back to the best, β raised", "evaluation"]
    assert stage["best"]["fhr"] == 0.5 and stage["best_step"] == 0
    # the stage keeps its best evaluation, the start: the weights after the steps are dropped
    warm, _ = load_checkpoint(checkpoint_dir(workspace, "tiny"))
    final, _ = load_checkpoint(result.folder)
    changed = [name for (name, a), b in zip(warm.model.named_parameters(), final.model.parameters())
               if not torch.equal(a, b)]
    assert changed == []
    steps = [r for r in read_metrics(result.folder) if r.get("stage") == 1 and "kl" in r]
    assert [r["beta"] for r in steps] == pytest.approx([0.04, 0.08])  # the step after the regression uses 2β
    # and starts from the restored warm-up weights: its policy equals the reference when the KL is measured
    assert steps[-1]["kl"] == pytest.approx(0.0, abs=1e-6)


def test_grpo_refuses_its_own_warmup_name_and_4bit_on_a_full_checkpoint(tiny_world, capsys):
    workspace, _ = tiny_world
    assert main(["grpo", "--workspace", str(workspace), "--checkpoint", "tiny", "--name", "tiny"]) == 2
    assert main(["grpo", "--workspace", str(workspace), "--checkpoint", "tiny", "--4bit"]) == 2
    assert main(["grpo", "--workspace", str(workspace), "--checkpoint", "/etc"]) == 2
    errors = capsys.readouterr().err
    assert "name of its own" in errors and "LoRA" in errors and "not a checkpoint of" in errors


def test_two_processes_under_accelerate_launch(tiny_world, tmp_path):
    workspace, _ = tiny_world
    copy = tmp_path / "ws.duckdb"
    shutil.copy(workspace, copy)
    shutil.copytree(workspace.with_suffix(".files"), tmp_path / "ws.files")
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "-m", "conrec_core", "grpo", "--workspace", str(copy), "--checkpoint", "tiny", "--name", "dist",
               "--steps-per-stage", "2", "--prompts", "3", "--group-size", "4", "--eval-every", "2",
               "--eval-samples", "10", "--stages", "negatives", "--json"]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    training = json.loads((tmp_path / "ws.files" / "checkpoints" / "dist" / "training.json").read_text())
    assert training["processes"] == 2 and training["finished"]
    assert training["summary"]["validation"]["samples"] == 10  # split between the processes, summed back
    steps = [r for r in read_metrics(tmp_path / "ws.files" / "checkpoints" / "dist") if "reward_mean" in r]
    assert len(steps) == 2  # one record per step, from the main process only


@pytest.mark.slow
def test_qlora_grpo_on_a_smollm2_lora_checkpoint(lm_world, tmp_path):
    """The pretrained path: LoRA SFT on SmolLM2, then GRPO on its adapters over an NF4 base (QLoRA)."""
    from conrec_core.lm.config import BackboneConfig, SFTConfig
    from conrec_core.training.sft import train_sft

    workspace = tmp_path / "ws.duckdb"
    shutil.copy(lm_world, workspace)
    shutil.copytree(lm_world.with_suffix(".files") / "codebooks", tmp_path / "ws.files" / "codebooks")
    train_sft(workspace, "smol", BackboneConfig(name="smollm2"),
              SFTConfig(steps=3, batch_size=4, eval_every=3, checkpoint_every=3, eval_examples=4, ranking_samples=4))
    config = GRPOConfig(stages=("negatives",), betas=(0.04,), steps_per_stage=1, prompts_per_step=2,
                        group_size=4, eval_every=1, eval_samples=4, learning_rate=1e-3)
    run, _ = prepare_run(workspace, "smol", config, load_in_4bit=True)
    start = snapshot(run)
    assert all("lora" in name or "trainable_tokens" in name for name in start)  # only adapters train
    stats = grpo_step(run, "negatives", 0, 1, beta=0.04)
    assert stats["invalid_rate"] == 0 and stats["kl"] == pytest.approx(0.0, abs=1e-5)
    assert changed(start, snapshot(run)) > 0
    result = train_grpo(workspace, "smol-grpo", "smol", config, load_in_4bit=True)
    assert (result.folder / "adapter_model.safetensors").is_file() and result.summary["validation"]["samples"] == 4
