"""The codebook pages through Streamlit's AppTest, on real workspaces and real training jobs."""

import contextlib
import shutil

from streamlit.testing.v1 import AppTest

from conrec_core.semantic_ids.store import list_codebooks
from conrec_core.jobs.registry import JobRegistry

from conftest import REPO

TRAINER = str(REPO / "pages" / "codebook_trainer.py")
EXPLORER = str(REPO / "pages" / "codebook_explorer.py")


def page(path: str, workspace_label: str | None = None) -> AppTest:
    app = AppTest.from_file(path, default_timeout=120)
    if workspace_label:
        app.session_state["workspace_choice"] = workspace_label
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


@contextlib.contextmanager
def listed_workspace(workspaces, small_world, stem: str):
    """A copy of the small world in the app's workspace folder (so the sidebar lists it), removed after."""
    workspace = workspaces / f"{stem}.duckdb"
    shutil.copy(small_world, workspace)
    try:
        yield workspace
    finally:
        workspace.unlink()
        shutil.rmtree(workspaces / f"{stem}.files", ignore_errors=True)


def test_trainer_starts_one_job_survives_reruns_and_shows_the_report(workspaces, small_world):
    with listed_workspace(workspaces, small_world, "tiny-shop") as workspace:
        app = page(TRAINER, "Workspace: tiny-shop")
        assert "no codebook yet" in app.info[0].value
        app.number_input(key="cb_epochs").set_value(6)
        app.number_input(key="cb_batch_size").set_value(64)
        app.number_input(key="cb_code_decoder_steps").set_value(50)
        app.number_input(key="cb_codebook_size").set_value(64)
        app.text_input(key="cb_name").set_value("from-the-app")
        app.button[0].click().run()
        assert not app.exception and not app.error
        registry = JobRegistry(workspace)
        [job] = registry.list()
        app.run()  # a rerun (any click) neither kills nor duplicates the job
        assert [j.id for j in registry.list()] == [job.id]
        finished = registry.wait(job.id, timeout=300)
        assert finished.status == "done", finished.error
        app.run()
        [codebook] = list_codebooks(workspace)
        assert codebook["name"] == "from-the-app"
        metrics = {m.label: m.value for m in app.metric}
        assert metrics["Reconstruction cosine"] == f"{codebook['report']['reconstruction_cosine_mean']:.3f}"
        assert metrics["Items"] == "200"
        assert any("last codebook training finished" in s.value for s in app.success)


def test_trainer_rejects_a_bad_name(workspaces, small_world):
    with listed_workspace(workspaces, small_world, "tiny-names") as workspace:
        app = page(TRAINER, "Workspace: tiny-names")
        app.text_input(key="cb_name").set_value("../escape")
        app.button[0].click().run()
        assert "is not allowed" in app.error[0].value
        assert JobRegistry(workspace).list() == []


def test_explorer_drives_map_hierarchy_search_neighbours_and_collisions(workspaces):
    """On the app's own synthetic-shop workspace, which opens with the codebook shipped beside the sample."""
    app = page(EXPLORER)
    assert [s.value for s in app.subheader] == ["Item map", "SID hierarchy", "Find items", "Nearest items",
                                                "Items that needed a 4th token"]
    app.radio(key="map_colour").set_value("category").run()
    app.radio(key="map_colour").set_value("SID level 2").run()
    parents = app.selectbox(key="map_parent")
    assert parents.options[0] == "all codes" and len(parents.options) > 2
    parents.set_value(int(parents.options[1].split("_")[1].split(">")[0])).run()
    assert not app.exception
    colours = app.get("plotly_chart")[0].proto.spec
    assert "#e3e3e3" in colours  # items under other level-1 codes are greyed out
    app.slider(key="hierarchy_depth").set_value(3).run()
    app.text_input(key="item_search").set_value("dress").run()
    found = app.dataframe[0].value
    assert len(found) and found.title.str.lower().str.contains("dress").all()
    item = found.item_id.iloc[0]
    app.selectbox(key="nearest_item").set_value(item).run()
    assert not app.exception
    neighbours = app.dataframe[1].value
    assert len(neighbours) == 10 and item not in neighbours.index
    assert neighbours.cosine.is_monotonic_decreasing
    shared = app.dataframe[2].value
    assert (shared.groupby("prefix").size() >= 2).all()


def test_explorer_without_a_codebook_says_what_to_do(workspaces, small_world):
    with listed_workspace(workspaces, small_world, "tiny-empty"):
        app = page(EXPLORER, "Workspace: tiny-empty")
        assert "no codebook yet" in app.info[0].value


def test_a_codebook_trained_without_a_map_gets_one_from_a_button(workspaces, lm_world):
    from conrec_core.data.workspace import open_workspace

    stem = "tiny-nomap"
    workspace = workspaces / f"{stem}.duckdb"
    shutil.copy(lm_world, workspace)
    shutil.copytree(lm_world.with_name(lm_world.stem + ".files"), workspaces / f"{stem}.files")
    try:
        with open_workspace(workspace, read_only=False) as con:
            con.execute("DELETE FROM item_map")
        app = page(EXPLORER, f"Workspace: {stem}")
        assert any("has no item map yet" in i.value for i in app.info)
        assert not any("--no-map" in i.value for i in app.info)  # no flag the person never typed
        app.button(key="map_build").click().run()
        registry = JobRegistry(workspace)
        finished = registry.wait(registry.latest("map").id, timeout=300)
        assert finished.status == "done", finished.error
        with open_workspace(workspace) as con:
            placed = con.execute("SELECT count(*), count(DISTINCT (x, y)) FROM item_map").fetchall()[0]
            items = con.execute("SELECT count(*) FROM item_sids").fetchall()[0][0]
        assert placed[0] == items == finished.result["items"] and placed[1] > items // 2
        app = page(EXPLORER, f"Workspace: {stem}")
        assert not any("has no item map yet" in i.value for i in app.info)
    finally:
        workspace.unlink()
        shutil.rmtree(workspaces / f"{stem}.files", ignore_errors=True)
