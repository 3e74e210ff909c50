"""Settings of Progressive GRPO (method §4 stage 4, §5): stages, group sampling, the clipped loss, rewards."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..config import known_values
from .rewards import GAMMA, REWARDS

STAGE_PROMPTS = ("recent_negatives", "negatives", "negatives_positives")  # what each stage's prompt shows


@dataclass(frozen=True)
class GRPOConfig:
    stages: tuple[str, ...] = STAGE_PROMPTS  # stage 1: last-3-day negatives, 2: all negatives, 3: + positives
    steps_per_stage: int = 60  # policy-gradient steps per stage (about 5 minutes for all three on 2 CPU cores)
    prompts_per_step: int = 16  # training samples per step (per process when distributed)
    group_size: int = 8  # G completions per prompt, sampled under the valid-SID constraint
    updates_per_batch: int = 2  # optimiser steps on each sampled batch; from the second the ratio leaves 1
    clip_epsilon: float = 0.2  # the ratio is clipped to [1 - ε, 1 + ε]
    betas: tuple[float, ...] = (0.04, 0.04, 0.04)  # KL weight to the frozen warm-up model, per stage
    beta_growth: float = 2.0  # β is multiplied by this when validation FHR@K regresses (and stays raised)
    temperature: float = 1.0  # sampling temperature of the completions
    learning_rate: float = 2e-5  # 1e-4 moved the tiny model too far (KL 0.16/token in 100 steps, FHR fell)
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    reward: str = "default"  # a key of rewards.REWARDS: default (c), variants and the biased baseline
    gamma: float = GAMMA  # weight of the future-positive penalty
    swing_neighbours: int = 10  # top Swing neighbours of each future negative added to the target set
    positive_items: int = 10  # most recent positives shown in stage-3 prompts
    eval_every: int = 30  # steps between validation FHR@K evaluations (and at each stage's start and end)
    eval_samples: int | None = 400  # validation samples evaluated (None: all); first ones by sample id
    eval_k: int = 20  # K of the validation FHR@K that picks each stage's best checkpoint
    seed: int = 0

    def __post_init__(self):
        if not self.stages or set(self.stages) - set(STAGE_PROMPTS):
            raise ValueError(f"stages must come from {', '.join(STAGE_PROMPTS)}")
        if len(self.betas) != len(self.stages) or min(self.betas) < 0:
            raise ValueError("betas needs one non-negative β per stage")
        if self.reward not in REWARDS:
            raise ValueError(f"reward must be one of {', '.join(REWARDS)}, not {self.reward!r}")
        if min(self.steps_per_stage, self.prompts_per_step, self.updates_per_batch, self.eval_every,
               self.eval_k) < 1 or self.group_size < 2:
            raise ValueError("steps, prompts, updates, eval_every and eval_k must be positive; group_size >= 2")
        if self.learning_rate <= 0 or not 0 < self.clip_epsilon < 1 or self.temperature <= 0 or self.beta_growth < 1:
            raise ValueError("need 0 < clip_epsilon < 1, temperature > 0 and beta_growth >= 1")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GRPOConfig":
        values = known_values(cls, data)
        if "stages" in values and "betas" not in values:
            values["betas"] = tuple(cls.betas[0] for _ in values["stages"])
        return cls(**values)
