import random

import pytest

from conrec_core.errors import ConrecError
from conrec_core.evaluation.scoring import evaluate_predictions
from conrec_core.decoding.decoding_config import DecodingConfig
from conrec_core.decoding.ensemble import ensemble_predictions, fuse_ranks
from conrec_core.decoding.predict import predict
from conrec_core.decoding.prediction_store import read_predictions, write_predictions
from conrec_core.decoding.tail_quota import (MEMBERS, calibrated_quota, members_quota, parse_tail_quota,
                                       with_tail_quota)
from conrec_core.data.samples import long_tail_items, read_samples
from conrec_core.semantic_ids.store import load_codebook


def test_fusion_sums_reciprocal_ranks():
    fused = fuse_ranks([["a", "b", "c"], ["b", "c", "d"], ["b", "a", "e"]], k=3)
    assert [item for item, _ in fused] == ["b", "a", "c"]
    assert [score for _, score in fused] == pytest.approx([2 / 61 + 1 / 62, 1 / 61 + 1 / 62, 1 / 63 + 1 / 62])
    # a tie goes to the item met first, reading rank by rank: x is the first ranking's first item
    assert [item for item, _ in fuse_ranks([["x", "y"], ["y", "x"]], k=2)] == ["x", "y"]


def test_a_tail_quota_swaps_the_lowest_popular_items_for_the_best_long_tail_ones_below_k():
    rng = random.Random(0)
    for _ in range(300):
        ranked = rng.sample([f"i{n}" for n in range(40)], rng.randint(0, 40))
        long_tail = {item for item in ranked if rng.random() < 0.3}
        k, quota = rng.randint(1, 20), None
        quota = rng.randint(0, k)
        kept = with_tail_quota(ranked, k, long_tail, quota)
        top = ranked[:k]
        available = sum(item in long_tail for item in ranked)
        assert len(kept) == len(top) and len(set(kept)) == len(kept)
        assert sum(item in long_tail for item in kept) == max(sum(item in long_tail for item in top),
                                                              min(quota, available))
        swapped_in = [item for item in kept if item not in top]
        swapped_out = [item for item in top if item not in kept]
        # what comes in is the best-ranked long tail below K, in its order, placed last; what goes is the lowest
        # popular items of the top K; everything else keeps its place in the order
        assert swapped_in == [item for item in ranked[k:] if item in long_tail][:len(swapped_in)]
        assert kept[len(kept) - len(swapped_in):] == swapped_in
        assert swapped_out == [item for item in top if item not in long_tail][len(top) - len(swapped_out)
                                                                               - sum(i in long_tail for i in top):]
        assert [item for item in kept if item in top] == [item for item in top if item not in swapped_out]
    assert with_tail_quota(["a", "t"], 2, {"t"}, 1) == ["a", "t"]  # enough already: untouched
    with pytest.raises(ValueError, match="between 0 and K"):
        with_tail_quota(["a"], 2, set(), 3)


def test_an_ensemble_with_a_tail_quota_is_the_plain_fusion_with_the_quota_applied(tiny_world):
    workspace, _ = tiny_world
    predict(workspace, "tiny", config=DecodingConfig(beams=10, returns=10), save_as="tiny-b10")
    predict(workspace, "tiny", config=DecodingConfig(beams=20, returns=20), save_as="tiny-b20")
    members = {name: read_predictions(workspace, name).groupby("sample_id")["item_id"].apply(list)
               for name in ("tiny-b10", "tiny-b20")}
    long_tail = long_tail_items(workspace)
    run = ensemble_predictions(workspace, ["tiny-b10", "tiny-b20"], "tiny-tail", "test", k=5, tail_quota=5)
    assert run.tail_quota == 5
    stored = read_predictions(workspace, "tiny-tail")
    changed = 0
    for sample_id, rows in stored.groupby("sample_id"):
        every = fuse_ranks([members["tiny-b10"][sample_id], members["tiny-b20"][sample_id]], k=30)
        expected = with_tail_quota([item for item, _ in every], 5, long_tail, 5)
        assert list(rows["item_id"]) == expected
        assert list(rows["score"]) == pytest.approx([dict(every)[item] for item in expected])
        assert rows["score"].is_monotonic_decreasing  # what comes in ranked below what it replaced
        changed += expected != [item for item, _ in every[:5]]
    # nearly every item of this world is long-tail, so only a whole list of them changes some samples
    assert changed > 0  # the quota changed some lists in this world, so the comparison above tested something
    # the members' own share: each sample's quota is their mean long-tail count in the top 5, rounded down
    ensemble_predictions(workspace, ["tiny-b10", "tiny-b20"], "tiny-share", "test", k=5, tail_quota=MEMBERS)
    for sample_id, rows in read_predictions(workspace, "tiny-share").groupby("sample_id"):
        rankings = [members["tiny-b10"][sample_id], members["tiny-b20"][sample_id]]
        every = [item for item, _ in fuse_ranks(rankings, k=30)]
        assert list(rows["item_id"]) == with_tail_quota(every, 5, long_tail, members_quota(rankings, 5, long_tail))
    for wrong in (6, -1, "most"):
        with pytest.raises(ConrecError, match="long-tail quota is 'members' or between 0 and the 5 items kept"):
            ensemble_predictions(workspace, ["tiny-b10", "tiny-b20"], "tiny-tail", "test", k=5, tail_quota=wrong)


