"""The seen-item rule (method §2): every method's candidates exclude every item the user met before the anchor,
in any event, however long ago; the rule is one setting."""

import pytest

from conrec_core.data.importer import import_source, rebuild_samples
from conrec_core.data.samples import read_samples, seen_items
from conrec_core.data.samples_config import SampleConfig
from conrec_core.evaluation.baselines import rank_baseline
from conrec_core.evaluation.sasrec_config import SASRecConfig

from conftest import write

DAY = 86400


@pytest.fixture
def hand_log(tmp_path):
    """30 users reject `hot` and `early`, the two most disliked items, and some of `pop0`-`pop6`. The user `me` met `hot` only in a neutral
    event on day 0 and rejected `early` on day 1, long before 12 later negatives push it out of a 3-item
    context."""
    rows = ["user,item,time,action"]
    for user in range(30):
        rows += [f"x{user},hot,{DAY * (1 + user % 5)},dislike", f"x{user},early,{DAY * (2 + user % 5)},dislike",
                 f"x{user},pop{user % 7},{DAY * (3 + user % 5)},dislike", f"x{user},pop{(user + 1) % 7},{DAY * 4},dislike",
                 f"x{user},filler{user},{DAY * 30},dislike"]
    rows += [f"me,hot,{0},view", f"me,early,{DAY},dislike"]
    rows += [f"me,m{n},{DAY * (2 + n)},dislike" for n in range(12)]
    write(tmp_path / "events.csv", "\n".join(rows) + "\n")
    write(tmp_path / "mapping.json", '{"events": {"user": "user", "item": "item", "time": "time", "kind": '
          '{"column": "action", "negative": ["dislike"], "positive": ["like"], "neutral": ["view"]}}}')
    workspace = tmp_path / "ws.duckdb"
    import_source(tmp_path / "events.csv", workspace, mapping=tmp_path / "mapping.json",
                  sample_config=SampleConfig(context_limit=3))
    return workspace


def my_test_sample(workspace):
    samples = read_samples(workspace, "test", users=["me"])
    assert len(samples) == 1
    return samples


def test_every_earlier_item_of_any_kind_is_seen(hand_log):
    sample = my_test_sample(hand_log).iloc[0]
    assert "early" not in sample["context_negatives"] and "hot" not in sample["context_negatives"]
    seen = set(seen_items(hand_log, [sample["sample_id"]])[sample["sample_id"]])
    assert {"hot", "early"} <= seen and sample["next_negative"] not in seen


@pytest.mark.parametrize("method", ["most_disliked", "swing_cf", "item_cf", "item_knn", "ease", "fused_baselines",
                                    "sasrec_negatives", "sasrec_both"])
def test_no_method_predicts_an_item_met_long_ago_or_only_viewed(hand_log, method):
    samples = my_test_sample(hand_log)
    [ranked] = rank_baseline(hand_log, method, samples, k=10, sasrec=SASRecConfig(steps=10, eval_every=5))
    assert ranked and not {"hot", "early"} & set(ranked)


def test_the_rule_is_one_setting(hand_log):
    rebuild_samples(hand_log, SampleConfig(context_limit=3, exclude_seen="feedback"))
    samples = my_test_sample(hand_log)
    seen = set(seen_items(hand_log, samples["sample_id"])[samples["sample_id"].iloc[0]])
    assert "early" in seen and "hot" not in seen  # a neutral view no longer counts
    [ranked] = rank_baseline(hand_log, "most_disliked", samples, k=10)
    assert ranked[0] == "hot"
    rebuild_samples(hand_log, SampleConfig(context_limit=3, exclude_seen="context"))  # the old rule
    samples = my_test_sample(hand_log)
    [ranked] = rank_baseline(hand_log, "most_disliked", samples, k=10)
    assert ranked[:2] == ["early", "hot"]
