"""The import page: a form built from the file's header and values, the importer's own checks shown beside the
column they are about, the mapping saved next to the workspace, the import run as a background job."""

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from app import import_data
from conrec_core.data.mapping import load_mapping
from conrec_core.data.workspace import open_workspace
from conrec_core.errors import ConrecError
from conrec_core.jobs.registry import JobRegistry

from conftest import REPO, shown, write

PAGE = str(REPO / "pages" / "import_log.py")
LOG = ("customer,product,event_time,action,why\n"
       "c1,p1,1700000000000,not_interested,this_item\n"
       "c1,p2,1700000600000,click,\n"
       "c2,p1,1700001200000,not_interested,already_bought\n"
       "c2,p3,1700001800000,impression,\n"
       "c2,p2,1700086400000,hide,this_item\n")


@pytest.fixture(autouse=True)
def temporary_files_readable(monkeypatch, tmp_path_factory):
    """The tests' files live under pytest's temporary folder: a configured data root, as a user's would be."""
    monkeypatch.setenv(import_data.DATA_ROOTS_ENV, str(tmp_path_factory.getbasetemp()))


def open_page(path) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.session_state["import_how"] = "A file or MovieLens folder on this machine"
    app.session_state["import_path"] = str(path)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def widget(app: AppTest, kind: str, key: str):
    return next(w for w in getattr(app, kind) if w.key == key)


