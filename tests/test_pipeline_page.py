"""The pipeline as the app runs it: the job kind writes one run per seed, kept by settings and seed; the page
shows the report, compares two runs figure by figure and sample by sample, and summarises the seeds."""

from dataclasses import asdict, replace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conrec_core.experiment import runs as runs_module
from conrec_core.experiment.runs import list_runs, read_run, settings_hash, store_root
from conrec_core.experiment.seeds import seed_groups
from conrec_core.experiment.spec import ExperimentSpec, resolve
from conrec_core.jobs.params import PipelineJob
from conrec_core.views.runs import compare_figures, run_table, sample_differences
from conrec_core.evaluation.baselines import fused_method
from conrec_core.evaluation.scoring import read_sample_metrics
from conrec_core.errors import ConrecError
from conrec_core.jobs import kinds
from conrec_core.views.report import long_tail_budget

from conftest import REPO, listed_copy, remove_listed
from test_log_shapes import lightest

PAGE = str(REPO / "pages" / "pipeline.py")


@pytest.fixture(scope="module")
def two_seeds(workspaces, small_world):
    """The pipeline job's own function, seeds 0 and 1, on a listed copy of the small world (the lightest
    settings stand in for the quick preset: these tests are about runs, not quality)."""
    workspace = listed_copy(small_world, workspaces, "pipeline-page")
    messages = []
    result = kinds.pipeline(str(workspace), PipelineJob(preset="quick", seeds=(0, 1),
                                                        spec=lightest().with_collaborative("on")),
                            lambda fraction, message: messages.append((fraction, message)))
    yield workspace, result, messages
    remove_listed(workspace)


def test_each_seed_is_kept_as_a_run_of_the_same_settings(two_seeds):
    workspace, result, messages = two_seeds
    assert result["seeds"] == [0, 1] and len(result["runs"]) == 2
    runs = list_runs(workspace)
    assert {record.seed for record, _ in runs} == {0, 1}
    assert len({record.settings for record, _ in runs}) == 1  # seeds aside, the same settings
    assert all(record.finished_at and report.methods for record, report in runs)
    # the page's choice of co-occurrence vectors reached the codebook of every seed's run
    assert {report.config["codebook"]["encoder"]["collaborative"] for _, report in runs} == {"on"}
    assert result["collaborative"] == "on"
    assert messages[0][1].startswith("seed 0 (1 of 2)") and messages[-2][1].startswith("seed 1 (2 of 2)")
    assert messages[-1] == (1.0, "fusing the seeds")
    assert [f for f, _ in messages] == sorted(f for f, _ in messages)  # one bar over both seeds
    table = run_table(runs)
    assert list(table["seed"].sort_values()) == [0, 1] and table["full method FHR"].between(0, 1).all()


def test_seeds_average_and_runs_compare(two_seeds):
    workspace, _, _ = two_seeds
    runs = list_runs(workspace)
    (settings, summary), = seed_groups(runs, workspace).items()
    assert summary["seeds"] == [0, 1]
    full = next(m for m in summary["methods"] if m["role"].startswith("full method"))
    values = [full["fhr"]["per_seed"][seed]["value"] for seed in (0, 1)]
    assert full["fhr"]["mean"] == pytest.approx(sum(values) / 2)
    # the job fused each learnt method's two seeds; the kept table is the workspace's own fused metrics
    fused = {row["method"]: row for row in summary["fused"]}
    fused_full = fused[fused_method(full["names"][0], [0, 1])]
    stored = read_sample_metrics(workspace, "test")
    assert fused_full["fhr"] == pytest.approx(stored.loc[stored["method"] == fused_full["method"], "fhr"].mean())
    assert fused_full["label"].endswith("seeds 0, 1 fused")
    folder = runs_module.run_folder(workspace, runs[0][0].name)
    runs_module.finish_run(folder, runs[0][0])
    again = seed_groups(list_runs(workspace), workspace)[settings]  # a run redone since: its reports summarised
    assert "fused" not in again and again["seeds"] == [0, 1]
    runs_module._write_json(folder / runs_module.RUN_FILE, asdict(runs[0][0]))
    (a_record, a), (b_record, b) = runs
    figures = compare_figures(a, b).set_index("method")
    assert figures.loc[full["role"], "B − A"] == pytest.approx(figures.loc[full["role"], "B"]
                                                               - figures.loc[full["role"], "A"])
    left = pd.read_parquet(runs_module.run_folder(workspace, a_record.name) / "sample_metrics.parquet")
    right = pd.read_parquet(runs_module.run_folder(workspace, b_record.name) / "sample_metrics.parquet")
    pairs = sample_differences(left, right, a.full_method, b.full_method)
    assert len(pairs) == a.methods[0].samples  # the same samples, matched one to one
    only_a = pairs[pairs["outcome"] == "only A hits"]
    assert ((only_a["A"] > 0) & (only_a["B"] == 0)).all()


