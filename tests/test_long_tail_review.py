"""Slices, their tables and exports, and the long-tail review page through AppTest."""

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conrec_core.evaluation.baselines import BASELINES, baseline_method
from conrec_core.evaluation.method_labels import method_label
from conrec_core.errors import ConrecError
from conrec_core.evaluation.slices import evaluated_samples, export_slice, exports_dir, slice_table, take_slice

from conftest import REPO

PAGE = str(REPO / "pages" / "long_tail_review.py")


def test_slices_select_the_right_samples(evaluated_world):
    frame = evaluated_samples(evaluated_world, "test")
    assert set(frame["method"]) == {"tiny", *(baseline_method(b, 0) for b in BASELINES)}
    tail = take_slice(frame, "long-tail users")
    assert tail["long_tail_user"].all() and (tail["context_negative_count"] < 3).all()
    assert len(tail) == int(frame["long_tail_user"].sum())
    assert take_slice(frame, "long-tail items")["lif"].notna().all()
    assert (take_slice(frame, "no negative history")["context_negative_count"] == 0).all()
    missed = take_slice(frame, "all samples", ("fhr", 0.0, 0.0, "tiny"))
    mine = frame[frame["method"] == "tiny"]
    assert set(missed["sample_id"]) == set(mine.loc[mine["fhr"] == 0, "sample_id"])
    assert missed.groupby("method")["sample_id"].apply(frozenset).nunique() == 1  # every method, same samples
    assert (missed.loc[missed["method"] == "tiny", "fhr"] == 0).all()
    table = slice_table(tail, ("most_disliked", "swing_cf")).set_index("method")
    mine = tail[tail["method"] == "tiny"]
    assert table.loc["tiny", "fhr"] == pytest.approx(mine["fhr"].mean())
    with pytest.raises(ValueError):
        take_slice(frame, "everyone")


def test_export_writes_inside_the_export_folder_with_a_manifest(evaluated_world):
    rows = evaluated_samples(evaluated_world, "test")
    about = {"split": "test", "slice_name": "long-tail users", "metric_filter": ("fhr", 0.0, 0.5, "tiny"),
             "methods": ["tiny"], "table": slice_table(rows, ("most_disliked",))}
    data, manifest = export_slice(evaluated_world, "all-test", rows, "csv", **about)
    assert data.parent == exports_dir(evaluated_world) and len(pd.read_csv(data)) == len(rows)
    assert len(data.read_text().splitlines()) == len(rows) + 1  # one line a row: lists are JSON, not numpy's printout
    listed = [c for c in rows.columns if rows[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).all()]
    assert listed and all(json.loads(cell) == list(value) for c in listed
                          for cell, value in zip(pd.read_csv(data)[c], rows[c]))
    written = json.loads(manifest.read_text())
    assert written["rows"] == len(rows) and written["thresholds"]["long_tail_user_negatives"] == 3
    assert written["slice_definition"].startswith("fewer than 3 negatives before the anchor")
    assert written["filter"] == {"metric": "fhr", "low": 0.0, "high": 0.5, "reference": "tiny"}
    assert set(written["checkpoints"]) == {"tiny"} and len(written["checkpoints"]["tiny"]["fingerprint"]) > 8
    for bad in ("../escape", "/etc/passwd", ".hidden", "a/b"):
        with pytest.raises(ConrecError):
            export_slice(evaluated_world, bad, rows, "csv", **about)
    with pytest.raises(ConrecError, match="exists already"):  # never replaced without a word
        export_slice(evaluated_world, "all-test", rows.head(3), "csv", **about)
    assert len(pd.read_csv(data)) == len(rows)
    hostile = rows.head(3).assign(user_id=["=HYPERLINK(\"http://x\")", "+1", "plain"])
    data, _ = export_slice(evaluated_world, "all-test", hostile, "csv", **about, overwrite=True)
    assert pd.read_csv(data)["user_id"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "plain"]
    assert not [p for p in exports_dir(evaluated_world).iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ConrecError):
        export_slice(evaluated_world, "fine", rows, "xlsx", **about)


def test_the_review_page_shows_slices_and_exports(evaluated_world):
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.session_state["workspace_choice"] = "Workspace: tiny-evaluated"
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    table = app.dataframe[0].value
    assert set(table["name"]) == {"tiny", *(baseline_method(b, 0) for b in BASELINES)}
    assert set(table["method"]) == {"tiny", *(method_label(baseline_method(b, 0)) for b in BASELINES)}
    app.selectbox(key="review_slice").set_value("long-tail users").run()
    assert not app.exception
    name_box = [t for t in app.text_input if t.label == "Export name"]
    assert name_box[0].value == "test-long-tail-users"  # the name follows the slice chosen
    app.checkbox(key="review_filter_on").check().run()
    name_box = [t for t in app.text_input if t.label == "Export name"]
    assert name_box[0].value.startswith("test-long-tail-users-hr-")
    name_box[0].set_value("../../outside")
    [b for b in app.get("form_submit_button") if b.label == "Export"][0].click().run()
    assert "is not allowed" in app.error[0].value
    [t for t in app.text_input if t.label == "Export name"][0].set_value("tail-misses")
    app.radio(key="review_export_format").set_value("parquet")
    [b for b in app.get("form_submit_button") if b.label == "Export"][0].click().run()
    assert not app.error and "Wrote" in app.success[0].value
    manifest = json.loads((exports_dir(evaluated_world) / "tail-misses.manifest.json").read_text())
    assert manifest["slice"] == "long-tail users" and manifest["filter"]["metric"] == "hr"
    assert "tiny" in manifest["checkpoints"]
    assert [d.proto.label for d in app.get("download_button")] == ["Download tail-misses.parquet",
                                                                  "Download tail-misses.manifest.json"]
