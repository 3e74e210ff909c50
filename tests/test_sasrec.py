import doctest

import numpy as np
import pytest

from conrec_core.evaluation import sasrec
from conrec_core.evaluation.baselines import rank_baseline
from conrec_core.data.importer import import_source
from conrec_core.metrics import hit_rate
from conrec_core.data.samples import read_samples, seen_items
from conrec_core.errors import ConrecError
from conrec_core.decoding.prior import WEIGHT_GRID
from conrec_core.data.workspace import open_workspace
from conrec_core.evaluation.sasrec import choose_sasrec_prior, rank_sasrec, train_sasrec
from conrec_core.evaluation.sasrec_config import SASRecConfig
from tests.conftest import writable_copy, write

CHAIN = 80  # items c0 -> c1 -> ... : every user dislikes a run of consecutive items along the chain


def test_docstring_examples_hold():
    result = doctest.testmod(sasrec)
    assert result.attempted >= 1 and result.failed == 0


@pytest.fixture(scope="module")
def chain_world(tmp_path_factory):
    """Users dislike consecutive items of one chain, one a day, with random clicks between: the next negative
    is always the successor of the last one, which only a sequence model can know."""
    folder = tmp_path_factory.mktemp("chain")
    rng = np.random.default_rng(0)
    rows = []
    for user in range(60):
        start = int(rng.integers(0, CHAIN - 16))
        for step in range(16):
            day = 86_400 * (step + 1)
            rows.append(f"u{user},c{start + step},{day},dislike")
            rows.append(f"u{user},p{rng.integers(0, 30)},{day + 3600},click")
    events = write(folder / "events.csv", "user,item,time,action\n" + "\n".join(rows) + "\n")
    write(folder / "mapping.json", '{"events": {"user": "user", "item": "item", "time": "time", "kind": '
          '{"column": "action", "negative": ["dislike"], "positive": ["click"]}}}')
    import_source(events, folder / "ws.duckdb", mapping=folder / "mapping.json")
    return folder / "ws.duckdb"


@pytest.mark.parametrize("with_positives", [False, True])
def test_sasrec_learns_what_comes_next(chain_world, with_positives):
    steps = 600 if with_positives else 300
    config = SASRecConfig(with_positives=with_positives, steps=steps, eval_every=100, hidden_size=32, dropout=0.1)
    trained = train_sasrec(chain_world, config, validation=read_samples(chain_world, "validation", None))
    assert [step for step, _ in trained.validation_fhr] == list(range(100, steps + 1, 100))
    test = read_samples(chain_world, "test", None)
    seen = seen_items(chain_world, test["sample_id"])
    ranked = rank_sasrec(trained, test, [set(seen[i]) for i in test["sample_id"]], k=5)
    top1, top5 = (np.mean([hit_rate(r, n, k) for r, n in zip(ranked, test["next_negative"])]) for k in (1, 5))
    # chance is about 1 in 100; with clicks between the negatives the model must look past them, which it
    # learns more slowly from 60 users
    assert top5 > 0.5 and (with_positives or top1 > 0.8), (top1, top5)
    for items, sample_id in zip(ranked, test["sample_id"]):
        assert len(items) == len(set(items)) == 5
        assert not set(items) & set(seen[sample_id])


def test_the_prior_weight_is_chosen_on_validation_and_a_heavy_prior_ranks_by_popularity(chain_world):
    validation = read_samples(chain_world, "validation", None)
    trained = train_sasrec(chain_world, SASRecConfig(steps=200, eval_every=100, hidden_size=32, dropout=0.1),
                           validation=validation)
    weight, prior, fhr = choose_sasrec_prior(chain_world, trained, validation, k=5)
    assert list(fhr) == list(WEIGHT_GRID) and fhr[weight] == max(fhr.values())
    assert weight == min(w for w, v in fhr.items() if v == fhr[weight])  # ties go to the smaller weight
    test = read_samples(chain_world, "test", None)
    seen = seen_items(chain_world, test["sample_id"])
    excluded = [set(seen[i]) for i in test["sample_id"]]
    assert rank_sasrec(trained, test, excluded, k=5, prior=prior, weight=0.0) == rank_sasrec(trained, test, excluded,
                                                                                             k=5)
    with open_workspace(chain_world) as con:
        counts = dict(con.execute("SELECT item_id, train_negatives FROM item_stats").fetchall())
    for ranked, skip in zip(rank_sasrec(trained, test, excluded, k=5, prior=prior, weight=1e4), excluded):
        shown = [counts.get(item, 0) for item in ranked]
        assert shown == sorted(shown, reverse=True) and not set(ranked) & skip  # by popularity, never a seen item
        assert shown[0] == max(n for item, n in counts.items() if item not in skip)


def test_sasrec_baselines_share_the_baseline_interface(chain_world):
    test = read_samples(chain_world, "test", None).head(20)
    for method in ("sasrec_negatives", "sasrec_both", "sasrec_prior"):
        rankings = rank_baseline(chain_world, method, test, k=3, sasrec=SASRecConfig(steps=20, eval_every=10))
        assert len(rankings) == 20 and all(len(r) == 3 for r in rankings)


