"""The SFT loss on target tokens: examples packed into a few rows, logits only where a target is scored.

A training batch mixes short translation examples with next-negative prompts three times longer, and only a
handful of each example's tokens are targets. Padding every example to the longest and projecting every
position onto the vocabulary spent most of a step on padding and on logits nobody scored: packing the examples
end to end (each restarting its positions, so it attends to itself only) and projecting only the target
positions gives the same per-example losses at about a third of the cost (`benchmarks/bench_sft_step.py`).

The packed path relies on two things a model may not do: building its attention mask from restarting
position ids, and computing logits as the output embedding of the decoder's last hidden state (no soft-capping
or scaling after it). `packed_losses_agree` checks both on a real batch, and training falls back to the padded
path where they disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE = -100
# Tokens per packed row (a longer example widens it). The mask keeps each example to itself, but the attention
# kernel still computes every row's full square, so its cost is tokens x width: 96 against 256 made a training
# step 1.3 times faster on both samples with the same losses (`python -m benchmarks.bench_sft_step`).
PACK_WIDTH = 96


@dataclass
class Encoded:
    ids: list[int]
    prompt_length: int
    task: str


def pack(batch: list[Encoded], pad_id: int, device: torch.device, width: int = PACK_WIDTH) -> dict[str, torch.Tensor]:
    """Examples placed end to end in rows of `width` tokens (first fit, longest first; a longer example gets a
    row of its own length). `example` holds each token's example index, -1 on padding."""
    width = max(width, *(len(e.ids) for e in batch))
    rows: list[list[int]] = []
    filled: list[int] = []
    for index in sorted(range(len(batch)), key=lambda i: -len(batch[i].ids)):
        size = len(batch[index].ids)
        row = next((r for r, used in enumerate(filled) if used + size <= width), None)
        if row is None:
            rows.append([])
            filled.append(0)
            row = len(rows) - 1
        rows[row].append(index)
        filled[row] += size
    tensors = _empty(len(rows), max(filled), pad_id)
    positions = torch.zeros_like(tensors["input_ids"])
    for row, members in enumerate(rows):
        at = 0
        for index in members:
            end = _place(tensors, batch[index], row, at, index)
            positions[row, at:end] = torch.arange(end - at)
            at = end
        positions[row, at:] = torch.arange(positions.shape[1] - at)  # the padding: one more sequence, never scored
    return {**{name: t.to(device) for name, t in tensors.items()}, "position_ids": positions.to(device)}


def padded(batch: list[Encoded], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """One example per row, right-padded to the longest."""
    tensors = _empty(len(batch), max(len(e.ids) for e in batch), pad_id)
    for row, encoded in enumerate(batch):
        _place(tensors, encoded, row, 0, row)
    attention = (tensors["example"] >= 0).long()
    return {**{name: t.to(device) for name, t in tensors.items()}, "attention_mask": attention.to(device)}


def _empty(rows: int, width: int, pad_id: int) -> dict[str, torch.Tensor]:
    return {"input_ids": torch.full((rows, width), pad_id, dtype=torch.long),
            "labels": torch.full((rows, width), IGNORE, dtype=torch.long),
            "example": torch.full((rows, width), -1, dtype=torch.long)}


def _place(tensors: dict[str, torch.Tensor], encoded: Encoded, row: int, at: int, index: int) -> int:
    """Write example `index` into `row` from column `at` (its target tokens as labels); return where it ends."""
    end = at + len(encoded.ids)
    tensors["input_ids"][row, at:end] = torch.tensor(encoded.ids)
    tensors["labels"][row, at + encoded.prompt_length:end] = torch.tensor(encoded.ids[encoded.prompt_length:])
    tensors["example"][row, at:end] = index
    return end


def _per_example(token_loss: torch.Tensor, example: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    summed = torch.zeros(count, dtype=token_loss.dtype, device=token_loss.device).index_add_(0, example, token_loss)
    tokens = torch.zeros(count, dtype=torch.long, device=example.device).index_add_(0, example,
                                                                                    torch.ones_like(example))
    return summed, tokens


def packed_losses(model, batch: dict[str, torch.Tensor], count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed target-token loss, target tokens) of each of `count` examples in a `pack`ed batch, with logits
    at the target positions only."""
    hidden = model.get_decoder()(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                                 use_cache=False).last_hidden_state[:, :-1]
    labels = batch["labels"][:, 1:]
    scored = labels != IGNORE
    logits = model.get_output_embeddings()(hidden[scored])
    token_loss = F.cross_entropy(logits.float(), labels[scored], reduction="none")
    return _per_example(token_loss, batch["example"][:, 1:][scored], count)


def padded_losses(model, batch: dict[str, torch.Tensor], count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The same figures from a `padded` batch through the model's own forward (every position's logits)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    scored = labels != IGNORE
    token_loss = F.cross_entropy(logits[scored].float(), labels[scored], reduction="none")
    return _per_example(token_loss, batch["example"][:, 1:][scored], count)


def example_losses(model, batch: list[Encoded], pad_id: int, device: torch.device,
                   packed: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed target-token loss per example, target tokens per example) of `batch`."""
    if packed:
        return packed_losses(model, pack(batch, pad_id, device), len(batch))
    return padded_losses(model, padded(batch, pad_id, device), len(batch))


@torch.no_grad()
def packed_losses_agree(model, batch: list[Encoded], pad_id: int, device: torch.device,
                        tolerance: float = 1e-3) -> bool:
    """Whether the packed path gives this model the padded path's per-example losses (dropout off)."""
    was_training = model.training
    model.eval()
    try:
        fast, _ = example_losses(model, batch, pad_id, device, packed=True)
        plain, _ = example_losses(model, batch, pad_id, device, packed=False)
        return bool(torch.allclose(fast, plain, rtol=tolerance, atol=tolerance))
    except (AttributeError, TypeError, ValueError, RuntimeError, NotImplementedError):
        return False  # a model without get_decoder, or one that cannot take position ids alone
    finally:
        if was_training:
            model.train()