def wait_for(registry: JobRegistry, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = registry.latest("import")
        if job is not None and not job.active:
            return job
        time.sleep(0.5)
    raise AssertionError("the import job did not finish")


def test_the_form_guesses_the_columns_kinds_and_time_unit_then_imports(workspaces, tmp_path):
    app = open_page(write(tmp_path / "shop-log.csv", LOG))
    assert widget(app, "selectbox", "import_col_user").value == "customer"
    assert widget(app, "selectbox", "import_col_item").value == "product"
    assert widget(app, "selectbox", "import_col_time").value == "event_time"
    assert widget(app, "selectbox", "import_time_unit_event_time").value == "ms"
    assert "2023-11-14 22:13 to 2023-11-15 22:13 UTC" in " ".join(c.value for c in app.caption)
    assert widget(app, "multiselect", "import_kind_negative_action").value == ["not_interested", "hide"]
    assert widget(app, "multiselect", "import_kind_positive_action").value == ["click"]
    assert widget(app, "multiselect", "import_kind_neutral_action").value == ["impression"]
    assert {m.label: m.value for m in app.metric} == {"Events kept": "5", "Negative": "3", "Positive": "1",
                                                     "Neutral": "1"}
    widget(app, "multiselect", "import_reason_drop_why").select("already_bought").run()
    assert {m.label: m.value for m in app.metric}["Negative"] == "2"
    widget(app, "text_input", "import_name").input("shop").run()
    widget(app, "button", "import_start").click().run()
    assert not app.exception, [e.message for e in app.exception]
    workspace = workspaces / "shop.duckdb"
    job = wait_for(JobRegistry(workspace))
    assert job.status == "done", job.error
    with open_workspace(workspace) as con:
        assert con.execute("SELECT kind, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall() == [
            ("negative", 2), ("neutral", 1), ("positive", 1)]
    saved = load_mapping(workspaces / "shop.mapping.json")  # the CLI can repeat the import with it
    assert saved.events.time_unit == "ms" and saved.events.reason.drop == ("already_bought",)


def test_a_bad_time_column_is_reported_beside_it_and_nothing_is_imported(workspaces, tmp_path):
    app = open_page(write(tmp_path / "log.csv", LOG.replace("1700001800000", "15/11/2023")))
    widget(app, "text_input", "import_name").input("never-made").run()
    time_column = next(column for column in app.columns
                       if any(s.key == "import_col_time" for s in column.selectbox))
    beside = [shown(e.value) for e in time_column.error]
    assert beside == ["{}, column 'event_time', row 4: cannot read '15/11/2023' as milliseconds since the epoch from "
                      "1970 to 2099 (it looks like a date: set \"time_unit\": \"iso\")".format(tmp_path / "log.csv")]
    assert not [b for b in app.button if b.key == "import_start"]  # no import of a file that fails its checks
    assert not (workspaces / "never-made.duckdb").exists()


def test_a_feedback_value_the_mapping_does_not_place_is_reported_beside_its_column(workspaces, tmp_path):
    app = open_page(write(tmp_path / "log.csv", LOG.replace("impression", "glance")))
    feedback = next(column for column in app.columns if any(s.key == "import_col_kind" for s in column.selectbox))
    assert "unknown value 'glance'" in shown(feedback.error[0].value)
    widget(app, "multiselect", "import_kind_neutral_action").select("glance").run()
    assert not app.error and {m.label: m.value for m in app.metric}["Neutral"] == "1"


def test_a_movielens_folder_needs_no_mapping(workspaces, ml_latest):
    app = open_page(ml_latest)
    assert "MovieLens folder" in app.success[0].value
    assert [b.key for b in app.button] == ["import_movielens"]


@pytest.mark.parametrize("name, kept", [("../../etc/passwd.csv", "passwd.csv"), ("my log (2).tsv", "my_log_2.tsv"),
                                        ("events.CSV.GZ", "events.csv.gz")])
def test_an_upload_is_kept_under_uploads_whatever_its_name(workspaces, name, kept):
    path = import_data.save_upload(name, b"u,i,t,k\n1,2,3,neg\n")
    assert path.parent == import_data.uploads_dir()
    assert path.name.endswith("-" + kept) and path.read_bytes() == b"u,i,t,k\n1,2,3,neg\n"


def test_an_upload_of_another_kind_and_a_sample_name_are_refused(workspaces):
    with pytest.raises(ConrecError, match="upload a"):
        import_data.save_upload("weights.pt", b"\x80")
    with pytest.raises(ConrecError, match="sample dataset"):
        import_data.target_workspace("synthetic-shop")
    with pytest.raises(ConrecError, match="not allowed"):
        import_data.target_workspace("../outside")


def test_an_item_file_is_attached_with_its_columns_guessed(workspaces, tmp_path):
    items = write(tmp_path / "products.csv", "product_id,name,department,blurb\np1,Red lamp,home,bright\n"
                                             "p2,Blue mug,kitchen,\np3,Green rug,home,soft\n")
    app = open_page(write(tmp_path / "log.csv", LOG))
    widget(app, "text_input", "import_items_path").input(str(items)).run()
    assert widget(app, "selectbox", "import_items_id").value == "product_id"
    assert widget(app, "selectbox", "import_items_title").value == "name"
    assert widget(app, "selectbox", "import_items_category").value == "department"
    widget(app, "multiselect", "import_items_text").select("blurb").run()
    widget(app, "text_input", "import_name").input("with-items").run()
    widget(app, "button", "import_start").click().run()
    job = wait_for(JobRegistry(workspaces / "with-items.duckdb"))
    assert job.status == "done", job.error
    with open_workspace(workspaces / "with-items.duckdb") as con:
        assert con.execute("SELECT item_id, title, category FROM items ORDER BY 1").fetchall() == [
            ("p1", "Red lamp", "home"), ("p2", "Blue mug", "kitchen"), ("p3", "Green rug", "home")]


def test_a_video_log_with_a_0_1_label_is_guessed_right_and_a_wrong_unit_does_not_crash(workspaces, tmp_path):
    from test_mapping_guess import video_log

    app = open_page(video_log(tmp_path / "video.tsv"))
    assert [widget(app, "selectbox", f"import_col_{role}").value for role in ("user", "item", "time", "kind")] == [
        "user_id", "video_id", "time_ms", "label"]
    assert widget(app, "radio", "import_kind_mode_label").value == "listed values"
    assert widget(app, "multiselect", "import_kind_negative_label").value == ["1"]
    assert app.success and app.success[0].value == "Every row passes the importer's checks."
    widget(app, "selectbox", "import_time_unit_time_ms").set_value("s").run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("too large for seconds" in e.value for e in app.error)
    widget(app, "selectbox", "import_col_time").set_value("date").run()  # the unit is guessed again
    assert widget(app, "selectbox", "import_time_unit_date").value == "iso"
    widget(app, "selectbox", "import_col_time").set_value("time_ms").run()
    widget(app, "selectbox", "import_time_unit_time_ms").set_value("ms").run()
    widget(app, "multiselect", "import_kind_positive_label").unselect("0").run()
    widget(app, "multiselect", "import_kind_negative_label").select("0").run()
    assert not app.success and "100% of the events are negative" in app.warning[-1].value


def test_a_feedback_column_with_no_negative_value_chosen_says_so_beside_it(workspaces, tmp_path):
    app = open_page(write(tmp_path / "log.csv", LOG))
    widget(app, "multiselect", "import_kind_negative_action").set_value([]).run()
    assert not app.exception
    assert [e.value for e in app.error] == ["Choose at least one value that means a dislike."]
    assert not [b for b in app.button if b.key == "import_start"]


def test_a_path_outside_the_data_roots_is_refused_and_never_read(monkeypatch, workspaces, tmp_path):
    monkeypatch.delenv(import_data.DATA_ROOTS_ENV)
    secret = write(tmp_path / "secret.csv", "user_id,item_id,ts,action\nu1,i1,1700000000,TOP-SECRET\n")
    for typed in (str(secret), "/etc/hostname", str(workspaces / ".." / ".." / "etc" / "passwd")):
        app = open_page(typed)
        assert any("reads files under" in e.value for e in app.error), typed
        assert not app.dataframe  # nothing of the file is shown
    linked = workspaces / "link.csv"
    linked.symlink_to(secret)  # a link inside a root to a file outside it is followed first, then refused
    try:
        app = open_page(linked)
        assert any("reads files under" in e.value for e in app.error) and not app.dataframe
    finally:
        linked.unlink()

