import pytest

from conrec_core.errors import ConrecError
from conrec_core.evaluation.scoring import evaluate_predictions
from conrec_core.lm.decoding_config import DecodingConfig
from conrec_core.lm.ensemble import ensemble_predictions, fuse_ranks
from conrec_core.lm.predict import predict
from conrec_core.lm.prediction_store import read_predictions, write_predictions


def test_fusion_sums_reciprocal_ranks():
    fused = fuse_ranks([["a", "b", "c"], ["b", "c", "d"], ["b", "a", "e"]], k=3)
    assert [item for item, _ in fused] == ["b", "a", "c"]
    assert [score for _, score in fused] == pytest.approx([2 / 61 + 1 / 62, 1 / 61 + 1 / 62, 1 / 63 + 1 / 62])
    # a tie goes to the item met first, reading rank by rank: x is the first ranking's first item
    assert [item for item, _ in fuse_ranks([["x", "y"], ["y", "x"]], k=2)] == ["x", "y"]


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
