"""A baseline's stored metrics are kept by a rerun only while everything they depend on is unchanged."""

import time
from dataclasses import replace

from conrec_core.data.workspace import open_workspace, read_meta
from conrec_core.evaluation import baseline_runs
from conrec_core.evaluation.baseline_runs import PACKAGE, ranking_sources, run_key
from conrec_core.evaluation.baseline_settings import BaselineSettings
from conrec_core.evaluation.sasrec_config import SASRecConfig
from conrec_core.evaluation.scoring import evaluate_baselines, read_sample_metrics

from conftest import writable_copy

BASELINES = ["most_disliked", "item_cf"]


def created(workspace, split="validation"):
    metrics = read_sample_metrics(workspace, split)
    return metrics.groupby("method")["created_at"].max().to_dict()


def test_a_rerun_keeps_baselines_until_what_they_depend_on_changes(small_world, tmp_path, monkeypatch):
    workspace = writable_copy(small_world, tmp_path / "ws")
    sasrec, settings = SASRecConfig(), BaselineSettings()
    assert evaluate_baselines(workspace, BASELINES, "validation", 20, sasrec, settings) == []
    first = created(workspace)
    assert set(first) == set(BASELINES)

    # the same settings on the same samples: nothing scored again
    assert evaluate_baselines(workspace, BASELINES, "validation", 20, sasrec, settings) == BASELINES
    assert created(workspace) == first
    # another SASRec seed leaves the untrained baselines' rows standing
    assert evaluate_baselines(workspace, BASELINES, "validation", 20, replace(sasrec, seed=3), settings) == BASELINES

    # another K, other settings of the baseline: scored again
    assert evaluate_baselines(workspace, ["item_cf"], "validation", 10, sasrec, settings) == []
    tuned = replace(settings, item_cf=replace(settings.item_cf, history=settings.item_cf.history + 5))
    assert evaluate_baselines(workspace, ["most_disliked"], "validation", 20, sasrec, tuned) == []

    # rows gone from the table: scored again
    with open_workspace(workspace, read_only=False) as con:
        con.execute("DELETE FROM sample_metrics WHERE method = 'most_disliked' AND sample_id = "
                    "(SELECT min(sample_id) FROM sample_metrics WHERE method = 'most_disliked')")
    assert evaluate_baselines(workspace, ["most_disliked"], "validation", 20, sasrec, tuned) == []
    assert evaluate_baselines(workspace, ["most_disliked"], "validation", 20, sasrec, tuned) == ["most_disliked"]

    # the code that ranks or scores changed: scored again
    monkeypatch.setattr(baseline_runs, "code_digest", lambda: "another version")
    assert evaluate_baselines(workspace, ["most_disliked"], "validation", 20, sasrec, tuned) == []

    # new events: scored again
    monkeypatch.undo()
    with open_workspace(workspace, read_only=False) as con:
        con.execute("DELETE FROM events WHERE event_id = (SELECT max(event_id) FROM events)")
    assert evaluate_baselines(workspace, ["most_disliked"], "validation", 20, sasrec, tuned) == []


def test_the_key_holds_the_sasrec_seed_only_for_sasrec(small_world):
    settings = BaselineSettings()
    keys = {seed: {b: run_key(small_world, b, b, "test", 20, SASRecConfig(seed=seed), settings)
                   for b in ("ease", "sasrec_negatives")} for seed in (0, 1)}
    assert keys[0]["ease"] == keys[1]["ease"]
    assert keys[0]["sasrec_negatives"] != keys[1]["sasrec_negatives"]


def test_the_code_digest_covers_every_module_the_ranking_imports():
    names = {str(path.relative_to(PACKAGE)) for path in ranking_sources()}
    assert {"evaluation/scoring.py", "evaluation/baselines.py", "evaluation/sasrec.py", "evaluation/ease.py",
            "evaluation/item_cf.py", "evaluation/candidates.py", "metrics.py", "data/samples.py",
            "rl/swing.py"} <= names
    # the SID model's training and decoding are not what a baseline's rows depend on
    assert not {"lm/config.py", "lm/prompts.py", "decoding/search.py", "decoding/predict.py"} & names
    assert not any(name.startswith("training/") for name in names)


def test_a_swing_table_built_again_alike_keeps_the_key(small_world, tmp_path):
    from conrec_core.rl.swing import build_swing

    workspace = writable_copy(small_world, tmp_path / "ws")
    key = lambda: run_key(workspace, "swing_cf", "swing_cf", "test", 20, SASRecConfig(), BaselineSettings())
    with open_workspace(workspace, read_only=False) as con:
        build_swing(con)
        first = read_meta(con, "swing")["built_at"]
    before = key()
    time.sleep(1.1)  # built_at has whole seconds
    with open_workspace(workspace, read_only=False) as con:
        build_swing(con)  # the same settings on the same samples, at another time
        assert read_meta(con, "swing")["built_at"] != first
    assert key() == before
