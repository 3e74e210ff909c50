import doctest

import numpy as np
import pytest

from conrec_core.rl import rewards
from conrec_core.semantic_ids.store import load_codebook
from conrec_core.rl.targets import RewardTable
from conrec_core.rl.rewards import INVALID_REWARD, REWARDS, SampleTargets, SidOutput


def test_docstring_examples_hold():
    result = doctest.testmod(rewards)
    assert result.attempted >= 10 and result.failed == 0


def unit(*vector):
    vector = np.array(vector, dtype=float)
    return vector / np.linalg.norm(vector)


def test_rewards_on_a_hand_computed_case():
    # output at 0°, GTS at 0° + 36.87° (cos .8) and 90°, FPS at 53.13° (cos .6)
    out = SidOutput(3, unit(1, 0), (1, 2, 3))
    targets = SampleTargets(np.stack([unit(4, 3), unit(0, 1)]), [(1, 2, 9), (5, 5, 5)], np.stack([unit(3, 4)]), 3)
    assert rewards.future_negative_reward(out, targets) == pytest.approx(0.8)
    assert rewards.truncated_future_negative_reward(out, targets) == pytest.approx(0.8)
    assert rewards.default_reward(out, targets, 0.5) == pytest.approx(0.8 - 0.5 * 0.6)
    assert rewards.truncated_default_reward(out, targets, 0.5) == pytest.approx(0.8)  # 0.6 is not above 0.6
    assert rewards.sid_level_reward(out, targets) == pytest.approx(0.1)  # two levels shared with (1, 2, 9)
    assert rewards.next_negative_reward(out, targets) == 1.0
    assert rewards.next_negative_reward(SidOutput(4, unit(1, 0), (1, 2, 3)), targets) == 0.0
    assert all(reward(None, targets, 0.5) == INVALID_REWARD for reward in REWARDS.values())


def test_reward_table_adds_swing_neighbours_and_scores_real_sids(lm_world):
    codebook = load_codebook(lm_world)
    items = codebook.sids.item_ids
    table = RewardTable.build(codebook, {items[0]: [items[1], items[2], items[3]]}, swing_neighbours=2)
    targets = table.targets(items[0], [items[0]], [items[5]])
    rows = table.target_rows([items[0]])
    assert rows == sorted({0, 1, 2}) and len(targets.target_vectors) == 3  # the third neighbour is cut
    # an output that is one of the future negatives' Swing neighbours is a perfect hit on GTS
    neighbour = table.output(2)
    penalty = float(table.unit_vectors[2] @ table.unit_vectors[5])
    assert rewards.default_reward(neighbour, targets, 0.5) == pytest.approx(1.0 - 0.5 * penalty)
    assert rewards.sid_level_reward(neighbour, targets) == 1.0
    assert np.allclose(np.linalg.norm(table.unit_vectors, axis=1), 1.0)
    # items without a SID are skipped, not errors
    assert table.target_rows(["no-such-item"]) == [] and table.targets("x", [], []).next_negative_row == -1
