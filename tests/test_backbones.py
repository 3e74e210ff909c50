"""Backbones: the tiny model's offline tokenizer, clear errors for bad sources, and SmolLM2 from its package."""

import pytest
import torch

from conrec_core.lm.backbones import new_backbone, smollm2_gguf
from conrec_core.semantic_ids.store import load_codebook
from conrec_core.decoding.search import DecodingConfig, decode
from conrec_core.errors import ConrecError
from conrec_core.lm.config import BackboneConfig
from conrec_core.decoding.item_trie import item_trie
from conrec_core.lm.vocab import sid_tokens


def test_the_tiny_tokenizer_keeps_every_sid_token_whole(lm_world):
    codebook = load_codebook(lm_world)
    tokens = sid_tokens(codebook.sids, codebook.config.codebook_size)
    backbone = new_backbone(BackboneConfig(), tokens, ["Zen Vintage Beige Plastic Night Cream"] * 5)
    tokenizer = backbone.tokenizer
    sid = codebook.sids.sids[0]
    ids = tokenizer(f"Item {sid} is titled:", add_special_tokens=False)["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    assert "".join(p for p in pieces if p.startswith("<") and p.endswith(">")) == sid
    assert tokenizer.decode(ids) == f"Item {sid} is titled:"
    assert backbone.model.get_input_embeddings().num_embeddings == len(tokenizer)
    assert len(tokenizer) >= len(tokens) + 3  # text vocabulary, pad/eos/unk, SID tokens


@pytest.mark.parametrize("name, message", [
    ("/no/such/folder", "neither 'tiny', 'smollm2' nor a model folder"),
])
def test_a_bad_backbone_source_is_a_clear_error(name, message):
    with pytest.raises(ConrecError, match=message):
        new_backbone(BackboneConfig(name=name), ["<a_0>"], [])


def test_a_folder_with_pickled_weights_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(ConrecError, match="pickled weights"):
        new_backbone(BackboneConfig(name=str(tmp_path)), ["<a_0>"], [])


@pytest.mark.slow
def test_smollm2_loads_from_the_package_takes_sid_tokens_and_emits_a_valid_sid(lm_world):
    assert smollm2_gguf().suffix == ".gguf"
    codebook = load_codebook(lm_world)
    tokens = sid_tokens(codebook.sids, codebook.config.codebook_size)
    backbone = new_backbone(BackboneConfig(name="smollm2"), tokens, [])
    tokenizer, model = backbone.tokenizer, backbone.model
    assert all(len(tokenizer(t, add_special_tokens=False)["input_ids"]) == 1 for t in tokens)
    assert model.get_input_embeddings().num_embeddings >= len(tokenizer)
    # it is still the pretrained model: it knows things
    encoded = tokenizer(["The capital of France is"], return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        text = tokenizer.decode(model.generate(**encoded, max_new_tokens=4, do_sample=False)[0])
    assert "Paris" in text
    vocab = model.get_output_embeddings().weight.shape[0]
    trie, _ = item_trie(codebook, tokenizer, vocab)
    [result] = decode(model, tokenizer, trie, ["Dislikes so far: "],
                      DecodingConfig(beams=4, returns=4))
    assert result.invalid == 0 and len(set(result.rows)) == 4
