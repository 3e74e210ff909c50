"""Constrained beam search over valid SIDs for many prompts at once, and the exact scores of given candidates.

`search.decode` drives `transformers`' `generate`, whose beam search sees the whole vocabulary of every beam and
re-derives each beam's trie state from its tokens at every step. Here the search walks the trie itself: a beam is
a trie node and a score, its continuations are the node's edges (never a token outside the trie, never a subtree
whose items the prompt has all met), and prompts run side by side, a few thousand beams per forward. The
selection rule is `generate`'s with `length_penalty=0` and `early_stopping=True`: each step keeps the best
2 x beams continuations of a prompt, those closing a SID among its first `beams` join the finished list, the best
`beams` open ones go on; a prompt stops when `beams` SIDs have finished. Scores are the summed log-probabilities
of the SID's tokens (and of its closing EOS, unless it is free: see `search.TrieMask`).

A stream model is asked how likely the user meets an item and then rejects it: the search can return, for each
finished SID, the log-probability of a token following it (`then_token`), read off the forward that scores the
closing EOS, so the re-ranking needs no second pass over the beams. Candidates the search did not find (the
prior's) are scored by teacher forcing from the same prompt cache (`teacher_forced`). Every beam and every
teacher-forced sequence attends to its prompt through `shared_prompt`: a prompt's keys and values are held once,
not once a beam.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Iterator

import torch
from transformers import DynamicCache

from ..errors import ConrecError
from .shared_prompt import SharedPrompt, shared_prompt_attention
from .trie import DEAD, SidTrie

ROWS_PER_FORWARD = 2048  # beams (or candidate sequences) per forward: bounds the key/value cache in memory


def prompts_per_search(batch_size: int, beams: int) -> int:
    """Prompts searched side by side: `batch_size`, fewer when their beams would pass ROWS_PER_FORWARD."""
    return max(1, min(batch_size, ROWS_PER_FORWARD // beams))


def cache_rows(cache, rows: torch.Tensor):
    """A new cache holding `rows` of `cache` (repeats allowed), the original untouched."""
    selected = copy.copy(cache)
    selected.layers = [copy.copy(layer) for layer in cache.layers]
    for layer in selected.layers:
        layer.keys = layer.keys.index_select(0, rows)
        layer.values = layer.values.index_select(0, rows)
    return selected


@dataclass
class PromptBatch:
    """Prompts run once, left-padded: the cache of every token, the next-token log-probabilities after the last,
    and each row's attention mask and length."""
    cache: object
    logprobs: torch.Tensor  # (prompts, vocab)
    mask: torch.Tensor  # (prompts, width) 1 on real tokens
    lengths: torch.Tensor  # (prompts,) real tokens

    def __len__(self) -> int:
        return len(self.lengths)


@dataclass
class Finished:
    """One prompt's SIDs, best first: item rows, summed log-probabilities, and the then-token's log-probability
    after each (None without a then-token)."""
    rows: list[int]
    scores: list[float]
    then: list[float] | None


@torch.no_grad()
def prefill(model, tokenizer, prompts: list[str]) -> PromptBatch:
    device = next(model.parameters()).device
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    finally:
        tokenizer.padding_side = padding_side
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    output = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
    return PromptBatch(output.cache, torch.log_softmax(output.logits[:, -1].float(), dim=-1), mask,
                       mask.sum(-1))


