"""Samples and windows on a tiny log whose every list is worked out by hand below."""

import json
from datetime import datetime, timedelta

import pytest

from conrec_core.errors import ConfigError
from conrec_core.data.importer import import_source, rebuild_samples
from conrec_core.data.samples import read_sample_config, users_first
from conrec_core.data.samples_config import SampleConfig
from conrec_core.data.workspace import open_workspace, read_meta, write_meta

from conftest import write

BASE = datetime(2024, 1, 1)
# user a: 10 events, so its validation cut is its 7th event time (day 11) and its test cut the 8th (day 12).
# user b: two negatives at the same second, then one a day later; cuts at day 1 and day 30.
LOG = [("a", "shared", 0, "neg"), ("a", "p1", 1, "pos"), ("a", "n2", 2, "neg"), ("a", "n3", 4, "neg"),
       ("a", "p2", 5, "pos"), ("a", "n4", 10, "neg"), ("a", "x", 11, "view"), ("a", "n5", 12, "neg"),
       ("a", "n6", 20, "neg"), ("a", "p3", 21, "pos"),
       ("b", "shared", 0, "neg"), ("b", "b2", 0, "neg"), ("b", "b3", 1, "neg"), ("b", "bp", 30, "pos")]


def day(n: float) -> datetime:
    return BASE + timedelta(days=n)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    rows = "\n".join(f"{u},{i},{int(day(d).timestamp()) - int(datetime(1970, 1, 1).timestamp())},{k}"
                     for u, i, d, k in LOG)
    events = write(folder / "log.csv", "user,item,time,kind\n" + rows + "\n")
    (folder / "m.json").write_text(json.dumps({"events": {
        "user": "user", "item": "item", "time": "time",
        "kind": {"column": "kind", "negative": ["neg"], "positive": ["pos"], "neutral": ["view"]}}}))
    import_source(events, folder / "ws.duckdb", mapping=folder / "m.json",
                  sample_config=SampleConfig(long_tail_item_negatives=2))
    return folder / "ws.duckdb"


def samples(workspace) -> dict:
    with open_workspace(workspace) as con:
        frame = con.execute("SELECT * FROM samples ORDER BY sample_id").df()
    return {(r.user_id, r.next_negative): r for r in frame.itertuples()}


def test_per_user_split_anchors(workspace):
    found = {key: row.split for key, row in samples(workspace).items()}
    assert found == {("a", "shared"): "train", ("a", "n2"): "train", ("a", "n3"): "train", ("a", "n4"): "train",
                     ("a", "n5"): "test",  # first negative at or after a's test cut; n6 anchors nothing
                     ("b", "shared"): "train", ("b", "b2"): "train", ("b", "b3"): "validation"}
    with open_workspace(workspace) as con:
        assert con.execute("SELECT * FROM user_cuts ORDER BY user_id").fetchall() == [
            ("a", day(11), day(12)), ("b", day(1), day(30))]


@pytest.mark.parametrize("key, recent, context, positives, window_end, future, future_positives, long_tail", [
    (("a", "shared"), [], [], [], day(7), ["shared", "n2", "n3"], ["p1", "p2"], True),
    (("a", "n2"), ["shared"], ["shared"], ["p1"], day(9), ["n2", "n3"], ["p2"], True),
    # the future of a training sample stops at the validation cut (day 11) even inside its 7 days
    (("a", "n3"), ["n2"], ["shared", "n2"], ["p1"], day(11), ["n3", "n4"], ["p2"], True),
    (("a", "n4"), [], ["shared", "n2", "n3"], ["p1", "p2"], day(11), ["n4"], [], False),
    (("a", "n5"), ["n4"], ["shared", "n2", "n3", "n4"], ["p1", "p2"], day(19), ["n5"], [], False),
    # ties: both day-0 negatives are the future of each other, never the context
    (("b", "shared"), [], [], [], day(1), ["shared", "b2"], [], True),
    (("b", "b2"), [], [], [], day(1), ["shared", "b2"], [], True),
    (("b", "b3"), ["shared", "b2"], ["shared", "b2"], [], day(8), ["b3"], [], True),
])
def test_context_and_future_windows(workspace, key, recent, context, positives, window_end, future,
                                    future_positives, long_tail):
    row = samples(workspace)[key]
    assert list(row.recent_negatives) == recent
    assert list(row.context_negatives) == context
    assert list(row.context_positives) == positives
    assert row.window_end == window_end
    assert list(row.future_negatives) == future
    assert list(row.future_positives) == future_positives
    assert row.long_tail_user == long_tail
    assert row.context_negative_count == len(context)


