"""conrec: learn what users dislike from explicit negative feedback.

The public API, imported lazily so that `import conrec_core` (and the app's light pages) do not pay for
torch until a name that needs it is used:

    from conrec_core import import_source, build_codebook, train_sft, train_grpo, predict, evaluate_baseline
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    # errors and settings
    "ConrecError": "errors", "DataError": "errors", "WorkspaceError": "errors", "ConfigError": "errors",
    # 1. data: import a log, cut it into samples
    "import_source": "data.importer", "rebuild_samples": "data.importer", "ImportReport": "data.importer",
    "load_mapping": "data.mapping", "ImportMapping": "data.mapping",
    "MovieLensConfig": "data.movielens",
    "SampleConfig": "data.samples_config", "build_samples": "data.samples", "Sample": "data.samples",
    "read_samples": "data.samples", "as_samples": "data.samples",
    "open_workspace": "data.workspace", "new_workspace": "data.workspace",
    "summarize": "data.stats",
    "WorldConfig": "data.synthetic_config", "generate_world": "data.synthetic", "write_world": "data.synthetic",
    "sample_workspace": "shipped.sample_data",
    # 2. semantic IDs
    "EncoderConfig": "semantic_ids.encoder_config", "encode_items": "semantic_ids.encoder",
    "CodebookConfig": "semantic_ids.codebook_config", "build_codebook": "semantic_ids.codebook",
    "load_codebook": "semantic_ids.store", "require_fingerprint": "semantic_ids.store",
    "CodebookMismatch": "semantic_ids.store",
    "SemanticIds": "semantic_ids.sids", "format_sid": "semantic_ids.sids", "parse_sid": "semantic_ids.sids",
    "ItemIndex": "semantic_ids.item_index",
    # 3. the SID language model, its training and decoding
    "BackboneConfig": "lm.config", "SFTConfig": "lm.config", "new_backbone": "lm.backbones",
    "train_sft": "training.sft", "load_checkpoint": "lm.checkpoints", "list_checkpoints": "lm.checkpoints",
    "DecodingConfig": "decoding.decoding_config", "decode": "decoding.search", "SidTrie": "decoding.trie",
    "predict": "decoding.predict", "read_predictions": "decoding.prediction_store", "ensemble_predictions": "decoding.ensemble",
    # 4. progressive GRPO
    "SwingConfig": "rl.swing_config", "ensure_swing": "rl.swing",
    "GRPOConfig": "rl.grpo_config", "train_grpo": "rl.grpo", "REWARDS": "rl.rewards",
    # 5. evaluation and the whole pipeline
    "hit_rate": "metrics", "future_hit_rate": "metrics",
    "BASELINES": "evaluation.baselines", "SASRecConfig": "evaluation.sasrec_config",
    "evaluate_baseline": "evaluation.scoring", "evaluate_predictions": "evaluation.scoring",
    "read_sample_metrics": "evaluation.scoring", "summarise": "evaluation.scoring",
    "ExperimentSpec": "experiment.spec", "resolve": "experiment.spec", "run_seeds": "experiment.seeds",
    "run_pipeline": "experiment.pipeline",
    # background jobs
    "JobRegistry": "jobs.registry",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'conrec_core' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
