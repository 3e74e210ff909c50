"""The pipeline outputs shipped in sample_data/outputs: made from exactly the shipped data, and what a newcomer's
workspace opens with."""

import json
import shutil

import pandas as pd
import pytest

from conrec_core.semantic_ids.store import fingerprint, load_codebook
from conrec_core.experiment.names import MethodNames
from conrec_core.experiment.resume import checkpoint_kept, codebook_kept
from conrec_core.experiment.spec import ExperimentSpec, quick_spec
from conrec_core.evaluation.scoring import evaluate_predictions, read_sample_metrics
from conrec_core.lm.checkpoints import list_checkpoints
from conrec_core.decoding.predict import predict
from conrec_core.decoding.prediction_store import read_predictions
from conrec_core.shipped.sample_data import SAMPLES, outputs_dir, sample_workspace, source_fingerprint
from conrec_core.shipped.sample_outputs import MANIFEST, read_manifest, restore_outputs
from conrec_core.data.workspace import open_workspace

SHIPPED = outputs_dir("synthetic-shop")


def test_shipped_outputs_match_the_shipped_data():
    manifest = read_manifest(SHIPPED)
    assert manifest is not None, "a shipped file differs from its manifest digest"
    assert manifest["source_fingerprint"] == source_fingerprint(SAMPLES["synthetic-shop"].folder)
    assert manifest["command"].startswith("python -m conrec_core pipeline --sample synthetic-shop")
    assert "--ship" in manifest["command"]
    sids = pd.read_parquet(SHIPPED / "tables" / "item_sids.parquet").sort_values("item_id")
    items = pd.read_parquet(SAMPLES["synthetic-shop"].folder / "items.parquet")
    assert sorted(sids["item_id"]) == sorted(items["item_id"])
    stamp = fingerprint(SHIPPED / "codebooks" / "default" / "model.safetensors", list(sids["item_id"]),
                        list(sids["sid"]))
    assert stamp == manifest["codebook_fingerprint"]
    for name in manifest["checkpoints"]:
        training = json.loads((SHIPPED / "checkpoints" / name / "training.json").read_text())
        assert training["fingerprint"] == stamp and training["finished"]
    predictions = pd.read_parquet(SHIPPED / "tables" / "predictions.parquet")
    assert set(predictions["checkpoint"]) == set(manifest["checkpoints"]) | set(manifest["prediction_sets"])
    assert set(predictions["item_id"]) <= set(items["item_id"])


def test_a_new_workspace_opens_with_the_shipped_outputs(tmp_path):
    path = sample_workspace("synthetic-shop", tmp_path)
    manifest = read_manifest(SHIPPED)
    codebook = load_codebook(path)  # weights, items and SIDs agree
    assert codebook.fingerprint == manifest["codebook_fingerprint"]
    assert set(manifest["checkpoints"]) <= {c.name for c in list_checkpoints(path)}
    final = manifest["checkpoints"][-1]
    shipped = read_sample_metrics(path).query("method == @final").set_index("sample_id")
    # every shipped figure is recomputed from the shipped predictions ...
    again = evaluate_predictions(path, final).set_index("sample_id")
    for metric in ("hr", "fhr", "ndcg", "candidate_accuracy", "true_dislike_share"):
        pd.testing.assert_series_equal(again[metric], shipped.loc[again.index, metric], check_names=False,
                                       check_dtype=False)
    # ... and the shipped model decodes those predictions again
    before = read_predictions(path, final)
    user = before["user_id"].iloc[0]
    predict(path, final, users=[user])
    after = read_predictions(path, final)
    columns = ["sample_id", "rank", "item_id"]
    pd.testing.assert_frame_equal(before.loc[before["user_id"] == user, columns].reset_index(drop=True),
                                  after.loc[after["user_id"] == user, columns].reset_index(drop=True))
    with open_workspace(path) as con:
        assert con.execute("SELECT count(*) FROM swing_neighbours").fetchone()[0] > 0
    # the Pipeline page has the shipped run's report to show
    from conrec_core.experiment.runs import list_runs
    shipped_run = json.loads((SHIPPED / "run" / "run.json").read_text())
    runs = list_runs(path)
    assert [record.name for record, _ in runs] == [shipped_run["name"]]
    assert runs[0][1].method(runs[0][1].full_method).fhr.value == pytest.approx(
        json.loads((SHIPPED / "run" / "report.json").read_text())["primary"]["full"])
    # the default pipeline on it keeps the shipped codebook and models instead of training them again
    config = ExperimentSpec().seeded()
    assert codebook_kept(path, "default", config.codebook)
    names = MethodNames(0, members=config.members)
    for member, (sft, grpo) in enumerate(zip(names.sft_members, names.grpo_members)):
        backbone = config.member_backbone(member)
        assert checkpoint_kept(path, sft, {"sft": config.member_sft(member), "backbone": backbone})
        assert checkpoint_kept(path, grpo, {"grpo": config.member_grpo(member), "backbone": backbone},
                                      warmup=sft)


def test_outputs_of_other_data_or_changed_files_are_not_restored(tmp_path, small_world):
    workspace = tmp_path / "ws.duckdb"
    shutil.copy(small_world, workspace)
    copy = tmp_path / "outputs"
    shutil.copytree(SHIPPED, copy)
    assert restore_outputs(workspace, copy, "another dataset") is None
    manifest = json.loads((copy / MANIFEST).read_text())
    table = copy / "tables" / "predictions.parquet"
    table.write_bytes(table.read_bytes()[:-10])
    assert read_manifest(copy) is None
    assert restore_outputs(workspace, copy, manifest["source_fingerprint"]) is None
    assert not (tmp_path / "ws.files" / "checkpoints").exists()


def test_shipping_needs_a_sample(tmp_path, capsys):
    from conrec_core.cli import main

    assert main(["pipeline", "--workspace", str(tmp_path / "x.duckdb"), "--out", str(tmp_path / "r"),
                 "--ship"]) == 2
    assert "--ship needs --sample" in capsys.readouterr().err


def test_pipeline_ship_writes_the_sample_outputs_of_its_run(monkeypatch, tmp_path, capsys):
    """The --ship wiring: the pipeline's own workspace and checkpoint names go to ship_sample_outputs."""
    from conrec_core.experiment import seeds
    from conrec_core.shipped import sample_data
    from conrec_core.cli import main
    from conrec_core.experiment.names import MethodNames
    from conrec_core.experiment.pipeline import PipelineResult

    calls = {}
    monkeypatch.setattr(sample_data, "sample_workspace", lambda name: tmp_path / f"{name}.duckdb")
    monkeypatch.setattr(seeds, "run_seeds", lambda workspace, spec, chosen, root, **kw: seeds.SeedsResult(
        root, [], {seed: PipelineResult(root / f"seed-{seed}", ["m"], {"all": 1.0}, MethodNames(seed))
                   for seed in chosen}, None))
    monkeypatch.setattr(sample_data, "ship_sample_outputs",
                        lambda *args, run=None: calls.setdefault("ship", args + (run,)) and tmp_path / "shipped")
    assert main(["pipeline", "--sample", "synthetic-shop", "--out", str(tmp_path / "r"), "--seed", "4",
                 "--ship"]) == 0
    name, workspace, names, command, run = calls["ship"]
    assert run == tmp_path / "r" / "seed-4"  # the run's report folder ships with the models
    assert (name, workspace, names.grpo) == ("synthetic-shop", tmp_path / "synthetic-shop.duckdb",
                                             "pipeline-grpo-s4")
    assert command.endswith("--seed 4 --ship") and "shipped outputs:" in capsys.readouterr().out
