"""The GRPO objective (method §4 stage 4) as plain tensor functions.

Completions are sampled under the valid-SID constraint, so their log-probabilities are taken under the
same constrained distribution (logits of tokens that would leave the trie set to -inf): the importance
ratio then compares the distributions the samples really came from. Tokens the trie forces (a single
allowed token, such as EOS after a complete SID) carry no decision and are left out of the averages.
"""

from __future__ import annotations

import torch

from ..decoding.trie import SidTrie

ADVANTAGE_EPSILON = 1e-4  # keeps a group whose rewards are all equal at advantage 0, not 0/0


def group_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """(r - mean) / (std + 1e-4) within each group; `rewards` is (prompts, group), std over the group (1/G)."""
    mean = rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, unbiased=False, keepdim=True)
    return (rewards - mean) / (std + ADVANTAGE_EPSILON)


def allowed_tokens(trie: SidTrie, completions: torch.Tensor, remaining: torch.Tensor | None,
                   group_size: int) -> torch.Tensor:
    """(sequences, steps, vocab) True where the trie (and the prompt's unseen items) allows a token.

    Sequences are grouped by prompt (`group_size` consecutive rows per prompt, as generate returns them);
    `remaining[prompt, node]` counts the items under a node that prompt may still produce.
    """
    sequences, steps = completions.shape
    allowed = torch.zeros((sequences, steps, trie.vocab_size), dtype=torch.bool, device=completions.device)
    states = torch.zeros(sequences, dtype=torch.long, device=completions.device)
    for step in range(steps):
        beams, edges = trie.edges_of(states)
        if remaining is not None:
            keep = remaining[beams // group_size, trie.edge_children[edges]] > 0
            beams, edges = beams[keep], edges[keep]
        allowed[beams, step, trie.edge_tokens[edges]] = True
        states = trie.step(states, completions[:, step])
    return allowed


def decision_mask(allowed: torch.Tensor) -> torch.Tensor:
    """(sequences, steps): positions where the constraint left more than one token to choose from."""
    return allowed.sum(-1) > 1


def constrained_logprobs(logits: torch.Tensor, tokens: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Log-probability of each chosen token among the allowed ones; `logits` (sequences, steps, vocab).

    Positions with no allowed token (after EOS) fall back to the full vocabulary so no row is all -inf;
    they are outside the decision mask and never counted.
    """
    width = min(logits.shape[-1], allowed.shape[-1])
    logits, allowed = logits[..., :width].float(), allowed[..., :width]
    usable = allowed | ~allowed.any(-1, keepdim=True)
    logprobs = torch.log_softmax(logits.masked_fill(~usable, float("-inf")), dim=-1)
    return logprobs.gather(-1, tokens.clamp(max=width - 1).unsqueeze(-1)).squeeze(-1)


def grpo_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, ref_logprobs: torch.Tensor,
              advantages: torch.Tensor, mask: torch.Tensor, clip_epsilon: float, beta: float
              ) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped surrogate plus β·KL (k3 estimator) to the reference, per token, averaged per sequence.

        ratio = exp(logp - logp_old)
        token = -min(ratio·A, clip(ratio, 1-ε, 1+ε)·A) + β·(exp(logp_ref - logp) - (logp_ref - logp) - 1)
        loss  = mean over sequences of (mean over the sequence's decision tokens of token)

    `advantages` is one value per sequence; the other tensors are (sequences, steps).
    """
    mask = mask.float()
    advantage = advantages.unsqueeze(1)
    ratio = torch.exp(logprobs - old_logprobs)
    clipped_ratio = ratio.clamp(1 - clip_epsilon, 1 + clip_epsilon)
    unclipped, clipped = ratio * advantage, clipped_ratio * advantage
    surrogate = torch.minimum(unclipped, clipped)
    log_ref_ratio = ref_logprobs - logprobs
    kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1
    per_token = -surrogate + beta * kl
    tokens = mask.sum(1).clamp(min=1)
    loss = ((per_token * mask).sum(1) / tokens).mean()
    total = mask.sum().clamp(min=1)
    with torch.no_grad():
        stats = {
            "kl": float((kl * mask).sum() / total),
            "clip_fraction": float(((clipped < unclipped).float() * mask).sum() / total),  # gradient cut off
            "ratio_outside": float((((ratio < 1 - clip_epsilon) | (ratio > 1 + clip_epsilon)).float() * mask
                                    ).sum() / total),
        }
    return loss, stats
