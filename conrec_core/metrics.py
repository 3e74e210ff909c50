"""Ranking metrics per sample (method §8): plain functions of a ranked list and the sample's targets."""

from __future__ import annotations

from collections.abc import Sequence


def hit_rate(ranked: Sequence[str], next_negative: str, k: int = 20) -> float:
    """HR@K: 1 when the next negative is among the top K, else 0."""
    return float(next_negative in ranked[:k])


def future_hit_rate(ranked: Sequence[str], future_negatives: Sequence[str], k: int = 20) -> float:
    """FHR@K: 1 when any negative of the future window is among the top K, else 0."""
    future = set(future_negatives)
    return float(any(item in future for item in ranked[:k]))


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
