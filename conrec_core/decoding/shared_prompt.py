"""Attention for beams that share a prompt: each prompt's keys and values are read once for all of its beams.

A beam search over SIDs runs a hundred beams per prompt for a handful of steps. Copying the prompt's keys and
values into every beam's row of a cache makes each step read a hundred copies of them, and on a small model that
reading is most of a step's time. Here the prompt's keys and values stay one per prompt (`SharedPrompt`) and the
cache holds only the tokens each beam generated; the attention scores a beam's queries against both and takes one
softmax over the two, which is the same attention up to floating-point rounding.

It is a `transformers` attention function (`AttentionInterface`), used while `shared_prompt_attention(model)`
is active. A model's forward then takes `shared_prompt=SharedPrompt(...)`, rows ordered prompt by prompt with
the same number of rows (beams) per prompt, and a cache of the generated tokens alone.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from transformers import AttentionInterface

from ..errors import ConrecError

NAME = "conrec_shared_prompt"


@dataclass
class SharedPrompt:
    """Each layer's keys and values of a batch of prompts, (prompts, kv heads, width, head dim), and a bias
    (prompts, width) that is 0 on a prompt's tokens and -inf on its padding."""
    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    bias: torch.Tensor

    @classmethod
    def of(cls, cache, mask: torch.Tensor) -> "SharedPrompt":
        """From a prefill's cache and its attention mask (1 on real tokens)."""
        bias = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
        return cls([layer.keys for layer in cache.layers], [layer.values for layer in cache.layers],
                   bias.masked_fill(mask == 0, float("-inf")))

    def prompts(self, start: int, stop: int) -> "SharedPrompt":
        """Prompts [start, stop) alone (views, nothing copied)."""
        return SharedPrompt([k[start:stop] for k in self.keys], [v[start:stop] for v in self.values],
                            self.bias[start:stop])


def attention(module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attention_mask,
              scaling: float | None = None, dropout: float = 0.0, shared_prompt: SharedPrompt | None = None,
              sliding_window: int | None = None, **kwargs) -> tuple[torch.Tensor, None]:
    """query (rows, heads, steps, dim); key and value (rows, kv heads, generated, dim): every token the rows
    generated, the `steps` new ones last. Returns (rows, steps, heads, dim) as `transformers`' functions do."""
    if shared_prompt is None:
        raise ConrecError("shared-prompt attention needs the prompts' keys and values (shared_prompt=...)")
    prompt_keys = shared_prompt.keys[module.layer_idx]
    prompt_values = shared_prompt.values[module.layer_idx]
    prompts, kv_heads, width, dim = prompt_keys.shape
    rows, heads, steps, _ = query.shape
    generated = key.shape[2]
    if sliding_window is not None and sliding_window < width + generated:
        raise ConrecError("shared-prompt attention does not support a sliding window shorter than the prompt")
    beams, groups = rows // prompts, heads // kv_heads
    query = query.reshape(rows, kv_heads, groups * steps, dim)  # a copy only when the steps are several
    scaling = dim ** -0.5 if scaling is None else scaling
    # Prompt part, one matrix product per prompt and kv head: (prompts, kv heads, beams * groups * steps, width).
    grouped = query.view(prompts, beams, kv_heads, groups * steps, dim).transpose(1, 2)
    grouped = grouped.reshape(prompts, kv_heads, beams * groups * steps, dim)
    on_prompt = torch.matmul(grouped, prompt_keys.transpose(-1, -2)) * scaling
    on_prompt = on_prompt + shared_prompt.bias[:, None, None, :].to(on_prompt.dtype)
    # Generated part, per row: (rows, kv heads, groups * steps, generated), causal over the new steps.
    on_generated = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if steps > 1:
        seen = torch.arange(generated, device=query.device)[None, :] <= \
            torch.arange(generated - steps, generated, device=query.device)[:, None]  # (steps, generated)
        blocked = ~seen.repeat(groups, 1)
        on_generated = on_generated.masked_fill(blocked, float("-inf"))
    on_generated = on_generated.view(prompts, beams, kv_heads, groups * steps, generated).transpose(1, 2)
    on_generated = on_generated.reshape(prompts, kv_heads, beams * groups * steps, generated)
    weights = torch.softmax(torch.cat([on_prompt, on_generated], dim=-1).float(), dim=-1).to(query.dtype)
    output = torch.matmul(weights[..., :width], prompt_values)
    generated_values = value.reshape(prompts, beams, kv_heads, generated, dim).transpose(1, 2)
    output = output.view(prompts, kv_heads, beams, groups * steps, dim) + torch.matmul(
        weights[..., width:].view(prompts, kv_heads, beams, groups * steps, generated), generated_values)
    # (prompts, kv heads, beams, groups, steps, dim) -> (rows, steps, heads, dim)
    output = output.view(prompts, kv_heads, beams, groups, steps, dim).permute(0, 2, 4, 1, 3, 5)
    return output.reshape(rows, steps, heads, dim), None


AttentionInterface.register(NAME, attention)


@contextmanager
def shared_prompt_attention(model):
    """`model` attends with `attention` inside the block, with its own implementation again after it."""
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = before
