"""What one experiment runs: every stage's settings, the comparison models and ablations, and the presets.

`ExperimentSpec` is a `Settings` like every other config, so the CLI, the app's form and the job record are made
from its fields; `resolve(preset, overrides)` is the one way any caller turns a person's choices into a spec.

    >>> resolve("quick", {"members": 2}).members
    2
    >>> resolve("quick", {"members": 0})
    Traceback (most recent call last):
    ...
    conrec_core.errors.ConfigError: members must be at least 1, not 0
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..config import Settings, setting
from ..data.samples_config import SampleConfig
from ..decoding.decoding_config import DecodingConfig
from ..decoding.tail_quota import MEMBERS, valid_tail_quota
from ..errors import ConfigError
from ..evaluation.baseline_names import BASELINES, FUSED_BASELINES
from ..evaluation.baseline_settings import BaselineSettings
from ..evaluation.sasrec_config import SASRecConfig
from ..lm.config import BackboneConfig, SFTConfig
from ..rl.grpo_config import GRPOConfig
from ..semantic_ids.codebook_config import CodebookConfig
from ..semantic_ids.encoder_config import COLLABORATIVE_MODES

# SID models trained with a subset of the SFT tasks (method §4), as comparison models of the paper:
# TIGER-style: sequence SFT only; LC-Rec-style: translation + sequence SFT (also Table 2's first row).
SFT_VARIANTS = {"tiger": ("next_negative",), "lcrec": ("sid_to_title", "title_to_sid", "next_negative")}
# Table 2 of the paper after "+ alignment": GRPO with the biased next-negative hit reward, then the future-negative
# reward (the default reward, with the positive penalty, is the full method's).
ABLATION_REWARDS = ("next_negative", "future_negative")
# Table 4's other reward variants (the default reward and the two above complete it)
REWARD_VARIANTS = ("future_negative_truncated", "default_truncated", "sid_levels")


@dataclass(frozen=True)
class ExperimentSpec(Settings):
    seed: int = setting(0, "seeds the SFT, GRPO and SASRec runs (and the codebook with codebook_per_seed)",
                        low=0, cli=False)
    split: str = setting("test", "the split the report scores", choices=("validation", "test"), cli=False)
    codebook: CodebookConfig = setting(None, "the codebook's settings", cli=False, default_factory=CodebookConfig)
    backbone: BackboneConfig = setting(None, "the SID models' backbone", cli=False, default_factory=BackboneConfig)
    sft: SFTConfig = setting(None, "the SID models' SFT", cli=False, default_factory=SFTConfig)
    grpo: GRPOConfig = setting(None, "the SID models' progressive GRPO", cli=False, default_factory=GRPOConfig)
    decoding: DecodingConfig = setting(None, "how every SID model ranks", cli=False, default_factory=DecodingConfig)
    sasrec: SASRecConfig = setting(None, "the SASRec baselines", cli=False, default_factory=SASRecConfig)
    baseline_settings: BaselineSettings = setting(None, "the untrained baselines' settings (EASE, item-CF, "
                                                        "item-KNN, Swing)", cli=False, default_factory=BaselineSettings)
    baselines: tuple[str, ...] = setting(BASELINES, "the baselines the report compares with", choices=BASELINES,
                                         cli=False)
    sft_variants: tuple[str, ...] = setting(
        (), "comparison SID models trained with a subset of the SFT tasks (TIGER-, LC-Rec-style)",
        choices=tuple(SFT_VARIANTS), cli=False)
    ablations: bool = setting(False, "also the GRPO ablations: Table 2's rewards and Table 4's reward variants",
                              cli=False)
    prior: bool = setting(True, "a report row of the full method re-ranked with the popularity prior (weight "
                                "chosen on validation; one SID model only)", cli=False)
    compute_map: bool = setting(True, "the 2-D item map for the explorer and the inspector", cli=False)
    codebook_per_seed: bool = setting(
        False, "each seed fits its own codebook, so fused seeds differ in their SIDs too "
               "(docs/decisions.md#one-codebook-for-every-seed)")
    members: int = setting(1, "SID models (SFT, then GRPO) per seed, differing in initial weights and batch order, "
                              "whose top K the SFT and full-method rows fuse (docs/decisions.md#members)",
                           low=1)
    tail_quota: int | str = setting(
        0, f"with members: at least this many long-tail items in each fused top K ({MEMBERS!r}: as many as "
                 "the members' top K held on average; 0: the plain fusion) (docs/decisions.md#long-tail-quota)",
        cli=False)
    tail_calibration: float = setting(
        0.0, "with members: each fused top K also holds at least this share of the user's own long-tail share "
             "among their earlier negatives (0: off) (docs/decisions.md#long-tail-calibration)", low=0.0, high=1.0)
    members_side_by_side: bool = setting(
        True, "train the members side by side, a process each sharing the CPU cores (in turn on a GPU or one "
              "core) (docs/decisions.md#members-side-by-side)")
    baselines_side_by_side: bool = setting(
        True, "rank the SASRec baselines side by side, a process each (docs/decisions.md#baselines-side-by-side)")
    samples: SampleConfig | None = setting(None, "rebuild the workspace's samples with these first (None: keep "
                                                 "them)", cli=False)

    def __post_init__(self):
        if isinstance(self.members, bool) or not isinstance(self.members, int):
            raise ConfigError(f"members must be a whole number, not {self.members!r}")
        if isinstance(self.tail_calibration, bool) or not isinstance(self.tail_calibration, (int, float)):
            raise ConfigError(f"tail_calibration must be a number from 0 to 1, not {self.tail_calibration!r}")
        super().__post_init__()
        if not valid_tail_quota(self.tail_quota, self.decoding.returns):
            raise ConfigError(f"tail_quota must be {MEMBERS!r} or a whole number from 0 to the "
                              f"{self.decoding.returns} items each list keeps, not {self.tail_quota!r}")

    def with_collaborative(self, mode: str) -> "ExperimentSpec":
        """The same settings with the codebook's co-occurrence vectors `mode` (EncoderConfig.collaborative)."""
        if mode not in COLLABORATIVE_MODES:
            raise ConfigError(f"collaborative must be one of {', '.join(COLLABORATIVE_MODES)}, not {mode!r}")
        return replace(self, codebook=replace(self.codebook, encoder=replace(self.codebook.encoder,
                                                                             collaborative=mode)))

    def with_ablations(self) -> "ExperimentSpec":
        """The same settings plus every comparison SID model and GRPO ablation."""
        return replace(self, sft_variants=tuple(SFT_VARIANTS), ablations=True)

    def seeded(self) -> "ExperimentSpec":
        """The same settings with the SFT, GRPO and SASRec seeds set to `seed` (and the codebook's offset by it,
        with `codebook_per_seed`)."""
        codebook = replace(self.codebook, seed=self.codebook.seed + self.seed) if self.codebook_per_seed \
            else self.codebook
        return replace(self, codebook=codebook, sft=replace(self.sft, seed=self.seed),
                       grpo=replace(self.grpo, seed=self.seed), sasrec=replace(self.sasrec, seed=self.seed))

    @property
    def codebook_name(self) -> str:
        """The codebook this seed's SID models speak."""
        return f"default-s{self.seed}" if self.codebook_per_seed and self.seed else "default"

    def variant_sft(self, variant: str) -> SFTConfig:
        """SFT settings of a comparison model: its tasks keep their weights, and its steps shrink by their share
        of the full task mix, so each task sees as many examples as in the full model."""
        tasks = SFT_VARIANTS[variant]
        weights = dict(zip(self.sft.tasks, self.sft.task_weights))
        kept = tuple(weights.get(task, 1.0) for task in tasks)
        steps = max(1, round(self.sft.steps * sum(kept) / sum(weights.values())))
        return replace(self.sft, tasks=tasks, task_weights=kept, steps=steps)

    def member_seed(self, member: int) -> int:
        """The seed of SID model `member` of this seed's `members` (the seed itself with one member)."""
        return self.seed * self.members + member

    def member_sft(self, member: int) -> SFTConfig:
        return replace(self.sft, seed=self.member_seed(member))

    def member_grpo(self, member: int) -> GRPOConfig:
        return replace(self.grpo, seed=self.member_seed(member))

    def member_backbone(self, member: int) -> BackboneConfig:
        """With one member the configured backbone, with more its initial weights seeded by the member's seed."""
        return self.backbone if self.members == 1 else replace(self.backbone, seed=self.member_seed(member))

    @property
    def uses_prior(self) -> bool:
        """Whether the report has the prior's row: asked for, and the full method is one model with scores (the
        prior re-ranks one model's scored beams, which a fused ranking does not have)."""
        return self.prior and self.members == 1

    def grpo_rewards(self) -> tuple[str, ...]:
        """Rewards of the extra GRPO runs beside the full method's."""
        return ABLATION_REWARDS + REWARD_VARIANTS if self.ablations else ()


