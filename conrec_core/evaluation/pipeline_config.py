"""Settings of the one-command pipeline: every stage's config, which comparison models and ablations it trains,
and the quick variant the tests run."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .baseline_names import BASELINES
from ..errors import ConrecError
from ..semantic_ids.codebook_config import CodebookConfig
from ..lm.decoding_config import DecodingConfig
from ..lm.tail_quota import MEMBERS, valid_tail_calibration, valid_tail_quota
from ..rl.grpo_config import GRPOConfig
from ..lm.config import BackboneConfig, SFTConfig
from .sasrec_config import SASRecConfig
from ..data.samples_config import SampleConfig

# SID models trained with a subset of the SFT tasks (method §4), as comparison models of the paper:
# TIGER-style: sequence SFT only; LC-Rec-style: translation + sequence SFT (also Table 2's first row).
SFT_VARIANTS = {"tiger": ("next_negative",), "lcrec": ("sid_to_title", "title_to_sid", "next_negative")}
# Table 2 of the paper, after "+ alignment" (the full SFT model): GRPO with the biased next-negative hit reward,
# then the future-negative reward, then the positive penalty (the default reward, the full method).
ABLATION_REWARDS = ("next_negative", "future_negative")
# Table 4's other reward variants (the default reward and the two above complete it)
REWARD_VARIANTS = ("future_negative_truncated", "default_truncated", "sid_levels")


@dataclass(frozen=True)
class PipelineConfig:
    seed: int = 0  # seeds the SFT, GRPO and SASRec runs, and the codebook with `codebook_per_seed`
    split: str = "test"  # the split the report scores
    codebook: CodebookConfig = field(default_factory=CodebookConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    sasrec: SASRecConfig = field(default_factory=SASRecConfig)
    baselines: tuple[str, ...] = BASELINES
    # The comparison SID models (keys of SFT_VARIANTS) and the GRPO ablations (Table 2's GRPO rows, Table 4's
    # reward variants) add two SFT and five GRPO runs: about half an hour on the synthetic sample, so they are
    # part of the ablation run (`with_ablations`), not of the default one (11 minutes there).
    sft_variants: tuple[str, ...] = ()
    ablations: bool = False
    # The full method's beams re-ranked with the popularity prior, its weight chosen on validation
    # (lm/prior_fusion.py), as one more row of the report: about a minute of decoding per split.
    prior: bool = True
    compute_map: bool = True  # the 2-D item map for the explorer and the inspector (about 15 s of UMAP on 3,000 items)
    # True: each seed fits its own codebook (seed S: `default-sS`, its RQ-VAE seeded `codebook.seed + S`; seed 0
    # keeps `default`, the one the app's pages open), so the seeds `--seeds` fuses differ in their SIDs too. On
    # MovieLens small (collaborative SIDs, default SFT, seeds 0-2, reports/README.md) three seeds fused scored
    # FHR@20 0.178 on validation and 0.173 on test with a codebook each, against 0.190 and 0.173 on one codebook
    # (LIF@20 0.034 against 0.047): one codebook stays the default.
    codebook_per_seed: bool = False
    # Each seed trains this many SID models (SFT, then GRPO on each) that differ in initial weights and batch
    # order (member m of seed S is seeded S * members + m), and the report's SFT and full-method rows are their
    # top K fused (reciprocal rank, lm/ensemble.py); each member keeps a row of its own. The members' errors
    # differ, so more of the half-width tiny model do better on real ratings. MovieLens small, validation FHR@20
    # of GRPO members pooled from three seeds (one codebook, members' tail quota): 1 member 0.166, 2 0.174, 3
    # 0.179, 4 0.183, 6 0.198. Test over seeds 0-2 (reports/movielens-small): three members 0.192 ± 0.011
    # against two's 0.182 ± 0.006 and most-disliked's 0.170 (1.13 times). The price is time: side by side on 2
    # cores three members take 1.63 times two's (`benchmarks/bench_parallel_members.py`, 144.2 s against 88.3
    # s), so a MovieLens seed takes 16-18.5 minutes instead of about 12, and the synthetic shop's fresh import
    # 13 min 43 s instead of about 10 (0.216 against the last two-member draw's 0.209; cosine item-CF 0.171;
    # "Three members per seed", reports/README.md). Since stop 37's shorter SFT rows and one GRPO pass per prompt:
    # 11 min 43 s on the shop's fresh import, 13-16 minutes a MovieLens seed ("Shorter rows, one pass per
    # prompt"); since stop 38's shorter code decoder and baselines side by side, 9 min 36 s and 12-17 minutes
    # ("The shop in ten minutes"). The prior's row, the filter and forgetting probes and the GRPO plot read member
    # 0, and no prior row is made: the prior re-ranks one model's scored beams, which a fused ranking does not have.
    members: int = 3
    # With members, each fused top K (`decoding.returns`) holds at least as many long-tail items as the members'
    # top K held on average (`MEMBERS`; or at least this many: lm/tail_quota.py). Fusion ranks first what the
    # members agree on, mostly popular items, and lost the long tail each member had; the quota gives it back from
    # the fused ranking below K. Full method, members' share against the plain fusion: MovieLens small (seeds
    # 0-2) validation FHR@20 0.188 -> 0.181 and LIF@20 0.044 -> 0.050, test 0.197 -> 0.195 and 0.040 -> 0.052;
    # synthetic shop (fresh codebook, test) 0.210 -> 0.209 and 0.031 -> 0.051. A fixed 4 of 20: validation 0.184
    # and 0.048, test 0.197 and 0.048, shop 0.205 and 0.041 (reports/README.md, "A long-tail quota"). 0: the
    # plain fusion. The seeds' fusion (`--seeds`, seed_fusion.py) stays plain: it fuses baselines too.
    tail_quota: int | str = MEMBERS
    # And at least this share of each user's own long-tail share among their earlier negatives (0 to 1: Steck's
    # calibration, lm/tail_quota.py): the members give every user about the same long-tail share, users differ.
    # MovieLens small (seeds 0-2, three GRPO members each, validation mean FHR@20 / LIF@20) over strengths 0, 0.25,
    # 0.5, 0.75 and 1: 0.170 / 0.074, 0.171 / 0.077, 0.167 / 0.080, 0.159 / 0.083, 0.152 / 0.090; 0.5 buys most of
    # the long tail for a validation FHR@20 within 0.003 (test: 0.190 / 0.043 -> 0.194 / 0.054). Synthetic shop
    # (validation, one seed) 0.196 / 0.060 -> 0.195 / 0.060, test 0.254 / 0.079 -> 0.254 / 0.083 (reports/README.md,
    # "Calibrated to the user's long tail"). 0: the members' quota alone.
    tail_calibration: float = 0.5
    # With members, on a CPU of two or more cores, each member's SFT and then GRPO train in a process of its own,
    # side by side, the cores shared between them (evaluation/member_pool.py; in turn on a GPU or one core). The
    # tiny model's step is mostly Python and small kernels, so one thread each does more than two threads taking
    # turns: `python -m benchmarks.bench_parallel_members` measured 1.34 times faster here (2 cores), and the
    # synthetic shop's pipeline took 8 min 12 s against 10 min 33-55 s in turn (full method 0.233, within the
    # in-turn seeds' 0.227-0.235; reports/README.md, "Members side by side"). At the same thread count the weights
    # equal an in-turn run's; with fewer threads each, float sums differ in the last digits, so not bit for bit.
    members_side_by_side: bool = True
    # The SASRec baselines likewise: each model trained (sasrec_prior ranks with sasrec_negatives' model) in a
    # process of its own, the untrained baselines in a third (`python -m benchmarks.bench_parallel_baselines`: 1.30
    # times faster on the shop, 88.6 s against 67.9 s).
    baselines_side_by_side: bool = True
    samples: SampleConfig | None = None  # rebuild the workspace's samples with these first (None: keep them)

    def __post_init__(self):
        if self.members < 1:
            raise ValueError(f"members must be at least 1, not {self.members}")
        if not valid_tail_quota(self.tail_quota, self.decoding.returns):
            raise ValueError(f"tail_quota must be {MEMBERS!r} or between 0 and the {self.decoding.returns} items "
                             f"returned, not {self.tail_quota!r}")
        if not valid_tail_calibration(self.tail_calibration):
            raise ValueError(f"tail_calibration must be between 0 and 1, not {self.tail_calibration!r}")
        unknown = set(self.sft_variants) - set(SFT_VARIANTS)
        if unknown:
            raise ValueError(f"unknown SFT variants {sorted(unknown)}; known: {', '.join(SFT_VARIANTS)}")

    def with_ablations(self) -> "PipelineConfig":
        """The same settings plus every comparison SID model and GRPO ablation."""
        return replace(self, sft_variants=tuple(SFT_VARIANTS), ablations=True)

    def with_collaborative(self, mode: str) -> "PipelineConfig":
        """The same settings with the codebook's co-occurrence vectors `mode` (auto, on, off: EncoderConfig)."""
        encoder = replace(self.codebook.encoder, collaborative=mode)
        return replace(self, codebook=replace(self.codebook, encoder=encoder))

    def with_members(self, members: int | None = None, tail_quota: int | str | None = None,
                     tail_calibration: float | None = None) -> "PipelineConfig":
        """The same settings with this many SID members per seed, this long-tail quota and calibration strength in
        their fusion (None: keep the current one), as a person chose them (command line, the app's form): a
        `ConrecError` that says what is allowed when one is out of range."""
        members = self.members if members is None else members
        tail_quota = self.tail_quota if tail_quota is None else tail_quota
        tail_calibration = self.tail_calibration if tail_calibration is None else tail_calibration
        if not isinstance(members, int) or members < 1:
            raise ConrecError(f"the SID members per seed must be a whole number from 1 up, not {members!r}")
        if not valid_tail_quota(tail_quota, self.decoding.returns):
            raise ConrecError(f"the long-tail quota must be {MEMBERS!r} or a whole number from 0 to "
                              f"{self.decoding.returns} (the items each list keeps), not {tail_quota!r}")
        if not valid_tail_calibration(tail_calibration):
            raise ConrecError(f"the long-tail calibration must be a strength from 0 to 1, not {tail_calibration!r}")
        return replace(self, members=members, tail_quota=tail_quota, tail_calibration=float(tail_calibration))

    @classmethod
    def quick(cls, seed: int = 0) -> "PipelineConfig":
        """Minutes-scale settings for tests: a 16-code codebook, one SID model of 60 SFT steps, 2 GRPO steps per
        stage."""
        return cls(seed=seed, codebook=CodebookConfig(codebook_size=16, epochs=8, warmup_epochs=3, batch_size=64,
                                                      code_decoder_steps=50),
                   sft=SFTConfig(steps=60, eval_every=30, checkpoint_every=60, eval_examples=20, seed=seed),
                   grpo=GRPOConfig(steps_per_stage=2, prompts_per_step=4, group_size=4, eval_every=2,
                                   eval_samples=20, seed=seed),
                   sasrec=SASRecConfig(steps=30, eval_every=15, seed=seed), compute_map=False, members=1,
                   baselines_side_by_side=False)  # 30 SASRec steps take less time than starting a process

    def seeded(self) -> "PipelineConfig":
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
        """The SFT settings of SID model `member`: the configured ones, seeded by the member's seed."""
        return replace(self.sft, seed=self.member_seed(member))

    def member_grpo(self, member: int) -> GRPOConfig:
        """The GRPO settings of SID model `member`: the configured ones, seeded by the member's seed."""
        return replace(self.grpo, seed=self.member_seed(member))

    def member_backbone(self, member: int) -> BackboneConfig:
        """The backbone of SID model `member`: with one member the configured one, with more its initial weights
        seeded by the member's seed."""
        return self.backbone if self.members == 1 else replace(self.backbone, seed=self.member_seed(member))

    @property
    def uses_prior(self) -> bool:
        """Whether the report has the prior's row: asked for, and the full method is one model with scores."""
        return self.prior and self.members == 1

    def grpo_rewards(self) -> tuple[str, ...]:
        """Rewards of the extra GRPO runs beside the full method's."""
        return ABLATION_REWARDS + REWARD_VARIANTS if self.ablations else ()
