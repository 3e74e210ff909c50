"""SFT dropout: it changes training forwards only, and taking it off restores the model exactly."""

import pytest
import torch

from conrec_core.errors import ConfigError
from conrec_core.lm.backbones import new_backbone
from conrec_core.lm.config import BackboneConfig
from conrec_core.lm.dropout import add_training_dropout


@pytest.fixture
def tiny_model():
    backbone = new_backbone(BackboneConfig(), ["<a_0>", "<a_1>"], ["a red night cream", "a blue day cream"] * 5)
    ids = backbone.tokenizer(["a red night cream <a_1>"], add_special_tokens=False, return_tensors="pt")
    return backbone.model, ids["input_ids"]


def logits(model, ids, training: bool) -> torch.Tensor:
    model.train(training)
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_dropout_acts_while_training_and_never_in_eval(tiny_model):
    model, ids = tiny_model
    reference = logits(model, ids, training=False)
    assert torch.equal(logits(model, ids, training=True), reference)  # the model itself has no dropout
    remove = add_training_dropout(model, 0.3)
    assert all(layer.self_attn.attention_dropout == 0.3 for layer in model.model.layers)
    first, second = logits(model, ids, training=True), logits(model, ids, training=True)
    assert not torch.allclose(first, second) and not torch.allclose(first, reference)
    assert torch.equal(logits(model, ids, training=False), reference)
    remove()
    assert all(layer.self_attn.attention_dropout == 0.0 for layer in model.model.layers)
    assert torch.equal(logits(model, ids, training=True), reference)


def test_no_dropout_adds_nothing_and_an_unknown_layout_is_refused(tiny_model):
    model, ids = tiny_model
    reference = logits(model, ids, training=True)
    add_training_dropout(model, 0.0)
    assert torch.equal(logits(model, ids, training=True), reference)
    with pytest.raises(ConfigError, match="another layout"):
        add_training_dropout(torch.nn.Linear(2, 2), 0.1)
