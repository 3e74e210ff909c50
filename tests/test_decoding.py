"""Constrained beam search on a trained tiny checkpoint: only valid, distinct, unseen SIDs."""

import pytest
from transformers import GenerationConfig

from conrec_core.semantic_ids.store import load_codebook
from conrec_core.decoding.search import DecodingConfig, decode

from conrec_core.lm.checkpoints import load_checkpoint
from conrec_core.lm.config import SFTConfig
from conrec_core.data.samples import read_samples, seen_items
from conrec_core.decoding.item_trie import item_trie, sid_token_sequences
from conrec_core.decoding.predict import predict
from conrec_core.decoding.prediction_store import read_predictions
from conrec_core.lm.prompts import next_negative_prompt


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    workspace, result = tiny_checkpoint
    codebook = load_codebook(workspace)
    backbone, _ = load_checkpoint(result.folder, codebook=codebook)
    trie, rows = item_trie(codebook, backbone.tokenizer, len(backbone.tokenizer))
    samples = read_samples(workspace, "test", None).head(6)
    prompts = [next_negative_prompt(codebook, list(n), SFTConfig()) for n in samples["context_negatives"]]
    return workspace, codebook, backbone, trie, rows, samples, prompts


def test_twenty_valid_distinct_sids_per_prompt_and_no_seen_item(loaded):
    _, codebook, backbone, trie, rows, samples, prompts = loaded
    seen = [sorted({codebook.sids.item_to_row[i] for i in list(n) + list(p)})
            for n, p in zip(samples["context_negatives"], samples["context_positives"])]
    assert any(seen)
    results = decode(backbone.model, backbone.tokenizer, trie, prompts, DecodingConfig(batch_size=4), seen)
    assert len(results) == len(prompts)
    for result, excluded in zip(results, seen):
        assert result.invalid == 0
        assert len(result.rows) == 20 == len(set(result.rows))
        assert not set(result.rows) & set(excluded)
        assert result.scores == sorted(result.scores, reverse=True)
    # every SID length in the catalogue can come out (3 tokens, and 4 for collisions)
    assert {len(s) for s in sid_token_sequences(codebook, backbone.tokenizer)} == {3, 4}


def test_the_model_generation_config_is_never_inherited(loaded):
    _, _, backbone, trie, rows, _, prompts = loaded
    before = decode(backbone.model, backbone.tokenizer, trie, prompts[:3], DecodingConfig())
    saved = backbone.model.generation_config
    backbone.model.generation_config = GenerationConfig(repetition_penalty=50.0, no_repeat_ngram_size=1,
                                                        num_beams=2, length_penalty=5.0, do_sample=True)
    try:
        after = decode(backbone.model, backbone.tokenizer, trie, prompts[:3], DecodingConfig())
    finally:
        backbone.model.generation_config = saved
    assert [r.rows for r in before] == [r.rows for r in after]


@pytest.mark.parametrize("free_end", [False, True])
def test_same_top20_as_transformers_prefix_allowed_tokens_fn(loaded, free_end):
    from decoding_reference import reference_decode

    _, codebook, backbone, trie, rows, _, prompts = loaded
    config = DecodingConfig(batch_size=3)
    ours = decode(backbone.model, backbone.tokenizer, trie, prompts[:3], config, free_end=free_end)
    theirs = reference_decode(backbone.model, backbone.tokenizer, sid_token_sequences(codebook, backbone.tokenizer),
                              rows, prompts[:3], config, trie.max_depth, free_end)
    assert [r.rows for r in ours] == theirs


