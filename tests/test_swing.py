import itertools
import shutil

import pytest

from conrec_core.errors import ConrecError
from conrec_core.rl.swing import build_swing, read_neighbours, swing_table
from conrec_core.rl.swing_config import SwingConfig
from conrec_core.data.workspace import new_workspace, open_workspace


def brute_force(user_items: dict[str, set[str]], config: SwingConfig) -> dict[tuple[str, str], float]:
    """Method §6 literally: every item pair, every ordered pair of distinct common users."""
    items = sorted(set().union(*user_items.values()))
    weight = {u: len(i) ** -config.activity_power for u, i in user_items.items()}
    scores = {}
    for a, b in itertools.permutations(items, 2):
        common = [u for u, i in user_items.items() if a in i and b in i]
        if len(common) < config.min_common_users:
            continue
        scores[(a, b)] = sum(weight[u] * weight[v] / (config.alpha + len(user_items[u] & user_items[v]))
                             for u, v in itertools.permutations(common, 2))
    return scores


def training_negatives(con) -> dict[str, set[str]]:
    rows = con.execute("""SELECT e.user_id, e.item_id FROM events e JOIN user_cuts c USING (user_id)
                          WHERE e.kind = 'negative' AND e.ts < c.validation_cut""").fetchall()
    graph: dict[str, set[str]] = {}
    for user, item in rows:
        graph.setdefault(user, set()).add(item)
    return graph


@pytest.mark.parametrize("block", [None, 50], ids=["one_block", "many_blocks"])
def test_swing_matches_the_formula_on_a_real_small_log(small_world, tmp_path, monkeypatch, block):
    if block:  # a big log's user pairs are counted a block of users at a time: small blocks, same answer
        import conrec_core.rl.swing as swing_module
        monkeypatch.setattr(swing_module, "CANDIDATES_PER_BLOCK", block)
    path = tmp_path / "ws.duckdb"
    shutil.copy(small_world, path)
    config = SwingConfig(top_k=1000, max_items_per_user=10_000, max_users_per_item=10_000, alpha=0.5)
    with open_workspace(path, read_only=False) as con:
        counts = build_swing(con, config)
        expected = brute_force(training_negatives(con), config)
        stored = con.execute("SELECT item_id, neighbour_id, score, common_users, rank FROM swing_neighbours"
                             ).fetchall()
    assert len(expected) > 50 and counts["neighbour_rows"] == len(stored) == len(expected)
    for item, neighbour, score, common, _ in stored:
        assert score == pytest.approx(expected[(item, neighbour)], abs=1e-9)  # stored to 9 decimals
    by_item: dict[str, list] = {}
    for item, neighbour, score, common, rank in stored:
        by_item.setdefault(item, []).append((rank, score))
    for ranked in by_item.values():  # ranks are 1..n in falling score
        ranked.sort()
        assert [r for r, _ in ranked] == list(range(1, len(ranked) + 1))
        assert all(s1 >= s2 for (_, s1), (_, s2) in zip(ranked, ranked[1:]))


def hand_world(path, rows):
    with new_workspace(path) as con:
        for index, (user, item) in enumerate(rows):
            con.execute("INSERT INTO events VALUES (?, ?, ?, TIMESTAMP '2024-01-01' + to_days(?), 'negative', "
                        "NULL, NULL)", [index, user, item, index])
        con.execute("INSERT INTO user_cuts SELECT DISTINCT user_id, TIMESTAMP '2030-01-01', "
                    "TIMESTAMP '2030-01-02' FROM events")


def test_swing_on_a_hand_computed_graph(tmp_path):
    # u1: {a, b, c}, u2: {a, b}, u3: {a, b, c}. Pair (a, b): common users u1, u2, u3.
    hand_world(tmp_path / "ws.duckdb", [("u1", "a"), ("u1", "b"), ("u1", "c"), ("u2", "a"), ("u2", "b"),
                                       ("u3", "a"), ("u3", "b"), ("u3", "c")])
    with open_workspace(tmp_path / "ws.duckdb", read_only=False) as con:
        build_swing(con, SwingConfig(activity_power=0.0, alpha=1.0))
        ab = con.execute("SELECT score, common_users FROM swing_neighbours WHERE item_id = 'a' AND "
                         "neighbour_id = 'b'").fetchall()
        ac = con.execute("SELECT score, common_users FROM swing_neighbours WHERE item_id = 'a' AND "
                         "neighbour_id = 'c'").fetchall()
        neighbours = read_neighbours(con)
        table = swing_table(con, "c")
    # weights 1; overlaps |u1∩u2| = 2, |u1∩u3| = 3, |u2∩u3| = 2 -> 2 * (1/3 + 1/4 + 1/3) for (a, b)
    assert ab[0][0] == pytest.approx(2 * (1 / 3 + 1 / 4 + 1 / 3)) and ab[0][1] == 3
    assert ac[0][0] == pytest.approx(2 * (1 / 4)) and ac[0][1] == 2  # only u1 and u3 disliked a and c
    assert neighbours["a"] == ["b", "c"] and neighbours["c"] == ["a", "b"]
    assert table["neighbour_id"].tolist() == ["a", "b"]


def test_swing_respects_min_common_users_top_k_and_caps(small_world, tmp_path):
    path = tmp_path / "ws.duckdb"
    shutil.copy(small_world, path)
    with open_workspace(path, read_only=False) as con:
        build_swing(con, SwingConfig(min_common_users=3, top_k=2, max_users_per_item=8))
        rows, fewest, deepest, most = con.execute(
            "SELECT count(*), min(common_users), max(rank), max(common_users) FROM swing_neighbours").fetchall()[0]
    assert rows > 0 and fewest >= 3 and deepest <= 2 and most <= 8


def test_swing_needs_samples(tmp_path):
    with new_workspace(tmp_path / "ws.duckdb"):
        pass
    with open_workspace(tmp_path / "ws.duckdb", read_only=False) as con, pytest.raises(ConrecError):
        build_swing(con)


def test_swing_command_line(small_world, tmp_path, capsys):
    import json

    from conrec_core.cli import main

    path = tmp_path / "ws.duckdb"
    shutil.copy(small_world, path)
    assert main(["swing", "--workspace", str(path), "--top-k", "3", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    with open_workspace(path) as con:
        assert con.execute("SELECT count(*), max(rank) FROM swing_neighbours").fetchall()[0] == (
            counts["neighbour_rows"], 3)
    assert main(["swing", "--workspace", str(path), "--min-common-users", "1"]) == 2
    assert "min_common_users must be at least 2" in capsys.readouterr().err
