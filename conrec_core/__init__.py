"""conrec: learn what users dislike from explicit negative feedback.

The public API, imported lazily so that `import conrec_core` (and the app's light pages) do not pay for
torch until a name that needs it is used:

    from conrec_core import import_source, SampleConfig, build_codebook, load_codebook
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ConrecError": "errors", "DataError": "errors", "WorkspaceError": "errors",
    "import_source": "data.importer", "rebuild_samples": "data.importer", "ImportReport": "data.importer",
    "load_mapping": "data.mapping", "ImportMapping": "data.mapping",
    "MovieLensConfig": "data.movielens",
    "SampleConfig": "data.samples_config", "build_samples": "data.samples",
    "open_workspace": "data.workspace", "new_workspace": "data.workspace",
    "summarize": "data.stats",
    "WorldConfig": "data.synthetic_config", "generate_world": "data.synthetic", "write_world": "data.synthetic",
    "sample_workspace": "shipped.sample_data",
    "EncoderConfig": "semantic_ids.encoder_config", "encode_items": "semantic_ids.encoder",
    "CodebookConfig": "semantic_ids.codebook_config", "build_codebook": "semantic_ids.codebook", "load_codebook": "semantic_ids.store",
    "require_fingerprint": "semantic_ids.store", "CodebookMismatch": "semantic_ids.store",
    "SemanticIds": "semantic_ids.sids", "format_sid": "semantic_ids.sids", "parse_sid": "semantic_ids.sids",
    "ItemIndex": "semantic_ids.item_index", "JobRegistry": "jobs.registry",
    "BackboneConfig": "lm.config", "SFTConfig": "lm.config", "new_backbone": "lm.backbones",
    "train_sft": "lm.sft", "load_checkpoint": "lm.checkpoints", "list_checkpoints": "lm.checkpoints",
    "DecodingConfig": "lm.decoding_config", "decode": "lm.decoding", "SidTrie": "lm.trie",
    "hit_rate": "metrics", "future_hit_rate": "metrics",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'conrec_core' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
