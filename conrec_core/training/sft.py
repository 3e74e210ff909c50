"""SFT stages 1-3 (method §4): translation, item-level alignment and next-negative tasks trained together.

A small focused loop: batches mix the tasks by weight, the loss covers target tokens only, and the
training state is saved so an interrupted run continues where it stopped. Batches depend only on
(seed, step), so a resumed run sees the batches an uninterrupted one would have.

Over 300 lines because the loop and what it does at each check (held-out losses, alignment accuracy, the
ranking check, keeping the best weights) share the encoded batches and the model's snapshot; apart they would
pass those back and forth through every call.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..lm.backbones import Backbone, default_device, new_backbone
from ..semantic_ids.store import Codebook, load_codebook
from ..data.samples import samples_fingerprint, seen_items
from ..errors import ConrecError
from ..lm.checkpoints import (STATE_FILE, STATE_META, TRAINING_FILE, append_metrics, checkpoint_dir, keep_metrics,
                             load_checkpoint, load_training_state, read_training, save_weights)
from ..lm.config import BackboneConfig, SFTConfig
from ..lm.dropout import add_training_dropout
from ..decoding.item_trie import item_trie, seen_rows
from ..lm.prompts import Example, TaskData, held_out_alignment, next_negative_examples, next_negative_prompt, \
    read_task_data, template_texts, training_examples
from ..decoding.validation import HeldOut, hit_sums, ranking_figures
from ..lm.token_loss import Encoded, example_losses, packed_losses_agree
from ..lm.vocab import sid_token_ids, sid_tokens

Progress = Callable[[float, str], None]
PRETRAINED_MAX_LENGTH = 512  # tokens per example for pretrained backbones: 20 SIDs plus a title fit easily


def encode(tokenizer, examples: list[Example], max_length: int) -> list[Encoded]:
    """Prompt and target tokenised apart (EOS closes a target that `ends`); long prompts lose their oldest
    tokens."""
    if not examples:  # a task with nothing to learn from (translation on an id-only log)
        return []
    prompts = tokenizer([e.prompt for e in examples], add_special_tokens=False)["input_ids"]
    targets = tokenizer([e.target for e in examples], add_special_tokens=False)["input_ids"]
    encoded = []
    for example, prompt, target in zip(examples, prompts, targets):
        if example.ends:
            target = target + [tokenizer.eos_token_id]
        prompt = prompt[-max(1, max_length - len(target)):]
        encoded.append(Encoded(prompt + target, len(prompt), example.task))
    return encoded


@torch.no_grad()
def held_out_losses(model, encoded: dict[str, list[Encoded]], pad_id: int, device, batch_size: int,
                    packed: bool = False) -> dict:
    model.eval()
    losses = {}
    for task, examples in encoded.items():
        total, tokens = 0.0, 0
        for start in range(0, len(examples), batch_size):
            summed, counts = example_losses(model, examples[start:start + batch_size], pad_id, device, packed)
            total, tokens = total + float(summed.sum()), tokens + int(counts.sum())
        if tokens:
            losses[task] = total / tokens
    model.train()
    return losses


@torch.no_grad()
def alignment_accuracy(model, tokenizer, codebook: Codebook, examples: list[Example], max_length: int,
                       batch_size: int = 64, packed: bool = False) -> float | None:
    """Share of alignment examples where the disliked item's SID is the likeliest of the four candidates."""
    if not examples:
        return None
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    options = [Example("alignment", e.prompt, codebook.sids.sid(c), c) for e in examples for c in e.candidates]
    encoded = encode(tokenizer, options, max_length)
    scores = []
    for start in range(0, len(encoded), batch_size):
        summed, _ = example_losses(model, encoded[start:start + batch_size], tokenizer.pad_token_id, device,
                                    packed)
        scores.extend((-summed).tolist())
    per_example = np.array(scores).reshape(len(examples), -1)
    chosen = per_example.argmax(1)
    correct = [e.candidates[c] == e.item_id for e, c in zip(examples, chosen)]
    if was_training:
        model.train()
    return float(np.mean(correct))


def learning_rate(step: int, config: SFTConfig, peak: float) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < config.warmup_steps:
        return peak * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def batch_for_step(encoded: dict[str, list[Encoded]], config: SFTConfig, step: int) -> list[Encoded]:
    rng = np.random.default_rng([config.seed, step])
    tasks = [t for t in config.tasks if encoded.get(t)]
    weights = np.array([config.task_weights[config.tasks.index(t)] for t in tasks])
    picks = rng.choice(len(tasks), config.batch_size, p=weights / weights.sum())
    return [encoded[tasks[p]][rng.integers(len(encoded[tasks[p]]))] for p in picks]