# The quick preset's baselines: the ones that need no training, fused too. A SASRec of a first look's few steps
# would be an undertrained baseline in the report; the default preset trains them to a plateau.
QUICK_BASELINES = FUSED_BASELINES + ("fused_baselines",)


def quick_spec() -> ExperimentSpec:
    """Minutes-scale settings for tests and a first look: a 16-code codebook (more codes on a catalogue past 4,096
    items, `CodebookConfig.covering`), one SID model of 60 SFT steps, 2 GRPO steps per stage, the untrained
    baselines only and no prior's row (a 100k-event log in about a minute and a half on 2 cores:
    benchmarks/bench_app_quick.py). The SASRec settings (30 steps, ranked in this process) serve
    a quick run that asks for the SASRec baselines."""
    return ExperimentSpec(
        codebook=CodebookConfig(codebook_size=16, epochs=8, warmup_epochs=3, batch_size=64, code_decoder_steps=50),
        sft=SFTConfig(steps=60, eval_every=30, checkpoint_every=60, eval_examples=20, ranking_samples=20),
        grpo=GRPOConfig(steps_per_stage=2, prompts_per_step=4, group_size=4, eval_every=2, eval_samples=20),
        sasrec=SASRecConfig(steps=30, eval_every=15), baselines=QUICK_BASELINES, prior=False, compute_map=False,
        members=1, baselines_side_by_side=False)


