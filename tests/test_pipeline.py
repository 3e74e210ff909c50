"""The one-command pipeline in quick mode, on a copy of the small synthetic world without a codebook."""

import json
import shutil
from dataclasses import replace

import pandas as pd
import pytest

from conrec_core.cli import main
from conrec_core.lm.checkpoints import checkpoint_dir, list_checkpoints

from test_log_shapes import lightest


@pytest.mark.slow  # two more SFT and five more GRPO runs; the default suite runs the pipeline in test_log_shapes
def test_quick_pipeline_writes_a_full_report(small_world, tmp_path, capsys):
    workspace = tmp_path / "ws.duckdb"
    shutil.copy(small_world, workspace)
    out = tmp_path / "report"
    assert main(["pipeline", "--workspace", str(workspace), "--out", str(out), "--quick", "--seed", "3",
                 "--ablations"]) == 0
    assert "report:" in capsys.readouterr().out
    out = out / "seed-3"  # the one output layout: a folder per seed
    report = json.loads((out / "report.json").read_text())
    methods = {m["method"]: m for m in report["methods"]}
    rewards = ["next-negative", "future-negative", "future-negative-truncated", "default-truncated", "sid-levels"]
    models = ["pipeline-tiger-s3", "pipeline-lcrec-s3", "pipeline-sft-s3", "pipeline-grpo-s3"]
    # the quick preset compares with the untrained baselines and has no prior's row
    assert set(methods) == {"most_disliked", "swing_cf", "item_cf", "item_knn", "ease", "fused_baselines", *models,
                            *(f"pipeline-grpo-{r}-s3" for r in rewards)}
    assert report["command"].startswith("python -m conrec_core pipeline --workspace")
    assert report["config"]["sft"]["seed"] == 3 and report["config"]["grpo"]["seed"] == 3
    per_sample = pd.read_parquet(out / "sample_metrics.parquet")
    for name, method in methods.items():  # every reported figure is the mean of the per-sample table
        rows = per_sample[per_sample["method"] == name]
        assert method["samples"] == len(rows) and method["users"] == rows["user_id"].nunique()
        assert method["fhr"]["value"] == rows["fhr"].mean()
        assert method["fhr"]["low"] <= method["fhr"]["value"] <= method["fhr"]["high"]
        assert method["invalid_rate"]["value"] == 0.0  # constrained decoding returns K valid, new SIDs
    markdown = (out / "report.md").read_text()
    assert "| pipeline-grpo-s3 |" in markdown and "![metrics.png](metrics.png)" in markdown
    assert (out / "metrics.png").stat().st_size > 10_000 and (out / "grpo_validation.png").is_file()
    assert (out / "filter.png").is_file() and len(report["filter_simulation"]) == 6
    assert report["forgetting"]["warmup"] == "pipeline-sft-s3" and "Forgetting:" in markdown
    assert set(models) <= {c.name for c in list_checkpoints(workspace)}
    # comparison models train their subset of tasks, for their share of the full model's steps
    tiger = json.loads((checkpoint_dir(workspace, "pipeline-tiger-s3") / "training.json").read_text())
    assert tuple(tiger["sft"]["tasks"]) == ("next_negative",) and tiger["sft"]["steps"] == 20
    # the paper's Table 2, one added step per row, and Table 4's six rewards
    assert [row["method"] for row in report["ablation"]] == ["pipeline-lcrec-s3", "pipeline-sft-s3",
                                                           "pipeline-grpo-next-negative-s3",
                                                           "pipeline-grpo-future-negative-s3", "pipeline-grpo-s3"]
    assert len(report["reward_variants"]) == 6 and "Ablation (the paper's Table 2)" in markdown
    # the synthetic world knows each user's true dislikes: every method's share of hits on them, against chance
    truth = report["true_dislikes"]
    assert 0 < truth["catalogue"] < truth["observed_future_negatives"] <= 1
    for name, method in methods.items():
        rows = per_sample[per_sample["method"] == name]
        assert method["true_dislike_share"]["value"] == rows["true_dislike_share"].mean()
    assert "True latent dislikes" in markdown


def test_shipped_outputs_restore_into_a_fresh_import(small_world, tmp_path):
    """ship_outputs then restore_outputs, on the quick pipeline's workspace: what the app opens with."""
    from conrec_core.semantic_ids.store import load_codebook
    from conrec_core.experiment.pipeline import run_pipeline
    from conrec_core.shipped.sample_outputs import read_manifest, restore_outputs, ship_outputs
    from conrec_core.data.workspace import open_workspace

    workspace = tmp_path / "ws.duckdb"
    shutil.copy(small_world, workspace)
    config = replace(lightest(), seed=1, baselines=("most_disliked",))  # about shipping, not quality
    result = run_pipeline(workspace, tmp_path / "report", config)
    out = tmp_path / "outputs"
    ship_outputs(workspace, out, "small", "data-fingerprint", [result.names.sft, result.names.grpo], "the command")
    assert read_manifest(out)["checkpoints"] == ["pipeline-sft-s1", "pipeline-grpo-s1"]
    assert not list(out.rglob("state.safetensors"))  # no optimiser state shipped
    fresh = tmp_path / "fresh.duckdb"
    shutil.copy(small_world, fresh)
    assert restore_outputs(fresh, out, "data-fingerprint") is not None
    assert load_codebook(fresh).fingerprint == load_codebook(workspace).fingerprint
    assert {c.name for c in list_checkpoints(fresh)} == {"pipeline-sft-s1", "pipeline-grpo-s1"}
    for table in ("item_sids", "predictions", "sample_metrics"):
        query = f"SELECT * EXCLUDE (created_at) FROM {table} ORDER BY ALL" if table != "item_sids" else \
            "SELECT * FROM item_sids ORDER BY ALL"
        with open_workspace(workspace) as con:
            original = con.execute(query).df()
            if table == "predictions":
                original = original[original["checkpoint"].isin(["pipeline-sft-s1", "pipeline-grpo-s1"])]
        with open_workspace(fresh) as con:
            restored = con.execute(query).df()
        assert len(restored) == len(original) > 0
        pd.testing.assert_frame_equal(restored.reset_index(drop=True), original.reset_index(drop=True))


