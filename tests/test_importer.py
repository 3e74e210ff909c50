import hashlib
import json
import re
from datetime import datetime

import pytest

from conrec_core.errors import ConrecError, DataError
from conrec_core.data.importer import import_source
from conrec_core.data.movielens import MovieLensConfig
from conrec_core.data.workspace import open_workspace

from conftest import write

EVENTS = """uid,iid,when,action,why,stars
a,i1,1700000000000,dislike,this_item,1
a,i2,1700000060000,click,,4
a,i2,1700000060000,click,,4
a,i3,1700000120000,dislike,already_bought,1
b,i1,1700000180000,view,,
b,i3,1700000240000,DISLIKE,Category,2
"""
ITEMS = """item,name,about,kind_of,img
i1,Red mug,ceramic; 300 ml,Kitchen,"[0.1, 0.2, 0.3]"
i2,Blue mug,,Kitchen,0.3 0.2 0.1
i3,,,,
"""


def mapping(tmp_path, **changes) -> dict:
    data = {
        "events": {"user": "uid", "item": "iid", "time": "when", "time_unit": "ms", "value": "stars",
                   "kind": {"column": "action", "negative": ["dislike"], "positive": ["click"],
                            "neutral": ["view"]},
                   "reason": {"column": "why", "keep": ["this_item", "category"], "drop": ["already_bought"]}},
        "items": {"path": "items.csv", "id": "item", "title": "name", "text": ["about"], "category": "kind_of",
                  "vectors": {"image": "img"}},
    }
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            data[section][field] = value
        elif value is None:
            data.pop(section)
        else:
            data[section] = value
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(data))
    return path


def table(workspace, sql):
    with open_workspace(workspace) as con:
        return con.execute(sql).fetchall()


def test_mapped_csv_keeps_interest_negatives_and_counts_what_it_drops(tmp_path):
    events = write(tmp_path / "events.csv", EVENTS)
    write(tmp_path / "items.csv", ITEMS)
    workspace = tmp_path / "ws.duckdb"
    report = import_source(events, workspace, mapping=mapping(tmp_path))
    assert report.format == "table"
    assert report.events.rows_read == 6
    assert report.events.duplicates_dropped == 1
    assert report.events.non_interest_dropped == {"already_bought": 1}
    assert report.events.events_kept == 4
    assert table(workspace, "SELECT user_id, item_id, ts, kind, value, reason FROM events ORDER BY event_id") == [
        ("a", "i1", datetime(2023, 11, 14, 22, 13, 20), "negative", 1.0, "this_item"),
        ("a", "i2", datetime(2023, 11, 14, 22, 14, 20), "positive", 4.0, None),
        ("b", "i1", datetime(2023, 11, 14, 22, 16, 20), "neutral", None, None),
        ("b", "i3", datetime(2023, 11, 14, 22, 17, 20), "negative", 2.0, "category"),
    ]
    assert table(workspace, "SELECT * FROM items ORDER BY item_id") == [
        ("i1", "Red mug", "ceramic; 300 ml", "Kitchen"), ("i2", "Blue mug", None, "Kitchen"),
        ("i3", None, None, None)]
    vectors = table(workspace, "SELECT item_id, vector FROM item_vectors WHERE name = 'image' ORDER BY item_id")
    assert [(i, [round(x, 3) for x in v]) for i, v in vectors] == [("i1", [0.1, 0.2, 0.3]), ("i2", [0.3, 0.2, 0.1])]
    assert report.items.items_without_text == 1 and report.items.vectors == {"image": 3}


def test_iso_times_with_offsets_are_stored_in_utc(tmp_path):
    events = write(tmp_path / "e.csv", "u,i,t,k\nx,1,2024-05-01T12:00:00+02:00,neg\nx,2,2024-05-01 11:00:00,neg\n"
                                       "x,3,2024-05-02,pos\n")
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"events": {"user": "u", "item": "i", "time": "t", "time_unit": "iso",
                                           "kind": {"column": "k", "negative": ["neg"], "positive": ["pos"]}}}))
    import_source(events, tmp_path / "ws.duckdb", mapping=path)
    assert table(tmp_path / "ws.duckdb", "SELECT item_id, ts FROM events ORDER BY event_id") == [
        ("1", datetime(2024, 5, 1, 10)), ("2", datetime(2024, 5, 1, 11)), ("3", datetime(2024, 5, 2))]


