"""Constrained beam search over valid SIDs (method §7).

Beam search walks the trie itself, many prompts side by side (`batched_search`, the rule of `transformers`'
beam search); GRPO's rollouts sample with `transformers`' `generate`, where `TrieMask` restricts every sequence
to the trie of valid SIDs (and, per prompt, to items the user has not seen) with a few tensor operations per
step, and each prompt runs once, not once per sampled sequence (`shared_prompt_cache`). Every generation
parameter is set here: nothing is inherited from a model's generation config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from ..errors import ConrecError
from .batched_search import searched_batches
from .decoding_config import DecodingConfig
from .trie import SidTrie


class TrieMask(LogitsProcessor):
    """Sets the score of every token that would leave the trie (or reach an excluded item) to -inf, and (with
    `free_end`) the EOS that ends a complete SID to 0."""

    def __init__(self, trie: SidTrie, prompt_length: int, beams_per_prompt: int,
                 remaining: torch.Tensor | None = None, free_end: bool = False):
        self.trie, self.prompt_length, self.beams_per_prompt = trie, prompt_length, beams_per_prompt
        self.remaining = remaining  # (prompts, nodes) items still allowed under each node
        self.free_end = free_end

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        states = self.trie.walk(input_ids[:, self.prompt_length:])
        beams, edges = self.trie.edges_of(states)
        if self.remaining is not None:
            keep = self.remaining[beams // self.beams_per_prompt, self.trie.edge_children[edges]] > 0
            beams, edges = beams[keep], edges[keep]
        allowed = torch.zeros_like(scores, dtype=torch.bool)
        allowed[beams, self.trie.edge_tokens[edges]] = True
        # a finished sequence (past its EOS) still gets a step when sampling: let it repeat EOS, not NaN
        allowed[~allowed.any(-1), self.trie.eos_token_id] = True
        scores = scores.masked_fill(~allowed, float("-inf"))
        if self.free_end:
            # a complete SID can only end: its EOS is no decision, so it costs nothing (a model trained on
            # windows of negatives never saw EOS after one, and a SID's score is its tokens' probability alone)
            ended = (allowed.sum(-1) == 1) & allowed[:, self.trie.eos_token_id]
            scores[ended, self.trie.eos_token_id] = 0.0
        return scores


def shared_prompt_cache(model, encoded, copies: int):
    """The KV cache of every prompt but its last token, computed once per prompt and repeated `copies` times.

    `generate` repeats each prompt once per beam (or sampled sequence) before its first forward, so on its own it
    computes the same prompt `copies` times; given this cache it runs only the last prompt token per copy. The
    positions are the ones `generate` derives from the attention mask (left padding), so the result is the same
    computation. None when a prompt is a single token or the model has no cache of its own type."""
    ids, attention = encoded["input_ids"], encoded["attention_mask"]
    if ids.shape[1] < 2:
        return None
    positions = (attention.long().cumsum(-1) - 1).masked_fill(attention == 0, 0)
    with torch.no_grad():
        output = model(input_ids=ids[:, :-1], attention_mask=attention[:, :-1], position_ids=positions[:, :-1],
                       use_cache=True)
    return repeated_cache(output, copies)


def repeated_cache(output, copies: int):
    """The KV cache of a forward `output`, each row repeated `copies` times in place; None when the model
    returned none of a type that can be repeated."""
    cache = getattr(output, "cache", None)  # transformers 5 renamed past_key_values
    if cache is None or not hasattr(cache, "batch_repeat_interleave"):
        return None
    cache.batch_repeat_interleave(copies)
    return cache


def _with_cache(cache) -> dict:
    return {} if cache is None else {"cache": cache}


@dataclass
class Decoded:
    rows: list[int]  # item rows (SemanticIds order), best first; distinct
    scores: list[float]  # summed log-probability of each SID
    invalid: int  # returned sequences that were not a valid SID (0 under the mask)


def sid_token_rows(trie_sequences: list[list[int]]) -> dict[tuple[int, ...], int]:
    return {tuple(tokens): row for row, tokens in enumerate(trie_sequences)}


def decode(model, tokenizer, trie: SidTrie, prompts: list[str], config: DecodingConfig = DecodingConfig(),
           excluded_rows: list[list[int]] | None = None, on_batch: Callable[[int], None] | None = None,
           free_end: bool = False) -> list[Decoded]:
    """Top `config.returns` valid SIDs per prompt by beam search over the trie (`batched_search`);
    `excluded_rows[i]` are items prompt i may not return. `free_end`: the EOS closing a complete SID costs nothing
    (for models trained without it, see TrieMask)."""
    results: list[Decoded] = []
    excluded = excluded_rows if config.exclude_seen else None
    for batch, found in searched_batches(model, tokenizer, trie, prompts, config.beams, excluded, config.batch_size,
                                         free_end=free_end, at_least=config.returns):
        results += [Decoded(f.rows[:config.returns], f.scores[:config.returns], 0) for f in found]
        if on_batch:
            on_batch(len(batch))
    return results


def sampling_config(tokenizer, group_size: int, temperature: float, max_new_tokens: int) -> GenerationConfig:
    """Plain ancestral sampling of `group_size` completions per prompt (GRPO rollouts); nothing inherited."""
    return GenerationConfig(
        do_sample=True, num_beams=1, num_return_sequences=group_size, max_new_tokens=max_new_tokens,
        min_new_tokens=0, temperature=temperature, top_k=0, top_p=1.0, min_p=None, typical_p=1.0,
        repetition_penalty=1.0, no_repeat_ngram_size=0, bad_words_ids=None, forced_bos_token_id=None,
        forced_eos_token_id=None, suppress_tokens=None, begin_suppress_tokens=None, renormalize_logits=False,
        remove_invalid_values=False, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.eos_token_id, use_cache=True, return_dict_in_generate=True)


@dataclass
class Rollouts:
    prompt_ids: torch.Tensor  # (sequences, prompt length), left-padded, each prompt repeated group_size times
    prompt_mask: torch.Tensor  # attention mask of the prompt part
    completions: torch.Tensor  # (sequences, steps) sampled tokens, pad after EOS
    remaining: torch.Tensor  # (prompts, trie nodes) items each prompt may still produce


def sample_completions(model, tokenizer, trie: SidTrie, prompts: list[str], excluded_rows: list[list[int]],
                       group_size: int, temperature: float = 1.0) -> Rollouts:
    """`group_size` SIDs per prompt sampled under the trie mask, never an item the prompt's user has seen."""
    device = next(model.parameters()).device
    trie = trie.to(device)
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    finally:
        tokenizer.padding_side = padding_side
    remaining = trie.remaining(excluded_rows)
    if int(remaining[:, 0].min()) < 1:
        raise ConrecError("a prompt has no unseen item left to sample")
    width = encoded["input_ids"].shape[1]
    mask = TrieMask(trie, width, group_size, remaining)
    cache = shared_prompt_cache(model, encoded, group_size)
    with torch.no_grad():
        output = model.generate(**encoded, generation_config=sampling_config(tokenizer, group_size, temperature,
                                                                             trie.max_depth),
                                logits_processor=LogitsProcessorList([mask]), **_with_cache(cache))
    return Rollouts(encoded["input_ids"].repeat_interleave(group_size, 0),
                    encoded["attention_mask"].repeat_interleave(group_size, 0),
                    output.sequences[:, width:], remaining)


def completion_rows(completions: torch.Tensor, eos_token_id: int,
                    token_rows: dict[tuple[int, ...], int]) -> list[int | None]:
    """The item row each completion names, or None when it is not a valid SID."""
    rows = []
    for tokens in completions.tolist():
        tokens = tokens[:tokens.index(eos_token_id)] if eos_token_id in tokens else tokens
        rows.append(token_rows.get(tuple(tokens)))
    return rows
