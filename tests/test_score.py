"""`score`: each user's most likely next rejections as of a moment, for production, from a real tiny checkpoint."""

import subprocess
import sys
import pandas as pd
import pytest

from conrec_core.data.workspace import open_workspace
from conrec_core.decoding.as_of import parse_as_of
from conrec_core.decoding.score import score_users, user_states
from conrec_core.errors import ConrecError

from conftest import REPO


def met_before(workspace, user, moment) -> set[str]:
    with open_workspace(workspace) as con:
        return {i for (i,) in con.execute("SELECT DISTINCT item_id FROM events WHERE user_id = ? AND ts <= ?",
                                          [user, moment.replace(tzinfo=None)]).fetchall()}


def test_every_user_gets_k_items_they_never_met_in_long_form(tiny_checkpoint, tmp_path):
    workspace, _ = tiny_checkpoint
    run = score_users(workspace, "tiny", tmp_path / "dislikes.parquet", top_k=5)
    table = pd.read_parquet(run.out)
    assert list(table.columns) == ["user", "rank", "item", "score"]
    with open_workspace(workspace) as con:
        users = con.execute("SELECT count(DISTINCT user_id) FROM events").fetchall()[0][0]
    assert run.users == users == table.user.nunique() and run.rows == len(table) == 5 * users
    assert table.groupby("user")["rank"].apply(list).map(lambda ranks: ranks == [1, 2, 3, 4, 5]).all()
    assert table.groupby("user")["item"].nunique().eq(5).all()
    for user, rows in list(table.groupby("user"))[:10]:
        assert not set(rows["item"]) & met_before(workspace, user, run.as_of)
        assert rows["score"].is_monotonic_decreasing
    assert run.users_per_second > 0


def test_as_of_reads_only_the_events_up_to_it(tiny_checkpoint, tmp_path):
    workspace, _ = tiny_checkpoint
    end, states, _ = user_states(workspace)
    with open_workspace(workspace) as con:
        middle = con.execute("SELECT quantile_disc(ts, 0.5) FROM events").fetchall()[0][0]
    earlier, early_states, early_seen = user_states(workspace, parse_as_of(middle.isoformat()))
    assert earlier.replace(tzinfo=None) == middle < end.replace(tzinfo=None)
    assert len(early_states) <= len(states)
    by_user = {s.user_id: s for s in states}
    grown = [s for s in early_states if len(by_user[s.user_id].context_negatives) > len(s.context_negatives)]
    assert grown  # the second half of the log is left out of someone's history
    user = grown[0].user_id
    run = score_users(workspace, "tiny", tmp_path / "then.parquet", top_k=3, as_of=earlier, users=[user])
    table = pd.read_parquet(run.out)
    assert set(table.user) == {user} and len(table) == 3
    assert not set(table.item) & met_before(workspace, user, earlier)


def test_bad_requests_fail_in_one_clear_line(tiny_checkpoint, tmp_path):
    workspace, _ = tiny_checkpoint
    with pytest.raises(ConrecError, match="no such user"):
        score_users(workspace, "tiny", tmp_path / "x.parquet", users=["nobody-at-all"])
    with pytest.raises(ConrecError, match="name it FILE.parquet"):
        score_users(workspace, "tiny", tmp_path / "x.csv")
    with pytest.raises(ConrecError, match="not an ISO-8601 time"):
        parse_as_of("last tuesday")
    assert parse_as_of("2024-03-01").tzinfo is not None
    assert not list(tmp_path.iterdir())


def test_the_command_prints_users_per_second(tiny_checkpoint, tmp_path):
    workspace, _ = tiny_checkpoint
    out = tmp_path / "list.parquet"
    with open_workspace(workspace) as con:
        users = [u for (u,) in con.execute("SELECT DISTINCT user_id FROM events ORDER BY 1 LIMIT 2").fetchall()]
    result = subprocess.run([sys.executable, "-m", "conrec_core", "score", "--workspace", str(workspace),
                             "--checkpoint", "tiny", "--out", str(out), "--top-k", "4", "--users", *users],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "users per second" in result.stdout
    assert len(pd.read_parquet(out)) == 8


def test_chunks_and_shards_give_the_same_lists(tiny_checkpoint, tmp_path, monkeypatch):
    from conrec_core.decoding import score

    workspace, _ = tiny_checkpoint
    whole = pd.read_parquet(score_users(workspace, "tiny", tmp_path / "whole.parquet", top_k=4).out)
    monkeypatch.setattr(score, "SCORE_CHUNK_USERS", 7)
    chunked = pd.read_parquet(score_users(workspace, "tiny", tmp_path / "chunked.parquet", top_k=4).out)
    shards = [pd.read_parquet(score_users(workspace, "tiny", tmp_path / f"shard-{i}.parquet", top_k=4,
                                          shard=(i, 3)).out) for i in range(3)]
    assert whole.user.nunique() > 7
    assert whole[["user", "rank", "item"]].equals(chunked[["user", "rank", "item"]])
    assert (whole.score - chunked.score).abs().max() < 1e-4
    assert all(len(shard) for shard in shards)
    assert sum(shard.user.nunique() for shard in shards) == whole.user.nunique()
    joined = pd.concat(shards).sort_values(["user", "rank"]).reset_index(drop=True)
    assert whole[["user", "rank", "item"]].equals(joined[["user", "rank", "item"]])


def test_a_bad_shard_is_refused_in_one_line(tiny_checkpoint, tmp_path):
    workspace, _ = tiny_checkpoint
    result = subprocess.run([sys.executable, "-m", "conrec_core", "score", "--workspace", str(workspace),
                             "--checkpoint", "tiny", "--out", str(tmp_path / "x.parquet"), "--shard", "3/3"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0 and "I/N with 0 <= I < N" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())
