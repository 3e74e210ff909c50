"""Exact top-K SIDs: every valid SID scored by teacher forcing through the trie, level by level, with pruning.

A prompt runs once; each level then extends the open prefixes by one token in batched forwards on a copy of the
prompt's key/value cache, one row per prefix. Log-probabilities only fall along a path, so a prefix scoring below
the K-th best complete SID found so far cannot lead into the top K: prefixes are taken best first, in chunks, and
the rest of a level is dropped as soon as one falls below that bound. The result is the exact top K under the
model (beam search may lose an item whose first tokens look unlikely), at a cost that grows with how flat the
model's distribution is, not with the catalogue. A complete SID's closing EOS is scored as in `decoding`.
"""

from __future__ import annotations

from typing import Callable

import torch

from .batched_search import cache_rows
from .search import Decoded, decode
from .decoding_config import DecodingConfig
from .trie import SidTrie

CHUNK = 512  # prefixes extended per forward: bounds the copied key/value cache


@torch.no_grad()
def exhaustive_top_k(model, tokenizer, trie: SidTrie, prompts: list[str], k: int,
                     excluded_rows: list[list[int]] | None = None,
                     on_batch: Callable[[int], None] | None = None, free_end: bool = False) -> list[Decoded]:
    """The K best valid SIDs per prompt by summed log-probability, never an excluded item's.

    A beam search of width K runs first: its K-th score is a score some allowed SID reaches, so every prefix
    below it is pruned from the first level on."""
    model.eval()
    device = next(model.parameters()).device
    trie = trie.to(device)
    excluded_rows = excluded_rows or [[] for _ in prompts]
    beams = decode(model, tokenizer, trie, prompts, DecodingConfig(beams=k, returns=k), excluded_rows,
                   free_end=free_end)
    remaining = trie.remaining(excluded_rows)
    results = []
    for index, (prompt, beam) in enumerate(zip(prompts, beams)):
        bound = beam.scores[-1] if len(beam.rows) == k else float("-inf")
        results.append(_one_prompt(model, tokenizer, trie, prompt, k, remaining[index], bound, free_end, device))
        if on_batch:
            on_batch(1)
    return results


def top_sids(model, tokenizer, trie: SidTrie, prompts: list[str], config: DecodingConfig,
             excluded_rows: list[list[int]] | None = None, on_batch: Callable[[int], None] | None = None,
             free_end: bool = False) -> list[Decoded]:
    """The top `config.returns` SIDs per prompt by the configured search."""
    if config.search == "exact":
        return exhaustive_top_k(model, tokenizer, trie, prompts, config.returns,
                                excluded_rows if config.exclude_seen else None, on_batch, free_end)
    return decode(model, tokenizer, trie, prompts, config, excluded_rows, on_batch, free_end)


def _one_prompt(model, tokenizer, trie: SidTrie, prompt: str, k: int, remaining: torch.Tensor, start_bound: float,
                free_end: bool, device) -> Decoded:
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
    output = model(input_ids=ids, use_cache=True)
    cache, logprobs = output.cache, torch.log_softmax(output.logits[:, -1].float(), dim=-1)
    nodes = torch.zeros(1, dtype=torch.long, device=device)  # open prefixes: trie node, score, cache row
    scores = torch.zeros(1, device=device)
    found_rows: list[torch.Tensor] = []
    found_scores: list[torch.Tensor] = []
    bound = start_bound - 1e-4  # the K-th best complete score known (float noise between batched forwards)
    while len(nodes):
        beams, edges = trie.edges_of(nodes)
        children = trie.edge_children[edges]
        keep = remaining[children] > 0  # a subtree with no allowed item left
        beams, edges, children = beams[keep], edges[keep], children[keep]
        tokens = trie.edge_tokens[edges]
        ended = tokens == trie.eos_token_id
        step_scores = logprobs[beams, tokens]
        child_scores = scores[beams] + (torch.where(ended, torch.zeros_like(step_scores), step_scores) if free_end
                                        else step_scores)
        if ended.any():
            found_rows.append(trie.leaf_items[children[ended]])
            found_scores.append(child_scores[ended])
            bound = max(bound, _kth(found_scores, k))
        open_ = ~ended & (child_scores >= bound)
        beams, children, tokens, child_scores = beams[open_], children[open_], tokens[open_], child_scores[open_]
        order = torch.argsort(child_scores, descending=True)
        next_nodes, next_scores, next_logprobs, next_caches = [], [], [], []
        for start in range(0, len(order), CHUNK):
            chunk = order[start:start + CHUNK]
            if child_scores[chunk[0]] < bound:  # best first: nothing after this can reach the top K
                break
            chunk = chunk[child_scores[chunk] >= bound]
            step_cache = cache_rows(cache, beams[chunk])
            step = model(input_ids=tokens[chunk, None], cache=step_cache, use_cache=True)
            next_nodes.append(children[chunk])
            next_scores.append(child_scores[chunk])
            next_logprobs.append(torch.log_softmax(step.logits[:, -1].float(), dim=-1))
            next_caches.append(step.cache)
        if not next_nodes:
            break
        nodes, scores = torch.cat(next_nodes), torch.cat(next_scores)
        logprobs = torch.cat(next_logprobs)
        cache = _concat(next_caches)
    rows, kept = torch.cat(found_rows), torch.cat(found_scores)
    top = torch.argsort(kept, descending=True, stable=True)[:k]
    return Decoded(rows[top].tolist(), kept[top].tolist(), 0)


def _kth(found_scores: list[torch.Tensor], k: int) -> float:
    scores = torch.cat(found_scores)
    return float(torch.topk(scores, k).values[-1]) if len(scores) >= k else float("-inf")


def _concat(caches: list):
    if len(caches) == 1:
        return caches[0]
    merged = caches[0]
    for index, layer in enumerate(merged.layers):
        layer.keys = torch.cat([c.layers[index].keys for c in caches])
        layer.values = torch.cat([c.layers[index].values for c in caches])
    return merged