def test_pipeline_refuses_a_workspace_without_samples(tmp_path, capsys):
    from conrec_core.data.workspace import new_workspace

    with new_workspace(tmp_path / "empty.duckdb"):
        pass
    assert main(["pipeline", "--workspace", str(tmp_path / "empty.duckdb"), "--out", str(tmp_path / "r"),
                 "--quick"]) == 2
    assert "needs training, validation and test samples" in capsys.readouterr().err


def test_members_are_trained_apart_and_their_fusion_is_the_full_method(small_world, tmp_path):
    """Two members per seed: each its own SFT and GRPO run with its own seeds and initial weights; the report's SFT
    and full-method rows are the members' stored top K fused by reciprocal rank, and every member keeps a row."""
    from conrec_core.experiment.pipeline import run_pipeline
    from conrec_core.lm.checkpoints import read_training
    from conrec_core.data.samples import long_tail_items
    from conrec_core.decoding.ensemble import fuse_ranks
    from conrec_core.decoding.prediction_store import read_predictions
    from conrec_core.decoding.tail_quota import MEMBERS, members_quota, with_tail_quota
    from conrec_core.experiment.side_by_side import side_by_side_workers

    workspace = tmp_path / "ws.duckdb"
    shutil.copy(small_world, workspace)
    config = replace(lightest(), seed=1, members=2, baselines=("most_disliked",), tail_quota=MEMBERS,
                     tail_calibration=0.5)
    result = run_pipeline(workspace, tmp_path / "report", config)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    sft = ["pipeline-sft-m0-s1", "pipeline-sft-m1-s1"]
    grpo = ["pipeline-grpo-m0-s1", "pipeline-grpo-m1-s1"]
    assert [m["method"] for m in report["methods"]] == ["most_disliked", *sft, "pipeline-sft-fused-s1", *grpo,
                                                        "pipeline-grpo-fused-s1"]
    roles = {m["method"]: m["role"] for m in report["methods"]}
    assert roles["pipeline-grpo-fused-s1"].endswith(
        "2 members fused, keeping their long-tail share or 0.5 of the user's own, whichever is more") and roles[grpo[1]].endswith("member 1")
    records = [read_training(checkpoint_dir(workspace, name)) for name in sft]
    assert [r["sft"]["seed"] for r in records] == [2, 3] and [r["backbone"]["seed"] for r in records] == [2, 3]
    assert [read_training(checkpoint_dir(workspace, name))["warmup"] for name in grpo] == sft
    assert report["full_method"] == "pipeline-grpo-fused-s1" and report["filter_checkpoint"] == grpo[0]
    assert report["prior"] is None and report["forgetting"]["warmup"] == sft[0]
    assert "pipeline-grpo-fused-s1" not in {c.name for c in list_checkpoints(workspace)}
    members = [read_predictions(workspace, name) for name in grpo]
    fused = read_predictions(workspace, "pipeline-grpo-fused-s1")
    long_tail, k = long_tail_items(workspace), config.decoding.returns
    assert config.tail_quota == MEMBERS  # asked for: the fusion keeps the members' long-tail share
    for sample_id, rows in fused.groupby("sample_id"):
        rankings = [m[m["sample_id"] == sample_id].sort_values("rank")["item_id"].tolist() for m in members]
        every = [item for item, _ in fuse_ranks(rankings, 2 * k)]
        quota = members_quota(rankings, k, long_tail)
        expected = with_tail_quota(every, k, long_tail, quota)
        assert rows.sort_values("rank")["item_id"].tolist() == expected
        assert sum(item in long_tail for item in expected) >= min(quota, sum(item in long_tail for item in every))
    assert result.names.grpo_checkpoint == grpo[0]
    # every method's LIF read at the full method's long-tail budget: the full method's own is its LIF
    budget = {row["method"]: row for row in report["long_tail_budget"]["methods"]}
    assert report["long_tail_budget"]["reference"] == "pipeline-grpo-fused-s1" and set(budget) == set(roles)
    full = next(m for m in report["methods"] if m["method"] == "pipeline-grpo-fused-s1")
    assert budget["pipeline-grpo-fused-s1"]["lif_at_budget"]["value"] == full["lif"]["value"]
    assert "Long tail at an equal budget" in (tmp_path / "report" / "report.md").read_text()
    assert (tmp_path / "report" / "long_tail.png").is_file()
    # a one-member run's checkpoints of the same seed (e.g. restored sample outputs) do not collide with the fusion
    single = run_pipeline(workspace, tmp_path / "single", replace(config, members=1))
    assert single.names.grpo == "pipeline-grpo-s1" and not read_predictions(workspace, "pipeline-grpo-s1").empty
    again = run_pipeline(workspace, tmp_path / "again", config)
    assert "pipeline-grpo-fused-s1" in again.methods and set(again.methods) == set(result.methods)
    # on a CPU with cores to share the members trained side by side; the rerun kept them
    stage = "members side by side" if side_by_side_workers(2) > 1 else "sft member 1"
    kept = json.loads((tmp_path / "again" / "report.json").read_text())["kept_stages"]
    assert stage in report["seconds"] and stage in kept
    # and the baselines' rows, scored with the same settings on the same samples
    assert "baselines" in kept and "baselines" not in report["kept_stages"]
