"""Dropout for SFT of a model that has none: Qwen3 drops only attention weights (and defaults to 0).

Forward hooks drop the token embeddings and each block's attention and MLP outputs, as SASRec does, while the
module is training; in eval mode (decoding, GRPO, held-out checks) they pass outputs through untouched. Hooks
live on the in-memory model only, so saved checkpoints are plain Hugging Face models.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.nn import functional

from ..errors import ConfigError


def _drop_output(rate: float):
    def hook(module, inputs, output):
        return functional.dropout(output, rate, module.training) if isinstance(output, torch.Tensor) else output
    return hook


def add_training_dropout(model, rate: float) -> Callable[[], None]:
    """Drop `rate` of the embeddings, the attention weights and every block's attention and MLP outputs while
    training; returns the function that takes the dropout off again."""
    if rate <= 0:
        return lambda: None
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    layers = getattr(getattr(base, "model", None), "layers", None)
    if layers is None or not all(hasattr(layer, "self_attn") and hasattr(layer, "mlp") for layer in layers):
        raise ConfigError(f"dropout needs a decoder with model.layers[i].self_attn / .mlp (Llama, Qwen); "
                          f"{type(base).__name__} has another layout: set dropout to 0")
    handles = [base.get_input_embeddings().register_forward_hook(_drop_output(rate))]
    attention_rates = [layer.self_attn.attention_dropout for layer in layers]
    for layer in layers:
        layer.self_attn.attention_dropout = rate
        handles.append(layer.self_attn.o_proj.register_forward_hook(_drop_output(rate)))
        handles.append(layer.mlp.register_forward_hook(_drop_output(rate)))

    def remove() -> None:
        for handle in handles:
            handle.remove()
        for layer, original in zip(layers, attention_rates):
            layer.self_attn.attention_dropout = original
    return remove