def test_id_only_log_without_item_file(tmp_path):
    events = write(tmp_path / "e.csv", "u,i,t,k\nx,10,100,-1\nx,11,200,1\ny,10,300,-1\n")
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"events": {"user": "u", "item": "i", "time": "t",
                                           "kind": {"column": "k", "negative": ["-1"], "positive": ["1"]}}}))
    report = import_source(events, tmp_path / "ws.duckdb", mapping=path)
    assert report.items is None
    assert table(tmp_path / "ws.duckdb", "SELECT * FROM items ORDER BY item_id") == [
        ("10", None, None, None), ("11", None, None, None)]
    # x: cuts at its 70th/80th-percentile event time (200), so the negative at 100 trains; y: one test sample
    assert report.samples == {"train": 1, "test": 1}


def test_unknown_items_error_or_become_id_only_items(tmp_path):
    events = write(tmp_path / "events.csv", EVENTS.replace("b,i1,", "b,i9,"))
    write(tmp_path / "items.csv", ITEMS)
    with pytest.raises(DataError, match=r"events\.csv, row 5: item 'i9' is not in the item file "
                                        r"\(1 events point at 1 unknown items"):
        import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path))
    report = import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path, unknown_items="add"))
    assert report.id_only_items_added == 1
    assert table(tmp_path / "ws.duckdb", "SELECT title FROM items WHERE item_id = 'i9'") == [(None,)]


def test_movielens_latest_layout(ml_latest, tmp_path):
    report = import_source(ml_latest, tmp_path / "ws.duckdb")
    assert report.format == "movielens"
    ws = tmp_path / "ws.duckdb"
    assert table(ws, "SELECT user_id, item_id, kind, value FROM events ORDER BY event_id") == [
        ("1", "1", "negative", 1.0), ("1", "2", "positive", 4.5), ("1", "3", "neutral", 3.0),
        ("2", "4", "negative", 2.0), ("2", "1", "positive", 5.0)]
    assert table(ws, "SELECT * FROM items ORDER BY item_id") == [
        ("1", "Toy Story (1995)", "Adventure, Animation", "Adventure"),
        ("2", "Heat, The (1995)", "Action, Crime", "Action"),
        ("3", "Nothing (2000)", None, None),
        ("4", "Café (2001)", "Drama", "Drama")]
    # tags are kept dated, with who gave them: item text takes them only from before that user's cut
    assert table(ws, "SELECT item_id, user_id, epoch(ts)::INT, tag FROM item_tags ORDER BY ts") == [
        ("1", "1", 1000, "pixar"), ("1", "2", 1001, "pixar"), ("1", "2", 1002, "fun")]


def test_item_text_holds_no_tag_given_after_its_users_cut(ml_latest, tmp_path):
    from conrec_core.data.workspace import open_workspace
    from conrec_core.semantic_ids.encoder import item_texts

    (ml_latest / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,1,Pixar,1000\n2,1,overrated,2600\n"
                                        "2,4,cosy,1400\n9,4,boring,1\n")
    ws = tmp_path / "ws.duckdb"
    import_source(ml_latest, ws)
    cuts = dict(table(ws, "SELECT user_id, epoch(validation_cut)::INT FROM user_cuts"))
    assert cuts["2"] < 2600  # user 2's cut falls before their 'overrated': a judgement of the future
    with open_workspace(ws) as con:
        texts = dict(zip(*item_texts(con)))
    assert "tags: pixar" in texts["1"] and "overrated" not in texts["1"]
    assert "cosy" in texts["4"]
    # a tagging user who never rated has no cut of their own: their tag counts only before the earliest cut
    assert ("boring" in texts["4"]) == (1 < min(cuts.values()))


def test_movielens_thresholds_are_configurable(ml_latest, tmp_path):
    import_source(ml_latest, tmp_path / "ws.duckdb", movielens=MovieLensConfig(negative_max=3.0, positive_min=5.0))
    assert table(tmp_path / "ws.duckdb", "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind") == [
        ("negative", 3), ("neutral", 1), ("positive", 1)]


def test_movielens_100k_layout_reads_latin1_titles(ml_100k, tmp_path):
    report = import_source(ml_100k, tmp_path / "ws.duckdb")
    ws = tmp_path / "ws.duckdb"
    assert report.events.events_kept == 3
    assert table(ws, "SELECT * FROM items ORDER BY item_id") == [
        ("1", "Amélie (2001)", "genres: Comedy", "Comedy"),
        ("2", '"Quoted" Story (1995)', "genres: Drama, Romance", "Drama")]
    assert table(ws, "SELECT user_id, kind, ts FROM events ORDER BY event_id") == [
        ("196", "negative", datetime(1997, 12, 4, 15, 55, 49)), ("196", "positive", datetime(1997, 12, 4, 15, 55, 50)),
        ("22", "negative", datetime(1997, 12, 4, 15, 55, 51))]


