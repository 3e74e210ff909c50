"""The EASE baseline: its closed form solves the ridge problem it states, its ranking follows the formula written
out by hand on a real small world, it reads only the training part, and it never returns a seen item."""

import doctest
from dataclasses import replace

import numpy as np
import pytest

from conrec_core.data.samples import read_samples, seen_items
from conrec_core.data.stats import training_negative_counts
from conrec_core.data.workspace import open_workspace
from conrec_core.evaluation import ease as ease_module
from conrec_core.evaluation.baseline_settings import BaselineSettings
from conrec_core.evaluation.baselines import rank_baseline
from conrec_core.evaluation.ease import ease_weights, fit_ease, rank_ease, sample_contexts
from conrec_core.evaluation.ease_config import EASEConfig


def test_docstring_examples_hold():
    result = doctest.testmod(ease_module)
    assert result.attempted >= 2 and result.failed == 0


def test_the_closed_form_minimises_the_ridge_loss_with_a_zero_diagonal():
    rng = np.random.default_rng(0)
    X = (rng.random((40, 6)) < 0.4).astype(np.float64)
    l2 = 3.0
    B = ease_weights(X.T @ X, l2)
    assert np.allclose(np.diag(B), 0.0)

    def loss(weights):
        return ((X - X @ weights) ** 2).sum() + l2 * (weights ** 2).sum()

    # each column j is the ridge regression of X_j on the other columns: no zero-diagonal change does better
    for j in range(6):
        others = [i for i in range(6) if i != j]
        A = X[:, others]
        exact = np.linalg.solve(A.T @ A + l2 * np.eye(5), A.T @ X[:, j])
        assert np.allclose(B[others, j], exact, atol=1e-8)
    nudged = B.copy()
    nudged[0, 1] += 1e-3
    assert loss(nudged) > loss(B)


def test_ease_ranks_by_the_formula_over_the_users_context(world):
    config = EASEConfig(l2=20.0, negative_weight=2.0, positive_weight=1.0, neutral_weight=0.5, half_life_days=7.0,
                        context_events=30, dislike_power=1.0)
    samples = read_samples(world, "test", None)
    model = fit_ease(world, config)
    with open_workspace(world) as con:
        training = con.execute("""SELECT e.user_id, e.item_id, e.kind FROM events e JOIN user_cuts c USING (user_id)
                                  WHERE e.ts < c.validation_cut""").fetchall()
        history = con.execute("""
            SELECT s.sample_id, e.item_id, e.kind, date_diff('second', e.ts, s.anchor_ts) / 86400.0
            FROM samples s JOIN events e ON e.user_id = s.user_id
                 AND (e.ts < s.anchor_ts OR (e.ts = s.anchor_ts AND e.event_id < s.anchor_event_id))
            WHERE s.split = 'test' ORDER BY s.sample_id, e.ts DESC, e.event_id DESC""").fetchall()
        popular = training_negative_counts(con)
    weight = {"negative": 2.0, "positive": 1.0, "neutral": 0.5}
    # the matrix and the dislike rate, written out from the training events
    items = model.items
    column = {item: i for i, item in enumerate(items)}
    users = sorted({u for u, _, _ in training})
    X = np.zeros((len(users), len(items)))
    negatives, events = np.zeros(len(items)), np.zeros(len(items))
    for user, item, kind in training:
        X[users.index(user), column[item]] = max(X[users.index(user), column[item]], weight[kind])
        negatives[column[item]] += kind == "negative"
        events[column[item]] += 1
    B = ease_weights(X.T @ X, config.l2)
    assert np.allclose(model.weights, B, atol=1e-4)
    rate = (negatives + 1) / (events + 2)
    assert np.allclose(model.dislike_rate, rate)
    seen = seen_items(world, samples["sample_id"])
    rankings = rank_baseline(world, "ease", samples, k=10, settings=BaselineSettings(ease=config))
    by_sample: dict[int, list] = {}
    for sample_id, item, kind, age in history:
        by_sample.setdefault(sample_id, []).append((item, weight[kind] * 0.5 ** (age / 7.0)))
    checked = 0
    for sample_id, ranked in zip(samples["sample_id"], rankings):
        context = np.zeros(len(items))
        for item, value in by_sample.get(sample_id, [])[:30]:
            context[column[item]] = max(context[column[item]], value)
        scores = np.maximum(context @ B, 0) * rate
        expected = [items[i] for i in np.argsort(-scores, kind="stable") if scores[i] > 0
                    and items[i] not in seen[sample_id]][:10]
        assert len(ranked) == len(set(ranked)) == 10 and not set(ranked) & set(seen[sample_id])
        scored = len(expected)
        assert [scores[column[i]] for i in ranked[:scored]] == pytest.approx(
            [scores[column[i]] for i in expected], rel=1e-3, abs=1e-6)
        fill = [item for item in popular if item not in seen[sample_id] and item not in ranked[:scored]]
        assert ranked[scored:] == fill[:10 - scored]  # most disliked fills what the scores leave short
        checked += scored > 0
    assert checked >= len(samples) // 2