def test_a_rerun_of_the_same_settings_and_seed_starts_from_an_empty_report(two_seeds):
    workspace, _, _ = two_seeds
    config = replace(lightest(), seed=5)
    name = f"{settings_hash(config, list_runs(workspace)[0][0].samples)}-s5"
    earlier = runs_module.seed_folder(store_root(workspace, config), 5)
    earlier.mkdir(parents=True)
    (earlier / "report.json").write_text("{}")  # what an earlier run of these settings and seed left
    folder, record = runs_module.start_run(workspace, store_root(workspace, config), "quick", config)
    assert folder == earlier and record.name == name
    assert not (folder / "report.json").exists()  # an unfinished rerun never passes for the old result
    assert name not in [r.name for r, _ in list_runs(workspace)]
    with pytest.raises(ConrecError, match="no readable report"):
        read_run(workspace, name)
    assert settings_hash(config, record.samples) == settings_hash(replace(config, seed=7), record.samples)
    assert settings_hash(config, record.samples) != settings_hash(ExperimentSpec(), record.samples)


@pytest.mark.parametrize("name", ["../../etc", "abc", "0123456789-s1/../x"])
def test_a_run_name_is_checked_before_it_becomes_a_path(workspaces, name):
    with pytest.raises(ConrecError, match="not a run name"):
        read_run(workspaces / "any.duckdb", name)


def test_the_page_shows_the_report_compares_runs_and_seeds(two_seeds):
    workspace, _, _ = two_seeds
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.session_state["workspace_choice"] = "Workspace: pipeline-page"
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    runs = list_runs(workspace)
    newest = runs[0][1]
    shown = {m.label: m.value for m in app.metric}
    k = newest.k
    full = newest.method(newest.full_method)
    assert shown[f"Full method FHR@{k}"] == f"{full.fhr.value:.3f}"
    table = next(d.value for d in app.dataframe if "p (FHR vs best baseline)" in d.value.columns)
    assert list(table["name"]) == [m.method for m in newest.methods]
    lif_tests = {m.method: m.lif_p_value_vs_best_lif_baseline for m in newest.methods}
    assert sum(p is not None for p in lif_tests.values()) == len(lif_tests) - 1  # all but the best by LIF
    assert [bool(cell) for cell in table["p (LIF vs best by LIF)"]] == [p is not None for p in lif_tests.values()]
    assert table["method"].iloc[-1].startswith("full method")
    assert any("paired test over" in m.value for m in app.markdown)
    assert any("Settings" in m.value for m in app.markdown)  # the seeds tab's summary
    assert any("Seeds fused" in m.value and "seeds 0, 1 fused" in m.value for m in app.markdown)
    assert [b.label for b in app.get("download_button")] == ["report.html", "report.json", "sample_metrics.parquet",
                                                            "report.md + figures (zip)"]
    budget = long_tail_budget(newest)  # the long-tail budget section: every method read at the full method's
    assert set(budget["name"]) == {m.method for m in newest.methods}
    full_row = budget.set_index("name").loc[newest.full_method]
    assert full_row["lif_at_budget"] == full_row["lif"]
    assert any("Long tail at an equal budget" in m.value for m in app.markdown)
    assert len(app.get("plotly_chart")) == 4  # the figure, the two long-tail charts, the filter curve
    app.selectbox(key="pipeline_compare_a").set_value(runs[1][0].name).run()
    assert not app.exception
    assert {"both hit", "only A hits", "only B hits", "both miss"} <= {m.label for m in app.metric}


