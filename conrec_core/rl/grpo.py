"""Progressive GRPO (method §4 stage 4): the warm-up SFT model learns to aim at the user's future rejections.

A compact loop of our own rather than TRL's GRPOTrainer: our rollouts are sampled under the SID trie,
so the ratio and the KL must be taken under that constrained distribution (TRL recomputes them over the
whole vocabulary), and the stage schedule, best-checkpoint choice on validation FHR@K and β raising
would all sit in callbacks reaching into the trainer. The loss itself is `grpo_loss.grpo_loss`.

Each stage starts from the best model of the one before; its best model on validation FHR@K (the start
included) is kept, so a stage never leaves the model worse on validation; the run's checkpoint is the best
of the stages. When an evaluation falls more
than one standard error below the stage's best, the weights go back to that best and β is multiplied
by `beta_growth` for the rest of the run. Runs on one process or several (`accelerate launch`): each
process samples its own prompts, DDP averages the gradients, and validation is split between processes.

The module is a little over 300 lines because the stage loop, one policy step, validation and the
snapshot/restore of the best weights all read and write the same `Run`; apart they would pass it around.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..lm.backbones import Backbone
from ..semantic_ids.store import Codebook, load_codebook
from ..decoding.search import completion_rows, repeated_cache, sample_completions
from ..errors import ConrecError
from .grpo_config import GRPOConfig
from .grpo_loss import allowed_tokens, constrained_logprobs, decision_mask, group_advantages, grpo_loss
from ..lm.checkpoint_paths import settle
from ..lm.checkpoints import METRICS_FILE, append_metrics, checkpoint_dir, load_checkpoint, read_training, \
    save_weights
from ..lm.config import SFTConfig
from ..data.samples import Sample, require_samples, seen_items
from ..decoding.item_trie import item_trie, model_vocab, seen_rows
from ..lm.prompts import TaskData, read_task_data, stage_prompt
from ..decoding.validation import HeldOut, hit_sums, ranking_figures, standard_error
from .targets import RewardTable
from .rewards import REWARDS
from .swing import ensure_swing, read_neighbours
from ..data.workspace import open_workspace

Progress = Callable[[float, str], None]
WARMUP_PROMPT = "negatives"  # the prompt the SFT next-negative task trains


@dataclass
class GRPOResult:
    folder: Path
    summary: dict


@dataclass
class Run:
    """What every step needs: models, data, the trie and the reward table."""
    accelerator: object
    model: torch.nn.Module  # the policy, wrapped for DDP when distributed
    reference: torch.nn.Module
    tokenizer: object
    optimizer: torch.optim.Optimizer
    trainable: list[torch.nn.Parameter]
    codebook: Codebook
    sft: SFTConfig
    config: GRPOConfig
    trie: object
    token_rows: dict
    table: RewardTable
    train: list[Sample]
    validation: list[Sample]
    seen: dict[int, list[int]]  # sample id -> codebook rows its candidates exclude (method §2)
    data: TaskData  # with every user's stream when the warm-up is a stream model

    @property
    def policy(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    def prompts(self, kind: str, samples: list[Sample]) -> list[str]:
        return [stage_prompt(self.codebook, kind, s, self.sft, self.config.positive_items,
                             self.data.stream_before(s, self.sft.stream_events) if self.sft.stream_prompts else None)
                for s in samples]

    def seen_rows(self, samples: list[Sample]) -> list[list[int]]:
        return [self.seen[s.sample_id] for s in samples]


def prepare_run(workspace, warmup: str, config: GRPOConfig = GRPOConfig(), *, load_in_4bit: bool = False,
                progress: Progress = lambda fraction, message: None) -> tuple[Run, dict]:
    """Policy, frozen reference, optimiser and data for GRPO from SFT checkpoint `warmup`."""
    from accelerate import Accelerator

    settle(checkpoint_dir(workspace, warmup).parent)  # saves killed between their renames, finished first
    warm_training = read_training(checkpoint_dir(workspace, warmup))
    require_samples(workspace, warm_training.get("samples_fingerprint"), f"warm-up checkpoint {warmup!r}")
    codebook = load_codebook(workspace, warm_training.get("codebook", "default"))
    full = warm_training.get("mode") != "lora"
    if load_in_4bit and full:
        raise ConrecError("4-bit GRPO trains LoRA adapters on a quantised base: start from a LoRA checkpoint "
                          "(an SFT run on a pretrained backbone), or train this one in full precision")
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    device = accelerator.device
    progress(0.0, "loading the warm-up model and its frozen copy")
    warm_folder = checkpoint_dir(workspace, warmup)
    policy, _ = load_checkpoint(warm_folder, codebook=codebook, load_in_4bit=load_in_4bit, device=device,
                                trainable=True)
    reference, _ = load_checkpoint(warm_folder, codebook=codebook, load_in_4bit=load_in_4bit, device=device)
    for parameter in reference.model.parameters():
        parameter.requires_grad_(False)
    if full:
        for parameter in policy.model.parameters():
            parameter.requires_grad_(True)
    trainable = [p for p in policy.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    model, optimizer = accelerator.prepare(policy.model, optimizer)
    progress(0.0, "reading samples and Swing neighbours")
    sft = SFTConfig.from_dict(warm_training.get("sft", {}))
    data = read_task_data(workspace, codebook, streams=sft.stream_prompts)
    if not data.samples["train"] or not data.samples["validation"]:
        raise ConrecError("GRPO needs training and validation samples with items of the codebook")
    trie, token_rows = item_trie(codebook, policy.tokenizer, model_vocab(policy.tokenizer, policy.model))
    validation = data.samples["validation"][:config.eval_samples]
    seen = {sample_id: seen_rows(codebook, items) for sample_id, items in
            seen_items(workspace, [s.sample_id for s in data.samples["train"] + validation]).items()}
    run = Run(accelerator, model, reference.model, policy.tokenizer, optimizer, trainable, codebook,
              sft, config, trie.to(device), token_rows,
              RewardTable.build(codebook, swing_neighbours(workspace, accelerator), config.swing_neighbours),
              data.samples["train"], validation, seen, data)
    return run, warm_training


def train_grpo(workspace, name: str, warmup: str, config: GRPOConfig = GRPOConfig(), *,
               load_in_4bit: bool = False, on_progress: Progress | None = None) -> GRPOResult:
    """Progressive GRPO from SFT checkpoint `warmup` into checkpoint `name` (and `name`-stage-N per stage)."""
    progress = on_progress or (lambda fraction, message: None)
    if name == warmup:
        raise ConrecError("the GRPO checkpoint needs a name of its own: the warm-up model is its frozen reference")
    run, warm_training = prepare_run(workspace, warmup, config, load_in_4bit=load_in_4bit, progress=progress)
    accelerator = run.accelerator
    folder = checkpoint_dir(workspace, name)
    if accelerator.is_main_process:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / METRICS_FILE).unlink(missing_ok=True)  # a rerun under the same name starts a new record
    base = {key: value for key, value in warm_training.items() if key not in ("summary", "examples", "step")}
    record = {**base, "name": name, "stage": "grpo", "warmup": warmup, "grpo": config.to_dict(),
              "processes": accelerator.num_processes, "load_in_4bit": load_in_4bit,
              "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    progress(0.0, "validation FHR of the warm-up model")
    warm_figures = evaluate(run, WARMUP_PROMPT)
    log(run, folder, {"step": 0, "stage": 0, "prompt": WARMUP_PROMPT, "event": "warm-up",
                      "validation": warm_figures})
    beta_factor, step, stages, stage_states = 1.0, 0, [], []
    clock = time.perf_counter()
    for index, kind in enumerate(config.stages):
        stage, state, step, beta_factor = run_stage(run, folder, index, kind, step, beta_factor, progress, clock)
        stage["checkpoint"] = f"{name}-stage-{index + 1}"
        save(run, checkpoint_dir(workspace, stage["checkpoint"]),
             {**record, "name": stage["checkpoint"], "prompt": kind, "step": step, "finished": True,
              "summary": {"validation": stage["best"], "warmup_validation": warm_figures}})
        stages.append(stage)
        stage_states.append(state)
    # the run's own checkpoint is the best stage on validation (ties go to the later stage): a stage whose
    # prompt suits the data less (positives on MovieLens, say) never replaces a better earlier one
    chosen = max(range(len(stages)), key=lambda i: (stages[i]["best"]["fhr"], i))
    restore(run, stage_states[chosen])
    summary = {"validation": stages[chosen]["best"], "warmup_validation": warm_figures, "stages": stages,
               "final_stage": chosen + 1, "seconds": round(time.perf_counter() - clock, 1)}
    save(run, folder, {**record, "prompt": config.stages[chosen], "step": step, "finished": True,
                       "summary": summary})
    return GRPOResult(folder, summary)


def run_stage(run: Run, folder: Path, index: int, kind: str, step: int, beta_factor: float, progress: Progress,
              clock: float) -> tuple[dict, dict, int, float]:
    """One stage: GRPO steps with evaluations; returns its record, its best weights, the step reached and the
    β factor (raised on every regression)."""
    config = run.config
    total_steps = config.steps_per_stage * len(config.stages)
    start = evaluate(run, kind)
    best = {"figures": start, "step": step, "state": snapshot(run)}
    log(run, folder, {"step": step, "stage": index + 1, "prompt": kind, "event": "start", "validation": start})
    regressions = 0
    for stage_step in range(1, config.steps_per_stage + 1):
        step += 1
        beta = config.betas[index] * beta_factor
        stats = grpo_step(run, kind, index, step, beta)
        log(run, folder, {"step": step, "stage": index + 1, "prompt": kind, "beta": beta, **stats,
                          "seconds": round(time.perf_counter() - clock, 2)})
        progress(step / total_steps, f"stage {index + 1} step {stage_step}/{config.steps_per_stage} "
                                     f"reward {stats['reward_mean']:.3f}")
        if stage_step % config.eval_every and stage_step != config.steps_per_stage:
            continue
        figures = evaluate(run, kind)
        event = "evaluation"
        if figures["fhr"] > best["figures"]["fhr"]:
            best = {"figures": figures, "step": step, "state": snapshot(run)}
            event = "best"
        elif figures["fhr"] < best["figures"]["fhr"] - standard_error(best["figures"]):
            restore(run, best["state"])
            beta_factor *= config.beta_growth
            regressions += 1
            event = "regression: back to the best, β raised"
        log(run, folder, {"step": step, "stage": index + 1, "prompt": kind, "event": event, "validation": figures,
                          "beta": config.betas[index] * beta_factor})
    restore(run, best["state"])
    record = {"stage": index + 1, "prompt": kind, "start": start, "best": best["figures"], "best_step": best["step"],
              "regressions": regressions, "beta_end": config.betas[index] * beta_factor}
    return record, best["state"], step, beta_factor


def swing_neighbours(workspace, accelerator) -> dict[str, list[str]]:
    """The workspace's Swing neighbours, built with the default settings the first time they are needed."""
    with accelerator.main_process_first():
        if accelerator.is_main_process:
            ensure_swing(workspace)
    with open_workspace(workspace) as con:
        return read_neighbours(con)


