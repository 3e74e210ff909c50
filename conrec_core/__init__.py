"""conrec: learn what users dislike from explicit negative feedback.

The public API, imported lazily so that `import conrec_core` (and the app's light pages) do not pay for
torch until a name that needs it is used:

    from conrec_core import import_source, SampleConfig, build_codebook, load_codebook
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ConrecError": "errors", "DataError": "errors", "WorkspaceError": "errors",
    "import_source": "importer", "rebuild_samples": "importer", "ImportReport": "importer",
    "load_mapping": "mapping", "ImportMapping": "mapping",
    "MovieLensConfig": "movielens",
    "SampleConfig": "samples_config", "build_samples": "samples",
    "open_workspace": "workspace", "new_workspace": "workspace",
    "summarize": "stats",
    "WorldConfig": "synthetic_config", "generate_world": "synthetic", "write_world": "synthetic",
    "sample_workspace": "sample_data",
    "EncoderConfig": "encoder_config", "encode_items": "item_encoder",
    "CodebookConfig": "codebook_config", "build_codebook": "codebook", "load_codebook": "codebook_store",
    "require_fingerprint": "codebook_store", "CodebookMismatch": "codebook_store",
    "SemanticIds": "sids", "format_sid": "sids", "parse_sid": "sids",
    "ItemIndex": "item_index", "JobRegistry": "jobs",
    "BackboneConfig": "lm_config", "SFTConfig": "lm_config", "new_backbone": "backbones",
    "train_sft": "sft", "load_checkpoint": "lm_checkpoints", "list_checkpoints": "lm_checkpoints",
    "DecodingConfig": "decoding_config", "decode": "decoding", "SidTrie": "sid_trie",
    "hit_rate": "metrics", "future_hit_rate": "metrics",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'conrec_core' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
