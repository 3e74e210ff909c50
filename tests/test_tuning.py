"""The tuning protocol: validation only, the same budget for every method, the defaults as the first trial, the
record kept beside the workspace and read by the pipeline while the samples it was made on stand."""

import doctest
import json
from dataclasses import replace

import pytest

from conrec_core.cli import main
from conrec_core.data.importer import rebuild_samples
from conrec_core.data.samples import read_sample_config
from conrec_core.errors import ConrecError
from conrec_core.evaluation.ease_config import EASEConfig
from conrec_core.experiment import tuning
from conrec_core.experiment.spec import quick_spec
from conrec_core.experiment.tuning import tune, tuned_settings, tuning_path, with_tuned


def test_docstring_examples_hold():
    result = doctest.testmod(tuning)
    assert result.attempted >= 2 and result.failed == 0


def test_a_tuning_run_never_reads_the_test_split(world, monkeypatch):
    with pytest.raises(ConrecError, match="validation split only"):
        tune(world, "ease", 2, split="test")
    read = []
    real = tuning.read_samples
    monkeypatch.setattr(tuning, "read_samples", lambda workspace, split, *a: read.append(split) or real(workspace,
                                                                                                         split, *a))
    tune(world, "ease", 3)
    assert read == ["validation"]


def test_tuning_keeps_every_trial_and_the_best_which_the_pipeline_then_uses(world, capsys):
    assert main(["tune", "--workspace", str(world), "--method", "ease", "--trials", "4", "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    record = json.loads(tuning_path(world, "ease").read_text())
    assert record["split"] == "validation" and record["budget"] == len(record["trials"]) == 4
    assert record["trials"][0]["settings"] == EASEConfig().to_dict()  # the defaults are always tried
    best = max(record["trials"], key=lambda trial: trial["fhr"])
    assert record["chosen"] == best["settings"] and record["chosen_fhr"] == best["fhr"]
    assert f"{best['fhr']:.4f}" in printed and "test" not in printed
    chosen = EASEConfig.from_dict(record["chosen"])
    assert tuned_settings(world, "ease") == chosen
    assert with_tuned(world, quick_spec()).baseline_settings.ease == chosen
    rebuild_samples(world, read_sample_config(world))  # the same settings, but samples made again
    assert tuned_settings(world, "ease") is not None
    rebuild_samples(world, replace(read_sample_config(world), window_days=3))  # other samples: the record is stale
    assert tuned_settings(world, "ease") is None and with_tuned(world, quick_spec()) == quick_spec()


@pytest.mark.parametrize("method, budget, message", [("oracle", 3, "no search space"), ("ease", 0, "at least 1")])
def test_a_tuning_request_out_of_bounds_is_refused(world, method, budget, message):
    with pytest.raises(ConrecError, match=message):
        tune(world, method, budget)


def test_sasrec_is_tuned_per_variant_and_trains_with_its_choice_at_the_runs_seed(world, monkeypatch):
    """SASRec goes through the same protocol: each trial trains to its validation plateau, the record keeps the
    variant's choice, and the pipeline's run trains that variant with it (and its own seed); the other variant
    keeps the run's settings."""
    from conrec_core.evaluation.sasrec_config import SASRecConfig

    # a short cap and a small space, so each trial is seconds: the protocol is what is tested
    space = tuning.SEARCH_SPACES["sasrec_both"]
    monkeypatch.setitem(tuning.SEARCH_SPACES, "sasrec_both",
                        replace(space, values={"hidden_size": (16, 32), "positives_context": (10, 20)}))
    short = SASRecConfig(steps=120, eval_every=40, patience=1, positives_context=20, hidden_size=16)
    record = tune(world, "sasrec_both", 2, seed=0, base=short)
    assert record.trials[0].settings == short.to_dict()
    assert all(trial.settings["steps"] == 120 for trial in record.trials)
    assert len({json.dumps(trial.settings, sort_keys=True) for trial in record.trials}) == 2
    assert all(0 <= trial.fhr <= 1 for trial in record.trials)
    chosen = SASRecConfig.from_dict(record.chosen)
    settings = with_tuned(world, quick_spec()).baseline_settings
    assert settings.sasrec_both == chosen and settings.sasrec_negatives is None
    run = SASRecConfig(seed=7, hidden_size=32)
    assert settings.sasrec_for(True, run) == replace(chosen, seed=7)
    assert settings.sasrec_for(False, run) == run
