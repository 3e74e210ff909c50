"""Every shape of real log runs end to end through the pipeline: id-only items (no item file), no positives,
and users whose first negative comes after the test cut."""

import json
from dataclasses import replace

import pandas as pd
import pytest

from conrec_core.data.importer import import_source, rebuild_samples
from conrec_core.data.samples import read_sample_config, read_samples
from conrec_core.data.synthetic import generate_world, write_world
from conrec_core.data.synthetic_config import WorldConfig
from conrec_core.experiment.pipeline import run_pipeline
from conrec_core.experiment.resume import checkpoint_kept, codebook_kept
from conrec_core.evaluation.baseline_names import BASELINES
from conrec_core.experiment.spec import ExperimentSpec, quick_spec
from conrec_core.lm.checkpoints import checkpoint_dir

MAPPING = ('{"events": {"user": "user_id", "item": "item_id", "time": "ts", "time_unit": "s", "kind": {"column": '
           '"action", "negative": ["not_interested"], "positive": ["click", "purchase"], "neutral": ["impression"]}}}')


def lightest() -> ExperimentSpec:
    """The quick pipeline, lighter still, with every stage the default pipeline has (the SASRec baselines and the
    prior's row, which the quick preset leaves out): these tests are about running, not about quality."""
    quick = quick_spec()
    return replace(quick, baselines=BASELINES, prior=True, codebook=replace(quick.codebook, epochs=4, code_decoder_steps=20),
                   sft=replace(quick.sft, steps=20, eval_every=20, checkpoint_every=20, eval_examples=10,
                               ranking_samples=10),
                   grpo=replace(quick.grpo, steps_per_stage=1, eval_samples=8),
                   sasrec=replace(quick.sasrec, steps=10, eval_every=10, positives_context=50))


@pytest.fixture(scope="module")
def world_events(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("shapes")
    return pd.read_parquet(write_world(generate_world(WorldConfig(users=40, items=120, shops=10, days=21)), folder))


def late_first_negatives(events: pd.DataFrame) -> pd.DataFrame:
    """A third of the users keep no negative before their 80th-percentile event time."""
    cut = events.groupby("user_id")["ts"].transform(lambda ts: ts.quantile(0.8))
    late_users = set(sorted(events["user_id"].unique())[::3])
    early_negative = (events["action"] == "not_interested") & (events["ts"] < cut)
    return events[~(early_negative & events["user_id"].isin(late_users))]


SHAPES = {
    "id-only items": lambda events: events[["user_id", "item_id", "ts", "action"]],
    "no positives": lambda events: events[~events["action"].isin(["click", "purchase"])],
    "users with no negative before the test cut": late_first_negatives,
}
# A whole pipeline per shape: the default suite keeps the shape that is hardest on the samples and the
# models; the other two run with -m slow (an id-only codebook is also trained in tests/test_codebook.py).
SLOW_SHAPES = {"id-only items", "no positives"}


@pytest.mark.parametrize("shape", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW_SHAPES else name
                                   for name in SHAPES])
def test_the_pipeline_runs_on_every_shape_of_log(world_events, tmp_path, shape):
    SHAPES[shape](world_events).to_csv(tmp_path / "events.csv", index=False)
    (tmp_path / "mapping.json").write_text(MAPPING)  # no item file: items are known by id only
    workspace = tmp_path / "ws.duckdb"
    import_source(tmp_path / "events.csv", workspace, mapping=tmp_path / "mapping.json")
    if shape.startswith("users"):
        test = read_samples(workspace, "test")
        assert (test["context_negatives"].map(len) == 0).any()  # the shape is really there
    result = run_pipeline(workspace, tmp_path / "report", lightest())
    report = (tmp_path / "report" / "report.md").read_text()
    for method in result.methods:
        assert f"| {method} |" in report
    # the full method re-ranked with the popularity prior, its weight the best of the grid on validation
    prior = json.loads((tmp_path / "report" / "report.json").read_text())["prior"]
    assert "pipeline-grpo-prior-s0" in result.methods and prior["method"] == "pipeline-grpo-prior-s0"
    assert prior["fhr"][str(prior["weight"])] == max(prior["fhr"].values()) and "Popularity prior" in report
    if shape == "users with no negative before the test cut":  # once: a rerun keeps what finished
        rerun_keeps_finished_models(workspace, tmp_path, lightest())


def rerun_keeps_finished_models(workspace, tmp_path, config: ExperimentSpec) -> None:
    """A second run with the same settings keeps the finished SFT and GRPO models instead of training them
    again; any other setting, warm-up or samples and the model is trained again."""
    weights = {name: (checkpoint_dir(workspace, name) / "model.safetensors").stat().st_mtime_ns
               for name in ("pipeline-sft-s0", "pipeline-grpo-s0")}
    run_pipeline(workspace, tmp_path / "again", config)
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["kept_stages"] == ["codebook", "sft", "grpo", "baselines"] and "Kept from an earlier run" in \
        (tmp_path / "again" / "report.md").read_text()
    assert weights == {name: (checkpoint_dir(workspace, name) / "model.safetensors").stat().st_mtime_ns
                       for name in weights}
    sft = {"sft": config.seeded().sft, "backbone": config.backbone}
    assert checkpoint_kept(workspace, "pipeline-sft-s0", sft)
    assert not checkpoint_kept(workspace, "pipeline-sft-s0", {**sft, "sft": replace(sft["sft"], steps=21)})
    grpo = {"grpo": config.seeded().grpo, "backbone": config.backbone}
    assert checkpoint_kept(workspace, "pipeline-grpo-s0", grpo, warmup="pipeline-sft-s0")
    assert not checkpoint_kept(workspace, "pipeline-grpo-s0", grpo, warmup="another-sft")
    assert not checkpoint_kept(workspace, "no-such-checkpoint", sft)
    codebook = config.seeded().codebook
    assert codebook_kept(workspace, "default", codebook)
    assert not codebook_kept(workspace, "default", replace(codebook, seed=codebook.seed + 1))
    assert not codebook_kept(workspace, "default-s1", codebook)  # never fitted
    rebuild_samples(workspace, replace(read_sample_config(workspace), window_days=3))
    assert not checkpoint_kept(workspace, "pipeline-sft-s0", sft)  # fitted on other samples