def add_lora(backbone: Backbone, config: SFTConfig, sid_token_list: list[str]):
    """LoRA on every linear layer; the SID rows of the input (and tied output) embeddings train as well."""
    from peft import LoraConfig, get_peft_model

    model = backbone.model
    embedding = model.get_input_embeddings()
    embedding_name = next(name for name, module in model.named_modules() if module is embedding).split(".")[-1]
    indices = sid_token_ids(backbone.tokenizer, sid_token_list)
    targets = {embedding_name: indices}
    output = model.get_output_embeddings()
    if output is not None and output.weight is not embedding.weight:
        targets[next(name for name, module in model.named_modules() if module is output).split(".")[-1]] = indices
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", trainable_token_indices=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


@dataclass
class SFTResult:
    folder: Path
    step: int
    summary: dict


def train_sft(workspace, name: str, backbone_config: BackboneConfig = BackboneConfig(),
              config: SFTConfig = SFTConfig(), codebook_name: str = "default", *, resume: bool = True,
              on_progress: Progress | None = None, device: torch.device | None = None) -> SFTResult:
    """Train (or continue) checkpoint `name` of the workspace; return where it is and its held-out figures."""
    progress = on_progress or (lambda fraction, message: None)
    device = device or default_device()
    folder = checkpoint_dir(workspace, name)
    codebook = load_codebook(workspace, codebook_name)
    progress(0.0, "reading the training data")
    data = read_task_data(workspace, codebook)
    if not data.samples["train"]:
        raise ConrecError("the workspace has no training samples: import data with negative feedback first")
    examples = training_examples(data, codebook, config)
    token_list = sid_tokens(codebook.sids, codebook.config.codebook_size)
    full = config.full_training_for(backbone_config)
    start_step, resumed = 0, False
    samples = samples_fingerprint(workspace)
    if resume and (folder / STATE_META).is_file() and (folder / TRAINING_FILE).is_file() \
            and fitted_on(read_training(folder)) == (samples, codebook.fingerprint):  # else stale: start again
        previous = read_training(folder)
        if (SFTConfig.from_dict(previous.get("sft", {})) != config
                or BackboneConfig.from_dict(previous.get("backbone", {})) != backbone_config):
            raise ConrecError(f"checkpoint {name!r} was trained with other settings; pick another name, or pass "
                              "resume=False (--restart) to train it again from the start")
        progress(0.0, "resuming from the last saved step")
        backbone, _ = load_checkpoint(folder, codebook=codebook, device=device, trainable=True)
        resumed = True
    else:
        progress(0.0, "building the backbone")
        titles = list(data.titles.values())
        backbone = new_backbone(backbone_config, token_list, titles + template_texts() * 20, device)
        if not full:
            backbone.model = add_lora(backbone, config, token_list)
    model, tokenizer = backbone.model, backbone.tokenizer
    if full:
        for parameter in model.parameters():
            parameter.requires_grad_(True)
    trainable = [p for p in model.parameters() if p.requires_grad]
    peak = config.lr_for(backbone_config)
    optimizer = torch.optim.AdamW(trainable, lr=peak, weight_decay=config.weight_decay)
    if resumed:
        start_step = load_training_state(folder, optimizer)
    max_length = backbone_config.max_positions if backbone_config.from_scratch else PRETRAINED_MAX_LENGTH
    encoded = {task: encode(tokenizer, items, max_length) for task, items in examples.items()}
    packed = packed_losses_agree(model, batch_for_step(encoded, config, start_step), tokenizer.pad_token_id, device)
    held_out = _held_out(data, codebook, config)
    held_out_encoded = {task: encode(tokenizer, items, max_length) for task, items in held_out.items()}
    ranking = _ranking_check(workspace, data, codebook, tokenizer, model, config)
    training = {
        "name": name, "stage": "sft", "mode": "full" if full else "lora",
        "backbone": backbone_config.to_dict(), "sft": config.to_dict(), "codebook": codebook_name,
        "fingerprint": codebook.fingerprint, "samples_fingerprint": samples, "sid_tokens": len(token_list),
        "examples": {task: len(items) for task, items in examples.items()},
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for p in trainable),
        "packed_batches": packed,  # False: the backbone failed token_loss's check, batches are padded
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    keep_metrics(folder, start_step)
    if start_step == 0:  # a restart must never resume from an older run's state later
        for stale in (STATE_FILE, STATE_META):
            (folder / stale).unlink(missing_ok=True)
    remove_dropout = add_training_dropout(model, config.dropout)
    model.train()
    clock = time.perf_counter()
    best = {"fhr": -1.0, "step": start_step, "state": None}
    checks_without_gain, step = 0, start_step - 1
    for step in range(start_step, config.steps):
        rate = learning_rate(step, config, peak)
        for group in optimizer.param_groups:
            group["lr"] = rate
        batch = batch_for_step(encoded, config, step)
        summed, tokens = example_losses(model, batch, tokenizer.pad_token_id, device, packed)
        loss = summed.sum() / tokens.sum().clamp(min=1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
        optimizer.step()
        record = {"step": step + 1, "loss": round(loss.item(), 5), "lr": rate,
                  "seconds": round(time.perf_counter() - clock, 2)}
        per_task = {}
        for example, value, count in zip(batch, summed.tolist(), tokens.tolist()):
            per_task.setdefault(example.task, []).append(value / max(count, 1))
        record["task_loss"] = {task: round(float(np.mean(v)), 5) for task, v in per_task.items()}
        done = step + 1
        stop = False
        if done % config.eval_every == 0 or done == config.steps:
            record["validation"] = _evaluate(model, tokenizer, codebook, held_out, held_out_encoded, max_length,
                                             device, packed)
            record["validation"]["ranking"] = ranking.figures(model)
            fhr = record["validation"]["ranking"]["fhr"]
            if config.keep_best and fhr > best["fhr"]:
                best = {"fhr": fhr, "step": done, "state": _snapshot(model)}
                checks_without_gain = 0
            elif config.keep_best:
                checks_without_gain += 1
                stop = bool(config.patience) and checks_without_gain >= config.patience
        append_metrics(folder, record)
        if done % config.checkpoint_every == 0 or done == config.steps or stop:
            save_weights(folder, backbone, {**training, "step": done, "finished": done == config.steps or stop},
                         optimizer)
        progress(done / config.steps, f"step {done}/{config.steps} loss {record['loss']:.3f}")
        if stop:
            progress(done / config.steps, f"no better validation FHR@{config.eval_k} in {config.patience} checks: "
                                          f"stopped at step {done}")
            break
    step += 1  # steps taken
    remove_dropout()
    if best["state"] is not None:  # keep_best: the weights of the best check (resumed: the best since resuming)
        _restore(model, best["state"])
    progress(1.0, "held-out alignment accuracy on the test split")
    test_alignment = held_out_alignment(data, codebook, "test", np.random.default_rng(config.seed + 2))
    validation = _evaluate(model, tokenizer, codebook, held_out, held_out_encoded, max_length, device, packed)
    validation["ranking"] = ranking.figures(model)
    summary = {
        "best_step": best["step"] if config.keep_best else step,
        "validation": validation,
        "test_alignment_accuracy": alignment_accuracy(model, tokenizer, codebook, test_alignment, max_length,
                                                      packed=packed),
        "test_alignment_examples": len(test_alignment),
    }
    save_weights(folder, backbone, {**training, "step": step, "finished": True, "summary": summary})
    return SFTResult(folder, step, summary)


def _held_out(data: TaskData, codebook: Codebook, config: SFTConfig) -> dict[str, list[Example]]:
    """Validation examples per task: user tasks from validation samples, translations from a catalogue sample."""
    rng = np.random.default_rng(config.seed + 1)
    held_out: dict[str, list[Example]] = {}
    if "alignment" in config.tasks:
        held_out["alignment"] = held_out_alignment(data, codebook, "validation", rng, config.eval_examples)
    if {"next_negative", "negative_sequence", "future_negative"} & set(config.tasks):
        held_out["next_negative"] = next_negative_examples(data, codebook, "validation", config,
                                                           config.eval_examples)
    return held_out


@dataclass
class _RankingCheck:
    """Validation FHR@K of the next-negative prompt under constrained beam search, at every check."""
    tokenizer: object
    trie: object
    token_rows: dict
    codebook: Codebook
    held_out: HeldOut
    k: int
    free_end: bool

    def figures(self, model) -> dict:
        was_training = model.training
        sums = hit_sums(model, self.tokenizer, self.trie, self.token_rows, self.codebook, self.held_out, self.k,
                        self.free_end)
        model.train(was_training)
        return ranking_figures(*sums, self.k)


def _ranking_check(workspace, data: TaskData, codebook: Codebook, tokenizer, model, config: SFTConfig
                   ) -> _RankingCheck:
    samples = data.samples["validation"][:config.eval_examples]
    seen = seen_items(workspace, [s.sample_id for s in samples])
    vocab = max(len(tokenizer), model.get_output_embeddings().weight.shape[0])
    trie, token_rows = item_trie(codebook, tokenizer, vocab)
    held_out = HeldOut(samples, [next_negative_prompt(codebook, list(s.context_negatives), config) for s in samples],
                       [seen_rows(codebook, seen[s.sample_id]) for s in samples])
    return _RankingCheck(tokenizer, trie.to(next(model.parameters()).device), token_rows, codebook, held_out,
                         config.eval_k, config.prefix_prompts)


def _snapshot(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


@torch.no_grad()
def _restore(model, state: dict[str, torch.Tensor]) -> None:
    for n, p in model.named_parameters():
        if n in state:
            p.copy_(state[n])


def _evaluate(model, tokenizer, codebook, held_out, held_out_encoded, max_length, device, packed: bool) -> dict:
    figures = {"loss": held_out_losses(model, held_out_encoded, tokenizer.pad_token_id, device, 32, packed)}
    if held_out.get("alignment"):
        figures["alignment_accuracy"] = alignment_accuracy(model, tokenizer, codebook, held_out["alignment"],
                                                           max_length, packed=packed)
    return figures