def grpo_step(run: Run, kind: str, stage: int, step: int, beta: float) -> dict:
    """Sample G SIDs per prompt, score them, and take `updates_per_batch` clipped policy-gradient steps."""
    config, accelerator = run.config, run.accelerator
    rank = accelerator.process_index
    rng = np.random.default_rng([config.seed, stage, step, rank])
    picks = rng.choice(len(run.train), config.prompts_per_step, replace=len(run.train) < config.prompts_per_step)
    samples = [run.train[i] for i in picks]
    torch.manual_seed(int(rng.integers(2**62)))
    policy = run.policy
    policy.eval()
    rollouts = sample_completions(policy, run.tokenizer, run.trie, run.prompts(kind, samples),
                                  run.seen_rows(samples), config.group_size, config.temperature)
    rows = completion_rows(rollouts.completions, run.tokenizer.eos_token_id, run.token_rows)
    reward = REWARDS[config.reward]
    rewards = []
    for position, sample in enumerate(samples):
        targets = run.table.targets(sample.next_negative, list(sample.future_negatives),
                                    list(sample.future_positives))
        group = rows[position * config.group_size:(position + 1) * config.group_size]
        rewards.append([reward(run.table.output(row), targets, config.gamma) for row in group])
    rewards_t = torch.tensor(rewards, dtype=torch.float32, device=accelerator.device)
    advantages = group_advantages(rewards_t).flatten()
    allowed = allowed_tokens(run.trie, rollouts.completions, rollouts.remaining, config.group_size)
    mask = decision_mask(allowed)
    inputs = model_inputs(rollouts)
    steps = rollouts.completions.shape[1]
    # DistributedDataParallel allows one forward per backward, so a distributed run keeps one pass per row
    shared = config.group_size if accelerator.num_processes == 1 else 1
    with torch.no_grad():
        policy.train()
        old = sequence_logprobs(policy, inputs, rollouts.completions, allowed, steps, config.group_size)
        ref = sequence_logprobs(run.reference, inputs, rollouts.completions, allowed, steps, config.group_size)
    run.model.train()
    totals: dict[str, float] = {}
    first_kl = None
    for _ in range(config.updates_per_batch):
        logprobs = sequence_logprobs(run.model, inputs, rollouts.completions, allowed, steps, shared)
        loss, stats = grpo_loss(logprobs, old, ref, advantages, mask, config.clip_epsilon, beta)
        run.optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(run.trainable, config.grad_clip)
        run.optimizer.step()
        first_kl = stats["kl"] if first_kl is None else first_kl
        for key, value in {"loss": loss.item(), **stats}.items():
            totals[key] = totals.get(key, 0.0) + value / config.updates_per_batch
    figures = {"reward_mean": rewards_t.mean().item(), "reward_std": rewards_t.std(unbiased=False).item(),
               "group_reward_std": rewards_t.std(dim=1, unbiased=False).mean().item(),
               "invalid_rate": sum(r is None for r in rows) / len(rows), **totals,
               "kl": first_kl}  # KL of the policy that sampled this batch; clip figures average the updates
    gathered = accelerator.reduce(torch.tensor(list(figures.values()), device=accelerator.device), "mean")
    return {key: round(float(value), 6) for key, value in zip(figures, gathered.tolist())}