def test_sasrec_refuses_a_log_without_a_sequence(tmp_path):
    events = write(tmp_path / "e.csv", "user,item,time,action\nu1,a,100,dislike\nu2,b,200,click\n")
    write(tmp_path / "m.json", '{"events": {"user": "user", "item": "item", "time": "time", "kind": '
          '{"column": "action", "negative": ["dislike"], "positive": ["click"]}}}')
    import_source(events, tmp_path / "ws.duckdb", mapping=tmp_path / "m.json")
    with pytest.raises(ConrecError, match="nothing to learn"):
        train_sasrec(tmp_path / "ws.duckdb", SASRecConfig(steps=5))


def test_sasrec_config_checks_its_sizes():
    with pytest.raises(ValueError, match="multiple of heads"):
        SASRecConfig(hidden_size=30, heads=4)
    with pytest.raises(ValueError, match="dropout"):
        SASRecConfig(dropout=1.0)


def test_sasrec_prior_ranks_with_the_model_sasrec_negatives_just_trained(chain_world, tmp_path, monkeypatch):
    """Same settings and seed train the same model, so the second baseline reuses it; other settings, another
    seed or a changed workspace train again."""
    import shutil

    from conrec_core.evaluation import baselines

    monkeypatch.setattr(baselines, "_LAST_SASREC", [])  # an earlier test may have trained these settings
    calls = []
    real = sasrec.train_sasrec
    monkeypatch.setattr(sasrec, "train_sasrec", lambda *a, **kw: calls.append(a[1]) or real(*a, **kw))
    test = read_samples(chain_world, "test", None).head(10)
    config = SASRecConfig(steps=20, eval_every=10)
    negatives = rank_baseline(chain_world, "sasrec_negatives", test, k=3, sasrec=config)
    prior = rank_baseline(chain_world, "sasrec_prior", test, k=3, sasrec=config)
    assert len(calls) == 1 and len(prior) == len(negatives) == 10
    rank_baseline(chain_world, "sasrec_both", test, k=3, sasrec=config)  # positives too: another model
    rank_baseline(chain_world, "sasrec_negatives", test, k=3, sasrec=SASRecConfig(steps=20, eval_every=10, seed=1))
    assert [c.with_positives for c in calls] == [False, True, False] and calls[-1].seed == 1
    copy = shutil.copy(chain_world, tmp_path / "copy.duckdb")  # another workspace with the same data
    rank_baseline(copy, "sasrec_negatives", test, k=3, sasrec=SASRecConfig(steps=20, eval_every=10, seed=1))
    assert len(calls) == 4
    # the reused model gives the ranking a fresh one gives: training is deterministic
    assert rank_baseline(copy, "sasrec_negatives", test, k=3, sasrec=config) == negatives


def test_baselines_ranked_side_by_side_store_what_they_store_in_turn(chain_world, tmp_path):
    """The pipeline's baselines stage: each SASRec model in a process of its own (sasrec_prior with the model of
    sasrec_negatives), the untrained baselines in another; at the same thread count, the rows of a run in turn."""
    import pandas as pd
    import torch

    from conrec_core.evaluation.baseline_settings import BaselineSettings
    from conrec_core.evaluation.baselines import training_groups
    from conrec_core.evaluation.scoring import evaluate_baselines, read_sample_metrics
    from conrec_core.experiment.side_by_side import Job, run_side_by_side

    config = SASRecConfig(steps=20, eval_every=10)
    names = ["most_disliked", "sasrec_negatives", "sasrec_both", "sasrec_prior", "swing_cf"]
    stored, labels = {}, set()
    for workers in (1, 3):
        workspace = writable_copy(chain_world, tmp_path / f"workers-{workers}")
        jobs = [Job(" + ".join(group), evaluate_baselines, (workspace, group, "test", 3, config, BaselineSettings()))
                for group in training_groups(names)]
        run_side_by_side(jobs, workers, lambda fraction, message: labels.add(message.split(":")[0]),
                         threads=torch.get_num_threads())
        rows = read_sample_metrics(workspace, "test")
        stored[workers] = rows.assign(ranked=rows["ranked"].map(tuple))[["method", "sample_id", "fhr", "ranked"]]
    assert set(stored[3]["method"]) == {"most_disliked", "swing_cf", "sasrec_negatives-s0", "sasrec_both-s0",
                                        "sasrec_prior-s0"}
    assert labels == {"sasrec_negatives + sasrec_prior", "sasrec_both", "most_disliked + swing_cf"}
    pd.testing.assert_frame_equal(stored[1], stored[3])


def test_training_stops_once_validation_stops_improving(chain_world):
    """The step count is only a cap: with patience, training ends a `patience` of checks after the best one, and
    says where (the report's "where training stopped" table reads this)."""
    validation = read_samples(chain_world, "validation")
    trained = train_sasrec(chain_world, SASRecConfig(steps=5_000, eval_every=10, patience=2, hidden_size=32),
                           validation=validation)
    summary = trained.training_summary()
    checks = [step for step, _ in trained.validation_fhr]
    assert summary["last_check"] == checks[-1] < 5_000
    best_index = checks.index(summary["best_step"])
    assert len(checks) - 1 - best_index == 2  # stopped two checks after the best, none of them better
    assert all(fhr <= summary["best_validation_fhr"] for _, fhr in trained.validation_fhr)