def test_long_tail_items_count_training_negatives_only(workspace):
    with open_workspace(workspace) as con:
        stats = dict(con.execute("SELECT item_id, train_negatives FROM item_stats").fetchall())
        long_tail = {i for (i,) in con.execute("SELECT item_id FROM item_stats WHERE long_tail_item").fetchall()}
    assert stats["shared"] == 2 and stats["n4"] == 1 and stats["n5"] == 0 and stats["b3"] == 0
    assert "shared" not in long_tail and {"n2", "n5", "b3", "p1"} <= long_tail


def test_context_limit_keeps_the_most_recent(tmp_path, workspace):
    copy = tmp_path / "ws.duckdb"
    copy.write_bytes(workspace.read_bytes())
    rebuild_samples(copy, SampleConfig(context_limit=2, window_days=1))
    row = samples(copy)[("a", "n5")]
    assert list(row.context_negatives) == ["n3", "n4"] and row.context_negative_count == 4
    assert row.window_end == day(13)


def test_global_split_with_calendar_cuts(tmp_path, workspace):
    copy = tmp_path / "ws.duckdb"
    copy.write_bytes(workspace.read_bytes())
    counts = rebuild_samples(copy, SampleConfig(split="global", validation_cut=day(11), test_cut=day(15)))
    assert counts == {"train": 7, "validation": 1, "test": 1}
    found = samples(copy)
    assert found[("a", "n5")].split == "validation" and found[("a", "n5")].window_end == day(15)
    assert found[("a", "n6")].split == "test" and list(found[("a", "n6")].future_negatives) == ["n6"]
    # b's day-1 negative now trains, and its window runs to the shared validation cut
    assert list(found[("b", "shared")].future_negatives) == ["shared", "b2", "b3"]


def test_global_split_cuts_default_to_quantiles_of_all_events(tmp_path, workspace):
    copy = tmp_path / "ws.duckdb"
    copy.write_bytes(workspace.read_bytes())
    rebuild_samples(copy, SampleConfig(split="global"))
    with open_workspace(copy) as con:
        cuts = con.execute("SELECT DISTINCT validation_cut, test_cut FROM user_cuts").fetchall()
    # 14 event times sorted; the 70% and 80% inverted-CDF quantiles are the 10th and 12th: days 11 and 20
    assert cuts == [(day(11), day(20))]


@pytest.mark.parametrize("changes, message", [
    ({"split": "random"}, "split must be one of"),
    ({"window_days": 0}, "window_days must be above 0, not 0"),
    ({"window_days": float("nan")}, "window_days must be above 0, not nan"),
    ({"validation_quantile": 0.9, "test_quantile": 0.8}, "validation_quantile must not be above test_quantile"),
    ({"validation_cut": day(1)}, "give both"),
    ({"validation_cut": day(1), "test_cut": day(2)}, "global split only"),
    ({"validation_anchors": 0}, "validation_anchors must be at least 1, not 0"),
])
def test_config_rejects_nonsense(changes, message):
    with pytest.raises(ConfigError, match=message):
        SampleConfig(**changes)


@pytest.fixture(scope="module")
def daily_negatives(tmp_path_factory):
    """One user with a negative a day for 100 days: about ten of them fall in the validation part."""
    folder = tmp_path_factory.mktemp("daily")
    epoch = datetime(1970, 1, 1)
    rows = "\n".join(f"u,i{d},{int((day(d) - epoch).total_seconds())},neg" for d in range(100))
    events = write(folder / "log.csv", "user,item,time,kind\n" + rows + "\n")
    (folder / "m.json").write_text(json.dumps({"events": {
        "user": "user", "item": "item", "time": "time", "kind": {"column": "kind", "negative": ["neg"]}}}))
    import_source(events, folder / "ws.duckdb", mapping=folder / "m.json")
    return folder / "ws.duckdb"


# ranks round(j * 9 / (cap - 1)), halves rounded up: 5 anchors over ten negatives sit at 0, 2.25, 4.5, 6.75, 9
@pytest.mark.parametrize("cap, ranks", [(1, [0]), (2, [0, 9]), (4, [0, 3, 6, 9]), (5, [0, 2, 5, 7, 9]),
                                        (10, list(range(10))), (50, list(range(10)))])
def test_validation_anchors_spread_evenly_over_the_validation_part(tmp_path, daily_negatives, cap, ranks):
    copy = tmp_path / "ws.duckdb"
    copy.write_bytes(daily_negatives.read_bytes())
    rebuild_samples(copy, SampleConfig(validation_anchors=cap))
    with open_workspace(copy) as con:
        validation_cut, test_cut = con.execute("SELECT validation_cut, test_cut FROM user_cuts").fetchone()
        rows = con.execute("SELECT split, next_negative FROM samples ORDER BY anchor_ts").fetchall()
    part = [f"i{d}" for d in range(100) if validation_cut <= day(d) < test_cut]
    assert len(part) == 10  # the hand-worked ranks above assume ten validation negatives
    assert [item for split, item in rows if split == "validation"] == [part[r] for r in ranks]
    # the training anchors and the one test anchor do not depend on the cap
    by_split = {split: [item for s, item in rows if s == split] for split in ("train", "test")}
    assert by_split["train"] == [f"i{d}" for d in range(100) if day(d) < validation_cut]
    assert by_split["test"] == [f"i{d}" for d in range(100) if day(d) >= test_cut][:1]


