"""SFT stages 1-3 (method §4): translation, item-level alignment and next-negative tasks trained together.

A small focused loop, read as GRPO's is: `prepare_run` builds (or resumes) the model and everything the steps
share, `sft_step` takes one optimiser step, `check` measures the held-out figures and keeps the best weights,
`finish` restores them and writes the summary. Batches mix the tasks by weight, the loss covers target tokens only,
and a batch depends only on (seed, step), so a resumed run sees the batches an uninterrupted one would have.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..data.samples import samples_fingerprint
from ..errors import ConrecError
from ..lm.backbones import Backbone, default_device, new_backbone
from ..lm.checkpoint_paths import fitted_on, trained_with
from ..lm.checkpoint_paths import settle
from ..lm.checkpoints import (STATE_FILE, STATE_META, TRAINING_FILE, append_metrics, checkpoint_dir, keep_metrics,
                              load_carried, load_checkpoint, load_training_state, read_training, save_weights)
from ..lm.config import BackboneConfig, SFTConfig
from ..lm.dropout import add_training_dropout
from ..lm.prompts import TaskData, read_task_data, template_texts, training_examples
from ..lm.token_loss import example_losses, packed_losses_agree
from ..lm.vocab import KIND_TOKENS, sid_tokens
from ..semantic_ids.store import Codebook, load_codebook
from .sft_batches import LazyEncoded, add_lora, batch_for_step, encode, learning_rate
from .sft_checks import RankingCheck, held_out_examples, held_out_figures, ranking_check, restore, snapshot

Progress = Callable[[float, str], None]
PRETRAINED_MAX_LENGTH = 512  # tokens per example for pretrained backbones: 20 SIDs plus a title fit easily


@dataclass
class SFTResult:
    folder: Path
    step: int
    summary: dict


@dataclass
class SFTRun:
    """One SFT run's state between steps."""
    folder: Path
    config: SFTConfig
    codebook: Codebook
    data: TaskData
    backbone: Backbone
    optimizer: torch.optim.Optimizer
    trainable: list
    peak: float  # the peak learning rate
    device: torch.device
    max_length: int
    encoded: dict[str, LazyEncoded]
    packed: bool  # False: the backbone failed token_loss's check, batches are padded
    held_out: dict
    held_out_encoded: dict
    ranking: RankingCheck
    training: dict  # the record every save writes, with its step and whether it finished
    start_step: int
    clock: float = field(default_factory=time.perf_counter)
    best: dict = field(default_factory=lambda: {"score": -float("inf"), "step": 0, "state": None})
    checks_without_gain: int = 0
    average: dict[str, torch.Tensor] | None = None  # with average_decay: the moving average of the trained weights

    @property
    def model(self):
        return self.backbone.model

    @property
    def tokenizer(self):
        return self.backbone.tokenizer

    def figures(self) -> dict:
        """The held-out losses, alignment accuracy and validation ranking of the model as it is now."""
        figures = held_out_figures(self.model, self.tokenizer, self.codebook, self.held_out, self.held_out_encoded,
                                   self.max_length, self.device, self.packed)
        figures["ranking"] = self.ranking.figures(self.model)
        return figures


def train_sft(workspace, name: str, backbone_config: BackboneConfig = BackboneConfig(),
              config: SFTConfig = SFTConfig(), codebook_name: str = "default", *, resume: bool = True,
              on_progress: Progress | None = None, device: torch.device | None = None) -> SFTResult:
    """Train (or continue) checkpoint `name` of the workspace; return where it is and its held-out figures."""
    progress = on_progress or (lambda fraction, message: None)
    run = prepare_run(workspace, name, backbone_config, config, codebook_name, resume, progress,
                      device or default_device())
    remove_dropout = add_training_dropout(run.model, config.dropout)
    run.model.train()
    run.best["step"] = run.start_step
    step = run.start_step - 1
    for step in range(run.start_step, config.steps):
        record = sft_step(run, step)
        done = step + 1
        stop = check(run, record) if done % config.eval_every == 0 or done == config.steps else False
        append_metrics(run.folder, record)
        if done % config.checkpoint_every == 0 or done == config.steps or stop:
            save_weights(run.folder, run.backbone, {**run.training, "step": done,
                                                    "finished": done == config.steps or stop}, run.optimizer,
                         run.average)
        progress(done / config.steps, f"step {done}/{config.steps} loss {record['loss']:.3f}")
        if stop:
            progress(done / config.steps, f"no better held-out validation figure in {config.patience} checks: "
                                          f"stopped at step {done}")
            break
    remove_dropout()
    return finish(run, step + 1, progress)


