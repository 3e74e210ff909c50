"""Pages and reports name methods by what they are; internal names stay in tooltips and files."""

import doctest

import pytest

from conrec_core.evaluation import method_labels
from conrec_core.evaluation.method_labels import method_label


def test_the_documented_examples_hold():
    result = doctest.testmod(method_labels)
    assert result.attempted >= 2 and result.failed == 0


@pytest.mark.parametrize("name, label", [
    ("pipeline-sft-s0", "SID model after SFT (translation + alignment + event stream), seed 0"),
    ("pipeline-tiger-s2", "TIGER-style: SID model, sequence SFT only, seed 2"),
    ("pipeline-grpo-future-negative-truncated-s0", "GRPO, reward (b): (a) truncated at 0.6, seed 0"),
    ("pipeline-grpo-sid-levels-s4", "GRPO, reward (e): 1 / 0.1 / 0.01 for 3 / 2 / 1 matching SID levels, seed 4"),
    ("item_cf", "baseline: cosine item-CF on the user's recent negatives"),
    ("sasrec_negatives-s1", "baseline: SASRec on negatives, seed 1"),
    ("pipeline-mystery-s0", "pipeline-mystery-s0"),  # not a model the pipeline makes: its own name
    ("grpo", "grpo"),
])
def test_every_name_the_pipeline_makes_has_its_label(name, label):
    assert method_label(name) == label
