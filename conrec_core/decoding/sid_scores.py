"""Teacher-forced log-probability of given SIDs after one prompt: the score beam search and exact search give a
SID, for any list of items (a candidate pool, a probe), from one prompt forward and one batched step."""

from __future__ import annotations

import torch

from .exhaustive import cache_rows

CHUNK = 256  # candidates per batched forward: bounds the copied key/value cache


@torch.no_grad()
def sid_logprobs(model, tokenizer, prompt: str, sequences: list[list[int]], free_end: bool = False) -> list[float]:
    """Summed log-probability of each token sequence (a SID's tokens) after `prompt`, plus its closing EOS's
    unless `free_end` (a model trained on windows of negatives, see decoding.TrieMask)."""
    if not sequences:
        return []
    model.eval()
    device = next(model.parameters()).device
    eos = tokenizer.eos_token_id
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
    output = model(input_ids=ids, use_cache=True)
    first = torch.log_softmax(output.logits[0, -1].float(), dim=-1)
    scores: list[float] = []
    for start in range(0, len(sequences), CHUNK):
        targets = [list(s) + ([] if free_end else [eos]) for s in sequences[start:start + CHUNK]]
        width = max(len(t) for t in targets)
        tokens = torch.tensor([t + [eos] * (width - len(t)) for t in targets], device=device)
        scored = torch.tensor([[j < len(t) for j in range(width)] for t in targets], device=device)
        logprobs = first[tokens[:, 0]][:, None]
        if width > 1:  # padding sits after each sequence's last token, so causal attention never reads it
            cache = cache_rows(output.cache, torch.zeros(len(targets), dtype=torch.long, device=device))
            step = model(input_ids=tokens[:, :-1], cache=cache, use_cache=True)
            rest = torch.log_softmax(step.logits.float(), dim=-1).gather(-1, tokens[:, 1:, None])[..., 0]
            logprobs = torch.cat([logprobs, rest], dim=1)
        scores += (logprobs * scored).sum(dim=1).tolist()
    return scores