def test_a_calibrated_ensemble_holds_at_least_that_share_of_each_users_own_long_tail_share(tiny_world):
    workspace, _ = tiny_world
    predict(workspace, "tiny", config=DecodingConfig(beams=20, returns=20), save_as="tiny-b20")
    long_tail = long_tail_items(workspace)
    decoded = read_predictions(workspace, "tiny-b20")
    sids = load_codebook(workspace).sids
    popular = [item for item in sids.item_ids if item not in long_tail][:10]
    tail = [item for item in sids.item_ids if item in long_tail][:10]
    # two members that rank popular items first (in two orders), then long-tail ones: whatever the model ranks,
    # their top 5 leaves room for the user's own long-tail share to add some
    for name, order in (("popular-first", 1), ("popular-first-reversed", -1)):
        ranked = popular[::order] + tail[::order]
        records = [(sample.sample_id, sample.user_id, sample.anchor_ts, rank, sids.sid(item), item, 1.0 / rank)
                   for sample in decoded.drop_duplicates("sample_id").itertuples()
                   for rank, item in enumerate(ranked, start=1)]
        write_predictions(workspace, name, [int(s) for s in decoded["sample_id"].unique()], records)
    members = {name: read_predictions(workspace, name).groupby("sample_id")["item_id"].apply(list)
               for name in ("popular-first", "popular-first-reversed")}
    histories = read_samples(workspace, "test").set_index("sample_id")["context_negatives"]
    raised = 0
    for quota_rule in (MEMBERS, 0):
        name = f"tiny-calibrated-{quota_rule}"
        run = ensemble_predictions(workspace, list(members), name, "test", k=5, tail_quota=quota_rule,
                                   tail_calibration=1.0)
        assert run.tail_calibration == 1.0
        for sample_id, rows in read_predictions(workspace, name).groupby("sample_id"):
            rankings = [members[member][sample_id] for member in members]
            every = [item for item, _ in fuse_ranks(rankings, k=40)]
            floor = members_quota(rankings, 5, long_tail) if quota_rule == MEMBERS else 0
            quota = max(floor, calibrated_quota(list(histories[sample_id]), 5, long_tail, 1.0))
            assert list(rows["item_id"]) == with_tail_quota(every, 5, long_tail, quota)
            raised += list(rows["item_id"]) != with_tail_quota(every, 5, long_tail, floor)
    assert raised > 0  # the user's own share changed some lists, so the comparisons above tested the calibration
    for wrong in (-0.1, 1.5):
        with pytest.raises(ConrecError, match="long-tail calibration is a strength from 0 to 1"):
            ensemble_predictions(workspace, list(members), "tiny-calibrated", "test", k=5, tail_calibration=wrong)


def test_the_calibrated_quota_is_a_share_of_the_users_own_long_tail_share():
    tail = {"t1", "t2", "t3"}
    assert calibrated_quota(["t1", "a", "t2", "b"], 20, tail, 1.0) == 10  # half long-tail: 10 of 20
    assert calibrated_quota(["t1", "a", "t2", "b"], 20, tail, 0.5) == 5
    assert calibrated_quota(["t1", "t2", "t3"], 20, tail, 0.5) == 10
    assert calibrated_quota(["a", "b"], 20, tail, 1.0) == 0
    assert calibrated_quota([], 20, tail, 1.0) == 0  # no history: no quota of its own
    assert calibrated_quota(["t1", "a", "b"], 20, tail, 0.0) == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        calibrated_quota(["t1"], 20, tail, 1.2)