def prepare_run(workspace, name: str, backbone_config: BackboneConfig, config: SFTConfig, codebook_name: str,
                resume: bool, progress: Progress, device: torch.device) -> SFTRun:
    """The model (resumed where an unfinished run of the same settings on the same data left it, else new), its
    optimiser, the encoded examples and the held-out checks; the checkpoint folder made ready for the first
    save."""
    folder = checkpoint_dir(workspace, name)
    settle(folder.parent)  # a save killed between its renames is finished first, so the run resumes from it
    codebook = load_codebook(workspace, codebook_name)
    progress(0.0, "reading the training data")
    data = read_task_data(workspace, codebook, streams=config.stream_prompts)
    if not data.samples["train"]:
        raise ConrecError("the workspace has no training samples: import data with negative feedback first")
    examples = training_examples(data, codebook, config)
    samples = samples_fingerprint(workspace)
    backbone, resumed = load_or_build(folder, name, backbone_config, config, codebook, data,
                                      (samples, codebook.fingerprint), resume, progress, device)
    model = backbone.model
    full = config.full_training_for(backbone_config)
    if full:
        for parameter in model.parameters():
            parameter.requires_grad_(True)
    trainable = [p for p in model.parameters() if p.requires_grad]
    peak = config.lr_for(backbone_config)
    optimizer = torch.optim.AdamW(trainable, lr=peak, weight_decay=config.weight_decay)
    start_step = load_training_state(folder, optimizer) if resumed else 0
    max_length = backbone_config.max_positions if backbone_config.from_scratch else PRETRAINED_MAX_LENGTH
    tokenizer = backbone.tokenizer
    encoded = {task: LazyEncoded(tokenizer, items, max_length) for task, items in examples.items()}
    packed = packed_losses_agree(model, batch_for_step(encoded, config, start_step), tokenizer.pad_token_id, device)
    held_out = held_out_examples(data, codebook, config)
    held_out_encoded = {task: encode(tokenizer, items, max_length) for task, items in held_out.items()}
    ranking = ranking_check(workspace, data, codebook, tokenizer, model, config)
    training = {
        "name": name, "stage": "sft", "mode": "full" if full else "lora",
        "backbone": backbone_config.to_dict(), "sft": config.to_dict(), "codebook": codebook_name,
        "fingerprint": codebook.fingerprint, "samples_fingerprint": samples,
        "sid_tokens": len(sid_tokens(codebook.sids, codebook.config.codebook_size)),
        "examples": {task: len(items) for task, items in examples.items()},
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for p in trainable), "packed_batches": packed,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    keep_metrics(folder, start_step)
    average = None
    if config.average_decay:  # resumed: the average the run had reached (its weights where it kept none)
        carried = load_carried(folder) if start_step else {}
        average = snapshot(model) | {name: value.to(device) for name, value in carried.items()}
    if start_step == 0:  # a restart must never resume from an older run's state later
        for stale in (STATE_FILE, STATE_META):
            (folder / stale).unlink(missing_ok=True)
    return SFTRun(folder, config, codebook, data, backbone, optimizer, trainable, peak, device, max_length, encoded,
                  packed, held_out, held_out_encoded, ranking, training, start_step, average=average)


def load_or_build(folder: Path, name: str, backbone_config: BackboneConfig, config: SFTConfig, codebook: Codebook,
                  data: TaskData, fitted: tuple[str, str], resume: bool, progress: Progress, device
                  ) -> tuple[Backbone, bool]:
    """The backbone to train and whether it resumes: an unfinished run's saved state on the same samples and
    codebook is resumed (and refused if it was trained with other settings); anything else starts anew."""
    if resume and (folder / STATE_META).is_file() and (folder / TRAINING_FILE).is_file() \
            and fitted_on(read_training(folder)) == fitted:  # else stale: start again
        if not trained_with(read_training(folder), {"sft": config, "backbone": backbone_config}):
            raise ConrecError(f"checkpoint {name!r} was trained with other settings; pick another name, or pass "
                              "resume=False (--restart) to train it again from the start")
        progress(0.0, "resuming from the last saved step")
        backbone, _ = load_checkpoint(folder, codebook=codebook, device=device, trainable=True)
        return backbone, True
    progress(0.0, "building the backbone")
    token_list = sid_tokens(codebook.sids, codebook.config.codebook_size)
    if config.stream_prompts:
        token_list += list(KIND_TOKENS.values())
    backbone = new_backbone(backbone_config, token_list, list(data.titles.values()) + template_texts() * 20, device)
    if not config.full_training_for(backbone_config):
        backbone.model = add_lora(backbone, config, token_list)
    return backbone, False