def test_ease_reads_only_the_training_part(world):
    """Events after each user's validation cut change no weight and no rate (they only enter a later sample's own
    context, as its history)."""
    before = fit_ease(world, EASEConfig(l2=20.0))
    with open_workspace(world, read_only=False) as con:
        con.execute("""UPDATE events SET kind = CASE kind WHEN 'negative' THEN 'positive' ELSE 'negative' END
                       WHERE event_id IN (SELECT e.event_id FROM events e JOIN user_cuts c USING (user_id)
                                          WHERE e.ts >= c.validation_cut)""")
    after = fit_ease(world, EASEConfig(l2=20.0))
    assert after.items == before.items
    assert np.array_equal(after.weights, before.weights) and np.array_equal(after.dislike_rate, before.dislike_rate)


def test_the_dislike_power_trades_who_meets_what_for_who_rejects_it(world):
    samples = read_samples(world, "test", None)
    seen = seen_items(world, samples["sample_id"])
    excluded = [set(seen[s]) for s in samples["sample_id"]]
    with open_workspace(world) as con:
        popular = training_negative_counts(con)
    config = EASEConfig(l2=20.0)
    model = fit_ease(world, config)
    contexts = sample_contexts(world, samples["sample_id"], config)
    listed = [contexts[int(s)] for s in samples["sample_id"]]
    met = rank_ease(replace(model, config=replace(config, dislike_power=0.0)), listed, excluded, popular, 10)
    rejected = rank_ease(replace(model, config=replace(config, dislike_power=4.0)), listed, excluded, popular, 10)
    rate = dict(zip(model.items, model.dislike_rate))
    mean_rate = [np.mean([rate.get(item, 0.0) for ranking in lists for item in ranking]) for lists in (met, rejected)]
    assert mean_rate[1] > mean_rate[0]


def test_a_catalogue_past_max_items_keeps_the_most_met(world):
    model = fit_ease(world, EASEConfig(l2=20.0, max_items=15))
    with open_workspace(world) as con:
        most_met = [item for item, in con.execute("""
            SELECT e.item_id FROM events e JOIN user_cuts c USING (user_id) WHERE e.ts < c.validation_cut
            GROUP BY e.item_id ORDER BY count(DISTINCT e.user_id) DESC, e.item_id LIMIT 15""").fetchall()]
    assert model.items == most_met and model.weights.shape == (15, 15)


def test_item_knn_reads_every_kind_of_event_and_the_fused_baselines_fuse_theirs(world):
    """item-KNN's matrix holds positives and neutrals too; the fused baselines row is the reciprocal-rank fusion
    of the untrained baselines' own lists, as the SID members are fused."""
    from conrec_core.decoding.ensemble import fuse_ranks
    from conrec_core.evaluation.baseline_names import FUSED_BASELINES
    from conrec_core.evaluation.item_cf import training_matrix
    from conrec_core.rl.swing import build_swing

    with open_workspace(world, read_only=False) as con:
        build_swing(con)
        negatives, _ = training_matrix(con)
        everything, _ = training_matrix(con, ("negative", "positive", "neutral"))
    assert everything.nnz > negatives.nnz
    samples = read_samples(world, "test", None)
    seen = seen_items(world, samples["sample_id"])
    knn = rank_baseline(world, "item_knn", samples, k=10)
    assert all(len(r) == len(set(r)) == 10 and not set(r) & set(seen[s]) for r, s in zip(knn, samples["sample_id"]))
    assert knn != rank_baseline(world, "item_cf", samples, k=10)
    fused = rank_baseline(world, "fused_baselines", samples, k=10)
    members = [rank_baseline(world, member, samples, k=20) for member in FUSED_BASELINES]
    assert fused == [[item for item, _ in fuse_ranks(list(lists), 10)] for lists in zip(*members)]


def test_neighbour_baselines_change_with_recency_or_fewer_neighbours(world):
    from conrec_core.evaluation import item_cf
    from conrec_core.evaluation.baseline_settings import NeighbourConfig
    from conrec_core.rl.swing import build_swing

    assert doctest.testmod(item_cf).failed == 0
    with open_workspace(world, read_only=False) as con:
        build_swing(con)
    samples = read_samples(world, "test", None)
    for method in ("item_cf", "swing_cf"):
        plain = rank_baseline(world, method, samples, k=10)
        every = rank_baseline(world, method, samples, k=10,
                              settings=BaselineSettings(**{method: NeighbourConfig(history=50, neighbours=10_000)}))
        few = rank_baseline(world, method, samples, k=10,
                            settings=BaselineSettings(**{method: NeighbourConfig(history=50, neighbours=1)}))
        recent = rank_baseline(world, method, samples, k=10,
                               settings=BaselineSettings(**{method: NeighbourConfig(history=50, half_life_days=0.5)}))
        if method == "item_cf":  # every neighbour kept: the per-item path gives the batched sum's ranking
            assert rank_baseline(world, method, samples, k=10, settings=BaselineSettings(
                item_cf=replace(BaselineSettings().item_cf, neighbours=10_000))) == plain
        assert few != every and recent != every
