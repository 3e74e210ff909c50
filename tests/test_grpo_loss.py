import math

import torch
import pytest

from conrec_core.rl.grpo_loss import allowed_tokens, constrained_logprobs, decision_mask, group_advantages, grpo_loss
from conrec_core.decoding.trie import SidTrie


def test_loss_matches_the_formula_on_a_hand_computed_case():
    log = math.log
    # sequence 1 (A = +1): token 1 ratio .5/.4 = 1.25 (clipped to 1.2), token 2 ratio 1 with ref twice as likely
    # sequence 2 (A = -1): one decision token, ratio 1.25, second position masked out
    new = torch.tensor([[log(0.5), log(0.25)], [log(0.5), log(0.9)]], requires_grad=True)
    old = torch.tensor([[log(0.4), log(0.25)], [log(0.4), log(0.1)]])
    ref = torch.tensor([[log(0.5), log(0.5)], [log(0.5), log(0.3)]])
    mask = torch.tensor([[True, True], [True, False]])
    loss, stats = grpo_loss(new, old, ref, torch.tensor([1.0, -1.0]), mask, clip_epsilon=0.2, beta=0.1)
    kl_token = 2 - log(2) - 1  # exp(log 2) - log 2 - 1
    sequence_1 = (-1.2 + (-1.0 + 0.1 * kl_token)) / 2
    sequence_2 = 1.25  # min(-1.25, -1.2) = -1.25, negated
    assert loss.item() == pytest.approx((sequence_1 + sequence_2) / 2)
    assert stats["kl"] == pytest.approx(kl_token / 3)
    assert stats["clip_fraction"] == pytest.approx(1 / 3)  # only sequence 1, token 1 is cut off
    assert stats["ratio_outside"] == pytest.approx(2 / 3)
    loss.backward()
    assert new.grad[0, 0].item() == 0.0  # clipped: no gradient
    assert new.grad[1, 0].item() == pytest.approx(1.25 / 2)  # d/dlogp of -(ratio * -1) / 2 sequences
    assert new.grad[1, 1].item() == 0.0  # masked


def test_kl_is_zero_and_ratio_one_when_policy_old_and_reference_agree():
    logprobs = torch.log(torch.tensor([[0.3, 0.7]]))
    loss, stats = grpo_loss(logprobs, logprobs, logprobs, torch.tensor([2.0]), torch.ones(1, 2, dtype=torch.bool),
                            0.2, 0.04)
    assert stats == {"kl": 0.0, "clip_fraction": 0.0, "ratio_outside": 0.0} and loss.item() == pytest.approx(-2.0)


def test_group_advantages():
    advantages = group_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5]]))
    assert advantages[0].tolist() == pytest.approx([1 / 1.0002, -1 / 1.0002, -1 / 1.0002, 1 / 1.0002], rel=1e-4)
    assert advantages[1].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_constrained_logprobs_follow_the_trie():
    # vocab: 0 pad, 1 eos, 2..5 SID tokens; items: (2, 4), (2, 5), (3, 4)
    trie = SidTrie.build([[2, 4], [2, 5], [3, 4]], vocab_size=6, eos_token_id=1)
    completions = torch.tensor([[2, 5, 1], [3, 4, 1]])
    allowed = allowed_tokens(trie, completions, None, group_size=1)
    assert allowed[0, 0].nonzero().flatten().tolist() == [2, 3]
    assert allowed[0, 1].nonzero().flatten().tolist() == [4, 5]
    assert allowed[1, 1].nonzero().flatten().tolist() == [4] and allowed[0, 2].tolist() == [0, 1, 0, 0, 0, 0]
    assert decision_mask(allowed).tolist() == [[True, True, False], [True, False, False]]
    logits = torch.randn(2, 3, 6)
    logprobs = constrained_logprobs(logits, completions, allowed)
    expected = torch.log_softmax(logits[0, 0, [2, 3]], 0)[0]
    assert logprobs[0, 0].item() == pytest.approx(expected.item(), abs=1e-6)
    assert logprobs[1, 1].item() == pytest.approx(0.0, abs=1e-6)  # forced token
    # a prompt that has seen item (2, 5) cannot produce token 5 after 2
    remaining = trie.remaining([[1]])
    allowed = allowed_tokens(trie, completions[:1], remaining, group_size=1)
    assert allowed[0, 1].nonzero().flatten().tolist() == [4]