def test_the_members_quota_is_their_mean_long_tail_count_rounded_down():
    tail = {"t1", "t2", "t3"}
    assert members_quota([["t1", "t2", "a"], ["t3", "a", "b"]], 3, tail) == 1  # (2 + 1) // 2
    assert members_quota([["t1", "t2", "t3"], ["t3", "t1", "b"]], 3, tail) == 2  # (3 + 2) // 2
    assert members_quota([["t1", "t2", "t3"], ["t3", "t1", "b"]], 1, tail) == 1  # only the top 1 counts
    assert members_quota([], 3, tail) == 0
    assert parse_tail_quota("members") == MEMBERS and parse_tail_quota("4") == 4
    with pytest.raises(ValueError, match="'members' or a whole number"):
        parse_tail_quota("four")


def test_an_ensemble_of_two_decodings_is_stored_and_scored_like_a_model(tiny_world):
    workspace, _ = tiny_world
    narrow = predict(workspace, "tiny", config=DecodingConfig(beams=10, returns=10), save_as="tiny-b10")
    wide = predict(workspace, "tiny", config=DecodingConfig(beams=20, returns=20), save_as="tiny-b20")
    run = ensemble_predictions(workspace, ["tiny-b10", "tiny-b20"], "tiny-ens", "test", k=20)
    assert run.samples == narrow.samples == wide.samples
    stored = read_predictions(workspace, "tiny-ens")
    members = {name: read_predictions(workspace, name).groupby("sample_id")["item_id"].apply(list)
               for name in ("tiny-b10", "tiny-b20")}
    for sample_id, rows in stored.groupby("sample_id"):
        expected = fuse_ranks([members["tiny-b10"][sample_id], members["tiny-b20"][sample_id]], k=20)
        assert list(rows["item_id"]) == [item for item, _ in expected]
        assert list(rows["rank"]) == list(range(1, len(rows) + 1)) and rows["score"].is_monotonic_decreasing
    # the fused set is scored like any model's, with the same FHR@20 the ensemble reported
    scored = evaluate_predictions(workspace, "tiny-ens", "test")
    assert scored["fhr"].mean() == pytest.approx(run.fhr) and (scored["invalid_rate"] == 0).all()


def test_ensembles_refuse_what_they_cannot_fuse(tiny_world):
    workspace, _ = tiny_world
    predict(workspace, "tiny", config=DecodingConfig(beams=10, returns=10), save_as="tiny-b10")
    with pytest.raises(ConrecError, match="no test predictions stored for 'tiny-b20'"):
        ensemble_predictions(workspace, ["tiny-b10", "tiny-b20"], "tiny-ens")
    with pytest.raises(ConrecError, match="at least 1 item per sample"):
        ensemble_predictions(workspace, ["tiny-b10", "tiny"], "tiny-ens", k=0)
    with pytest.raises(ConrecError, match="is one of its members"):
        ensemble_predictions(workspace, ["tiny-b10", "tiny"], "tiny")
    with pytest.raises(ConrecError, match="is a checkpoint of this workspace"):  # its predictions stay
        ensemble_predictions(workspace, ["tiny-b10", "tiny-b10-again"], "tiny")
    # a member decoded with another codebook: the same item under another SID
    other = read_predictions(workspace, "tiny-b10")
    records = [(r.sample_id, r.user_id, r.anchor_ts, r.rank, r.sid + "<d_9>", r.item_id, r.score)
               for r in other.itertuples()]
    write_predictions(workspace, "other-codebook", [int(s) for s in other["sample_id"].unique()], records)
    with pytest.raises(ConrecError, match="different codebooks"):
        ensemble_predictions(workspace, ["tiny-b10", "other-codebook"], "tiny-ens")
    # a member that predicted only some of the samples
    first = int(other["sample_id"].min())
    write_predictions(workspace, "partial", [first], [(r.sample_id, r.user_id, r.anchor_ts, r.rank, r.sid, r.item_id,
                                                       r.score) for r in other.itertuples() if r.sample_id == first])
    with pytest.raises(ConrecError, match="lack predictions of some members"):
        ensemble_predictions(workspace, ["tiny-b10", "partial"], "tiny-ens")
