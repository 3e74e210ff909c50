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

import numpy as np

from ..metrics import future_hit_rate
from .decoding import Decoded
from .decoding_config import WEIGHT_GRID
from .sid_scores import sid_logprobs

SMOOTHING = 0.5  # pseudo-negatives per item: an item nobody disliked in training keeps a finite prior


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


def log_prior(counts: np.ndarray) -> np.ndarray:
    """Log of each item's smoothed share of the training negatives, from its count.

    >>> np.round(np.exp(log_prior(np.array([3, 1, 0]))), 3).tolist()
    [0.636, 0.273, 0.091]
    """
    counts = np.asarray(counts, dtype=np.float64) + SMOOTHING
    return np.log(counts / counts.sum())


def candidate_pools(model, tokenizer, token_sequences: list[list[int]], prompts: list[str], beams: list[Decoded],
                    prior: np.ndarray, excluded_rows: list[list[int]], extra: int,
                    free_end: bool = False) -> list[CandidatePool]:
    """Per prompt: its beams' rows plus the `extra` highest-prior rows it may return, each scored exactly."""
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
    best = max(fhr.values())
    return WeightChoice(min(w for w, v in fhr.items() if v >= best - 1e-12), fhr)


def fused(pools: list[CandidatePool], weight: float, k: int) -> list[Decoded]:
    return [pool.ranked(weight, k) for pool in pools]


def prior_of_rows(counts_by_item: dict[str, int], item_ids: list[str]) -> np.ndarray:
    """The log prior per codebook row from training-negative counts by item (items absent count 0)."""
    return log_prior(np.array([counts_by_item.get(item, 0) for item in item_ids]))

