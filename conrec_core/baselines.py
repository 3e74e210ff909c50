"""Simple baselines behind the same interface as the model: a ranked list of item ids per sample.

Both learn from the training part only (negatives before each user's validation cut) and never return
an item already in the sample's context (method §2), like the SID model's decoding.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from .swing import read_neighbours_with_scores
from .workspace import open_workspace

BASELINES = ("most_disliked", "swing_cf")


def training_negative_counts(con) -> list[str]:
    """Items by negatives in the training part, most disliked first (ties by item id)."""
    return [item for (item,) in con.execute(
        "SELECT item_id FROM item_stats WHERE train_negatives > 0 ORDER BY train_negatives DESC, item_id").fetchall()]


def most_disliked(popular: list[str], context: set[str], k: int) -> list[str]:
    """The K most disliked items the user has not seen.

    >>> most_disliked(["a", "b", "c", "d"], {"b"}, 2)
    ['a', 'c']
    """
    ranked: list[str] = []
    for item in popular:
        if len(ranked) >= k:
            break
        if item not in context:
            ranked.append(item)
    return ranked


def swing_cf(neighbours: dict[str, list[tuple[str, float]]], context_negatives: list[str], context: set[str],
             popular: list[str], k: int) -> list[str]:
    """Item-CF on the negative graph: Σ over the user's negatives of Swing(i, j); popular items fill the rest.

    >>> near = {"a": [("x", 2.0), ("y", 1.0)], "b": [("y", 1.5)]}
    >>> swing_cf(near, ["a", "b"], {"a", "b"}, ["p", "x"], 3)
    ['y', 'x', 'p']
    """
    scores: dict[str, float] = defaultdict(float)
    for item in context_negatives:
        for neighbour, score in neighbours.get(item, []):
            if neighbour not in context:
                scores[neighbour] += score
    ranked = [item for item, _ in sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))][:k]
    return ranked + most_disliked(popular, context | set(ranked), k - len(ranked))


def rank_baseline(workspace, method: str, samples: pd.DataFrame, k: int = 20) -> list[list[str]]:
    """Top-K item ids per sample (rows of `samples`: context_negatives, context_positives) for a baseline."""
    if method not in BASELINES:
        raise ValueError(f"unknown baseline {method!r}; choose from {', '.join(BASELINES)}")
    with open_workspace(workspace) as con:
        popular = training_negative_counts(con)
        neighbours = read_neighbours_with_scores(con) if method == "swing_cf" else {}
    rankings = []
    for negatives, positives in zip(samples["context_negatives"], samples["context_positives"]):
        context = set(negatives) | set(positives)
        if method == "most_disliked":
            rankings.append(most_disliked(popular, context, k))
        else:
            rankings.append(swing_cf(neighbours, list(negatives), context, popular, k))
    return rankings
