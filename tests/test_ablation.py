"""The leave-one-out ablation (experiment/ablation.py) in quick mode on the small synthetic world: its rows are
the pipeline's own report rows, a variant that changes training trains with the change, and a rerun resumes."""

import json

import pytest

from conrec_core.cli import main
from conrec_core.errors import ConrecError
from conrec_core.experiment.ablation import SPLITS, VARIANTS, WITH_TEST, run_ablation


def report_row(out, variant: str, split: str, method: str) -> dict:
    report = json.loads((out / "workspaces" / "runs" / variant / split / "report.json").read_text())
    return next(row for row in report["methods"] if row["method"] == method)


def test_quick_ablation_reads_the_pipeline_rows_and_resumes(small_world, tmp_path):
    out = tmp_path / "ablation"
    lines: list[str] = []
    run_ablation(small_world, out, out / "workspaces", ("default", "no_grpo"), quick=True,
                 say=lines.append, splits=WITH_TEST)
    # no_grpo reads the default's run: one run of that configuration, not two
    assert sum(" done in " in line for line in lines) == 1

    # resumed from a source that holds the default's trained SID models, as a real workspace does after
    # `pipeline`: a variant that trains otherwise must train its own, not meet those under the same names
    trained_source = out / "workspaces" / "default" / small_world.name
    rows = run_ablation(trained_source, out, out / "workspaces", ("default", "no_grpo", "fixed_steps"),
                        quick=True, say=lines.append, splits=WITH_TEST)
    by_name = {row["method"]: row for row in rows}
    assert list(by_name) == ["default", "no_grpo", "fixed_steps", "most_disliked", "item_cf"]
    assert sum(" done in " in line for line in lines) == 2
    for variant, method in (("default", "pipeline-grpo-s0"), ("no_grpo", "pipeline-sft-s0")):
        for split in ("validation", "test"):
            expected = report_row(out, "default", split, method)
            for metric in ("fhr", "lif", "luf"):
                assert by_name[variant][f"{split}_{metric}"] == pytest.approx(expected[metric]["value"])
            assert by_name[variant][f"{split}_samples"] == expected["samples"]
    assert by_name["most_disliked"]["test_fhr"] == pytest.approx(report_row(out, "default", "test",
                                                                            "most_disliked")["fhr"]["value"])

    # the test split's run kept the members the validation run trained; fixed_steps trained its own at half the cap,
    # without early stopping
    kept = json.loads((out / "workspaces" / "runs" / "default" / "test" / "report.json").read_text())["kept_stages"]
    assert "sft" in kept and "grpo" in kept
    training = json.loads((out / "workspaces" / "fixed_steps" / "ws.files" / "checkpoints" / "pipeline-sft-s0"
                           / "training.json").read_text())
    default = json.loads((out / "workspaces" / "default" / "ws.files" / "checkpoints" / "pipeline-sft-s0"
                          / "training.json").read_text())
    assert training["sft"]["steps"] * 2 == default["sft"]["steps"]
    assert default["sft"]["keep_best"] and not training["sft"]["keep_best"]
    assert by_name["fixed_steps"]["test_fhr"] == pytest.approx(report_row(out, "fixed_steps", "test",
                                                                         "pipeline-grpo-s0")["fhr"]["value"])

    # paired tests against the default: none for the default itself, a probability for the others
    assert by_name["default"]["test_fhr_p"] is None
    assert all(0 <= by_name[name]["test_fhr_p"] <= 1 for name in by_name if name != "default")

    table = (out / "ablation.md").read_text()
    changes = {v.name: v.change for v in VARIANTS}
    assert all(f"| {changes[name]} |" in table for name in ("default", "no_grpo", "fixed_steps"))

    # a rerun finds every row in the stored samples and runs nothing
    lines.clear()
    again = run_ablation(trained_source, out, out / "workspaces", ("default", "fixed_steps"), quick=True,
                         say=lines.append, splits=WITH_TEST)
    assert lines == [] and again == rows
    # another seed's rows never land in seed 0's tables
    with pytest.raises(ConrecError, match="holds an ablation with seed 0"):
        run_ablation(trained_source, out, out / "workspaces", ("default",), quick=True, say=lines.append,
                     splits=WITH_TEST, seed=1)

    # a tuning run (no final report's switch) never runs, scores or prints the test split
    tuning = tmp_path / "tuning"
    rows = run_ablation(trained_source, tuning, tuning / "workspaces", ("default",), quick=True,
                        say=lambda line: None)
    assert SPLITS == ("validation",) and not (tuning / "workspaces" / "runs" / "default" / "test").exists()
    assert rows and all(not key.startswith("test") for row in rows for key in row)
    assert "test" not in (tuning / "ablation.md").read_text().replace("sign-flip test", "")


def test_unknown_variants_are_refused(small_world, tmp_path, capsys):
    with pytest.raises(ConrecError, match="unknown variants"):
        run_ablation(small_world, tmp_path / "out", tmp_path / "scratch", ("bigger",), quick=True)
    # the command line says it in one line, before any workspace copy
    assert main(["ablation", "--workspace", str(small_world), "--out", str(tmp_path / "cli"), "--only", "bigger"]) == 2
    assert "unknown variants ['bigger']" in capsys.readouterr().err and not (tmp_path / "cli" / "workspaces").exists()

