"""A canary for count-based leaks: events and tags that exist only after each user's validation cut (a burst of
negatives on one item, an item met only then, tags given then) are added while the cuts stay where they were.
Nothing fitted on the training part may move: the long-tail flags and most-disliked counts, item-CF's, item-KNN's
and EASE's matrices, Swing, SASRec's training windows, the codebook's item text and co-occurrence vectors, and the
SFT examples. (The rewrite canary in test_leakage_canary.py permutes events, which leaves every count as it was.)
"""

import numpy as np
import pytest

from conrec_core.data.samples import _item_stats, read_sample_config
from conrec_core.data.stats import training_negative_counts
from conrec_core.data.workspace import open_workspace
from conrec_core.evaluation.ease import fit_ease
from conrec_core.evaluation.ease_config import EASEConfig
from conrec_core.evaluation.item_cf import training_matrix
from conrec_core.evaluation.sasrec import before, read_histories, training_windows
from conrec_core.rl.swing import build_swing
from conrec_core.semantic_ids.encoder import collaborative_vectors, item_texts

from conftest import writable_copy


def fitted(workspace) -> dict:
    """What every builder fits from the training part, read the way each reads it."""
    config = read_sample_config(workspace)
    with open_workspace(workspace, read_only=False) as con:
        con.execute("DELETE FROM item_stats")
        _item_stats(con, config)  # the long-tail flags and counts, computed again from the events as they are
        stats = con.execute("SELECT * FROM item_stats WHERE item_id <> 'after-only' ORDER BY item_id").fetchall()
        popular = training_negative_counts(con)
        build_swing(con)
        swing = con.execute("SELECT * FROM swing_neighbours ORDER BY ALL").fetchall()
        negatives, negative_items = training_matrix(con)
        everything, all_items = training_matrix(con, ("negative", "positive", "neutral"))
        item_ids, texts = item_texts(con)
        known = [i for i in item_ids if i != "after-only"]
        collaborative = collaborative_vectors(con, known, 16)
        items = [i for (i,) in con.execute("SELECT item_id FROM items ORDER BY item_id").fetchall()]
        index = {item: n + 1 for n, item in enumerate(i for i in items if i != "after-only")}  # the catalogue
        # alone may differ: SASRec's item index follows it, so the comparison leaves the new item out
        cuts = dict(con.execute("SELECT user_id, validation_cut FROM user_cuts").fetchall())
        windows = {}
        for with_positives in (False, True):
            histories = read_histories(con, index, with_positives)
            training = [before(h, cuts[u]) for u, h in sorted(histories.items()) if cuts.get(u) is not None]
            windows[with_positives] = [w.tolist() for w in training_windows(training, 20)]
    ease = fit_ease(workspace, EASEConfig(l2=20.0))
    return {"item_stats": stats, "most_disliked": popular, "swing": swing,
            "item_cf": (negatives.toarray().tolist(), negative_items), "item_knn": (everything.toarray().tolist(),
                                                                                  all_items),
            "ease": (ease.items, ease.weights.tolist(), ease.dislike_rate.tolist()),
            "texts": dict(zip(item_ids, texts)), "collaborative": np.round(collaborative, 6).tolist(),
            "sasrec": windows}


@pytest.fixture
def worlds(small_world, tmp_path):
    clean, leaky = writable_copy(small_world, tmp_path / "clean"), writable_copy(small_world, tmp_path / "leaky")
    with open_workspace(leaky, read_only=False) as con:
        target = con.execute("SELECT item_id FROM items ORDER BY item_id LIMIT 1").fetchall()[0][0]
        con.execute("INSERT INTO items VALUES ('after-only', 'An item met only after the cut', NULL, NULL)")
        # every user, a day after their validation cut: a burst of negatives on one item, the new item, tags
        con.execute("""
            INSERT INTO events
            SELECT (SELECT max(event_id) FROM events) + row_number() OVER (ORDER BY c.user_id, n.i), c.user_id,
                   CASE WHEN n.i % 2 = 0 THEN ? ELSE 'after-only' END, c.validation_cut + INTERVAL 1 DAY + n.i * INTERVAL 1 MINUTE,
                   CASE WHEN n.i % 3 = 0 THEN 'positive' ELSE 'negative' END, NULL, NULL
            FROM user_cuts c, range(6) n(i) WHERE c.validation_cut IS NOT NULL""", [target])
        con.execute("""
            INSERT INTO item_tags
            SELECT ?, c.user_id, c.validation_cut + INTERVAL 1 HOUR, 'overrated' FROM user_cuts c
            WHERE c.validation_cut IS NOT NULL""", [target])
    return clean, leaky


def test_nothing_fitted_counts_what_exists_only_after_the_cut(worlds):
    clean, leaky = worlds
    before_cut, with_later = fitted(clean), fitted(leaky)
    with_later["texts"].pop("after-only")  # the catalogue lists it; nothing fitted may know more of it
    for artefact in before_cut:
        assert with_later[artefact] == before_cut[artefact], f"{artefact} saw events or tags after the cut"


def test_the_canary_sees_a_builder_that_reads_past_the_cut(worlds, monkeypatch):
    """A builder that counts every event, whatever its date, is caught: without this the test above could pass by
    comparing nothing."""
    import sys

    from scipy.sparse import csr_matrix

    def counting_everything(con, kinds=("negative",)):
        rows = con.execute("SELECT DISTINCT user_id, item_id FROM events WHERE list_contains(?, kind)",
                           [list(kinds)]).fetchall()
        users = {u: n for n, u in enumerate(sorted({u for u, _ in rows}))}
        items = sorted({i for _, i in rows})
        column = {item: n for n, item in enumerate(items)}
        return csr_matrix((np.ones(len(rows)), ([users[u] for u, _ in rows], [column[i] for _, i in rows]))), items

    clean, leaky = worlds
    monkeypatch.setattr(sys.modules[__name__], "training_matrix", counting_everything)
    assert fitted(clean)["item_cf"] != fitted(leaky)["item_cf"]
