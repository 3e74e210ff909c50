import json
from datetime import datetime

import pytest

from conrec_core.data import stats
from conrec_core.data.importer import import_source
from conrec_core.data.workspace import open_workspace

from conftest import write

DAY = 86400


@pytest.fixture
def con(tmp_path):
    events = write(tmp_path / "e.csv", "u,i,t,k\n"
                   f"a,1,0,neg\na,2,60,pos\nb,1,120,neg\nb,3,{2 * DAY},neg\nc,2,{2 * DAY + 5},view\n")
    (tmp_path / "m.json").write_text(json.dumps({"events": {"user": "u", "item": "i", "time": "t", "kind": {
        "column": "k", "negative": ["neg"], "positive": ["pos"], "neutral": ["view"]}}}))
    import_source(events, tmp_path / "ws.duckdb", mapping=tmp_path / "m.json")
    with open_workspace(tmp_path / "ws.duckdb") as connection:
        yield connection


def test_summary_counts(con):
    summary = stats.summarize(con)
    assert (summary.users, summary.items, summary.events) == (3, 3, 5)
    assert (summary.negatives, summary.positives, summary.neutral) == (3, 1, 1)
    assert summary.negative_share == pytest.approx(0.6)
    assert summary.first_event == datetime(1970, 1, 1) and summary.last_event == datetime(1970, 1, 3, 0, 0, 5)
    assert summary.users_with_negatives == 2 and summary.items_without_text == 3
    # a's cuts fall on its second event (60 s), so its negative trains; b's fall on day 2: one train, one test
    assert summary.samples == {"train": 2, "test": 1}
    assert summary.future_window_share == {"train": 0.0, "test": 0.0}
    assert summary.long_tail_user_share == pytest.approx(1.0)
    assert summary.long_tail_item_share == pytest.approx(1.0)  # no item has 5 training negatives
    assert summary.to_dict()["first_event"] == "1970-01-01T00:00:00+00:00"


def test_negatives_per_day_has_every_day(con):
    frame = stats.negatives_per_day(con)
    assert [d.day for d in frame.day] == [1, 2, 3]
    assert list(frame.negatives) == [2, 0, 1] and list(frame.events) == [3, 0, 2]


def test_negatives_per_user_includes_users_without_negatives(con):
    frame = stats.negatives_per_user(con)
    assert dict(zip(frame.user_id, frame.negatives)) == {"a": 1, "b": 2, "c": 0}


def test_split_table_and_reasons(con):
    table = stats.split_table(con)
    assert list(table.split) == ["train", "test"] and list(table.samples) == [2, 1]
    assert stats.negative_reasons(con).to_dict("records") == [{"reason": "(none)", "negatives": 3}]
    assert stats.import_report(con)["events"]["events_kept"] == 5