def model_inputs(rollouts) -> dict[str, torch.Tensor]:
    """Prompt and completion as one sequence, with the positions generate used (left padding skipped)."""
    input_ids = torch.cat([rollouts.prompt_ids, rollouts.completions], dim=1)
    attention = torch.cat([rollouts.prompt_mask, torch.ones_like(rollouts.completions)], dim=1)
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": input_ids, "attention_mask": attention, "position_ids": positions}


def sequence_logprobs(model, inputs: dict, completions: torch.Tensor, allowed: torch.Tensor,
                      steps: int, group_size: int = 1) -> torch.Tensor:
    """Each completion's constrained token log-probabilities. With `group_size` > 1 the rows are prompts repeated
    that many times, and each prompt runs through the model once: its KV cache (gradients flow through it) is
    repeated per completion and only the completions run per row. A prompt is most of a row's tokens, so this
    spares most of the forward and backward pass of eight copies of it."""
    if group_size > 1 and steps > 1:
        logits = _shared_prompt_logits(model, inputs, completions, group_size)
        if logits is not None:
            return constrained_logprobs(logits, completions, allowed)
    logits = model(**inputs, logits_to_keep=steps + 1).logits[:, :-1]  # the prompt's logits are never scored
    return constrained_logprobs(logits, completions, allowed)


