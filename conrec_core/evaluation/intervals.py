"""Uncertainty of a metric over samples: cluster-bootstrap intervals and a paired test between two methods,
both resampling users, not samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOOTSTRAP_DRAWS = 2000  # enough for the 2.5/97.5 percentiles to settle at the third decimal


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    samples: int
    users: int  # clusters resampled: samples of one user are correlated, so users are the unit of chance

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "samples": self.samples,
                "users": self.users}


def cluster_sums(values, groups) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums and counts of `values` (one cluster per distinct group; each value its own when None)."""
    data = np.asarray(values, dtype=float)
    if groups is None:
        return data, np.ones_like(data)
    _, codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    return np.bincount(codes, weights=data), np.bincount(codes).astype(float)


def bootstrap_interval(values, groups=None, *, confidence: float = 0.95, draws: int = BOOTSTRAP_DRAWS,
                       seed: int = 0) -> Interval | None:
    """Mean of per-sample values with a percentile cluster-bootstrap interval: whole users (`groups`, one per
    value) are resampled, because one user's samples are not independent (heavy users give many). None for
    no samples.

    >>> bootstrap_interval([1.0, 1.0, 1.0])
    Interval(value=1.0, low=1.0, high=1.0, samples=3, users=3)
    >>> bootstrap_interval([1.0, 1.0, 0.0], groups=["a", "a", "b"]).users
    2
    """
    kept = [(v, g) for v, g in zip(values, groups if groups is not None else [None] * len(values)) if v is not None]
    if not kept:
        return None
    data = np.asarray([v for v, _ in kept], dtype=float)
    sums, counts = cluster_sums(data, None if groups is None else [g for _, g in kept])
    rng = np.random.default_rng(seed)
    means = np.empty(draws)
    for start in range(0, draws, 250):  # chunks bound memory for many users
        picks = rng.integers(len(sums), size=(min(250, draws - start), len(sums)))
        means[start:start + len(picks)] = sums[picks].sum(1) / counts[picks].sum(1)
    tail = (1 - confidence) / 2
    return Interval(float(data.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail)),
                    len(data), len(sums))


def paired_test(method, baseline, groups=None, *, draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> dict:
    """Two-sided paired sign-flip permutation test on per-sample differences (same samples, same order).

    With `groups` (the user of each sample) the signs flip per user: each user's summed difference keeps or
    changes its sign as a block, since a user's samples are not independent. The statistic is the mean
    difference over samples; the p-value is the share of random sign flips whose mean is at least as far
    from 0 as the observed one (with the observed arrangement counted once).

    >>> paired_test([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [0] * 10)["p_value"] < 0.01
    True
    >>> paired_test([1, 0], [1, 0])["p_value"]
    1.0
    >>> paired_test([1] * 10, [0] * 10, groups=["u"] * 10)["p_value"]  # one user: no evidence either way
    1.0
    """
    a, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape or not len(a):
        raise ValueError("a paired test needs the same non-empty samples for both methods")
    differences = a - b
    sums, _ = cluster_sums(differences, groups)
    observed = abs(sums.sum()) / len(differences)
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(draws, len(sums)))
    flipped = np.abs((signs * sums).sum(1)) / len(differences)
    p_value = (1 + int((flipped >= observed - 1e-12).sum())) / (draws + 1)
    return {"difference": float(differences.mean()), "p_value": min(1.0, p_value), "samples": len(differences),
            "users": len(sums)}


def format_p(p_value: float) -> str:
    """A p-value for tables: three decimals, or below the test's resolution.

    >>> format_p(0.0004998), format_p(0.04321)
    ('< 0.001', '= 0.043')
    """
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.3f}"