BAD_CASES = {
    "missing column": (EVENTS.replace("uid,", "user,"), {},
                       r"events\.csv, column 'uid': missing column 'uid'; the file has: user, iid"),
    "unparsable time": (EVENTS.replace("1700000180000", "yesterday"), {},
                        r"events\.csv, column 'when', row 5: cannot read 'yesterday' as milliseconds"),
    "time after 2099": (EVENTS.replace("1700000180000", "5600000000000"), {},
                        r"column 'when', row 5: cannot read '5600000000000' as milliseconds since the epoch from "
                        r"1970 to 2099"),
    "time before 1970": (EVENTS.replace("1700000180000", "-1000"), {},
                         r"row 5: cannot read '-1000' as milliseconds since the epoch from 1970 to 2099"),
    "seconds that are milliseconds": (EVENTS, {"events__time_unit": "s"},
                                      r"row 1: .*it looks like milliseconds: set \"time_unit\": \"ms\""),
    "unknown kind": (EVENTS.replace("b,i1,1700000180000,view", "b,i1,1700000180000,share"), {},
                     r"column 'action', row 5: unknown value 'share'; the mapping knows 'dislike', 'click', 'view'"),
    "not a number": (EVENTS.replace("click,,4\na,i2", "click,,four\na,i2"), {},
                     r"column 'stars', row 2: 'four' is not a finite number"),
    "NaN value": (EVENTS.replace("click,,4\na,i2", "click,,NaN\na,i2"), {},
                  r"column 'stars', row 2: 'NaN' is not a finite number"),
    "infinite value": (EVENTS.replace("click,,4\na,i2", "click,,-inf\na,i2"), {},
                       r"column 'stars', row 2: '-inf' is not a finite number"),
    "unknown reason": (EVENTS.replace("already_bought", "too_pricey"), {},
                       r"column 'why', row 4: unknown reason 'too_pricey'"),
    "empty user": (EVENTS.replace("b,i3", ",i3"), {}, r"column 'uid', row 6: the user id is empty"),
    "wrong delimiter": (EVENTS.replace(",", ";"), {"events__delimiter": ","},
                        r"missing column 'uid'.*one column only: is the delimiter wrong\?"),
    "reserved column name": (EVENTS.replace("uid,", "_ROW,uid,", 1).replace("\na,", "\n1,a,").replace("\nb,", "\n1,b,"),
                             {}, r"events\.csv, column '_ROW': a column may not be named '_ROW' \(reserved"),
    "two-character delimiter": (EVENTS, {"events__delimiter": "||"},
                                r"events\.csv: the delimiter must be one character, not '\|\|'"),
    "empty file": ("", {}, r"events\.csv: the file is empty"),
    "header only": (EVENTS.splitlines()[0] + "\n", {}, r"events\.csv: the file has a header but no data rows"),
}


@pytest.mark.parametrize("name", list(BAD_CASES))
def test_bad_input_is_reported_with_file_column_and_row(tmp_path, name):
    content, changes, message = BAD_CASES[name]
    events = write(tmp_path / "events.csv", content)
    write(tmp_path / "items.csv", ITEMS)
    with pytest.raises(DataError, match=message):
        import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path, **changes))
    assert not (tmp_path / "ws.duckdb").exists()


def test_wrong_encoding_in_item_file(tmp_path):
    events = write(tmp_path / "events.csv", EVENTS)
    write(tmp_path / "items.csv", ITEMS.replace("Red mug", "Café mug"), encoding="latin-1")
    with pytest.raises(DataError, match=r"items\.csv: line 2 is not valid utf-8"):
        import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path))
    report = import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path, items__encoding="latin-1"))
    assert report.items.items_kept == 3