def test_the_form_sends_the_chosen_members_and_tail_quota(workspaces, small_world, monkeypatch):
    from conrec_core.jobs.registry import Job, JobRegistry

    workspace = listed_copy(small_world, workspaces, "pipeline-form")
    submitted = []

    def submit(registry, kind, params):
        submitted.append((kind, params))
        return Job(id="0123456789ab", kind=kind, params=params)

    monkeypatch.setattr(JobRegistry, "submit", submit)
    try:
        app = AppTest.from_file(PAGE, default_timeout=60)
        app.session_state["workspace_choice"] = "Workspace: pipeline-form"
        app.run()
        assert app.number_input(key="pipeline_quick_members").value == 1  # the preset's own value is shown
        app.number_input(key="pipeline_quick_members").set_value(3)
        app.selectbox(key="pipeline_quick_tail_quota").set_value(4)
        assert app.number_input(key="pipeline_quick_tail_calibration").value == ExperimentSpec().tail_calibration
        app.number_input(key="pipeline_quick_tail_calibration").set_value(0.25)
        app.number_input(key="pipeline_seeds").set_value(2)
        app.button[0].click().run()
        assert not app.exception, [e.message for e in app.exception]
    finally:
        remove_listed(workspace)
    spec = resolve("quick", {"members": 3, "tail_quota": 4, "tail_calibration": 0.25, "collaborative": "on"})
    assert submitted == [("pipeline", PipelineJob(preset="quick", seeds=(0, 1), spec=spec))]


@pytest.mark.parametrize("params, message", [({"members": 0}, "members must be at least 1"),
                                             ({"members": 2, "tail_quota": 21}, "tail_quota must be"),
                                             ({"tail_quota": "most"}, "tail_quota must be"),
                                             ({"tail_calibration": 1.5}, "tail_calibration must be at least 0.0"),
                                             ({"tail_calibration": "half"}, "tail_calibration must be a number")])
def test_a_spec_out_of_range_is_refused_from_the_form_and_from_a_job_record(params, message):
    with pytest.raises(ConrecError, match=message):
        resolve("quick", params)
    with pytest.raises(ConrecError, match=message):  # a crafted job record is read back through the same checks
        PipelineJob.from_dict({"preset": "quick", "spec": {**resolve("quick").to_dict(), **params}})


def test_a_preset_takes_only_the_settings_it_knows():
    with pytest.raises(ConrecError, match="unknown settings"):
        resolve("quick", {"temperature": 2})
    with pytest.raises(ConrecError, match="unknown preset"):
        resolve("fastest")


def test_the_pages_cached_runs_change_when_a_run_finishes(tmp_path):
    """The store's version (what the page's cached reads are keyed on) moves when a seed's run record is
    written, deep in the layout's ROOT/seed-S folder, and when the seeds' summary is."""
    import os

    from app.runs_data import runs_version

    workspace = tmp_path / "ws.duckdb"
    root = runs_module.runs_dir(workspace) / "0123456789"
    folder = runs_module.seed_folder(root, 0)
    folder.mkdir(parents=True)
    record = runs_module.RunRecord("0123456789-s0", "quick", 0, "0123456789", None, "2026-01-01T00:00:00+00:00")
    runs_module._write_json(folder / runs_module.RUN_FILE, asdict(record))
    os.utime(folder / runs_module.RUN_FILE, (1_000, 1_000))
    for path in (root, runs_module.runs_dir(workspace)):
        os.utime(path, (1_000, 1_000))
    before = runs_version(workspace)
    os.utime(folder / runs_module.RUN_FILE, (2_000, 2_000))  # the run finished: its record rewritten
    assert runs_version(workspace) == 2_000 > before
    (root / runs_module.SEEDS_FILE).write_text("{}")
    os.utime(root / runs_module.SEEDS_FILE, (3_000, 3_000))
    os.utime(root, (1_000, 1_000))
    assert runs_version(workspace) == 3_000


