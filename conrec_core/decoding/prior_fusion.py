"""The popularity prior in decoding: a SID model's candidates re-ranked by log p(SID | prompt) + w · log prior.

On logs where dislikes follow popularity (MovieLens: most-disliked beats every sequence model on the per-user
split), a SID model trained on a few thousand sequences spreads its probability over items nobody rejects
often. The prior is each item's smoothed share of the training part's negatives, the most-disliked baseline as
a distribution. The candidates are the model's beams plus the most disliked unseen items, every one scored
exactly (an added item by teacher forcing), so a popular item the beams missed still competes on its own
probability. The weight is chosen on validation (`choose_prior_weight`); 0 gives the model's own ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .prior import WEIGHT_GRID, best_weight
from ..metrics import future_hit_rate
from .batched_search import searched_batches, teacher_forced
from .search import Decoded
from .trie import SidTrie


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


def searched_pools(model, tokenizer, trie: SidTrie, prompts: list[str], width: int, prior: np.ndarray,
                   excluded_rows: list[list[int]], extra: int, forced: list[list[int]], *, free_end: bool = False,
                   then_token: int | None = None, batch_size: int = 64,
                   on_batch: Callable[[int], None] | None = None) -> list[CandidatePool]:
    """Per prompt: its best `width` SIDs by beam search plus the `extra` highest-prior rows it may return, each
    scored exactly: a found SID by its search score (plus the log-probability of `then_token` after it), an added
    row by teacher forcing `forced[row]`, the tokens whose summed log-probability is that same score (`on_batch`
    called with the number of prompts after each batch)."""
    by_prior = np.argsort(-prior, kind="stable")
    pools = []
    for batch, found in searched_batches(model, tokenizer, trie, prompts, width, excluded_rows, batch_size,
                                         free_end=free_end, then_token=then_token):
        skips = excluded_rows[len(pools):len(pools) + len(found)]
        added = [_prior_rows(by_prior, set(f.rows) | set(skip), extra) for f, skip in zip(found, skips)]
        added_scores = teacher_forced(model, batch, [[forced[row] for row in rows] for rows in added])
        for result, rows, scores in zip(found, added, added_scores):
            model_scores = np.asarray(result.scores) + (np.asarray(result.then) if then_token is not None else 0.0)
            pool_rows = result.rows + rows
            pools.append(CandidatePool(pool_rows, np.concatenate([model_scores, np.asarray(scores)]),
                                       prior[pool_rows]))
        if on_batch:
            on_batch(len(found))
    return pools


def _prior_rows(by_prior: np.ndarray, taken: set[int], extra: int) -> list[int]:
    """The first `extra` rows of `by_prior` not in `taken`."""
    rows = []
    for row in by_prior:
        if len(rows) >= extra:
            break
        if int(row) not in taken:
            rows.append(int(row))
    return rows


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