def _shared_prompt_logits(model, inputs: dict, completions: torch.Tensor, group_size: int) -> torch.Tensor | None:
    """The logits that score each completion token, from one pass per prompt; None for a model whose cache
    cannot be repeated."""
    ids, attention, positions = inputs["input_ids"], inputs["attention_mask"], inputs["position_ids"]
    prompt_length = ids.shape[1] - completions.shape[1]
    firsts = slice(None, None, group_size)
    prompt = model(input_ids=ids[firsts, :prompt_length], attention_mask=attention[firsts, :prompt_length],
                   position_ids=positions[firsts, :prompt_length], use_cache=True, logits_to_keep=1)
    cache = repeated_cache(prompt, group_size)
    if cache is None:
        return None
    end = ids.shape[1] - 1  # the last completion token scores nothing
    rest = model(input_ids=ids[:, prompt_length:end], attention_mask=attention[:, :end],
                 position_ids=positions[:, prompt_length:end], cache=cache, use_cache=True).logits
    return torch.cat([prompt.logits.repeat_interleave(group_size, dim=0), rest], dim=1)


def evaluate(run: Run, kind: str) -> dict:
    """Validation HR@K and FHR@K under constrained beam search (a stream model's ranked as `predict` ranks them),
    split between processes."""
    accelerator, k = run.accelerator, run.config.eval_k
    samples = run.validation[accelerator.process_index::accelerator.num_processes]
    held_out = HeldOut(samples, run.prompts(kind, samples), run.seen_rows(samples))
    sums = hit_sums(run.policy, run.tokenizer, run.trie, run.codebook, held_out, k,
                    run.sft.prefix_prompts, run.sft.stream_prompts)
    sums = accelerator.reduce(torch.tensor(sums, dtype=torch.float64, device=accelerator.device), "sum")
    return ranking_figures(float(sums[0]), float(sums[1]), int(sums[2]), k)


def snapshot(run: Run) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in run.policy.named_parameters() if p.requires_grad}


def restore(run: Run, state: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for n, p in run.policy.named_parameters():
            if n in state:
                p.copy_(state[n])


def log(run: Run, folder: Path, record: dict) -> None:
    if run.accelerator.is_main_process:
        append_metrics(folder, record)


def save(run: Run, folder: Path, training: dict) -> None:
    run.accelerator.wait_for_everyone()
    if run.accelerator.is_main_process:
        backbone = Backbone(run.policy, run.tokenizer, None)
        save_weights(folder, backbone, training)
    run.accelerator.wait_for_everyone()
