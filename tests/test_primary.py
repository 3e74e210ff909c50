"""The primary endpoint: the full method against the best baseline as a difference and a ratio with intervals,
the paired test, the per-user figures, the Holm family, and the verdict's rule."""

import doctest

import numpy as np
import pandas as pd
import pytest

from conrec_core.evaluation import primary as primary_module
from conrec_core.evaluation.intervals import paired_test
from conrec_core.evaluation.primary import MIN_HITS, holm, primary_endpoint


def test_docstring_examples_hold():
    result = doctest.testmod(primary_module)
    assert result.attempted >= 5 and result.failed == 0


def frame(full_hits, best_hits, users=40, per_user=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for method, hits in (("full", full_hits), ("best", best_hits)):
        chosen = set(rng.choice(users * per_user, size=hits, replace=False).tolist())
        for sample in range(users * per_user):
            rows.append({"method": method, "sample_id": sample, "user_id": f"u{sample % users}", "k": 20,
                         "fhr": float(sample in chosen)})
    return pd.DataFrame(rows)


def test_the_endpoint_is_computed_from_the_paired_samples():
    metrics = frame(60, 30)
    endpoint = primary_endpoint(metrics, "full", "best", {"full": "the full method", "best": "EASE"})
    a = metrics[metrics["method"] == "full"]["fhr"].to_numpy()
    b = metrics[metrics["method"] == "best"]["fhr"].to_numpy()
    users = metrics[metrics["method"] == "full"]["user_id"].tolist()
    assert endpoint.full == pytest.approx(a.mean()) and endpoint.best == pytest.approx(b.mean())
    assert endpoint.difference["value"] == pytest.approx(a.mean() - b.mean())
    assert endpoint.ratio["value"] == pytest.approx(a.mean() / b.mean())
    assert endpoint.difference["low"] < endpoint.difference["value"] < endpoint.difference["high"]
    assert endpoint.ratio["low"] < endpoint.ratio["value"] < endpoint.ratio["high"]
    assert endpoint.p_value == paired_test(a, b, users)["p_value"]
    assert (endpoint.full_hits, endpoint.best_hits, endpoint.users, endpoint.samples) == (60, 30, 40, 120)
    assert endpoint.verdict.startswith("the full method is ahead of EASE")


def test_a_handful_of_hits_gets_no_ratio_and_no_verdict_of_a_winner():
    metrics = frame(MIN_HITS - 1, 40)
    endpoint = primary_endpoint(metrics, "full", "best", {})
    assert endpoint.verdict.startswith("too few hits to compare")


def test_a_difference_within_chance_is_said_plainly():
    metrics = frame(31, 30)
    endpoint = primary_endpoint(metrics, "full", "best", {})
    assert endpoint.p_value > 0.05 and endpoint.verdict.startswith("no significant difference")


def test_per_user_averaging_weighs_every_user_the_same():
    rows = [{"method": "full", "sample_id": i, "user_id": "heavy" if i < 9 else "light", "k": 20,
             "fhr": 1.0 if i < 9 else 0.0} for i in range(10)]
    rows += [{**row, "method": "best", "fhr": 0.0} for row in rows]
    endpoint = primary_endpoint(pd.DataFrame(rows), "full", "best", {})
    assert endpoint.full == pytest.approx(0.9) and endpoint.full_per_user == pytest.approx(0.5)


def test_holm_never_lowers_a_p_value_and_keeps_the_order():
    raw = {"a": 0.001, "b": 0.02, "c": 0.02, "d": 0.5}
    adjusted = holm(raw)
    assert all(adjusted[m] >= raw[m] for m in raw)
    assert adjusted["a"] <= adjusted["b"] <= adjusted["d"]
    assert adjusted["a"] == pytest.approx(0.004) and adjusted["d"] == pytest.approx(0.5)
