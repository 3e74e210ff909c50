"""What SFT measures on held-out data at each check: losses per task, alignment accuracy, and validation FHR@K
of the next-negative prompt under constrained beam search; and the best weights kept in memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.samples import seen_items
from ..decoding.item_trie import item_trie, model_vocab, seen_rows
from ..decoding.validation import HeldOut, hit_sums, ranking_figures
from ..lm.config import SFTConfig
from ..lm.prompts import Example, TaskData, held_out_alignment, next_negative_examples, sample_prompt
from ..lm.token_loss import Encoded, example_losses
from ..semantic_ids.store import Codebook
from .sft_batches import encode


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


def held_out_examples(data: TaskData, codebook: Codebook, config: SFTConfig) -> dict[str, list[Example]]:
    """Validation examples per task: user tasks from validation samples, translations from a catalogue sample."""
    rng = np.random.default_rng(config.seed + 1)
    held_out: dict[str, list[Example]] = {}
    if "alignment" in config.tasks:
        held_out["alignment"] = held_out_alignment(data, codebook, "validation", rng, config.eval_examples)
    if {"next_negative", "negative_sequence", "future_negative", "event_stream"} & set(config.tasks):
        held_out["next_negative"] = next_negative_examples(data, codebook, "validation", config,
                                                           config.eval_examples)
    return held_out


@dataclass
class RankingCheck:
    """Validation FHR@K of the next-negative prompt under constrained beam search, at every check."""
    tokenizer: object
    trie: object
    codebook: Codebook
    held_out: HeldOut
    k: int
    free_end: bool

    def figures(self, model) -> dict:
        was_training = model.training
        sums = hit_sums(model, self.tokenizer, self.trie, self.codebook, self.held_out, self.k,
                        self.free_end)
        model.train(was_training)
        return ranking_figures(*sums, self.k)


def ranking_check(workspace, data: TaskData, codebook: Codebook, tokenizer, model, config: SFTConfig
                   ) -> RankingCheck:
    samples = data.samples["validation"][:config.ranking_samples]
    seen = seen_items(workspace, [s.sample_id for s in samples])
    trie, _ = item_trie(codebook, tokenizer, model_vocab(tokenizer, model))
    held_out = HeldOut(samples, [sample_prompt(codebook, s, config, data) for s in samples],
                       [seen_rows(codebook, seen[s.sample_id]) for s in samples])
    return RankingCheck(tokenizer, trie.to(next(model.parameters()).device), codebook, held_out,
                         config.eval_k, config.prefix_prompts)


def snapshot(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


@torch.no_grad()
def restore(model, state: dict[str, torch.Tensor]) -> None:
    for n, p in model.named_parameters():
        if n in state:
            p.copy_(state[n])


def held_out_figures(model, tokenizer, codebook, held_out, held_out_encoded, max_length, device, packed: bool) -> dict:
    """Held-out losses per task and, where there are alignment examples, the alignment accuracy."""
    figures = {"loss": held_out_losses(model, held_out_encoded, tokenizer.pad_token_id, device, 32, packed)}
    if held_out.get("alignment"):
        figures["alignment_accuracy"] = alignment_accuracy(model, tokenizer, codebook, held_out["alignment"],
                                                           max_length, packed=packed)
    return figures