def sft_step(run: SFTRun, step: int) -> dict:
    """One optimiser step on the batch of `step`; its record (loss, learning rate, seconds, loss per task)."""
    config, model = run.config, run.model
    rate = learning_rate(step, config, run.peak)
    for group in run.optimizer.param_groups:
        group["lr"] = rate
    batch = batch_for_step(run.encoded, config, step)
    summed, tokens = example_losses(model, batch, run.tokenizer.pad_token_id, run.device, run.packed)
    loss = summed.sum() / tokens.sum().clamp(min=1)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.trainable, config.grad_clip)
    run.optimizer.step()
    if run.average is not None:
        update_average(run.average, run.model, average_weight(config.average_decay, step + 1))
    record = {"step": step + 1, "loss": round(loss.item(), 5), "lr": rate,
              "seconds": round(time.perf_counter() - run.clock, 2)}
    per_task = {}
    for example, value, count in zip(batch, summed.tolist(), tokens.tolist()):
        per_task.setdefault(example.task, []).append(value / max(count, 1))
    record["task_loss"] = {task: round(float(np.mean(v)), 5) for task, v in per_task.items()}
    return record


def check(run: SFTRun, record: dict) -> bool:
    """The held-out figures into `record`; with keep_best, the weights kept when the stopping figure is the best so
    far. True when patience has run out."""
    config = run.config
    with weights_measured(run):
        record["validation"] = run.figures()
        if not config.keep_best:
            return False
        score = stopping_score(record["validation"])
        if score > run.best["score"]:
            run.best = {"score": score, "step": record["step"], "state": snapshot(run.model)}
            run.checks_without_gain = 0
            return False
    run.checks_without_gain += 1
    return bool(config.patience) and run.checks_without_gain >= config.patience


def average_weight(decay: float, updates: int) -> float:
    """The weight of the newest weights in a moving average of `updates` steps: the bias-corrected exponential
    average (as Adam corrects its moments), so the first steps' average is not pulled towards the initial weights
    and a run stopped early keeps an average of what it learnt.

    >>> average_weight(0.999, 1), round(average_weight(0.999, 1000), 5), round(average_weight(0.999, 10**6), 5)
    (1.0, 0.00158, 0.001)
    """
    return (1.0 - decay) / (1.0 - decay ** updates)


@torch.no_grad()
def update_average(average: dict[str, torch.Tensor], model, weight: float) -> None:
    for name, parameter in model.named_parameters():
        if name in average:
            average[name].lerp_(parameter, weight)


@contextmanager
def weights_measured(run: SFTRun):
    """The model holds the weights the checks measure and keep_best keeps: the moving average where there is one
    (the trained weights are put back after), else the weights as trained."""
    if run.average is None:
        yield
        return
    trained = snapshot(run.model)
    restore(run.model, run.average)
    try:
        yield
    finally:
        restore(run.model, trained)


def stopping_score(figures: dict) -> float:
    """What early stopping follows, higher better: minus the held-out next-negative loss where the tasks have
    one (a smooth curve: validation FHR@K of one check moves by its sampling noise, and stopping on it stopped
    models whose held-out loss was still falling), else validation FHR@K."""
    loss = figures["loss"].get("next_negative")
    return -loss if loss is not None else figures["ranking"]["fhr"]


def finish(run: SFTRun, steps: int, progress: Progress) -> SFTResult:
    """The best check's weights restored (keep_best; resumed: the best since resuming), the final held-out
    figures measured, and the finished checkpoint saved. Nothing here reads the test split: training runs inside
    tuning runs too, and only a report reads test (its forgetting probe measures alignment there)."""
    if run.best["state"] is not None:
        restore(run.model, run.best["state"])
    elif run.average is not None:
        restore(run.model, run.average)
    progress(1.0, "final held-out figures")
    summary = {"best_step": run.best["step"] if run.config.keep_best else steps, "validation": run.figures()}
    save_weights(run.folder, run.backbone, {**run.training, "step": steps, "finished": True, "summary": summary})
    return SFTResult(run.folder, steps, summary)