def test_conflicting_item_rows_and_bad_vectors(tmp_path):
    events = write(tmp_path / "events.csv", EVENTS)
    write(tmp_path / "items.csv", ITEMS + "i1,Green mug,,Kitchen,\n")
    with pytest.raises(DataError, match=r"items\.csv, column 'item', row 1: item 'i1' appears again on row 4"):
        import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path))
    write(tmp_path / "items.csv", ITEMS + "i2,Blue mug,,Kitchen,0.9 0.9 0.9\n")  # same values, other vector
    with pytest.raises(DataError, match=r"column 'img', row 2: item 'i2' appears again on row 4 with a different "
                                        r"image vector"):
        import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path))
    write(tmp_path / "items.csv", ITEMS + "i2,Blue mug,,Kitchen,\"[0.3, 0.2, 0.1]\"\n")  # a true duplicate
    assert import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path)).items.duplicates_dropped == 1
    write(tmp_path / "items.csv", ITEMS.replace("0.3 0.2 0.1", "0.3 0.2") + "i4,,,,1 1 1\n")
    with pytest.raises(DataError, match=r"column 'img', row 2: the image vector has 2 numbers here but 3"):
        import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path))
    write(tmp_path / "items.csv", ITEMS.replace("0.3 0.2 0.1", "0.3 x 0.1") + "i4,,,,1 1 1\n")
    with pytest.raises(DataError, match=r"column 'img', row 2: the image vector is not a list of numbers"):
        import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path))


def test_bad_mapping_files(tmp_path):
    events = write(tmp_path / "events.csv", EVENTS)
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(DataError, match=r"m\.json: not valid JSON"):
        import_source(events, tmp_path / "ws.duckdb", mapping=tmp_path / "m.json")
    with pytest.raises(DataError, match=r"in 'events': unknown key\(s\) colour"):
        import_source(events, tmp_path / "ws.duckdb", mapping=mapping(tmp_path, events__colour="red"))
    with pytest.raises(DataError, match=r"in 'events.kind': list the values meaning negative"):
        import_source(events, tmp_path / "ws.duckdb",
                      mapping=mapping(tmp_path, events__kind={"column": "action", "positive": ["click"]}))
    with pytest.raises(ConrecError, match="needs a column mapping"):
        import_source(events, tmp_path / "ws.duckdb")


