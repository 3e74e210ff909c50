"""The guessed first mapping: a real log's shape does not fool it, the page and `import --guess` share it."""

import json
import subprocess
import sys
from datetime import datetime, timezone

import numpy as np
import pytest

from conrec_core.data.mapping_guess import guess_and_check, guess_event_mapping, guess_kind_rule, one_kind_warning
from conrec_core.data.preview import ColumnValues, EventFilePreview

from conftest import REPO, write


def video_log(path, rows: int = 600, dislike_share: float = 0.15, seed: int = 0):
    """A video app's log with a dislike button: tab-separated ids, an epoch in ms, a 0/1 label, date and hour."""
    rng = np.random.default_rng(seed)
    lines = ["user_id\tvideo_id\ttime_ms\tlabel\tdate\thour"]
    for _ in range(rows):
        ms = 1_650_000_000_000 + int(rng.integers(0, 30 * 86_400_000))
        moment = datetime.fromtimestamp(ms / 1000, timezone.utc)
        lines.append(f"{rng.integers(1, 60)}\t{rng.integers(1, 400)}\t{ms}\t{int(rng.random() < dislike_share)}"
                     f"\t{moment:%Y-%m-%d}\t{moment.hour}")
    return write(path, "\n".join(lines) + "\n")


def test_a_video_log_is_guessed_whole_each_column_once(tmp_path):
    guess = guess_event_mapping(EventFilePreview(video_log(tmp_path / "video.tsv")))
    assert guess.events == {"user": "user_id", "item": "video_id", "time": "time_ms", "time_unit": "ms",
                            "kind": {"column": "label", "negative": ["1"], "positive": ["0"]}}
    assert any("rarer" in note for note in guess.notes)  # the 0/1 reading is flagged for a check


def test_a_column_named_like_negative_feedback_keeps_its_true_value_negative(tmp_path):
    rows = "\n".join(f"u{i % 7},i{i},{1_700_000_000 + i},{int(i % 10 != 0)}" for i in range(80))
    guess = guess_event_mapping(EventFilePreview(write(tmp_path / "e.csv", "uid,item,ts,disliked\n" + rows)))
    # "disliked" is not a known feedback name, so it is found as the few-valued column left over
    assert guess.events["kind"] == {"column": "disliked", "negative": ["1"], "positive": ["0"]}
    assert guess.events["time_unit"] == "s"


def test_with_no_item_name_the_most_distinct_free_column_is_the_item_never_the_user_twice(tmp_path):
    rows = "\n".join(f"u{i % 5},thing{i},2024-01-{1 + i % 28:02d}T10:00:00,{'dislike' if i % 3 else 'like'}"
                     for i in range(60))
    guess = guess_event_mapping(EventFilePreview(write(tmp_path / "e.csv", "user_id,what,when,action\n" + rows)))
    events = guess.events
    assert (events["user"], events["item"], events["time"], events["time_unit"]) == ("user_id", "what", "when",
                                                                                     "iso")
    assert events["kind"] == {"column": "action", "negative": ["dislike"], "positive": ["like"]}
    assert len({events["user"], events["item"], events["time"], events["kind"]["column"]}) == 4


def test_an_epoch_column_beats_a_date_column_and_an_id_is_never_the_time(tmp_path):
    # ids in the epoch-seconds range, a date column, and the real time only as epoch seconds
    rows = "\n".join(f"{1_500_000_000 + i % 9},{1_600_000_000 + i},2024-02-{1 + i % 28:02d},{1_700_000_000 + i},"
                     f"{'dislike' if i % 2 else 'view'}" for i in range(50))
    guess = guess_event_mapping(EventFilePreview(write(tmp_path / "e.csv", "user_id,item_id,day,stamp,event\n"
                                                       + rows)))
    assert (guess.events["time"], guess.events["time_unit"]) == ("stamp", "s")


def test_ratings_map_by_thresholds_on_their_own_scale():
    five = ColumnValues(tuple((str(v), 10) for v in (1, 2, 3, 4, 5)), distinct=5, numeric_share=1.0)
    assert guess_kind_rule("stars", five) == {"column": "stars", "negative_max": 2.0, "positive_min": 4.0}
    ten = ColumnValues(tuple((str(v), 10) for v in range(1, 11)), distinct=10, numeric_share=1.0)
    assert guess_kind_rule("score", ten) == {"column": "score", "negative_max": 4.0, "positive_min": 7.0}
    two = ColumnValues((("5", 30), ("1", 4)), distinct=2, numeric_share=1.0)
    assert guess_kind_rule("stars", two) == {"column": "stars", "negative": ["1"], "positive": ["5"]}


def test_a_mapping_that_makes_almost_every_event_one_kind_is_warned_about():
    assert one_kind_warning({"negative": 37_330}) == ("100% of the events are negative: check the feedback column "
                                                      "and which of its values mean a dislike.")
    assert one_kind_warning({"negative": 96, "positive": 4}) is not None
    assert one_kind_warning({"negative": 94, "positive": 6}) is None
    assert one_kind_warning({}) is None


def test_guess_and_check_counts_each_kind_with_the_importers_staging(tmp_path):
    guess, kinds = guess_and_check(EventFilePreview(video_log(tmp_path / "video.tsv", dislike_share=0.02)))
    assert sum(kinds.values()) == 600 and kinds["negative"] < 30
    assert any("positive" in note and "%" in note for note in guess.notes)  # 95%+ positive: warned


@pytest.mark.parametrize("unit", ["s", "ms", "iso"])
def test_reading_a_time_column_in_the_wrong_unit_gives_none_not_an_error(tmp_path, unit):
    file = EventFilePreview(video_log(tmp_path / "video.tsv", rows=20))
    span = file.time_range("time_ms", unit)
    assert span is None if unit in ("s", "iso") else span[0].year == 2022  # ms as s is past year 9999
    assert file.time_range("date", "iso")[0].year == 2022


def test_import_guess_prints_the_mapping_as_json_and_imports_nothing(tmp_path):
    log = video_log(tmp_path / "video.tsv")
    result = subprocess.run([sys.executable, "-m", "conrec_core", "import", str(log), "--guess"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events"]["item"] == "video_id"
    assert "events per kind: negative" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.tsv"]
    refused = subprocess.run([sys.executable, "-m", "conrec_core", "import", str(log)], cwd=REPO,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "needs --workspace" in refused.stderr
