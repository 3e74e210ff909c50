"""Packed batches with target-only logits give the per-example losses and gradients of padded batches."""

import random

import pytest
import torch
from transformers import Gemma2Config, Gemma2ForCausalLM, LlamaConfig, LlamaForCausalLM, Qwen3Config, \
    Qwen3ForCausalLM

from conrec_core.lm.token_loss import Encoded, example_losses, pack, packed_losses_agree

VOCAB, PAD = 97, 0
SHAPE = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, head_dim=8, max_position_embeddings=256, pad_token_id=PAD)


def examples(count: int, seed: int = 0) -> list[Encoded]:
    """Short translation-like and long next-negative-like examples mixed, as SFT batches are."""
    rng = random.Random(seed)
    batch = []
    for index in range(count):
        length = rng.randint(4, 20) if index % 2 else rng.randint(40, 90)
        prompt = rng.randint(1, length - 1)
        batch.append(Encoded([rng.randint(1, VOCAB - 1) for _ in range(length)], prompt, "task"))
    return batch


def qwen3():
    torch.manual_seed(0)
    return Qwen3ForCausalLM(Qwen3Config(**SHAPE, tie_word_embeddings=True)).eval()


def test_pack_keeps_every_example_whole_and_restarts_its_positions():
    batch = examples(32)
    packed = pack(batch, PAD, torch.device("cpu"), width=128)
    ids, positions, labels, owner = (packed[k] for k in ("input_ids", "position_ids", "labels", "example"))
    assert ids.shape[1] <= 128 and ids.shape[0] < len(batch)
    assert ids.numel() < len(batch) * max(len(e.ids) for e in batch)  # less than padding every example
    for index, encoded in enumerate(batch):
        where = (owner == index).nonzero()
        row = where[0, 0].item()
        assert (where[:, 0] == row).all(), "an example stays in one row"
        columns = where[:, 1]
        assert torch.equal(columns, torch.arange(columns[0], columns[0] + len(encoded.ids)))
        assert ids[row, columns].tolist() == encoded.ids
        assert positions[row, columns].tolist() == list(range(len(encoded.ids)))
        scored = labels[row, columns] != -100
        assert scored.tolist() == [i >= encoded.prompt_length for i in range(len(encoded.ids))]
    assert (labels[owner == -1] == -100).all()


def test_an_example_longer_than_the_width_gets_a_row_of_its_own():
    batch = [Encoded([5] * 6, 2, "short") for _ in range(4)] + [Encoded(list(range(1, 51)), 10, "long")]
    packed = pack(batch, PAD, torch.device("cpu"), width=16)
    assert packed["input_ids"].shape == (2, 50)  # rows widen to the long one; the short ones share the other
    assert ((packed["example"] == 4).sum(1) == 50).sum() == 1


@pytest.mark.parametrize("build", [qwen3, lambda: LlamaForCausalLM(LlamaConfig(**SHAPE)).eval()],
                         ids=["qwen3", "llama"])
def test_packed_losses_and_gradients_equal_the_padded_ones(build):
    model = build()
    batch = examples(24, seed=1)
    device = torch.device("cpu")
    fast, fast_tokens = example_losses(model, batch, PAD, device, packed=True)
    fast.sum().backward()
    fast_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    plain, plain_tokens = example_losses(model, batch, PAD, device, packed=False)
    plain.sum().backward()
    assert torch.equal(fast_tokens, plain_tokens)
    assert fast_tokens.tolist() == [len(e.ids) - e.prompt_length for e in batch]
    assert torch.allclose(fast, plain, rtol=1e-4, atol=1e-4)
    for ours, theirs in zip(fast_grads, (p.grad for p in model.parameters())):
        assert torch.allclose(ours, theirs, rtol=1e-3, atol=1e-5)
    assert packed_losses_agree(model, batch, PAD, device)


def test_lora_with_trainable_sid_rows_packs_too():
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(qwen3(), LoraConfig(r=4, target_modules="all-linear", lora_dropout=0.1,
                                               trainable_token_indices={"embed_tokens": [90, 91, 92]},
                                               task_type="CAUSAL_LM"))
    model.train()  # dropout on: the check must still compare like with like
    assert packed_losses_agree(model, examples(16, seed=2), PAD, torch.device("cpu"))
    assert model.training


def test_a_model_that_rescales_its_logits_falls_back_to_padding():
    # Gemma 2 soft-caps its logits after the output embedding: target-only logits from the decoder would
    # skip that, so the check must say no.
    torch.manual_seed(0)
    gemma = Gemma2ForCausalLM(Gemma2Config(**SHAPE, final_logit_softcapping=0.5, query_pre_attn_scalar=8)).eval()
    assert not packed_losses_agree(gemma, examples(8, seed=3), PAD, torch.device("cpu"))
