"""Uncertainty of a metric over samples: bootstrap intervals and a paired test between two methods."""

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

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "samples": self.samples}


def bootstrap_interval(values, *, confidence: float = 0.95, draws: int = BOOTSTRAP_DRAWS,
                       seed: int = 0) -> Interval | None:
    """Mean of per-sample values with a percentile bootstrap interval; None for no samples.

    >>> bootstrap_interval([1.0, 1.0, 1.0])
    Interval(value=1.0, low=1.0, high=1.0, samples=3)
    """
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(data):
        return None
    rng = np.random.default_rng(seed)
    means = data[rng.integers(len(data), size=(draws, len(data)))].mean(1)
    tail = (1 - confidence) / 2
    return Interval(float(data.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail)),
                    len(data))


def paired_test(method, baseline, *, draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> dict:
    """Two-sided paired sign-flip permutation test on per-sample differences (same samples, same order).

    Returns the mean difference and its p-value: the share of random sign flips of the differences whose
    mean is at least as far from 0 as the observed one (with the observed arrangement counted once).

    >>> paired_test([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [0] * 10)["p_value"] < 0.01
    True
    >>> paired_test([1, 0], [1, 0])["p_value"]
    1.0
    """
    a, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape or not len(a):
        raise ValueError("a paired test needs the same non-empty samples for both methods")
    differences = a - b
    observed = abs(differences.mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(draws, len(differences)))
    flipped = np.abs((signs * differences).mean(1))
    p_value = (1 + int((flipped >= observed - 1e-12).sum())) / (draws + 1)
    return {"difference": float(differences.mean()), "p_value": min(1.0, p_value), "samples": len(differences)}


def format_p(p_value: float) -> str:
    """A p-value for tables: three decimals, or below the test's resolution.

    >>> format_p(0.0004998), format_p(0.04321)
    ('< 0.001', '= 0.043')
    """
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.3f}"