def _ranks(groups: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """An order of the entries by group, then by score best first, and each entry's rank within its group
    (in that order)."""
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[torch.argsort(groups[order], stable=True)]
    sorted_groups = groups[order]
    starts = torch.searchsorted(sorted_groups, sorted_groups, right=False)
    return order, torch.arange(len(order), device=groups.device) - starts


@torch.no_grad()
def beam_search(model, trie: SidTrie, batch: PromptBatch, beams: int, remaining: torch.Tensor | None = None,
                free_end: bool = False, then_token: int | None = None) -> list[Finished]:
    """The best `beams` valid SIDs of each prompt of `batch` (fewer when fewer are allowed), by the rule above.
    `remaining` (prompts, trie nodes): items each prompt may still return under each node (`SidTrie.remaining`).
    After the first step every prompt owns as many rows (slots) of the generated tokens' cache as the prompt with
    most open beams (at most `beams`), its prompt's keys and values shared by them all (`shared_prompt`); a slot
    with no open beam is DEAD."""
    device = batch.logprobs.device
    prompts = len(batch)
    prompt_of = torch.arange(prompts, device=device)  # the first step: one open beam per prompt, the root
    nodes = torch.zeros(prompts, dtype=torch.long, device=device)
    scores = torch.zeros(prompts, device=device)
    logprobs, cache = batch.logprobs, None
    done_prompt = torch.empty(0, dtype=torch.long, device=device)
    done_row = torch.empty(0, dtype=torch.long, device=device)
    done_score = torch.empty(0, device=device)
    done_then = torch.empty(0, device=device)
    for generated in range(trie.max_depth):
        beam, edges = trie.edges_of(nodes)
        children = trie.edge_children[edges]
        if remaining is not None:
            keep = remaining[prompt_of[beam], children] > 0
            beam, edges, children = beam[keep], edges[keep], children[keep]
        if not len(beam):
            break
        tokens = trie.edge_tokens[edges]
        ended = tokens == trie.eos_token_id
        step = logprobs[beam, tokens]
        if free_end:  # an EOS that is a beam's only way on is no decision (search.TrieMask)
            only = torch.bincount(beam, minlength=len(nodes))[beam] == 1
            step = torch.where(ended & only, torch.zeros_like(step), step)
        candidate = scores[beam] + step
        order, rank = _ranks(prompt_of[beam], candidate)
        beam, children, tokens, ended, candidate = (t[order] for t in (beam, children, tokens, ended, candidate))
        kept = rank < 2 * beams
        finished = kept & ended & (rank < beams)
        if finished.any():
            done_prompt = torch.cat([done_prompt, prompt_of[beam[finished]]])
            done_row = torch.cat([done_row, trie.leaf_items[children[finished]]])
            done_score = torch.cat([done_score, candidate[finished]])
            then = logprobs[beam[finished], then_token] if then_token is not None \
                else torch.zeros(int(finished.sum()), device=device)
            done_then = torch.cat([done_then, then])
            order, rank = _ranks(done_prompt, done_score)
            best = order[rank < beams]
            done_prompt, done_row, done_score, done_then = (t[best] for t in (done_prompt, done_row, done_score,
                                                                              done_then))
        groups = prompt_of[beam]
        full = torch.bincount(done_prompt, minlength=prompts) >= beams
        open_ = kept & ~ended & ~full[groups]
        before = torch.zeros(prompts, dtype=torch.long, device=device)  # open candidates of earlier prompts
        before[1:] = torch.cumsum(torch.bincount(groups[open_], minlength=prompts), 0)[:-1]
        open_rank = torch.cumsum(open_.long(), 0) - 1 - before[groups]
        open_ &= open_rank < beams
        if not open_.any():
            break
        # Each prompt gets as many slots as the prompt with most open beams: after the SIDs' last common level
        # nearly every beam has finished, and the rows of finished beams are never run again.
        slots = int(open_rank[open_].max()) + 1
        slot = groups[open_] * slots + open_rank[open_]
        if cache is None:
            cache, shared = DynamicCache(config=model.config), SharedPrompt.of(batch.cache, batch.mask)
        else:
            parents = torch.zeros(prompts * slots, dtype=torch.long, device=device)  # a DEAD slot: any row
            parents[slot] = beam[open_]
            cache = cache_rows(cache, parents)
        nodes = torch.full((prompts * slots,), DEAD, dtype=torch.long, device=device)
        nodes[slot] = children[open_]
        scores = torch.full((prompts * slots,), float("-inf"), device=device)
        scores[slot] = candidate[open_]
        step_tokens = torch.full((prompts * slots, 1), trie.eos_token_id, dtype=torch.long, device=device)
        step_tokens[slot, 0] = tokens[open_]
        prompt_of = torch.arange(prompts * slots, device=device) // slots
        positions = batch.lengths[prompt_of, None] + generated
        with shared_prompt_attention(model):
            output = model(input_ids=step_tokens, position_ids=positions, cache=cache, use_cache=True,
                           shared_prompt=shared)
        cache, logprobs = output.cache, torch.log_softmax(output.logits[:, -1].float(), dim=-1)
    results = []
    order, rank = _ranks(done_prompt, done_score)
    done_prompt, done_row, done_score, done_then = (t[order] for t in (done_prompt, done_row, done_score, done_then))
    counts = torch.bincount(done_prompt, minlength=prompts).tolist()
    rows, kept_scores, thens = done_row.tolist(), done_score.tolist(), done_then.tolist()
    start = 0
    for count in counts:
        results.append(Finished(rows[start:start + count], kept_scores[start:start + count],
                                thens[start:start + count] if then_token is not None else None))
        start += count
    return results


def searched_batches(model, tokenizer, trie: SidTrie, prompts: list[str], beams: int,
                     excluded_rows: list[list[int]] | None, batch_size: int, *, free_end: bool = False,
                     then_token: int | None = None, at_least: int = 0
                     ) -> Iterator[tuple[PromptBatch, list[Finished]]]:
    """`beam_search` over `prompts` a batch at a time (`prompts_per_search`): each batch's prompt cache and its
    prompts' SIDs. `excluded_rows[i]`: items prompt i may not return (None: none); a prompt left with fewer than
    `at_least` items is an error."""
    model.eval()
    trie = trie.to(next(model.parameters()).device)
    step = prompts_per_search(batch_size, beams)
    for start in range(0, len(prompts), step):
        chunk = prompts[start:start + step]
        remaining = None if excluded_rows is None else trie.remaining(excluded_rows[start:start + len(chunk)])
        if remaining is not None and int(remaining[:, 0].min()) < at_least:
            raise ConrecError("fewer items left to recommend than SIDs asked for")
        batch = prefill(model, tokenizer, chunk)
        yield batch, beam_search(model, trie, batch, beams, remaining, free_end, then_token)


@torch.no_grad()
def teacher_forced(model, batch: PromptBatch, sequences: list[list[list[int]]]) -> list[list[float]]:
    """Summed log-probability of each of `sequences[i]` (token id lists) after prompt i of `batch`. Every prompt's
    list is padded to the longest list with copies of its first sequence (scored, then dropped), so that the
    rows of a forward come prompt by prompt, as many each, and share their prompt's keys and values."""
    device = batch.logprobs.device
    each = max(1, max(map(len, sequences), default=1))
    width = max((len(tokens) for listed in sequences for tokens in listed), default=1)
    padded = [listed + [listed[0] if listed else [0]] * (each - len(listed)) for listed in sequences]
    tokens = torch.tensor([t + [t[-1]] * (width - len(t)) for listed in padded for t in listed], device=device)
    scored = torch.tensor([[j < len(t) for j in range(width)] for listed in padded for t in listed], device=device)
    prompt_of = torch.arange(len(sequences), device=device).repeat_interleave(each)
    logprobs = batch.logprobs[prompt_of, tokens[:, 0]][:, None]
    if width > 1:  # padding follows each sequence's last token, so causal attention never reads it
        shared = SharedPrompt.of(batch.cache, batch.mask)
        step = max(1, ROWS_PER_FORWARD // each)
        following = []
        for first in range(0, len(sequences), step):
            rows = slice(first * each, min(first + step, len(sequences)) * each)
            inputs = tokens[rows, :-1]
            positions = batch.lengths[prompt_of[rows], None] + torch.arange(width - 1, device=device)
            with shared_prompt_attention(model):
                output = model(input_ids=inputs, position_ids=positions, cache=DynamicCache(config=model.config),
                               use_cache=True, shared_prompt=shared.prompts(first, first + step))
            following.append(torch.log_softmax(output.logits.float(), dim=-1).gather(
                -1, tokens[rows, 1:, None])[..., 0])
        logprobs = torch.cat([logprobs, torch.cat(following)], dim=1)
    totals = (logprobs * scored).sum(dim=1).view(len(sequences), each).tolist()
    return [row[:len(listed)] for row, listed in zip(totals, sequences)]
