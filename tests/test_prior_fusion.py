"""The popularity prior in decoding: exact candidate scores, the fused ranking, the weight chosen on validation,
and predictions made with it from the command line."""

import doctest
import json

import numpy as np
import pytest

from conrec_core.cli import main
from conrec_core.data.samples import seen_items
from conrec_core.data.workspace import open_workspace
from conrec_core.decoding.search import DecodingConfig, decode
from conrec_core.decoding import prior as prior_module
from conrec_core.decoding.prior import WEIGHT_GRID, log_prior
from conrec_core.decoding.prior_fusion import CandidatePool, choose_prior_weight, searched_pools

from decoding_reference import sid_logprobs
from test_exhaustive import tiny_decoder


@pytest.mark.parametrize("free_end", [True, False])
def test_teacher_forced_scores_equal_the_beam_search_scores(tiny_checkpoint, free_end):
    loaded = tiny_decoder(tiny_checkpoint, 3)
    model, tokenizer, trie, sequences, prompts = (loaded.model, loaded.tokenizer, loaded.trie, loaded.sequences,
                                                  loaded.prompts)
    beams = decode(model, tokenizer, trie, prompts, DecodingConfig(beams=12, returns=12), free_end=free_end)
    for prompt, beam in zip(prompts, beams):
        scores = sid_logprobs(model, tokenizer, prompt, [sequences[r] for r in beam.rows], free_end=free_end)
        assert scores == pytest.approx(beam.scores, abs=1e-3)
    # with the closing EOS, a SID's score is lower than without it by exactly that EOS's log-probability
    if not free_end:
        free = sid_logprobs(model, tokenizer, prompts[0], [sequences[r] for r in beams[0].rows], free_end=True)
        assert all(f > s for f, s in zip(free, beams[0].scores))


def test_pools_add_the_most_disliked_items_the_sample_may_get_and_score_them(tiny_checkpoint):
    loaded = tiny_decoder(tiny_checkpoint, 2)
    model, tokenizer, trie, sequences, prompts = (loaded.model, loaded.tokenizer, loaded.trie, loaded.sequences,
                                                  loaded.prompts)
    with open_workspace(tiny_checkpoint[0]) as con:
        counts = dict(con.execute("SELECT item_id, train_negatives FROM item_stats").fetchall())
    prior = log_prior(np.array([counts.get(item, 0) for item in loaded.codebook.sids.item_ids]))
    top_prior = [int(r) for r in np.argsort(-prior, kind="stable")[:3]]
    excluded = [[], top_prior[:1]]  # the second sample has seen the most disliked item
    beams = decode(model, tokenizer, trie, prompts, DecodingConfig(beams=5, returns=5), excluded)
    closed = [s + [tokenizer.eos_token_id] for s in sequences]
    pools = searched_pools(model, tokenizer, trie, prompts, 5, prior, excluded, 3, closed)
    for prompt, pool, beam, skip in zip(prompts, pools, beams, excluded):
        assert pool.rows[:5] == beam.rows and len(pool.rows) == len(set(pool.rows)) == 8
        assert pool.model.tolist() == pytest.approx(sid_logprobs(model, tokenizer, prompt,
                                                                 [sequences[r] for r in pool.rows]), abs=1e-3)
        assert not set(pool.rows) & set(skip)
        assert pool.model[:5] == pytest.approx(beam.scores, abs=1e-3)
        assert pool.prior.tolist() == prior[pool.rows].tolist()
        # weight 0: the model's exact scores alone rank the pool; an added item the 5 beams missed may come
        # first, and the beams keep their own order among the rest
        by_model = [pool.rows[i] for i in np.argsort(-pool.model, kind="stable")]
        assert pool.ranked(0.0, 5).rows == by_model[:5]
        assert [row for row in pool.ranked(0.0, 8).rows if row in beam.rows] == beam.rows
    assert set(top_prior) - set(beams[0].rows) <= set(pools[0].rows)
    assert top_prior[0] not in pools[1].rows and set(top_prior[1:]) <= set(pools[1].rows) | set(beams[1].rows)
    # a large weight puts the most disliked candidates first (the model's score orders items of equal prior)
    heavy = pools[0].ranked(100.0, 3).rows
    assert [prior[r] for r in heavy] == sorted(prior[pools[0].rows], reverse=True)[:3]
    model = dict(zip(pools[0].rows, pools[0].model))
    assert all(model[a] >= model[b] for a, b in zip(heavy, heavy[1:]) if prior[a] == prior[b])



