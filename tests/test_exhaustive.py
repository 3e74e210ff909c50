"""Exact SID scoring: the top K of every valid SID's log-probability, checked against brute-force enumeration."""

from dataclasses import dataclass

import pytest
import torch

from conrec_core.data.samples import read_samples
from conrec_core.lm.checkpoints import load_checkpoint
from conrec_core.lm.config import SFTConfig
from conrec_core.decoding.search import DecodingConfig, decode
from conrec_core.decoding.exhaustive import exhaustive_top_k, top_sids
from conrec_core.decoding.item_trie import item_trie, sid_token_sequences
from conrec_core.lm.prompts import next_negative_prompt
from conrec_core.semantic_ids.store import load_codebook


@torch.no_grad()
def brute_force(model, tokenizer, sequences, prompt, free_end) -> torch.Tensor:
    """Summed log-probability of every item's SID tokens after the prompt, and of its closing EOS unless free."""
    prefix = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    scores = []
    for start in range(0, len(sequences), 128):
        batch = [s + [tokenizer.eos_token_id] for s in sequences[start:start + 128]]
        width = max(len(s) for s in batch)
        ids = torch.tensor([prefix + s + [tokenizer.eos_token_id] * (width - len(s)) for s in batch])
        logprobs = torch.log_softmax(model(input_ids=ids).logits.float(), -1)
        for row, tokens in enumerate(batch):
            scored = tokens[:-1] if free_end else tokens
            scores.append(sum(float(logprobs[row, len(prefix) - 1 + j, t]) for j, t in enumerate(scored)))
    return torch.tensor(scores)


@dataclass
class TinyDecoder:
    """The tiny checkpoint loaded with its trie, every item's SID tokens and next-negative prompts of test samples."""
    codebook: object
    model: object
    tokenizer: object
    trie: object
    sequences: list
    prompts: list[str]


def tiny_decoder(tiny_checkpoint, prompts: int) -> TinyDecoder:
    workspace, result = tiny_checkpoint
    codebook = load_codebook(workspace)
    backbone, _ = load_checkpoint(result.folder, codebook=codebook)
    tokenizer = backbone.tokenizer
    trie, _ = item_trie(codebook, tokenizer, len(tokenizer))
    samples = read_samples(workspace, "test", None).head(prompts)
    return TinyDecoder(codebook, backbone.model, tokenizer, trie, sid_token_sequences(codebook, tokenizer),
                       [next_negative_prompt(codebook, list(n), SFTConfig()) for n in samples["context_negatives"]])


@pytest.mark.parametrize("free_end", [True, False])
def test_exact_scoring_returns_the_brute_force_top_k_and_never_a_seen_item(tiny_checkpoint, free_end):
    loaded = tiny_decoder(tiny_checkpoint, 5)
    model, tokenizer, trie, sequences, prompts = (loaded.model, loaded.tokenizer, loaded.trie, loaded.sequences,
                                                  loaded.prompts)
    excluded = [[], [0, 1, 2, 3], [], [5], []]
    exact = exhaustive_top_k(model, tokenizer, trie, prompts, 15, excluded, free_end=free_end)
    beam = decode(model, tokenizer, trie, prompts, DecodingConfig(beams=15, returns=15), excluded,
                  free_end=free_end)
    for prompt, result, beamed, skip in zip(prompts, exact, beam, excluded):
        scores = brute_force(model, tokenizer, sequences, prompt, free_end)
        scores[skip] = float("-inf")
        expected = torch.topk(scores, 15)
        assert result.scores == sorted(result.scores, reverse=True) and not set(result.rows) & set(skip)
        assert result.scores == pytest.approx(expected.values.tolist(), abs=1e-3)
        assert set(result.rows) == set(expected.indices.tolist()) or len(set(expected.values.round(decimals=3)
                                                                             .tolist())) < 15  # a tie at the cut
        assert min(result.scores) >= min(beamed.scores) - 1e-3  # never worse than the beam it starts from
    same = top_sids(model, tokenizer, trie, prompts[:2], DecodingConfig(search="exact", beams=15, returns=15),
                    excluded[:2], free_end=free_end)
    assert [r.rows for r in same] == [r.rows for r in exact[:2]]