def test_failed_import_leaves_the_existing_workspace_as_it_was(tmp_path, ml_latest):
    workspace = tmp_path / "ws.duckdb"
    import_source(ml_latest, workspace)
    before = hashlib.sha256(workspace.read_bytes()).hexdigest()
    write(ml_latest / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,1.0,1000\n1,99,4.5,2000\n")
    with pytest.raises(DataError, match=r"ratings\.csv, row 2: item '99' is not in the item file"):
        import_source(ml_latest, workspace)
    assert hashlib.sha256(workspace.read_bytes()).hexdigest() == before
    assert table(workspace, "SELECT count(*) FROM events") == [(5,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml-latest", "ws.duckdb"]


def test_import_never_overwrites_a_file_that_is_not_a_workspace(tmp_path, ml_latest):
    precious = write(tmp_path / "notes.csv", "a,b\n1,2\n")
    with pytest.raises(ConrecError, match="is not a conrec workspace; refusing to overwrite it"):
        import_source(ml_latest, precious)
    assert precious.read_text() == "a,b\n1,2\n"
    other = tmp_path / "other.duckdb"
    import duckdb
    duckdb.connect(str(other)).execute("CREATE TABLE mine AS SELECT 1 AS x").close()
    with pytest.raises(ConrecError, match="a DuckDB database but not a conrec workspace"):
        import_source(ml_latest, other)
    assert duckdb.connect(str(other), read_only=True).execute("SELECT x FROM mine").fetchall() == [(1,)]


def test_import_refuses_a_workspace_another_process_holds(tmp_path, ml_latest):
    import subprocess
    import sys
    workspace = tmp_path / "ws.duckdb"
    import_source(ml_latest, workspace)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)", str(workspace)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(ConrecError, match="in use by another conrec process"):
            import_source(ml_latest, workspace)
    finally:
        holder.kill()
        holder.wait()
    assert table(workspace, "SELECT count(*) FROM events") == [(5,)]


def test_movielens_folder_with_a_broken_movies_file(ml_latest, tmp_path):
    write(ml_latest / "movies.csv", "movieId,name,genres\n1,Toy Story,Comedy\n")
    with pytest.raises(DataError, match=r"movies\.csv, column 'title': missing column 'title'"):
        import_source(ml_latest, tmp_path / "ws.duckdb")
    with pytest.raises(DataError, match="not a MovieLens folder"):
        import_source(tmp_path, tmp_path / "ws.duckdb", format="movielens")


@pytest.mark.parametrize("rating, threshold, message", [
    ("nan", 2, r"column 'stars', row 2: 'nan' is not a finite number"),
    ("inf", 2, r"column 'stars', row 2: 'inf' is not a finite number"),
    ("5", float("nan"), r"'negative_max' must be a finite number, not nan"),
])
def test_nan_and_infinity_never_become_feedback(tmp_path, rating, threshold, message):
    # NaN >= 4 is true in DuckDB: a NaN rating (or a NaN threshold) would silently turn into a like or a dislike
    events = write(tmp_path / "e.csv", f"u,i,t,stars\n1,a,100,1\n1,b,200,{rating}\n")
    write(tmp_path / "m.json", json.dumps({"events": {"user": "u", "item": "i", "time": "t", "kind": {
        "column": "stars", "negative_max": threshold, "positive_min": 4}}}))
    with pytest.raises(DataError, match=message):
        import_source(events, tmp_path / "ws.duckdb", mapping=tmp_path / "m.json")
    assert not (tmp_path / "ws.duckdb").exists()


@pytest.mark.parametrize("uid, found", [("CAST(u AS DOUBLE)", "DOUBLE"), ("[u]", "BIGINT[]"),
                                        ("{'id': u}", "STRUCT"), ("CAST(CAST(u AS VARCHAR) AS BLOB)", "BLOB")])
def test_parquet_id_columns_of_a_type_without_one_spelling_are_refused(tmp_path, uid, found):
    import duckdb

    path = tmp_path / "events.parquet"
    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT {uid} AS uid, 'i' || u AS iid, 1700000000000 + u AS "when", 'dislike' AS action
                            FROM range(1, 4) r(u)) TO '{path}' (FORMAT parquet)""")
    events_mapping = {"events": {"user": "uid", "item": "iid", "time": "when", "time_unit": "ms",
                                 "kind": {"column": "action", "negative": ["dislike"]}}}
    (tmp_path / "m.json").write_text(json.dumps(events_mapping))
    with pytest.raises(DataError, match=rf"column 'uid': holds {re.escape(found)}.* values, but user ids must be "
                                        r"text or whole numbers"):
        import_source(path, tmp_path / "ws.duckdb", mapping=tmp_path / "m.json")
    assert not (tmp_path / "ws.duckdb").exists()


def test_a_codebook_on_dated_tags_goes_stale_with_the_samples(ml_latest, ml_100k, tmp_path):
    """Tags enter the text by the samples' cuts, so the encoder says its text depends on them: the codebook then
    records the samples it was fitted on (semantic_ids/codebook.py), as it does for co-occurrence vectors."""
    from conrec_core.semantic_ids.encoder import encode_items
    from conrec_core.semantic_ids.encoder_config import EncoderConfig

    for folder, dated in ((ml_latest, True), (ml_100k, False)):
        ws = tmp_path / f"{folder.name}.duckdb"
        import_source(folder, ws)
        assert encode_items(ws, EncoderConfig(collaborative="off")).dated_text is dated


def test_a_mapping_saved_with_a_utf8_bom_is_read_like_a_data_file_with_one(tmp_path):
    from conrec_core.data.mapping import load_mapping

    mapping = tmp_path / "mapping.json"
    mapping.write_bytes(b"\xef\xbb\xbf" + json.dumps({"events": {"user": "u", "item": "i", "time": "t", "kind": {
        "column": "k", "negative": ["no"]}}}).encode())
    assert load_mapping(mapping).events.kind.negative == ("no",)


def test_a_second_import_into_a_workspace_being_imported_is_refused_not_told_it_succeeded(tmp_path):
    import pytest

    from conrec_core.data.importer import import_source
    from conrec_core.data.workspace import _import_lock, _release_import_lock
    from conrec_core.errors import WorkspaceBusy

    log = tmp_path / "log.csv"
    log.write_text("user_id,item_id,ts,action\nu1,i1,1700000000,dislike\nu1,i2,1700000600,click\n"
                   "u2,i1,1700001200,dislike\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"events": {"user": "user_id", "item": "item_id", "time": "ts", "kind": {
        "column": "action", "negative": ["dislike"], "positive": ["click"]}}}))
    workspace = tmp_path / "ws.duckdb"
    first = _import_lock(workspace.resolve())  # an import into the same workspace at work
    try:
        with pytest.raises(WorkspaceBusy, match="another import into this workspace is running"):
            import_source(log, workspace, mapping=mapping)
        assert not workspace.exists()
    finally:
        _release_import_lock(first)
    import_source(log, workspace, mapping=mapping)  # once it is done, the next one runs
    assert workspace.is_file()
