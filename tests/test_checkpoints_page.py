"""The checkpoints page through AppTest: the table, curves, loading in full and 4-bit, a prediction job."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from conrec_core.jobs.registry import JobRegistry
from conrec_core.decoding.prior import WEIGHT_GRID
from conrec_core.decoding.prediction_store import read_predictions
from conrec_core.data.workspace import artifacts_dir

from conftest import REPO, listed_copy, remove_listed, shown

PAGE = str(REPO / "pages" / "checkpoints.py")
TRAIN = str(REPO / "pages" / "train.py")


@pytest.fixture
def listed_lm_world(workspaces, tiny_checkpoint):
    """The small world with its codebook and tiny checkpoint, copied where the sidebar lists it."""
    source, _ = tiny_checkpoint
    workspace = listed_copy(source, workspaces, "tiny-lm")
    yield workspace
    remove_listed(workspace)


def run_page(page: str = PAGE) -> AppTest:
    app = AppTest.from_file(page, default_timeout=120)
    app.session_state["workspace_choice"] = "Workspace: tiny-lm"
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_the_page_lists_loads_and_predicts(listed_lm_world):
    app = run_page()
    app.selectbox(key="checkpoint_choice").set_value("tiny").run()  # other tests may add checkpoints first
    table = app.dataframe[0].value
    assert "tiny" in set(table.checkpoint)
    row = table.set_index("checkpoint").loc["tiny"]
    assert row["fingerprint status"] == "matches" and row["stage"] == "sft" and row["backbone"] == "tiny"
    assert len(app.get("plotly_chart")) == 2  # training loss and held-out figures

    app.button(key="checkpoint_load").click().run()
    assert not app.exception and not app.error
    full_memory = {m.label: m.value for m in app.metric}["Memory"]
    app.radio(key="checkpoint_precision").set_value("4-bit NF4").run()
    app.button(key="checkpoint_load").click().run()
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["4-bit layers"]) > 0
    assert float(metrics["Memory"].split()[0]) < float(full_memory.split()[0])

    user = app.multiselect(key="predict_users").options[0]
    app.multiselect(key="predict_users").set_value([user])
    app.number_input(key="predict_top_k").set_value(5)
    app.checkbox(key="predict_choose_prior").check()
    submit = [b for b in app.get("form_submit_button") if b.label == "Run predictions"][0]
    submit.click().run()
    assert not app.exception and not app.error
    registry = JobRegistry(listed_lm_world)
    job = registry.latest("predict")
    finished = registry.wait(job.id, timeout=300)
    assert finished.status == "done", finished.error
    app.run()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Invalid outputs"] == "0" and "HR@5" in metrics and "FHR@5" in metrics
    tried = finished.result["prior_choice"]["fhr"]  # the weight was chosen on validation, and the page says so
    assert float(metrics["Prior weight"]) == finished.result["prior_weight"] and len(tried) == len(WEIGHT_GRID)
    assert tried[str(finished.result["prior_weight"])] == max(tried.values())
    assert any("Validation FHR@K by prior weight" in c.value for c in app.caption)
    stored = read_predictions(listed_lm_world, "tiny")
    assert set(stored["user_id"]) == {user} and stored["rank"].max() == 5
    assert app.dataframe[-1].value["rank"].tolist()[:5] == [1, 2, 3, 4, 5]


def test_the_train_page_trains_grpo_and_the_checkpoints_page_shows_its_curves_per_stage(listed_lm_world):
    app = run_page(TRAIN)
    app.selectbox(key="grpo_warmup").set_value("tiny")
    app.text_input(key="grpo_name").set_value("grpo-page")
    app.number_input(key="grpo_steps_per_stage").set_value(2)
    [b for b in app.get("form_submit_button") if b.label == "Train with GRPO"][0].click().run()
    assert not app.exception and not app.error
    registry = JobRegistry(listed_lm_world)
    finished = registry.wait(registry.latest("grpo").id, timeout=600)
    assert finished.status == "done", finished.error
    app = run_page()
    row = app.dataframe[0].value.set_index("checkpoint").loc["grpo-page"]
    assert row["stage"] == "grpo" and row["warm-up"] == "tiny"
    assert row["FHR@K (validation)"] == finished.result["summary"]["validation"]["fhr"] and row["K"] == 20
    app.selectbox(key="checkpoint_choice").set_value("grpo-page").run()
    assert not app.exception
    charts = app.get("plotly_chart")
    assert len(charts) == 2  # per-step figures by stage, validation FHR per stage
    assert "by stage" in charts[0].proto.spec and "Validation FHR@20" in charts[1].proto.spec


def test_a_workspace_without_checkpoints_points_to_the_train_page(workspaces, lm_world):
    workspace = workspaces / "tiny-nock.duckdb"
    shutil.copy(lm_world, workspace)
    shutil.copytree(artifacts_dir(lm_world) / "codebooks", artifacts_dir(workspace) / "codebooks")
    try:
        app = AppTest.from_file(PAGE, default_timeout=120)
        app.session_state["workspace_choice"] = "Workspace: tiny-nock"
        app.run()
        assert not app.exception
        assert any("No checkpoints yet" in i.value for i in app.info)
        app = AppTest.from_file(TRAIN, default_timeout=120)
        app.session_state["workspace_choice"] = "Workspace: tiny-nock"
        app.run()
        assert any("train one above first" in i.value for i in app.info)
        app.number_input(key="sft_steps").set_value(4)
        app.text_input(key="sft_name").set_value("../up")
        [b for b in app.get("form_submit_button") if b.label == "Train"][0].click().run()
        assert "is not allowed" in app.error[0].value
        assert JobRegistry(workspace).list() == []
    finally:
        workspace.unlink()
        shutil.rmtree(artifacts_dir(workspace), ignore_errors=True)


def test_the_page_scores_users_for_production_and_offers_the_file(listed_lm_world):
    import pandas as pd

    app = run_page()
    app.selectbox(key="checkpoint_choice").set_value("tiny").run()
    app.text_input(key="score_as_of").input("not a time")
    submit = [b for b in app.get("form_submit_button") if b.label == "Score users"][0]
    submit.click().run()
    assert any("not an ISO-8601 time" in shown(e.value) for e in app.error)
    assert JobRegistry(listed_lm_world).latest("score") is None  # nothing started on a typo
    app.text_input(key="score_as_of").input("")
    app.number_input(key="score_top_k").set_value(3)
    [b for b in app.get("form_submit_button") if b.label == "Score users"][0].click().run()
    registry = JobRegistry(listed_lm_world)
    finished = registry.wait(registry.latest("score").id, timeout=300)
    assert finished.status == "done", finished.error
    app.run()
    metrics = {m.label: m.value for m in app.metric}
    table = pd.read_parquet(finished.result["out"])
    assert metrics["Users"] == f"{table.user.nunique():,}" and metrics["Rows"] == f"{len(table):,}" == \
        f"{3 * table.user.nunique():,}"
    download = [d for d in app.get("download_button") if d.proto.label == "Download the dislike list (Parquet)"]
    assert download
