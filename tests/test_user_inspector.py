"""The user inspector through AppTest, on the small world with real predictions and evaluated metrics."""

import pytest
from streamlit.testing.v1 import AppTest

from conrec_core.evaluation.baselines import BASELINES, baseline_method
from conrec_core.views.user import ranked_users, user_view


from conftest import REPO, listed_copy, remove_listed

PAGE = str(REPO / "pages" / "user_inspector.py")


def test_user_view_marks_exact_and_prefix_hits(evaluated_world):
    best, worst = ranked_users(evaluated_world, "tiny")
    user = best["user_id"][0]
    view = user_view(evaluated_world, user, "tiny")
    assert set(view.history["kind"]) <= {"negative", "positive"} and len(view.samples) == 1
    futures = set(view.future["item_id"])
    assert (view.predictions["exact_hit"] == view.predictions["item_id"].isin(futures)).all()
    assert (view.predictions.loc[view.predictions["exact_hit"], "shared_levels"] == 3).all()  # same item: all levels
    assert view.future["predicted"].sum() == view.predictions["exact_hit"].sum()
    assert set(view.metrics["method"]) == {"tiny", *(baseline_method(b, 0) for b in BASELINES)}
    assert best["fhr"].iloc[0] >= worst["fhr"].iloc[0]
    with pytest.raises(ValueError):
        ranked_users(evaluated_world, "tiny", metric="1; DROP TABLE samples")


def test_the_inspector_page_walks_through_a_user(evaluated_world):
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.session_state["workspace_choice"] = "Workspace: tiny-evaluated"
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.selectbox(key="inspector_checkpoint").value == "tiny"
    assert app.radio(key="inspector_source").value == "best FHR"  # scored: opens on a user with hits
    user = app.selectbox(key="inspector_user").value
    best, _ = ranked_users(evaluated_world, "tiny")
    assert user == best["user_id"][0]
    metrics = {m.label: m.value for m in app.metric}
    view = user_view(evaluated_world, user, "tiny")
    assert int(metrics["Exact hits"]) == int(view.predictions["exact_hit"].sum()) >= 1
    assert int(metrics["Future negatives"]) == len(view.future)
    tables = [d.value for d in app.dataframe]
    assert tables[0]["rank"].tolist() == list(range(1, len(tables[0]) + 1))
    assert len(app.get("plotly_chart")) >= 1  # the timeline
    app.radio(key="inspector_source").set_value("worst FHR").run()
    assert not app.exception


def test_the_inspector_without_predictions_says_what_to_do(workspaces, lm_world):
    workspace = listed_copy(lm_world, workspaces, "tiny-nopred")
    try:
        app = AppTest.from_file(PAGE, default_timeout=120)
        app.session_state["workspace_choice"] = "Workspace: tiny-nopred"
        app.run()
        assert not app.exception
        assert any("No predictions" in i.value for i in app.info)
    finally:
        remove_listed(workspace)