def ablations_spec() -> ExperimentSpec:
    """The default settings plus every comparison SID model and GRPO ablation."""
    return ExperimentSpec().with_ablations()


# name -> (what a person reads, the spec)
PRESETS = {
    "quick": ("quick: minutes, a first look (16-code codebook, one SID model of 60 SFT steps, untrained "
               "baselines)", quick_spec),
    "default": ("default: the method's settings (about 20 minutes on the synthetic shop on 2 cores)",
                ExperimentSpec),
    "ablations": ("with ablations: also the comparison SID models and the reward variants (about 3x default)",
                  ablations_spec),
}
# Overrides a person may give on top of a preset: the spec's command-line fields, the seed, the co-occurrence
# vectors of the codebook's encoder, and `ablations` (True adds every comparison model and ablation).
OVERRIDES = tuple(spec.name for spec in fields(ExperimentSpec) if spec.metadata.get("cli", True)) + (
    "seed", "tail_quota", "collaborative", "ablations")


def resolve(preset: str, overrides: dict | None = None) -> ExperimentSpec:
    """The spec of `preset` with `overrides` (field -> value; None leaves the preset's value) applied; a
    `ConfigError` that names the setting when one is unknown or out of its bounds."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    given = {name: value for name, value in (overrides or {}).items() if value is not None}
    unknown = set(given) - set(OVERRIDES)
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)}; a preset takes {', '.join(OVERRIDES)}")
    collaborative, ablations = given.pop("collaborative", None), given.pop("ablations", False)
    spec = replace(PRESETS[preset][1](), **given)
    spec = spec.with_ablations() if ablations else spec
    return spec.with_collaborative(collaborative) if collaborative else spec
