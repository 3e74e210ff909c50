"""Ranking metrics per sample (method §8): plain functions of a ranked list and the sample's targets.

Each returns the sample's value; slices (long-tail users, any filter) are means over the samples kept,
so every figure can be recomputed from the per-sample table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def hit_rate(ranked: Sequence[str], next_negative: str, k: int = 20) -> float:
    """HR@K: 1 when the next negative is among the top K, else 0.

    >>> hit_rate(["a", "b", "c"], "c", k=2), hit_rate(["a", "b", "c"], "c", k=3)
    (0.0, 1.0)
    """
    return float(next_negative in ranked[:k])


def future_hit_rate(ranked: Sequence[str], future_negatives: Sequence[str], k: int = 20) -> float:
    """FHR@K: 1 when any negative of the future window is among the top K, else 0.

    >>> future_hit_rate(["a", "b"], ["z", "b"]), future_hit_rate(["a", "b"], [])
    (1.0, 0.0)
    """
    future = set(future_negatives)
    return float(any(item in future for item in ranked[:k]))


def long_tail_future_hit_rate(ranked: Sequence[str], future_negatives: Sequence[str], long_tail_items: set[str],
                              k: int = 20) -> float | None:
    """LIF@K of one sample: FHR@K counting only long-tail future negatives; None when the window has none.

    >>> long_tail_future_hit_rate(["a", "b"], ["a", "t"], {"t"}), long_tail_future_hit_rate(["a"], ["a"], {"t"})
    (0.0, None)
    """
    tail = [item for item in future_negatives if item in long_tail_items]
    return future_hit_rate(ranked, tail, k) if tail else None


def ndcg(ranked: Sequence[str], future_negatives: Sequence[str], k: int = 20) -> float:
    """NDCG@K with every future negative relevant (gain 1), against the best possible order of the top K.

    >>> round(ndcg(["x", "a"], ["a"]), 4)  # one relevant item at rank 2: 1/log2(3)
    0.6309
    >>> ndcg(["a", "b"], ["a", "b"]), ndcg(["x"], [])
    (1.0, 0.0)
    """
    relevant = set(future_negatives)
    gains = sum(1.0 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return gains / ideal if ideal else 0.0


def coverage(rankings: Sequence[Sequence[str]], catalogue_size: int, k: int = 20) -> float:
    """Share of the catalogue that appears in at least one top-K list.

    >>> coverage([["a", "b"], ["b", "c"]], catalogue_size=6)
    0.5
    """
    shown = {item for ranked in rankings for item in ranked[:k]}
    return len(shown) / catalogue_size if catalogue_size else 0.0


def mean(values: Sequence[float | None]) -> float | None:
    """Mean over the samples that have a value (None marks a sample outside the metric's population).

    >>> mean([1.0, 0.0, None]), mean([None])
    (0.5, None)
    """
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
