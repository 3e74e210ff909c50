import json

import pandas as pd
import pytest

from conrec_core.cli import main
from conrec_core.data.samples import long_tail_items, read_samples
from conrec_core.errors import ConrecError
from conrec_core.evaluation.intervals import paired_test
from conrec_core.evaluation.scoring import common_samples, evaluate_baseline, read_sample_metrics, summarise
from conrec_core.decoding.decoding_config import DecodingConfig
from conrec_core.decoding.predict import predict
from conrec_core.decoding.prediction_store import read_predictions
from conrec_core.data.workspace import open_workspace


def test_evaluate_scores_a_checkpoint_and_the_baselines_per_sample(tiny_world, capsys):
    workspace, _ = tiny_world
    run = predict(workspace, "tiny", split="test")
    assert main(["evaluate", "--workspace", str(workspace), "--checkpoints", "tiny", "--json",
                 "--sasrec-steps", "20", "--sasrec-eval-every", "10",
                 "--sasrec-positives-context", "50"]) == 0
    table = {row["method"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(table) == {"tiny", "most_disliked", "swing_cf", "item_cf", "item_knn", "ease", "fused_baselines",
                          "sasrec_negatives-s0", "sasrec_both-s0", "sasrec_prior-s0"}
    assert table["tiny"]["fhr"] == pytest.approx(run.fhr) and table["tiny"]["hr"] == pytest.approx(run.hr)
    assert table["tiny"]["samples"] == run.samples
    for row in table.values():
        assert row["fhr_low"] <= row["fhr"] <= row["fhr_high"]
    best = table["tiny"]["best_baseline"]
    assert table[best]["fhr"] == max(row["fhr"] for name, row in table.items() if name != "tiny")
    assert 0 < table["tiny"]["fhr_p_value"] <= 1
    # LIF is tested against the best baseline by LIF, on the samples with a long-tail future negative only
    best_lif = table["tiny"]["best_lif_baseline"]
    assert table[best_lif]["lif"] == max(row["lif"] for name, row in table.items()
                                         if name != "tiny" and row["lif"] is not None)
    assert 0 < table["tiny"]["lif_p_value"] <= 1 and table[best_lif]["lif_p_value"] is None
    # per-sample rows recomputed by hand from the stored predictions
    metrics = read_sample_metrics(workspace, "test")
    mine = metrics[metrics["method"] == "tiny"].set_index("sample_id")
    predictions = read_predictions(workspace, "tiny")
    with open_workspace(workspace) as con:
        futures = dict(con.execute("SELECT sample_id, future_negatives FROM samples WHERE split = 'test'").fetchall())
    for sample_id, group in predictions.groupby("sample_id"):
        hit = bool(set(group["item_id"]) & set(futures[sample_id]))
        assert mine.loc[sample_id, "fhr"] == float(hit)
    # candidate accuracy: one value per sample with a 20-item line-up, in [0, 1]
    from conrec_core.evaluation.candidates import build_line_ups
    line_ups = build_line_ups(workspace, "test")
    scored = mine["candidate_accuracy"].dropna()
    assert set(scored.index) <= set(line_ups.line_ups) and scored.between(0, 1).all()
    for sample_id, (target, others) in list(line_ups.line_ups.items())[:5]:
        assert len(others) == 19 and target not in others
    # LUF is FHR over long-tail users only
    luf = mine[mine["long_tail_user"]]["fhr"].mean()
    assert table["tiny"]["luf"] == pytest.approx(luf) if mine["long_tail_user"].any() else table["tiny"]["luf"] is None


def test_summary_of_a_baseline_alone_has_no_test(tiny_world):
    workspace, _ = tiny_world
    metrics = evaluate_baseline(workspace, "most_disliked", "validation", k=5)
    assert metrics["k"].max() == 5 and (metrics["hr"] <= metrics["fhr"]).all()  # the next negative is in the window
    table = summarise(metrics.assign(method="most_disliked"), ("most_disliked",))
    assert table["fhr_p_value"].isna().all() and table["lif_p_value"].isna().all()


def test_lif_is_tested_on_the_samples_with_a_long_tail_future_negative_only():
    # users u0-u5, two samples each; LIF is missing (no long-tail future negative) on every second sample, where
    # the method misses and the baseline hits: counted, they would favour the baseline
    rows = []
    for user in range(6):
        for sample in range(2):
            sample_id, has_tail = user * 2 + sample, sample == 0
            for method, lif, fhr in (("method", 1.0, 1.0 if has_tail else 0.0), ("item_cf", 0.0, 1.0)):
                rows.append({"method": method, "sample_id": sample_id, "user_id": f"u{user}", "k": 20,
                             "hr": 0.0, "fhr": fhr, "ndcg": 0.0, "lif": lif if has_tail else None,
                             "candidate_accuracy": None, "invalid_rate": 0.0, "long_tail_user": False})
    table = summarise(pd.DataFrame(rows), ("item_cf",)).set_index("method")
    assert table.loc["item_cf", "best_lif_baseline"] == "item_cf" and table.loc["method", "lif"] == 1.0
    assert table.loc["method", "lif_p_value"] == pytest.approx(paired_test([1.0] * 6, [0.0] * 6,
                                                                           [f"u{u}" for u in range(6)])["p_value"])
    assert table.loc["method", "lif_p_value"] < 0.05  # all six users ahead on LIF
    assert table.loc["method", "fhr"] == 0.5 < table.loc["item_cf", "fhr"]  # while FHR, over every sample, is behind


def test_evaluate_refuses_a_checkpoint_without_predictions(tiny_world, capsys):
    workspace, _ = tiny_world
    assert main(["evaluate", "--workspace", str(workspace), "--checkpoints", "nothing-here", "--baselines"]) == 2
    assert "run predict first" in capsys.readouterr().err


def test_evaluate_compares_only_one_k_on_common_samples(tiny_world, capsys):
    workspace, _ = tiny_world
    users = read_samples(workspace, "test")["user_id"].unique()[:3].tolist()
    predict(workspace, "tiny", users=users, config=DecodingConfig(beams=10, returns=10))
    # ten predictions per sample cannot be scored at K = 20 beside the baselines
    assert main(["evaluate", "--workspace", str(workspace), "--checkpoints", "tiny", "--baselines",
                 "most_disliked"]) == 2
    assert "fewer than K = 20" in capsys.readouterr().err
    # at K = 10 they can, but only three users' samples were predicted: no comparison with the full split
    assert main(["evaluate", "--workspace", str(workspace), "--checkpoints", "tiny", "--baselines",
                 "most_disliked", "--k", "10"]) == 2
    assert "different samples" in capsys.readouterr().err
    metrics = read_sample_metrics(workspace, "test")
    shared = common_samples(metrics[metrics["method"].isin(["tiny", "most_disliked"])])
    assert set(shared["user_id"]) == set(users)
    assert shared.groupby("method")["sample_id"].apply(frozenset).nunique() == 1
    with pytest.raises(ConrecError, match="different K"):
        summarise(pd.concat([metrics[metrics["method"] == "tiny"],
                             evaluate_baseline(workspace, "most_disliked", k=5).assign(method="most_disliked")]))


def test_evaluate_reads_every_method_at_one_methods_long_tail_budget(tiny_world, capsys):
    workspace, _ = tiny_world
    predict(workspace, "tiny", split="test")
    args = ["evaluate", "--workspace", str(workspace), "--checkpoints", "tiny", "--baselines", "most_disliked",
            "item_cf"]
    assert main(args + ["--tail-budget-of", "nothing-here"]) == 2
    assert "'nothing-here' is not among the methods scored here" in capsys.readouterr().err
    assert main(args + ["--tail-budget-of", "tiny", "--json"]) == 0
    table = {row["method"]: row for row in json.loads(capsys.readouterr().out)}
    # the reference's own LIF at its own budget is its LIF; the others are paired against it
    assert table["tiny"]["long_tail_budget"]["lif_at_budget"]["value"] == pytest.approx(table["tiny"]["lif"])
    assert table["tiny"]["long_tail_budget"]["p_value_vs_reference"] is None
    assert 0 < table["item_cf"]["long_tail_budget"]["p_value_vs_reference"] <= 1
    # long-tail items per list, counted again from the stored top K
    tail = long_tail_items(workspace)
    ranked = read_sample_metrics(workspace, "test").query("method == 'item_cf'")["ranked"]
    assert table["item_cf"]["long_tail_budget"]["long_tail_items"] == pytest.approx(
        ranked.map(lambda items: sum(item in tail for item in items)).mean())
    assert table["most_disliked"]["long_tail_budget"]["lif_at_budget"]["value"] <= table["most_disliked"]["lif"]
    assert main(args + ["--tail-budget-of", "tiny"]) == 0
    assert "LIF@20 at tiny's long-tail budget" in capsys.readouterr().out
