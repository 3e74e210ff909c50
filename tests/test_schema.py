"""The workspace schema: every table from one module, and older workspaces migrated when opened."""

import duckdb
import pytest

from conrec_core.data.schema import SCHEMA_VERSION, TABLES
from conrec_core.data.workspace import connect, new_workspace, open_workspace, read_meta
from conrec_core.errors import WorkspaceError


def tables(con) -> set[str]:
    return {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def test_a_new_workspace_has_every_table(tmp_path):
    with new_workspace(tmp_path / "ws.duckdb"):
        pass
    with open_workspace(tmp_path / "ws.duckdb") as con:
        assert tables(con) == set(TABLES)
        assert read_meta(con, "schema_version") == SCHEMA_VERSION


def test_a_version_1_workspace_is_migrated_on_open(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))  # what version 1 wrote: four tables, later ones created lazily
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value JSON NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    for name in ("items", "item_vectors", "events"):
        con.execute(TABLES[name])
    con.execute("""CREATE TABLE sample_metrics (method VARCHAR NOT NULL, split VARCHAR NOT NULL,
                   sample_id BIGINT NOT NULL, user_id VARCHAR NOT NULL, k INTEGER NOT NULL, hr DOUBLE NOT NULL,
                   fhr DOUBLE NOT NULL, ndcg DOUBLE NOT NULL, lif DOUBLE, long_tail_user BOOLEAN NOT NULL,
                   created_at TIMESTAMP NOT NULL, PRIMARY KEY (method, split, sample_id))""")
    con.execute("INSERT INTO sample_metrics VALUES ('m', 'test', 1, 'u', 20, 1, 1, 1, NULL, false, now())")
    con.close()
    with open_workspace(path) as con:  # a reader: the migration takes a moment of write access first
        assert tables(con) == set(TABLES)
        assert read_meta(con, "schema_version") == SCHEMA_VERSION
        row = con.execute("SELECT fhr, candidate_accuracy, invalid_rate, true_dislike_share, ranked "
                          "FROM sample_metrics").fetchall()
        assert row == [(1.0, None, None, None, None)]  # the old row kept, the new columns empty (through v3)


def test_a_newer_workspace_is_refused_not_damaged(tmp_path):
    path = tmp_path / "new.duckdb"
    with new_workspace(path) as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION + 1)])
    before = path.read_bytes()
    with pytest.raises(WorkspaceError, match="update conrec"):
        connect(path)
    assert path.read_bytes() == before


def test_an_import_killed_midway_leaves_nothing_behind_the_next_one(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "shop.duckdb"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)  # a PID whose process is gone, as after a SIGKILL
    killed = tmp_path / f".shop.duckdb.building-{finished.stdout.strip()}"
    duckdb.connect(str(killed)).execute("CREATE TABLE half AS SELECT 1 AS x").close()
    (tmp_path / (killed.name + ".wal")).write_bytes(b"torn")
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = tmp_path / f".shop.duckdb.building-{running.pid}"  # another import still at work
        busy.write_bytes(b"in progress")
        with new_workspace(path) as con:
            con.execute("SELECT 1")
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == sorted(["shop.duckdb", busy.name]), left
    finally:
        running.kill()
        running.wait()


def test_a_workspace_with_a_view_is_refused_and_a_reader_reaches_no_other_file(tmp_path, small_world):
    import shutil

    import duckdb
    import pytest

    from conrec_core.data.workspace import open_workspace
    from conrec_core.errors import WorkspaceError

    crafted = tmp_path / "crafted.duckdb"
    shutil.copy(small_world, crafted)
    con = duckdb.connect(str(crafted))
    con.execute("CREATE VIEW leak AS SELECT * FROM read_text('/etc/hostname')")
    con.close()
    with pytest.raises(WorkspaceError, match=r"holds views \(leak\)"):
        with open_workspace(crafted):
            pass
    with open_workspace(small_world) as reader:  # a sound workspace opens, and its reader cannot read files
        with pytest.raises(duckdb.Error, match="disabled"):
            reader.execute("SELECT * FROM read_text('/etc/hostname')").fetchall()
