"""kill -9 an import that replaces a workspace: the old workspace stays byte-identical and usable until the whole
new one is swapped in (a kill between the swap and the exit leaves the new one), and the next
import clears what the killed one left and arrives at the same result as an uninterrupted one."""

import hashlib
import json
import time

import pytest

from conrec_core.data.workspace import open_workspace
from harness import REPO, kill, start, wait_for

MOVIELENS = REPO / "sample_data" / "movielens-small"
OLD_LOG = "user_id,item_id,ts,action\nu1,i1,1700000000,dislike\nu2,i1,1700000600,dislike\n"
MAPPING = {"events": {"user": "user_id", "item": "item_id", "time": "ts",
                      "kind": {"column": "action", "negative": ["dislike"]}}}


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def events(workspace) -> int:
    with open_workspace(workspace) as con:
        return con.execute("SELECT count(*) FROM events").fetchall()[0][0]


@pytest.fixture
def old_workspace(tmp_path):
    from conrec_core.data.importer import import_source

    (tmp_path / "old.csv").write_text(OLD_LOG)
    (tmp_path / "mapping.json").write_text(json.dumps(MAPPING))
    workspace = tmp_path / "ws" / "ws.duckdb"
    import_source(tmp_path / "old.csv", workspace, mapping=tmp_path / "mapping.json")
    return workspace


def test_imports_killed_at_several_moments_lose_nothing(old_workspace, tmp_path):
    before, expected_events = digest(old_workspace), 2
    folder = old_workspace.parent
    for delay in (0.0, 0.8, 2.5):  # as staging begins, reading the ratings, building samples or writing
        process = start(["-m", "conrec_core", "import", str(MOVIELENS), "--workspace", str(old_workspace)],
                        tmp_path / "import.log")
        try:
            wait_for(lambda: any(p.name.startswith(".ws.duckdb.building-") for p in folder.iterdir()), process)
            time.sleep(delay)
        finally:
            kill(process)
        if process.returncode == 0:  # finished before the kill: nothing left to check at this moment
            continue
        if digest(old_workspace) != before:  # killed after its swap, before it exited: the new one is whole
            before, expected_events = digest(old_workspace), 100_836
        assert events(old_workspace) == expected_events
    finished = start(["-m", "conrec_core", "import", str(MOVIELENS), "--workspace", str(old_workspace)],
                     tmp_path / "import.log")
    assert finished.wait(timeout=300) == 0, (tmp_path / "import.log").read_text()
    assert events(old_workspace) == 100_836  # the shipped sample's ratings, as an uninterrupted import reads them
    assert sorted(p.name for p in folder.iterdir()) == ["ws.duckdb"]  # the killed imports' files are gone