def test_a_then_token_read_after_each_found_sid_scores_as_teacher_forcing_it(tiny_checkpoint):
    loaded = tiny_decoder(tiny_checkpoint, 3)
    model, tokenizer, trie, sequences, prompts = (loaded.model, loaded.tokenizer, loaded.trie, loaded.sequences,
                                                  loaded.prompts)
    then = sequences[0][0]  # any token: a stream model's is the negative kind token
    followed = [s + [then] for s in sequences]
    pools = searched_pools(model, tokenizer, trie, prompts, 6, np.zeros(len(sequences)), [[], [], []], 2, followed,
                           free_end=True, then_token=then)
    found = decode(model, tokenizer, trie, prompts, DecodingConfig(beams=6, returns=6), free_end=True)
    for prompt, pool, beam in zip(prompts, pools, found):
        assert len(pool.rows) == len(set(pool.rows)) == 8 and pool.rows[:6] == beam.rows
        assert pool.model.tolist() == pytest.approx(
            sid_logprobs(model, tokenizer, prompt, [followed[r] for r in pool.rows], free_end=True), abs=1e-3)
        assert all(m < s for m, s in zip(pool.model[:6], beam.scores))  # the then-token's probability is below 1

def pool(model: list[float], prior: list[float]) -> CandidatePool:
    return CandidatePool(list(range(len(model))), np.array(model), np.array(prior))


def test_the_weight_chosen_is_the_one_with_the_best_validation_fhr():
    # the model ranks 0 first, the prior ranks 2 first
    pools = [pool([-1.0, -2.0, -3.0], [-4.0, -2.0, -0.5]) for _ in range(4)]
    popular = choose_prior_weight(pools, [[2]] * 4, k=1)
    assert popular.weight > 0 and popular.fhr[popular.weight] == 1.0 and popular.fhr[0.0] == 0.0
    own = choose_prior_weight(pools, [[0]] * 4, k=1)
    assert own.weight == 0.0 and own.fhr[0.0] == 1.0  # ties go to the smaller weight
    half = choose_prior_weight(pools, [[0], [0], [2], [2]], k=1, grid=(0.0, 0.5, 3.0))
    assert half.fhr == {0.0: 0.5, 0.5: 0.5, 3.0: 0.5} and half.weight == 0.0
    assert json.loads(json.dumps(popular.to_dict()))["weight"] == popular.weight
    with pytest.raises(ValueError):
        choose_prior_weight([], [], k=1)


def test_docstring_examples_hold():
    result = doctest.testmod(prior_module)
    assert result.attempted == 2 and result.failed == 0


def test_log_prior_is_a_distribution_that_keeps_unseen_items_finite():
    prior = np.exp(log_prior(np.array([10, 3, 0, 0])))
    assert prior.sum() == pytest.approx(1.0) and prior[0] > prior[1] > prior[2] == prior[3] > 0


def test_predict_chooses_the_weight_on_validation_and_stores_under_its_own_name(tiny_world, capsys):
    workspace, result = tiny_world
    name = result.folder.name
    assert main(["predict", "--workspace", str(workspace), "--checkpoint", name, "--choose-prior",
                 "--save-as", "tiny-prior", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["checkpoint"] == "tiny-prior" and set(run["prior"]["fhr"]) == {str(w) for w in WEIGHT_GRID}
    assert run["prior"]["fhr"][str(run["prior"]["weight"])] == max(run["prior"]["fhr"].values())
    with open_workspace(workspace) as con:
        stored = con.execute("SELECT checkpoint, sample_id, list(item_id ORDER BY rank) FROM predictions "
                             "GROUP BY ALL").fetchall()
    assert {c for c, _, _ in stored} == {"tiny-prior"}  # the checkpoint's own name stays free
    seen = seen_items(workspace, [s for _, s, _ in stored])
    assert all(len(items) == 20 == len(set(items)) and not set(items) & set(seen[s]) for _, s, items in stored)