def test_validation_anchors_leave_the_global_split_alone(tmp_path, daily_negatives):
    copy = tmp_path / "ws.duckdb"
    copy.write_bytes(daily_negatives.read_bytes())
    counts = rebuild_samples(copy, SampleConfig(split="global", validation_anchors=1))
    assert counts["validation"] == 10 and counts["test"] > 1  # the global split anchors every negative


def test_users_first_puts_each_users_first_sample_before_anyones_second():
    order = users_first(["a", "a", "a", "b", "c", "c"])
    assert order == [0, 3, 4, 1, 5, 2]



def test_samples_built_before_validation_anchors_read_as_one_per_user(tmp_path, workspace):
    copy = tmp_path / "ws.duckdb"
    copy.write_bytes(workspace.read_bytes())
    with open_workspace(copy, read_only=False) as con:
        stored = read_meta(con, "sample_config")
        assert stored["validation_anchors"] == 5  # today's default, written at import
        write_meta(con, "sample_config", {k: v for k, v in stored.items() if k != "validation_anchors"})
    assert read_sample_config(copy).validation_anchors == 1
    assert read_sample_config(workspace).validation_anchors == 5


def test_samples_built_a_range_at_a_time_are_the_same_rows(tmp_path, workspace, monkeypatch):
    """A big log's lists are built a range of samples at a time (memory); tiny ranges give the same table."""
    import shutil

    from conrec_core.data import samples as sample_module

    def rows(path):
        with open_workspace(path) as con:
            return con.execute("SELECT * FROM samples ORDER BY sample_id").fetchall()

    whole = rows(workspace)
    copy = tmp_path / "ranges.duckdb"
    shutil.copy(workspace, copy)
    monkeypatch.setattr(sample_module, "ENTRIES_PER_CHUNK", 3)  # the log's lists hold ~30 entries: ~10 ranges
    rebuild_samples(copy, read_sample_config(workspace))
    assert len(whole) > 5 and rows(copy) == whole


@pytest.fixture(scope="module")
def thirty_users(tmp_path_factory):
    folder = tmp_path_factory.mktemp("thirty")
    epoch = datetime(1970, 1, 1)
    rows = "\n".join(f"u{u},i{(u + d) % 17},{int((day(d + u / 10) - epoch).total_seconds())},neg"
                     for u in range(30) for d in range(10))
    events = write(folder / "log.csv", "user,item,time,kind\n" + rows + "\n")
    (folder / "m.json").write_text(json.dumps({"events": {
        "user": "user", "item": "item", "time": "time", "kind": {"column": "kind", "negative": ["neg"]}}}))
    import_source(events, folder / "ws.duckdb", mapping=folder / "m.json")
    return folder / "ws.duckdb"


def test_evaluation_users_keep_every_training_sample_and_a_stable_few_users_evaluation(tmp_path, thirty_users):
    def rows(path):
        with open_workspace(path) as con:
            return {tuple(map(str, row)) for row in con.execute(
                "SELECT user_id, next_negative, anchor_ts, split, context_negatives, future_negatives "
                "FROM samples").fetchall()}

    everyone = rows(thirty_users)
    copy = tmp_path / "ws.duckdb"
    copy.write_bytes(thirty_users.read_bytes())
    counts = rebuild_samples(copy, SampleConfig(evaluation_users=7))
    capped = rows(copy)
    evaluated = {row[0] for row in capped if row[3] != "train"}
    assert len(evaluated) == 7 and counts["train"] == sum(row[3] == "train" for row in everyone)
    assert capped == {row for row in everyone if row[3] == "train" or row[0] in evaluated}
    with open_workspace(copy) as con:
        fingerprint = read_meta(con, "samples_fingerprint")
    rebuild_samples(copy, SampleConfig(evaluation_users=7))
    with open_workspace(copy) as con:
        assert read_meta(con, "samples_fingerprint") == fingerprint
    assert rows(copy) == capped
    with open_workspace(thirty_users) as con:
        assert read_meta(con, "samples_fingerprint") != fingerprint
    assert rebuild_samples(copy, SampleConfig(evaluation_users=100)) == rebuild_samples(copy, SampleConfig())
