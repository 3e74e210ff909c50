"""Several seeds in one table: methods matched by role, mean ± sd over seeds, each seed's own figures kept."""

import json
import shutil
import statistics

import pytest

from conrec_core.cli import main
from conrec_core.evaluation.scoring import read_sample_metrics
from conrec_core.evaluation.report_record import SCHEMA_VERSION, Report
from conrec_core.evaluation.seed_summary import markdown, summarise_seeds
from conrec_core.lm.checkpoints import checkpoint_dir, read_training
from conrec_core.decoding.ensemble import fuse_ranks
from conrec_core.semantic_ids.store import load_codebook


def row(method, role, fhr, p=None, k=20):
    cell = {"value": fhr, "low": fhr - 0.05, "high": fhr + 0.05}
    return {"method": method, "role": role, "k": k, "samples": 10, "users": 8, "fhr": cell, "hr": cell,
            "lif": None, "luf": cell, "ndcg": cell, "candidate_accuracy": cell, "fhr_p_value_vs_best_baseline": p}


def typed(reports: dict[int, dict]) -> dict[int, Report]:
    """Report records from the parts of a report.json these tests are about."""
    return {seed: Report.from_dict({"schema_version": SCHEMA_VERSION, "workspace": "w", "split": "test",
                                    "full_method": report["methods"][0]["method"], **report})
            for seed, report in reports.items()}


def test_methods_are_matched_by_role_and_summarised_over_seeds():
    reports = {0: {"best_baseline": "most_disliked",
                   "methods": [row("most_disliked", "popular", 0.17), row("pipeline-sft-s0", "SID", 0.12, 0.01)]},
               1: {"best_baseline": "sasrec_negatives-s1",
                   "methods": [row("most_disliked", "popular", 0.17), row("pipeline-sft-s1", "SID", 0.16, 0.4)]},
               2: {"best_baseline": "most_disliked", "methods": [row("most_disliked", "popular", 0.17)]}}
    summary = summarise_seeds(typed(reports))
    popular, sid = summary["methods"]
    assert popular["fhr"]["mean"] == pytest.approx(0.17) and popular["fhr"]["sd"] == pytest.approx(0.0)
    assert sid["seeds"] == 2 and sid["names"] == {0: "pipeline-sft-s0", 1: "pipeline-sft-s1"}
    assert sid["fhr"]["mean"] == pytest.approx(0.14) and sid["fhr"]["sd"] == pytest.approx(statistics.stdev([.12, .16]))
    assert sid["p_value_vs_best_baseline"] == {0: 0.01, 1: 0.4} and sid["lif"]["mean"] is None
    table = markdown(summary)
    assert "| SID | 2 | 0.140 ± 0.028 |" in table and "0.120 [0.070, 0.170] (p = 0.010)" in table
    assert table.count("\n| ") == 3 and "| – |" in table  # seed 2 has no SID row
    reports[2]["methods"].append(row("pipeline-sft-s2", "SID", 0.1, k=10))
    summary["fused"] = [{"method": "pipeline-sft-s0-1", "label": "SID, seeds 0, 1 fused", "samples": 9, "users": 9,
                         "fhr": 0.2, "fhr_low": 0.1, "fhr_high": 0.3, "hr": 0.1, "hr_low": 0.0, "hr_high": 0.2,
                         "lif": None, "lif_low": None, "lif_high": None, "best_baseline": "most_disliked",
                         "fhr_p_value": 0.04}]
    assert ("| SID, seeds 0, 1 fused | 9 | 0.200 [0.100, 0.300] | 0.100 [0.000, 0.200] | – | 0.040 | – |"
            in markdown(summary))
    reports[2]["methods"].append(row("pipeline-sft-s2", "SID", 0.1, k=10))
    with pytest.raises(ValueError, match="different K"):
        summarise_seeds(typed(reports))


