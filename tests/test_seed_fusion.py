"""Seeds fused: each sample's stored top-K rankings of a learnt method's seeds fused into one, scored like any
method, and summarised beside the deterministic baselines."""

import pytest

from conrec_core.data.samples import read_samples
from conrec_core.data.workspace import open_workspace
from conrec_core.errors import ConrecError
from conrec_core.evaluation.baselines import rank_baseline
from conrec_core.evaluation.scoring import evaluate_baseline, evaluate_rankings, read_sample_metrics
from conrec_core.experiment.seed_fusion import fuse_methods, fuse_seeds
from conrec_core.decoding.ensemble import fuse_ranks
from conrec_core.metrics import future_hit_rate
from conrec_core.rl.swing import ensure_swing
from tests.conftest import writable_copy


@pytest.fixture
def two_seeds(small_world, tmp_path):
    """Two 'seeds' of one learnt method: real rankings (most-disliked's and Swing's) stored under seed names."""
    workspace = writable_copy(small_world, tmp_path)
    ensure_swing(workspace)
    samples = read_samples(workspace, "test")
    rankings = {}
    for seed, baseline in enumerate(("most_disliked", "swing_cf")):
        rankings[seed] = rank_baseline(workspace, baseline, samples, 20)
        evaluate_rankings(workspace, f"pipeline-sft-s{seed}", "test", samples, rankings[seed], 20)
    evaluate_baseline(workspace, "most_disliked", "test", 20)
    return workspace, samples, rankings


def test_fused_seeds_are_the_rank_fusion_of_each_samples_rankings(two_seeds):
    workspace, samples, rankings = two_seeds
    fused = fuse_methods(workspace, ["pipeline-sft-s0", "pipeline-sft-s1"], "pipeline-sft-s0-1")
    assert len(fused) == len(samples) > 0
    for (_, sample), first, second, row in zip(samples.iterrows(), rankings[0], rankings[1], fused.itertuples()):
        expected = [item for item, _ in fuse_ranks([first, second], 20)]
        assert row.sample_id == sample.sample_id and list(row.ranked) == expected
        assert row.fhr == future_hit_rate(expected, list(sample.future_negatives), 20)
    stored = read_sample_metrics(workspace, "test")
    stored = stored[stored["method"] == "pipeline-sft-s0-1"]
    assert stored["fhr"].mean() == pytest.approx(fused["fhr"].mean())


def test_fuse_seeds_fuses_learnt_methods_and_keeps_deterministic_ones(two_seeds):
    workspace, _, _ = two_seeds
    table = fuse_seeds(workspace, {0: ["most_disliked", "pipeline-sft-s0"], 1: ["most_disliked", "pipeline-sft-s1"]},
                       "test", ("most_disliked",))
    assert list(table["method"]) == ["most_disliked", "pipeline-sft-s0-1"]
    metrics = read_sample_metrics(workspace, "test").set_index("method")
    assert table.loc[1, "fhr"] == pytest.approx(metrics.loc["pipeline-sft-s0-1", "fhr"].mean())
    assert (table["best_baseline"] == "most_disliked").all() and 0 <= table.loc[1, "fhr_p_value"] <= 1
    with pytest.raises(ConrecError, match="two or more runs of the same methods"):
        fuse_seeds(workspace, {0: ["most_disliked"]}, "test")


def test_fusion_refuses_rankings_it_cannot_compare(two_seeds):
    workspace, samples, rankings = two_seeds
    with pytest.raises(ConrecError, match="no test metrics for 'pipeline-sft-s2'"):
        fuse_methods(workspace, ["pipeline-sft-s0", "pipeline-sft-s2"], "fused")
    with pytest.raises(ConrecError, match="two or more distinct methods"):
        fuse_methods(workspace, ["pipeline-sft-s0", "pipeline-sft-s0"], "fused")
    evaluate_rankings(workspace, "pipeline-sft-s2", "test", samples, rankings[0], 10)
    with pytest.raises(ConrecError, match="different K"):
        fuse_methods(workspace, ["pipeline-sft-s0", "pipeline-sft-s2"], "fused")
    evaluate_rankings(workspace, "pipeline-sft-s2", "test", samples.iloc[1:], rankings[0][1:], 20)
    with pytest.raises(ConrecError, match="different test samples"):
        fuse_methods(workspace, ["pipeline-sft-s0", "pipeline-sft-s2"], "fused")
    with open_workspace(workspace, read_only=False) as con:  # what a version 2 workspace kept
        con.execute("UPDATE sample_metrics SET ranked = NULL WHERE method = 'pipeline-sft-s1'")
    with pytest.raises(ConrecError, match="scored before conrec kept rankings"):
        fuse_methods(workspace, ["pipeline-sft-s0", "pipeline-sft-s1"], "fused")
