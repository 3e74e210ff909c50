"""GRPO rewards (method §5): plain functions of one generated SID and one sample's targets.

The default reward (the paper's final choice) is variant (c): closeness to what the user will reject in
the next days, or to items Swing says are rejected together with those, minus γ times closeness to what
the user will like in the same days. Every reward gives an output that is not a valid SID INVALID_REWARD.

Vectors are unit-length SID vectors (the sum of the chosen codewords, normalised), so a dot product is
a cosine. Examples use 2-d vectors:

>>> out = SidOutput(row=0, vector=np.array([1.0, 0.0]), codes=(1, 2, 3))
>>> targets = SampleTargets(target_vectors=np.array([[0.8, 0.6]]), target_codes=[(1, 2, 4)],
...                         positive_vectors=np.array([[0.0, 1.0]]), next_negative_row=5)
>>> round(default_reward(out, targets), 2)
0.8
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..semantic_ids.sids import matching_levels

INVALID_REWARD = -1.0
TRUNCATE_AT = 0.6  # variants (b) and (d): similarities at or below this count as no signal
GAMMA = 0.5  # weight of the future-positive penalty


@dataclass(frozen=True)
class SidOutput:
    row: int  # the item the generated SID names (SemanticIds row)
    vector: np.ndarray  # its unit SID vector
    codes: tuple[int, ...]  # its level codes (the collision rank excluded)


@dataclass(frozen=True)
class SampleTargets:
    target_vectors: np.ndarray  # GTS: future negatives and their top Swing neighbours, unit rows
    target_codes: list[tuple[int, ...]]  # level codes of the same items
    positive_vectors: np.ndarray  # FPS: future positives, unit rows (may be empty)
    next_negative_row: int  # the biased baseline's only target


def max_cosine(vector: np.ndarray, vectors: np.ndarray) -> float:
    """Largest cosine between a unit vector and unit rows; 0.0 for an empty set.

    >>> max_cosine(np.array([1.0, 0.0]), np.array([[0.0, 1.0], [0.6, 0.8]]))
    0.6
    >>> max_cosine(np.array([1.0, 0.0]), np.zeros((0, 2)))
    0.0
    """
    return float((vectors @ vector).max()) if len(vectors) else 0.0


def truncated(similarity: float, threshold: float = TRUNCATE_AT) -> float:
    """Keep a similarity only above the threshold.

    >>> truncated(0.7), truncated(0.6)
    (0.7, 0.0)
    """
    return similarity if similarity > threshold else 0.0


def future_negative_reward(output: SidOutput | None, targets: SampleTargets, gamma: float = GAMMA) -> float:
    """(a) max cos(out, GTS).

    >>> out = SidOutput(0, np.array([1.0, 0.0]), (1, 2, 3))
    >>> t = SampleTargets(np.array([[0.6, 0.8]]), [(1, 5, 5)], np.zeros((0, 2)), 9)
    >>> future_negative_reward(out, t), future_negative_reward(None, t)
    (0.6, -1.0)
    """
    return INVALID_REWARD if output is None else max_cosine(output.vector, targets.target_vectors)


def truncated_future_negative_reward(output: SidOutput | None, targets: SampleTargets,
                                     gamma: float = GAMMA) -> float:
    """(b) (a) counted only above 0.6.

    >>> out = SidOutput(0, np.array([1.0, 0.0]), (1, 2, 3))
    >>> truncated_future_negative_reward(out, SampleTargets(np.array([[0.6, 0.8]]), [(1, 5, 5)], np.zeros((0, 2)), 9))
    0.0
    """
    return INVALID_REWARD if output is None else truncated(max_cosine(output.vector, targets.target_vectors))


def default_reward(output: SidOutput | None, targets: SampleTargets, gamma: float = GAMMA) -> float:
    """(c) max cos(out, GTS) − γ · max cos(out, FPS); no future positives, no penalty.

    >>> out = SidOutput(0, np.array([1.0, 0.0]), (1, 2, 3))
    >>> t = SampleTargets(np.array([[0.8, 0.6]]), [(1, 2, 4)], np.array([[0.6, 0.8]]), 9)
    >>> round(default_reward(out, t), 2), round(default_reward(out, t, gamma=0.0), 2)
    (0.5, 0.8)
    """
    if output is None:
        return INVALID_REWARD
    return (max_cosine(output.vector, targets.target_vectors)
            - gamma * max_cosine(output.vector, targets.positive_vectors))


def truncated_default_reward(output: SidOutput | None, targets: SampleTargets, gamma: float = GAMMA) -> float:
    """(d) (c) with both terms counted only above 0.6.

    >>> out = SidOutput(0, np.array([1.0, 0.0]), (1, 2, 3))
    >>> t = SampleTargets(np.array([[0.8, 0.6]]), [(1, 2, 4)], np.array([[0.6, 0.8]]), 9)
    >>> round(truncated_default_reward(out, t), 2)
    0.8
    """
    if output is None:
        return INVALID_REWARD
    return (truncated(max_cosine(output.vector, targets.target_vectors))
            - gamma * truncated(max_cosine(output.vector, targets.positive_vectors)))


def sid_level_reward(output: SidOutput | None, targets: SampleTargets, gamma: float = GAMMA) -> float:
    """(e) hit-based: 1 / 0.1 / 0.01 when the best GTS item shares 3 / 2 / 1 levels (one tenth per level lost).

    >>> out = SidOutput(0, np.array([1.0, 0.0]), (1, 2, 3))
    >>> t = SampleTargets(np.zeros((2, 2)), [(1, 7, 7), (1, 2, 9)], np.zeros((0, 2)), 9)
    >>> sid_level_reward(out, t)
    0.1
    """
    if output is None:
        return INVALID_REWARD
    shared = max((matching_levels(output.codes, codes) for codes in targets.target_codes), default=0)
    return 0.0 if shared == 0 else 10.0 ** (shared - len(output.codes))


def next_negative_reward(output: SidOutput | None, targets: SampleTargets, gamma: float = GAMMA) -> float:
    """Biased baseline: 1 for exactly the next negative, else 0 (what next-item training optimises).

    >>> t = SampleTargets(np.zeros((0, 2)), [], np.zeros((0, 2)), 4)
    >>> next_negative_reward(SidOutput(4, np.array([1.0, 0.0]), (1,)), t)
    1.0
    """
    if output is None:
        return INVALID_REWARD
    return float(output.row == targets.next_negative_row)


Reward = Callable[[SidOutput | None, SampleTargets, float], float]
REWARDS: dict[str, Reward] = {
    "future_negative": future_negative_reward,  # (a)
    "future_negative_truncated": truncated_future_negative_reward,  # (b)
    "default": default_reward,  # (c)
    "default_truncated": truncated_default_reward,  # (d)
    "sid_levels": sid_level_reward,  # (e)
    "next_negative": next_negative_reward,  # biased baseline
}
