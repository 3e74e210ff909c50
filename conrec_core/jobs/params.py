"""What each kind of job takes: a `Settings` dataclass per kind, stored in the job record as JSON and read back
typed by the worker."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting
from ..decoding.decoding_config import DecodingConfig
from ..experiment.spec import PRESETS, ExperimentSpec
from ..lm.config import BackboneConfig, SFTConfig
from ..rl.grpo_config import GRPOConfig
from ..semantic_ids.codebook_config import CodebookConfig


@dataclass(frozen=True)
class CodebookJob(Settings):
    name: str = setting("default", "the codebook's name")
    config: CodebookConfig = setting(None, "its settings", default_factory=CodebookConfig)
    compute_map: bool = setting(True, "also the 2-D item map")


@dataclass(frozen=True)
class MapJob(Settings):
    codebook: str = setting("default", "the codebook whose item map is drawn")


@dataclass(frozen=True)
class SFTJob(Settings):
    name: str = setting("sft", "the checkpoint's name")
    codebook: str = setting("default", "the codebook its SIDs come from")
    backbone: BackboneConfig = setting(None, "the backbone", default_factory=BackboneConfig)
    config: SFTConfig = setting(None, "the SFT settings", default_factory=SFTConfig)
    resume: bool = setting(True, "continue an interrupted run of the same settings")


@dataclass(frozen=True)
class GRPOJob(Settings):
    warmup: str = setting("sft", "the SFT checkpoint it starts from")
    name: str = setting("grpo", "the checkpoint's name")
    config: GRPOConfig = setting(None, "the GRPO settings", default_factory=GRPOConfig)
    load_in_4bit: bool = setting(False, "load the backbone in 4-bit (bitsandbytes)")


@dataclass(frozen=True)
class PredictJob(Settings):
    checkpoint: str = setting("", "the checkpoint that predicts")
    split: str = setting("test", "the samples it predicts for", choices=("validation", "test"))
    users: tuple[str, ...] | None = setting(None, "only these users (None: every user with a sample)")
    load_in_4bit: bool = setting(False, "load the backbone in 4-bit (bitsandbytes)")
    choose_prior: bool = setting(False, "first choose the popularity prior's weight on validation")
    decoding: DecodingConfig = setting(None, "how it ranks", default_factory=DecodingConfig)


@dataclass(frozen=True)
class ScoreJob(Settings):
    checkpoint: str = setting("", "the checkpoint that scores")
    top_k: int = setting(20, "items per user", low=1)
    as_of: str | None = setting(None, "each user's events up to this ISO-8601 time (None: the end of the log)")
    users: tuple[str, ...] | None = setting(None, "only these users (None: every user)")
    load_in_4bit: bool = setting(False, "load the backbone in 4-bit (bitsandbytes)")


@dataclass(frozen=True)
class ImportJob(Settings):
    source: str = setting("", "a file with `mapping`, a mapping JSON path, or a MovieLens folder")
    format: str = setting("auto", "the source's format", choices=("auto", "movielens", "table"))
    mapping: dict | str | None = setting(None, "the column mapping (data/mapping.py) for a table, or its JSON file")


@dataclass(frozen=True)
class PipelineJob(Settings):
    preset: str = setting("default", "the preset the spec was resolved from", choices=tuple(PRESETS))
    seeds: tuple[int, ...] = setting((0,), "one run per seed", low=0)
    spec: ExperimentSpec = setting(None, "the experiment", default_factory=ExperimentSpec)
