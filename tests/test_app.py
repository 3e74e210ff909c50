"""The app, driven through Streamlit's AppTest on the shipped sample datasets."""

from streamlit.testing.v1 import AppTest

from conrec_core.data import stats
from conrec_core.shipped.sample_data import SAMPLES, sample_workspace
from conrec_core.data.workspace import open_workspace

from conftest import REPO

HOME = str(REPO / "app" / "Home.py")


def run_home(**session) -> AppTest:
    app = AppTest.from_file(HOME, default_timeout=120)
    for key, value in session.items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def expected_metrics(name: str, directory) -> dict[str, str]:
    with open_workspace(sample_workspace(name, directory)) as con:
        summary = stats.summarize(con)
    return {"Users": f"{summary.users:,}", "Items": f"{summary.items:,}", "Events": f"{summary.events:,}",
            "Negative share": f"{summary.negative_share:.1%}", "Negatives": f"{summary.negatives:,}"}


def test_home_opens_on_the_synthetic_shop(workspaces):
    app = run_home()
    assert app.sidebar.selectbox[0].value == SAMPLES["synthetic-shop"].title
    assert metrics(app) == expected_metrics("synthetic-shop", workspaces)
    assert [s.value for s in app.subheader] == ["Negatives per day", "Negatives per user", "Samples",
                                                "Why users said no"]
    table = app.dataframe[0].value
    assert list(table.split) == ["train", "validation", "test"] and table.samples.gt(0).all()
    with open_workspace(sample_workspace("synthetic-shop", workspaces)) as con:
        per_user = stats.negatives_per_user(con)
    median, without = per_user.negatives.median(), int((per_user.negatives == 0).sum())
    assert f"Median {median:g} negatives per user; {without:,} users have none." in [c.value for c in app.caption]


def test_home_switches_to_movielens(workspaces):
    app = run_home()
    app.sidebar.selectbox[0].select(SAMPLES["movielens-small"].title).run()
    assert not app.exception
    assert metrics(app) == expected_metrics("movielens-small", workspaces)
    assert metrics(app)["Users"] == "610"
    assert "Why users said no" not in [s.value for s in app.subheader]  # ratings carry no reasons


def test_home_lists_other_workspaces_and_reports_broken_ones(workspaces):
    (workspaces / "broken.duckdb").write_bytes(b"not a database")
    try:
        app = run_home()
        app.sidebar.selectbox[0].select("Workspace: broken").run()
        assert not app.exception
        assert "not a DuckDB file" in app.error[0].value
    finally:
        (workspaces / "broken.duckdb").unlink()


def test_a_sample_workspace_in_use_by_another_process_is_never_deleted(workspaces, tmp_path):
    import shutil
    import subprocess
    import sys

    import pytest

    from conrec_core.errors import WorkspaceBusy

    path = tmp_path / "synthetic-shop.duckdb"
    shutil.copy(sample_workspace("synthetic-shop", workspaces), path)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                               "print('holding', flush=True); time.sleep(60)", str(path)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"  # a job's write connection
        before = path.stat().st_ino
        with pytest.raises(WorkspaceBusy, match="in use"):
            sample_workspace("synthetic-shop", tmp_path)
        assert path.is_file() and path.stat().st_ino == before  # neither deleted nor rebuilt
    finally:
        holder.kill()
        holder.wait()


def test_the_chosen_dataset_holds_across_pages_and_in_the_url(workspaces):
    app = run_home()
    app.sidebar.selectbox[0].select(SAMPLES["movielens-small"].title).run()
    assert app.query_params["dataset"] in ("movielens-small", ["movielens-small"])
    app.switch_page(str(REPO / "pages" / "import_log.py")).run()
    del app.session_state["workspace_choice"]  # what Streamlit does to a widget's state on a page change
    app.switch_page(str(REPO / "pages" / "overview.py")).run()
    assert not app.exception
    assert app.sidebar.selectbox[0].value == SAMPLES["movielens-small"].title
    assert metrics(app)["Users"] == "610"

    linked = AppTest.from_file(HOME, default_timeout=120)
    linked.query_params["dataset"] = "movielens-small"  # a link opens on the dataset it names
    linked.run()
    assert linked.sidebar.selectbox[0].value == SAMPLES["movielens-small"].title
    unknown = AppTest.from_file(HOME, default_timeout=120)
    unknown.query_params["dataset"] = "../../etc/passwd"  # only compared with the list, never opened
    unknown.run()
    assert not unknown.exception and unknown.sidebar.selectbox[0].value == SAMPLES["synthetic-shop"].title


def test_the_import_report_is_a_table_in_words_that_agrees_with_the_figures(workspaces):
    app = run_home()
    report = next(d.value for d in app.dataframe if list(d.value.columns) == ["what", "value"])
    facts = dict(zip(report["what"], report["value"]))
    assert facts["events kept"] == metrics(app)["Events"]
    assert facts["negatives dropped, reason “already_bought” (not a taste signal)"].replace(",", "").isdigit()
    assert not app.json  # no raw record on the page
    assert "1,000 users" not in app.sidebar.caption[-1].value  # no count the workspace does not hold