def test_prompts_of_different_widths_searched_together_get_what_each_gets_alone(loaded):
    _, _, backbone, trie, rows, _, prompts = loaded
    model, tokenizer = backbone.model, backbone.tokenizer
    varied = [prompts[0], prompts[1].split("<")[0], prompts[2]]  # left padding of different widths in one batch
    excluded = [[0, 1], [], [2]]
    encoded = tokenizer(varied, return_tensors="pt", padding=True, add_special_tokens=False)
    assert len({int(n) for n in encoded["attention_mask"].sum(1)}) > 1
    together = decode(model, tokenizer, trie, varied, DecodingConfig(batch_size=3), excluded)
    for prompt, skip, beam in zip(varied, excluded, together):
        [alone] = decode(model, tokenizer, trie, [prompt], DecodingConfig(batch_size=1), [skip])
        assert beam.rows == alone.rows
        assert beam.scores == pytest.approx(alone.scores, abs=1e-4)


def test_the_shared_prompt_cache_changes_no_sample(loaded, monkeypatch):
    import torch

    from conrec_core.decoding import search as decoding

    _, _, backbone, trie, rows, samples, prompts = loaded
    model, tokenizer = backbone.model, backbone.tokenizer
    varied = [prompts[0], prompts[1].split("<")[0], prompts[2]]
    excluded = [[0, 1], [], [2]]
    encoded = tokenizer(varied, return_tensors="pt", padding=True, add_special_tokens=False)
    assert decoding.shared_prompt_cache(model, encoded, 4).get_seq_length() == encoded["input_ids"].shape[1] - 1

    def sampled():
        torch.manual_seed(0)
        return decoding.sample_completions(model, tokenizer, trie, varied, excluded, group_size=6).completions

    shared = sampled()
    monkeypatch.setattr(decoding, "shared_prompt_cache", lambda *args: None)  # generate's own prefill per copy
    assert torch.equal(shared, sampled())


def test_predict_writes_ranked_predictions_for_chosen_users(tiny_world):
    workspace, _ = tiny_world
    users = read_samples(workspace, "test", None)["user_id"].unique()[:3].tolist()
    run = predict(workspace, "tiny", users=users)
    stored = read_predictions(workspace, "tiny")
    assert set(stored["user_id"]) == set(users) and run.samples == stored["sample_id"].nunique()
    assert run.invalid == 0 and 0 <= run.hr <= run.fhr <= 1
    assert stored.groupby("sample_id")["rank"].apply(list).map(lambda r: r == list(range(1, 21))).all()
    codebook = load_codebook(workspace)
    assert (stored["sid"] == stored["item_id"].map(codebook.sids.sid)).all()
    seen = seen_items(workspace, stored["sample_id"].unique())  # every item met before the anchor (method §2)
    assert not any(item in seen[sample_id] for sample_id, item in zip(stored["sample_id"], stored["item_id"]))
    again = predict(workspace, "tiny", users=users)  # a rerun replaces, never duplicates
    assert len(read_predictions(workspace, "tiny")) == len(stored) and again.hr == run.hr


def test_cold_samples_get_the_most_disliked_unseen_items(tiny_world):
    import numpy as np

    from conrec_core.data.stats import training_negative_shares
    from conrec_core.data.workspace import open_workspace
    from conrec_core.evaluation.baselines import rank_baseline

    workspace, _ = tiny_world
    samples = read_samples(workspace, "test", None)
    counts = samples["context_negatives"].map(len)
    threshold = int(counts.median()) + 1  # about half the samples are cold
    run = predict(workspace, "tiny", config=DecodingConfig(cold_negatives=threshold))
    stored = read_predictions(workspace, "tiny")
    ranked = stored.groupby("sample_id")["item_id"].apply(list)
    popular = rank_baseline(workspace, "most_disliked", samples, k=20)
    cold = [(s, p) for s, p, n in zip(samples["sample_id"], popular, counts) if n < threshold]
    warm = [s for s, n in zip(samples["sample_id"], counts) if n >= threshold]
    assert cold and warm and run.samples == len(samples)
    for sample_id, expected in cold:
        assert ranked[sample_id] == expected
    with open_workspace(workspace) as con:  # a cold list is scored by the log share of training negatives
        shares = dict(training_negative_shares(con))
    cold_rows = stored[stored["sample_id"].isin([s for s, _ in cold])]
    assert np.allclose(cold_rows["score"], np.log(cold_rows["item_id"].map(shares)))