def test_the_report_states_its_primary_endpoint_from_the_per_sample_table(two_seeds):
    """The record's primary endpoint and per-user figures are the per-sample table's, and report.md says the
    verdict in words."""
    from conrec_core.evaluation.intervals import paired_test
    from conrec_core.evaluation.primary import per_user_mean

    workspace, _, _ = two_seeds
    record, report = list_runs(workspace)[0]
    primary = report.primary
    assert primary["full_method"] == report.full_method and primary["best_baseline"] == report.best_baseline
    folder = runs_module.run_folder(workspace, record.name)
    table = pd.read_parquet(folder / "sample_metrics.parquet")
    full = table[table["method"] == report.full_method].set_index("sample_id")
    best = table[table["method"] == report.best_baseline].set_index("sample_id").loc[full.index]
    assert primary["full"] == pytest.approx(full["fhr"].mean()) and primary["best"] == pytest.approx(best["fhr"].mean())
    assert primary["difference"]["value"] == pytest.approx(full["fhr"].mean() - best["fhr"].mean())
    assert primary["p_value"] == paired_test(full["fhr"], best["fhr"], full["user_id"].tolist())["p_value"]
    assert primary["full_per_user"] == pytest.approx(per_user_mean(full["fhr"], full["user_id"]))
    rows = {row.method: row for row in report.methods}
    assert rows[report.full_method].fhr_per_user == pytest.approx(primary["full_per_user"])
    assert rows[report.best_baseline].fhr_p_holm is None  # the reference of every test
    assert all(row.fhr_p_holm >= row.fhr_p_value_vs_best_baseline for row in report.methods
               if row.fhr_p_holm is not None)
    markdown = (folder / "report.md").read_text()
    assert "## Primary endpoint" in markdown and primary["verdict"][1:] in markdown


def test_the_report_says_where_each_learnt_method_stopped(two_seeds):
    workspace, _, _ = two_seeds
    record, report = list_runs(workspace)[0]
    seed = record.seed
    assert {f"sasrec_negatives-s{seed}", f"sasrec_both-s{seed}", f"pipeline-sft-s{seed}"} <= set(report.training)
    sasrec = report.training[f"sasrec_negatives-s{seed}"]
    assert sasrec["steps"] <= sasrec["cap"] and sasrec["best_step"] <= sasrec["steps"]
    markdown = (runs_module.run_folder(workspace, record.name) / "report.md").read_text()
    assert "Where training stopped" in markdown and f"| sasrec_negatives-s{seed} | {sasrec['steps']} |" in markdown


def test_the_report_records_what_its_warnings_read(two_seeds):
    from conrec_core.data.samples import long_tail_items, read_samples
    from conrec_core.lm.checkpoints import checkpoint_dir, read_metrics

    workspace, _, _ = two_seeds
    record, report = list_runs(workspace)[0]
    grpo_folder = checkpoint_dir(workspace, report.filter_checkpoint)
    checks = [r["validation"]["fhr"] for r in read_metrics(grpo_folder) if "validation" in r and "event" in r]
    assert report.grpo_validation == checks and len(checks) >= 2
    tail = long_tail_items(workspace)
    future = [item for items in read_samples(workspace, "test")["future_negatives"] for item in set(items)]
    assert report.long_tail_share == pytest.approx(sum(item in tail for item in future) / len(future))


def test_every_run_writes_a_self_contained_html_report_and_a_zip_with_its_figures(two_seeds):
    import io
    import re
    import zipfile

    from conrec_core.evaluation.report_html import report_zip

    workspace, _, _ = two_seeds
    record, _ = list_runs(workspace)[0]
    folder = runs_module.run_folder(workspace, record.name)
    page = (folder / "report.html").read_text()
    figures = re.findall(r"!\[[^\]]*\]\(([\w.-]+\.png)\)", (folder / "report.md").read_text())
    assert figures and page.count("data:image/png;base64,") == len(figures)
    assert "<table>" in page and "src=\"metrics.png\"" not in page  # nothing links out of the file
    archive = zipfile.ZipFile(io.BytesIO(report_zip(folder, prefix=record.name)))
    assert sorted(archive.namelist()) == sorted([f"{record.name}/report.md"] + [f"{record.name}/{f}" for f in figures])


def test_markup_in_a_report_is_shown_as_text_never_run(tmp_path):
    from conrec_core.evaluation.report_html import report_html

    page = report_html("# r\n\n| title |\n|---|\n| <script>alert(1)</script> |\n\n![x](../../etc/passwd.png)\n",
                       tmp_path)
    assert "<script>" not in page and "&lt;script&gt;" in page and "data:image" not in page

