"""The SID trie: batched masks and steps agree with a plain nested-dict trie."""

import numpy as np
import pytest
import torch

from conrec_core.decoding.trie import DEAD, SidTrie

EOS, VOCAB = 1, 60


def nested(sequences):
    root: dict = {}
    for tokens in sequences:
        node = root
        for token in list(tokens) + [EOS]:
            node = node.setdefault(token, {})
    return root


def random_sids(rng, count=40):
    """Three-token SIDs from small code ranges; items sharing all three get a fourth (collision) token."""
    seen: dict[tuple, int] = {}
    sequences = []
    for _ in range(count):
        prefix = (int(rng.integers(10, 13)), int(rng.integers(20, 24)), int(rng.integers(30, 34)))
        rank = seen.get(prefix, 0)
        seen[prefix] = rank + 1
        sequences.append(list(prefix) + [40 + rank])
    # items alone in their group keep three tokens
    counts = {tuple(s[:3]): seen[tuple(s[:3])] for s in sequences}
    return [s[:3] if counts[tuple(s[:3])] == 1 else s for s in sequences]


def test_allowed_tokens_and_steps_match_a_nested_dict_trie():
    rng = np.random.default_rng(0)
    sequences = random_sids(rng)
    trie = SidTrie.build(sequences, VOCAB, EOS)
    reference = nested(sequences)
    assert {len(s) for s in sequences} == {3, 4}  # both SID lengths are exercised
    prefixes = [[]] + [s[:cut] for s in sequences for cut in range(1, len(s) + 1)] + [[12, 99], [99]]
    for prefix in prefixes:
        node, alive = reference, True
        for token in prefix:
            if token not in node:
                alive = False
                break
            node = node[token]
        state = trie.walk(torch.tensor([prefix], dtype=torch.long).reshape(1, len(prefix)))
        beams, edges = trie.edges_of(state)
        allowed = sorted(trie.edge_tokens[edges].tolist())
        if alive:
            assert allowed == sorted(node), prefix
        else:
            assert state.item() == DEAD and allowed == []


def test_many_beams_are_masked_in_one_call():
    sequences = random_sids(np.random.default_rng(1))
    trie = SidTrie.build(sequences, VOCAB, EOS)
    generated = torch.tensor([s[:2] for s in sequences])
    beams, edges = trie.edges_of(trie.walk(generated))
    reference = nested(sequences)
    for row, tokens in enumerate(sequences):
        expected = sorted(reference[tokens[0]][tokens[1]])
        assert sorted(trie.edge_tokens[edges[beams == row]].tolist()) == expected


def test_leaves_name_each_item_once_and_exclusions_empty_their_branch():
    sequences = random_sids(np.random.default_rng(2))
    trie = SidTrie.build(sequences, VOCAB, EOS)
    full = [torch.tensor([s + [EOS]]) for s in sequences]
    assert [int(trie.leaf_items[trie.walk(f)]) for f in full] == list(range(len(sequences)))
    remaining = trie.remaining([[], [0, 1], list(range(len(sequences)))])
    assert remaining[0, 0] == len(sequences)
    assert remaining[1, 0] == len(sequences) - 2
    assert remaining[2].max() == 0
    leaf_of_0 = trie.walk(full[0])
    assert remaining[1, leaf_of_0] == 0 and remaining[0, leaf_of_0] == 1


def test_two_items_with_one_sid_are_refused_and_a_prefix_sid_stays_decodable():
    with pytest.raises(ValueError, match="share a SID"):
        SidTrie.build([[10, 20, 30], [10, 20, 30]], VOCAB, EOS)
    trie = SidTrie.build([[10, 20, 30], [10, 20, 30, 40]], VOCAB, EOS)  # EOS tells them apart
    beams, edges = trie.edges_of(trie.walk(torch.tensor([[10, 20, 30]])))
    assert sorted(trie.edge_tokens[edges].tolist()) == [EOS, 40]
