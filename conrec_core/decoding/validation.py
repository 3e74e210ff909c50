"""Ranking figures on held-out samples under constrained decoding: what SFT and GRPO choose their best step on."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data.samples import Sample
from ..metrics import future_hit_rate, hit_rate
from ..semantic_ids.store import Codebook
from .item_trie import rejection_sequences, rejection_token
from .prior_fusion import fused, searched_pools
from .search import Decoded, decode
from .decoding_config import DecodingConfig


@dataclass
class HeldOut:
    """Samples with their prompts and the codebook rows their candidates exclude (method §2)."""
    samples: list[Sample]
    prompts: list[str]
    seen_rows: list[list[int]]


@torch.no_grad()
def hit_sums(model, tokenizer, trie, codebook: Codebook, held_out: HeldOut, k: int,
             free_end: bool = False, stream: bool = False) -> tuple[float, float, int]:
    """(summed HR@K, summed FHR@K, samples) of the top K under beam search with max(20, K) beams; for a stream
    model the top K as `predict` ranks them (`stream_ranking`)."""
    if not held_out.samples:
        return 0.0, 0.0, 0
    if not stream:
        decoded = decode(model, tokenizer, trie, held_out.prompts,
                         DecodingConfig(beams=max(20, k), returns=k), held_out.seen_rows, free_end=free_end)
    else:
        decoded = stream_ranking(model, tokenizer, trie, codebook, held_out, k, free_end)
    hr = fhr = 0.0
    for sample, result in zip(held_out.samples, decoded):
        ranked = [codebook.sids.item_ids[r] for r in result.rows]
        hr += hit_rate(ranked, sample.next_negative, k)
        fhr += future_hit_rate(ranked, list(sample.future_negatives), k)
    return hr, fhr, len(held_out.samples)


def stream_ranking(model, tokenizer, trie, codebook: Codebook, held_out: HeldOut, k: int,
                   free_end: bool) -> list[Decoded]:
    """A stream model's top K as `predict` ranks them: the items it finds most likely met next
    (`DecodingConfig.stream_width` beams), re-ranked by the exact probability of meeting each and rejecting it."""
    items = len(codebook.sids.item_ids)
    fewest_left = items - max(map(len, held_out.seen_rows), default=0)
    width = DecodingConfig(beams=max(20, k), returns=k).stream_width(fewest_left)
    pools = searched_pools(model, tokenizer, trie, held_out.prompts, width, np.zeros(items), held_out.seen_rows, 0,
                           rejection_sequences(codebook, tokenizer), free_end=free_end,
                           then_token=rejection_token(tokenizer))
    return fused(pools, 0.0, k)


def ranking_figures(hr: float, fhr: float, samples: int, k: int) -> dict:
    return {"hr": round(hr / max(samples, 1), 5), "fhr": round(fhr / max(samples, 1), 5), "samples": samples, "k": k}


def standard_error(figures: dict) -> float:
    """Binomial standard error of a figures dict's FHR: how far below the best a check may fall by chance."""
    p = figures["fhr"]
    return math.sqrt(max(p * (1 - p), 1e-12) / max(figures["samples"], 1))
