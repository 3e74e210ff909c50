import doctest
import shutil

import pytest

from conrec_core.evaluation import baselines
from conrec_core.evaluation.baseline_settings import BaselineSettings, NeighbourConfig
from conrec_core.evaluation.baselines import rank_baseline
from conrec_core.data.samples import read_samples, seen_items
from conrec_core.rl.swing import build_swing
from conrec_core.data.workspace import open_workspace


def test_docstring_examples_hold():
    result = doctest.testmod(baselines)
    assert result.attempted >= 2 and result.failed == 0


@pytest.fixture
def swing_world(small_world, tmp_path):
    path = tmp_path / "ws.duckdb"
    shutil.copy(small_world, path)
    with open_workspace(path, read_only=False) as con:
        build_swing(con)
    return path


def test_baselines_rank_unseen_items_from_the_training_part(swing_world):
    samples = read_samples(swing_world, "test", None)
    with open_workspace(swing_world) as con:
        counts = dict(con.execute("SELECT item_id, train_negatives FROM item_stats").fetchall())
        neighbours = dict(con.execute("SELECT item_id, list(neighbour_id) FROM swing_neighbours GROUP BY item_id"
                                      ).fetchall())
    for method in ("most_disliked", "swing_cf"):
        rankings = rank_baseline(swing_world, method, samples, k=10)
        assert len(rankings) == len(samples)
        for ranked, negatives, positives in zip(rankings, samples["context_negatives"], samples["context_positives"]):
            assert len(ranked) == len(set(ranked)) == 10
            assert not set(ranked) & (set(negatives) | set(positives))
    popular = rank_baseline(swing_world, "most_disliked", samples, k=10)[0]
    assert [counts[i] for i in popular] == sorted((counts[i] for i in popular), reverse=True)
    # Swing CF puts a neighbour of the user's own negatives first whenever one is unseen
    cf = rank_baseline(swing_world, "swing_cf", samples, k=10)
    for ranked, negatives, positives in zip(cf, samples["context_negatives"], samples["context_positives"]):
        reachable = {n for i in negatives for n in neighbours.get(i, [])} - set(negatives) - set(positives)
        if reachable:
            assert ranked[0] in reachable


def test_an_unknown_baseline_is_refused(swing_world):
    with pytest.raises(ValueError, match="unknown baseline"):
        rank_baseline(swing_world, "oracle", read_samples(swing_world, "test", None))


def test_item_cf_ranks_by_summed_cosine_over_the_last_negatives(swing_world):
    from collections import Counter
    from math import sqrt

    from conrec_core.evaluation.item_cf import HISTORY

    samples = read_samples(swing_world, "test", None)
    with open_workspace(swing_world) as con:
        pairs = con.execute("""SELECT DISTINCT e.user_id, e.item_id FROM events e JOIN user_cuts c USING (user_id)
                               WHERE e.kind = 'negative' AND e.ts < c.validation_cut""").fetchall()
    users_of: dict[str, set] = {}
    for user, item in pairs:
        users_of.setdefault(item, set()).add(user)
    seen = seen_items(swing_world, samples["sample_id"])
    rankings = rank_baseline(swing_world, "item_cf", samples, k=10,
                             settings=BaselineSettings(item_cf=NeighbourConfig(history=HISTORY)))
    checked = 0
    for ranked, negatives, sample_id in zip(rankings, samples["context_negatives"], samples["sample_id"]):
        scores = Counter()  # brute force: every pair's cosine from the user sets
        for i in set(list(negatives)[-HISTORY:]) & set(users_of):
            for j, users in users_of.items():
                common = len(users_of[i] & users)
                if common:
                    scores[j] += common / sqrt(len(users_of[i]) * len(users))
        expected = [j for j, s in sorted(scores.items(), key=lambda p: -p[1]) if j not in seen[sample_id]]
        assert len(ranked) == len(set(ranked)) == 10 and not set(ranked) & set(seen[sample_id])
        scored = min(10, len(expected))  # the rest are most-disliked fill-ins
        assert [scores[j] for j in ranked[:scored]] == pytest.approx([scores[j] for j in expected[:scored]],
                                                                     rel=1e-5)  # equal scores may swap
        checked += bool(scored)
    assert checked > len(samples) // 2