def test_lif_at_the_long_tail_budget_is_averaged_over_the_seeds_that_report_it():
    def budget(method, value):
        return {"reference": method, "methods": [{"method": method, "long_tail_items": 3.0, "lif_at_budget":
                                                  {"value": value, "low": 0.0, "high": 1.0}}]}

    reports = {0: {"methods": [row("pipeline-grpo-s0", "full", 0.2)], "long_tail_budget": budget("pipeline-grpo-s0", 0.05)},
               1: {"methods": [row("pipeline-grpo-s1", "full", 0.2)], "long_tail_budget": budget("pipeline-grpo-s1", 0.07)},
               2: {"methods": [row("pipeline-grpo-s2", "full", 0.2)]}}  # no long-tail future negative: no section
    full, = summarise_seeds(typed(reports))["methods"]
    assert full["lif_at_budget"]["mean"] == pytest.approx(0.06) and set(full["lif_at_budget"]["per_seed"]) == {0, 1}
    assert "LIF@20 at the full method's long-tail budget" in markdown(summarise_seeds(typed(reports)))
    assert "| full | 3 | 0.200 ± 0.000 | 0.200 ± 0.000 | – | 0.060 ± 0.014 |" in markdown(summarise_seeds(typed(reports)))


@pytest.mark.slow  # two quick pipelines
def test_pipeline_with_two_seeds_writes_a_report_per_seed_and_the_summary(small_world, tmp_path, capsys):
    workspace = tmp_path / "ws.duckdb"
    shutil.copy(small_world, workspace)
    out = tmp_path / "report"
    assert main(["pipeline", "--workspace", str(workspace), "--out", str(out), "--quick", "--seeds", "2",
                 "--codebook-per-seed"]) == 0
    assert "seeds.md" in capsys.readouterr().out
    reports = {seed: json.loads((out / f"seed-{seed}" / "report.json").read_text()) for seed in (0, 1)}
    summary = json.loads((out / "seeds.json").read_text())
    assert summary["seeds"] == [0, 1]
    for method in summary["methods"]:
        values = [next(r["fhr"]["value"] for r in reports[seed]["methods"] if r["role"] == method["role"])
                  for seed in (0, 1)]
        assert method["fhr"]["mean"] == pytest.approx(statistics.fmean(values))
        assert method["fhr"]["sd"] == pytest.approx(statistics.stdev(values))
    by_role = {m["role"]: m for m in summary["methods"]}
    assert by_role["baseline: most-disliked items"]["fhr"]["sd"] == 0  # no seed in it
    sid = next(m for m in summary["methods"] if m["names"]["0"] == "pipeline-sft-s0")
    assert sid["names"] == {"0": "pipeline-sft-s0", "1": "pipeline-sft-s1"}
    # every learnt method's two seeds fused, the deterministic baselines as they are
    fused = {r["method"]: r for r in summary["fused"]}
    assert {"most_disliked", "pipeline-sft-s0-1", "pipeline-grpo-s0-1"} <= set(fused)
    assert fused["most_disliked"]["fhr"] == pytest.approx(by_role["baseline: most-disliked items"]["fhr"]["mean"])
    metrics = read_sample_metrics(workspace, "test").set_index(["method", "sample_id"])
    for sample_id in metrics.loc["pipeline-sft-s0-1"].index:
        members = [list(metrics.loc[(f"pipeline-sft-s{seed}", sample_id), "ranked"]) for seed in (0, 1)]
        expected = [item for item, _ in fuse_ranks(members, 20)]
        assert list(metrics.loc[("pipeline-sft-s0-1", sample_id), "ranked"]) == expected
    assert fused["pipeline-sft-s0-1"]["fhr"] == pytest.approx(metrics.loc["pipeline-sft-s0-1", "fhr"].mean())
    assert "## Seeds fused" in (out / "seeds.md").read_text()
    # --codebook-per-seed: each seed's SID models speak that seed's own codebook, fitted with its own RQ-VAE seed
    books = {seed: load_codebook(workspace, name) for seed, name in ((0, "default"), (1, "default-s1"))}
    assert [books[seed].config.seed for seed in (0, 1)] == [0, 1] and books[0].sids.sids != books[1].sids.sids
    for seed, book in books.items():
        for model in (f"pipeline-sft-s{seed}", f"pipeline-grpo-s{seed}"):
            training = read_training(checkpoint_dir(workspace, model))
            assert (training["codebook"], training["fingerprint"]) == (book.name, book.fingerprint)
