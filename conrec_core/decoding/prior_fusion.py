"""The popularity prior in decoding: a SID model's candidates re-ranked by log p(SID | prompt) + w · log prior.

On logs where dislikes follow popularity (MovieLens: most-disliked beats every sequence model on the per-user
split), a SID model trained on a few thousand sequences spreads its probability over items nobody rejects
often. The prior is each item's smoothed share of the training part's negatives, the most-disliked baseline as
a distribution. The candidates are the model's beams plus the most disliked unseen items, every one scored
exactly by teacher forcing (`sid_scores`), so a popular item the beams missed still competes on its own
probability. The weight is chosen on validation (`choose_prior_weight`); 0 gives the model's own ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .prior import WEIGHT_GRID, best_weight
from ..metrics import future_hit_rate
from .search import Decoded
from .sid_scores import sid_logprobs


@dataclass
class CandidatePool:
    """One sample's candidates: codebook rows, their SIDs' log-probability under the model, their log prior."""
    rows: list[int]
    model: np.ndarray
    prior: np.ndarray

    def ranked(self, weight: float, k: int) -> Decoded:
        """The top K by model + weight · prior (ties: the model's order)."""
        fused = self.model + weight * self.prior
        order = sorted(range(len(self.rows)), key=lambda i: (-fused[i], -self.model[i]))[:k]
        return Decoded([self.rows[i] for i in order], [float(fused[i]) for i in order], 0)


def candidate_pools(model, tokenizer, token_sequences: list[list[int]], prompts: list[str], beams: list[Decoded],
                    prior: np.ndarray, excluded_rows: list[list[int]], extra: int,
                    free_end: bool = False, on_prompt: Callable[[], None] | None = None) -> list[CandidatePool]:
    """Per prompt: its beams' rows plus the `extra` highest-prior rows it may return, each scored exactly
    (`on_prompt` called after each prompt's)."""
    by_prior = np.argsort(-prior, kind="stable")
    pools = []
    for prompt, beam, skip in zip(prompts, beams, excluded_rows):
        rows, taken, blocked = list(beam.rows), set(beam.rows), set(skip)
        added = 0
        for row in by_prior:
            if added >= extra:
                break
            row = int(row)
            if row not in taken and row not in blocked:
                rows.append(row)
                taken.add(row)
                added += 1
        scores = sid_logprobs(model, tokenizer, prompt, [token_sequences[r] for r in rows], free_end=free_end)
        pools.append(CandidatePool(rows, np.asarray(scores), prior[rows]))
        if on_prompt:
            on_prompt()
    return pools


@dataclass
class WeightChoice:
    weight: float
    fhr: dict[float, float]  # validation FHR@K of every weight tried

    def to_dict(self) -> dict:
        return {"weight": self.weight, "fhr": {str(w): round(v, 4) for w, v in self.fhr.items()}}


def choose_prior_weight(pools: list[CandidatePool], futures: list[list[int]], k: int,
                        grid: tuple[float, ...] = WEIGHT_GRID) -> WeightChoice:
    """The weight with the best mean FHR@K over the pools (validation samples); ties go to the smaller weight.
    `futures[i]`: codebook rows of sample i's future negatives."""
    if not pools:
        raise ValueError("no validation samples to choose the prior's weight on")
    fhr = {}
    for weight in grid:
        hits = [future_hit_rate(pool.ranked(weight, k).rows, future, k) for pool, future in zip(pools, futures)]
        fhr[weight] = float(np.mean(hits))
    return WeightChoice(best_weight(fhr), fhr)


def fused(pools: list[CandidatePool], weight: float, k: int) -> list[Decoded]:
    return [pool.ranked(weight, k) for pool in pools]
