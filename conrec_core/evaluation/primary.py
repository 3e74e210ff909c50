"""The report's one primary endpoint, named before any run: the full method against the best baseline on FHR@K.

It is given as the difference and the ratio of the two means, each with a cluster-bootstrap interval (users
resampled, both methods on the same draw), beside the paired sign-flip test and the per-user-averaged FHR
(every user weighs the same, so one heavy user cannot carry the result). Every other row's test against the best
baseline is corrected for multiplicity (Holm). The verdict is said in words under a stated rule:

- "too few hits to compare" when either side hits fewer than `MIN_HITS` samples: a ratio of a handful of hits
  means nothing;
- "ahead" or "behind" when the paired test gives p below `SIGNIFICANCE`;
- "no significant difference" otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .intervals import BOOTSTRAP_DRAWS, cluster_sums, format_p, paired_test

MIN_HITS = 10  # samples hit by each side below which no comparison is stated
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class PrimaryEndpoint:
    full_method: str
    best_baseline: str
    k: int
    samples: int
    users: int
    full: float  # mean FHR@K of the full method
    best: float
    full_per_user: float  # FHR@K averaged per user first
    best_per_user: float
    full_hits: int  # samples with a hit
    best_hits: int
    difference: dict  # value, low, high (full - best)
    ratio: dict | None  # value, low, high (full / best); None when the best baseline hits nothing
    p_value: float
    comparable: bool  # both sides hit at least MIN_HITS samples: a difference and a ratio mean something
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


def holm(p_values: dict[str, float | None]) -> dict[str, float | None]:
    """Holm's step-down adjustment of a family of p-values (None stays None).

    >>> holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": None})
    {'a': 0.03, 'b': 0.06, 'c': 0.06, 'd': None}
    """
    tested = sorted((p, name) for name, p in p_values.items() if p is not None)
    adjusted, running = {}, 0.0
    for rank, (p, name) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[name] = round(running, 12)
    return {name: adjusted.get(name) for name in p_values}


def per_user_mean(values, users) -> float:
    """The mean of each user's own mean: every user weighs the same.

    >>> per_user_mean([1, 1, 1, 0], ["a", "a", "a", "b"])
    0.5
    """
    frame = pd.DataFrame({"value": np.asarray(values, dtype=float), "user": list(users)})
    return float(frame.groupby("user")["value"].mean().mean())


def paired_bootstrap(full, best, users, *, draws: int = BOOTSTRAP_DRAWS, seed: int = 0
                     ) -> tuple[dict, dict | None]:
    """Percentile intervals of the difference and of the ratio of two methods' means over the same samples,
    resampling users (both methods in each draw).

    >>> difference, ratio = paired_bootstrap([1, 1, 0, 1], [1, 0, 0, 0], ["a", "b", "c", "d"])
    >>> difference["value"], ratio["value"]
    (0.5, 3.0)
    """
    a, b = np.asarray(full, dtype=float), np.asarray(best, dtype=float)
    sums_a, counts = cluster_sums(a, users)
    sums_b, _ = cluster_sums(b, users)
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(counts), size=(draws, len(counts)))
    mean_a = sums_a[picks].sum(1) / counts[picks].sum(1)
    mean_b = sums_b[picks].sum(1) / counts[picks].sum(1)
    difference = {"value": float(a.mean() - b.mean()), "low": float(np.quantile(mean_a - mean_b, 0.025)),
                  "high": float(np.quantile(mean_a - mean_b, 0.975))}
    if b.mean() == 0:
        return difference, None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(mean_b > 0, mean_a / np.where(mean_b > 0, mean_b, 1.0), np.inf)
    ratio = {"value": float(a.mean() / b.mean()), "low": float(np.quantile(ratios, 0.025)),
             "high": float(np.quantile(ratios, 0.975))}
    return difference, ratio


def verdict(full: str, best: str, full_hits: int, best_hits: int, difference: float, p_value: float) -> str:
    """The comparison in words, by the module's rule.

    >>> verdict("full", "EASE", 4, 30, -0.1, 0.001)
    'too few hits to compare (full 4, EASE 30; fewer than 10 on a side)'
    >>> verdict("full", "EASE", 40, 30, 0.02, 0.4)
    'no significant difference between full and EASE (p 0.400)'
    """
    if min(full_hits, best_hits) < MIN_HITS:
        return f"too few hits to compare ({full} {full_hits}, {best} {best_hits}; fewer than {MIN_HITS} on a side)"
    if p_value >= SIGNIFICANCE:
        return f"no significant difference between {full} and {best} (p {p_value:.3f})"
    side = "ahead of" if difference > 0 else "behind"
    return f"{full} is {side} {best} (p {format_p(p_value).removeprefix('= ')})"


def primary_endpoint(metrics: pd.DataFrame, full_method: str, best_baseline: str | None, labels: dict[str, str]
                     ) -> PrimaryEndpoint | None:
    """The full method against the best baseline by FHR@K on the samples both scored; None without either."""
    if best_baseline is None or full_method not in set(metrics["method"]):
        return None
    a = metrics[metrics["method"] == full_method].set_index("sample_id")
    b = metrics[metrics["method"] == best_baseline].set_index("sample_id")
    both = a[["fhr", "user_id", "k"]].join(b["fhr"].rename("best"), how="inner")
    if both.empty:
        return None
    full_values, best_values, users = both["fhr"].to_numpy(), both["best"].to_numpy(), both["user_id"].tolist()
    test = paired_test(full_values, best_values, users)
    difference, ratio = paired_bootstrap(full_values, best_values, users)
    hits = int((full_values > 0).sum()), int((best_values > 0).sum())
    return PrimaryEndpoint(
        full_method, best_baseline, int(both["k"].max()), len(both), len(set(users)), float(full_values.mean()),
        float(best_values.mean()), per_user_mean(full_values, users), per_user_mean(best_values, users), *hits,
        difference, ratio, test["p_value"], min(hits) >= MIN_HITS,
        verdict(labels.get(full_method, full_method), labels.get(best_baseline, best_baseline), *hits,
                difference["value"], test["p_value"]))
