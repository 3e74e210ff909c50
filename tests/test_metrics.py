import doctest
import math

import pytest

from conrec_core.evaluation import intervals

from conrec_core import metrics
from conrec_core.evaluation.intervals import bootstrap_interval, paired_test
from conrec_core.metrics import coverage, future_hit_rate, hit_rate, long_tail_future_hit_rate, mean, ndcg


def test_docstring_examples_hold():
    for module in (metrics, intervals):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0


def test_metrics_on_a_hand_computed_sample():
    ranked = ["p", "q", "r", "s", "t"]
    future = ["s", "z", "q"]  # two of the three future negatives are predicted, at ranks 2 and 4
    assert hit_rate(ranked, "s", k=4) == 1.0 and hit_rate(ranked, "s", k=3) == 0.0
    assert future_hit_rate(ranked, future, k=1) == 0.0 and future_hit_rate(ranked, future, k=2) == 1.0
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    assert ndcg(ranked, future, k=5) == pytest.approx(expected)
    assert ndcg(ranked, future, k=1) == 0.0
    assert long_tail_future_hit_rate(ranked, future, {"z"}) == 0.0  # the only long-tail negative is missed
    assert long_tail_future_hit_rate(ranked, future, {"q", "z"}) == 1.0
    assert coverage([ranked, ["p", "y"]], catalogue_size=12, k=2) == pytest.approx(3 / 12)
    assert mean([1.0, None, 0.0, 0.0]) == pytest.approx(1 / 3)


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_samples():
    small = bootstrap_interval([1.0, 0.0] * 20)
    large = bootstrap_interval([1.0, 0.0] * 2000)
    assert small.value == large.value == 0.5 and small.samples == 40
    assert small.low < 0.5 < small.high and (large.high - large.low) < (small.high - small.low) / 5
    # the normal approximation for a proportion: half-width about 1.96 * sqrt(.25 / n)
    assert (large.high - large.low) / 2 == pytest.approx(1.96 * math.sqrt(0.25 / 4000), rel=0.15)
    assert bootstrap_interval([None, None]) is None


def test_paired_test_sees_a_consistent_small_gain_and_not_noise():
    method = [1.0] * 30 + [0.0] * 70
    better = [1.0] * 30 + [1.0] * 10 + [0.0] * 60  # ten more hits on the same samples
    assert paired_test(better, method)["p_value"] < 0.01
    assert paired_test(better, method)["difference"] == pytest.approx(0.1)
    swapped = [1.0] * 30 + [1.0] * 5 + [0.0] * 5 + [0.0] * 60
    shuffled = [1.0] * 30 + [0.0] * 5 + [1.0] * 5 + [0.0] * 60  # five wins each way: no difference
    assert paired_test(swapped, shuffled)["p_value"] == 1.0
    with pytest.raises(ValueError):
        paired_test([1.0], [1.0, 0.0])


def test_per_sample_rows_on_hand_computed_samples():
    import pandas as pd

    from conrec_core.evaluation.scoring import sample_metrics
    from conrec_core.evaluation.true_dislikes import TrueDislikes

    samples = pd.DataFrame({"sample_id": [1, 2], "user_id": ["u", "v"], "next_negative": ["a", "x"],
                            "future_negatives": [["a", "b"], ["x"]], "long_tail_user": [False, True]})
    truth = TrueDislikes({"u": [("category", "toys")]}, {"a": "toys", "c": "toys", "q": "books"},
                         {"a": " ", "c": " ", "q": " "})
    rows = sample_metrics(samples, [["c", "a", "q", "z"], ["q", "y"]], {"b"}, k=4, truth=truth)
    first, second = rows.to_dict("records")
    assert (first["hr"], first["fhr"], first["invalid_rate"]) == (1.0, 1.0, 0.0)
    assert first["lif"] == 0.0 and first["true_dislike_share"] == 0.5  # c and a are toys, q and z are not
    # two of four decoded outputs were dropped as invalid; user v has no latent profile
    assert (second["hr"], second["invalid_rate"]) == (0.0, 0.5) and math.isnan(second["lif"])
    assert math.isnan(second["true_dislike_share"]) and second["long_tail_user"]


def test_intervals_and_tests_resample_users_not_samples():
    # 20 users with 50 samples each, every sample of a user alike: really 20 observations, not 1000
    values = [float(user % 2) for user in range(20) for _ in range(50)]
    users = [f"u{user}" for user in range(20) for _ in range(50)]
    naive, clustered = bootstrap_interval(values), bootstrap_interval(values, users)
    assert clustered.value == naive.value == 0.5 and (clustered.samples, clustered.users) == (1000, 20)
    assert clustered.high - clustered.low > 3 * (naive.high - naive.low)
    # one heavy user makes the whole difference: significant per sample, not per user
    method = [1.0] * 30 + [0.0] * 10
    baseline = [0.0] * 30 + [0.0] * 10
    owners = ["heavy"] * 30 + [f"light{i}" for i in range(10)]
    assert paired_test(method, baseline)["p_value"] < 0.01
    per_user = paired_test(method, baseline, owners)
    assert per_user["p_value"] > 0.4 and per_user["users"] == 11 and per_user["difference"] == pytest.approx(0.75)
