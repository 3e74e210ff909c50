"""Shared-prompt attention equals ordinary attention over each row's own copy of its prompt."""

from types import SimpleNamespace

import pytest
import torch

from conrec_core.decoding.shared_prompt import SharedPrompt, attention
from conrec_core.errors import ConrecError


def copied_prompt_attention(query, prompt_keys, prompt_values, mask, key, value, beams):
    """The reference: every row holds its prompt's keys and values followed by its generated ones, the prompt's
    padding masked, the new steps causal among themselves."""
    rows, heads, steps, dim = query.shape
    groups = heads // prompt_keys.shape[1]
    keys = torch.cat([prompt_keys.repeat_interleave(beams, 0), key], dim=2).repeat_interleave(groups, 1)
    values = torch.cat([prompt_values.repeat_interleave(beams, 0), value], dim=2).repeat_interleave(groups, 1)
    generated = key.shape[2]
    causal = torch.arange(generated)[None, :] <= torch.arange(generated - steps, generated)[:, None]
    allowed = torch.cat([mask.bool().repeat_interleave(beams, 0)[:, None, :].expand(-1, steps, -1),
                         causal[None].expand(rows, -1, -1)], dim=2)
    output = torch.nn.functional.scaled_dot_product_attention(query, keys, values, attn_mask=allowed[:, None])
    return output.transpose(1, 2)


@pytest.mark.parametrize("steps,generated", [(1, 1), (1, 4), (3, 3), (2, 5)])
def test_equal_to_attention_over_copied_prompts(steps, generated):
    torch.manual_seed(0)
    prompts, beams, kv_heads, groups, width, dim = 3, 4, 2, 3, 7, 8
    rows, heads = prompts * beams, kv_heads * groups
    mask = torch.ones(prompts, width, dtype=torch.long)
    mask[1, :3] = 0  # left padding
    mask[2, :6] = 0
    prompt_keys, prompt_values = torch.randn(2, prompts, kv_heads, width, dim).unbind(0)
    prompt_values.masked_fill_((mask == 0)[:, None, :, None], 1e4)  # padding must never reach the output
    key, value = torch.randn(2, rows, kv_heads, generated, dim).unbind(0)
    query = torch.randn(rows, heads, steps, dim)
    shared = SharedPrompt([prompt_keys], [prompt_values], torch.zeros(prompts, width).masked_fill(mask == 0,
                                                                                                 float("-inf")))
    output, _ = attention(SimpleNamespace(layer_idx=0), query, key, value, None, scaling=dim ** -0.5,
                          shared_prompt=shared)
    expected = copied_prompt_attention(query, prompt_keys, prompt_values, mask, key, value, beams)
    assert output.shape == (rows, steps, heads, dim)
    assert torch.allclose(output, expected, atol=1e-5)


def test_a_forward_without_the_prompts_is_a_clear_error():
    query = torch.zeros(2, 2, 1, 4)
    with pytest.raises(ConrecError, match="shared_prompt"):
        attention(SimpleNamespace(layer_idx=0), query, query, query, None)
