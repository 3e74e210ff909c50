"""Settings of Progressive GRPO (method §4 stage 4, §5): stages, group sampling, the clipped loss, rewards."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, known_values, setting
from ..errors import ConfigError
from .rewards import GAMMA, REWARDS

STAGE_PROMPTS = ("recent_negatives", "negatives", "negatives_positives")  # what each stage's prompt shows


@dataclass(frozen=True)
class GRPOConfig(Settings):
    stages: tuple[str, ...] = setting(STAGE_PROMPTS, "stage prompts in order: last-3-day negatives, all "
                                                     "negatives, negatives + positives", choices=STAGE_PROMPTS)
    steps_per_stage: int = setting(60, "policy-gradient steps per stage (all three with their checks: about 2 "
                                       "minutes a model, three side by side on 2 CPU cores)", low=1)
    prompts_per_step: int = setting(16, "training samples per step (per process when distributed)", low=1)
    group_size: int = setting(8, "G completions per prompt, sampled under the valid-SID constraint", low=2)
    updates_per_batch: int = setting(2, "optimiser steps on each sampled batch; from the second the ratio "
                                        "leaves 1", low=1)
    clip_epsilon: float = setting(0.2, "the ratio is clipped to [1 - ε, 1 + ε]", above=0, below=1)
    betas: tuple[float, ...] = setting((0.04, 0.04, 0.04), "KL weight to the frozen warm-up model, per stage",
                                       low=0)
    beta_growth: float = setting(2.0, "β is multiplied by this when validation FHR@K regresses (and stays "
                                      "raised)", low=1, cli=False)
    temperature: float = setting(1.0, "sampling temperature of the completions", above=0, cli=False)
    # docs/decisions.md#grpo-learning-rate
    learning_rate: float = setting(2e-5, "AdamW learning rate; 1e-4 moved the tiny model too far (KL 0.16/token "
                                         "in 100 steps, FHR fell)", above=0)
    weight_decay: float = setting(0.0, "AdamW weight decay", low=0, cli=False)
    grad_clip: float = setting(1.0, "gradient-norm clip", above=0, cli=False)
    reward: str = setting("default", "reward function: default (c), the Table 4 variants or the biased "
                                     "next-negative hit", choices=tuple(REWARDS))
    gamma: float = setting(GAMMA, "weight of the future-positive penalty", low=0)
    swing_neighbours: int = setting(10, "top Swing neighbours of each future negative added to the target set",
                                    low=0, cli=False)
    positive_items: int = setting(10, "most recent positives shown in stage-3 prompts", low=0, cli=False)
    eval_every: int = setting(30, "steps between validation FHR@K evaluations (and at each stage's start and "
                                  "end)", low=1)
    eval_samples: int | None = setting(400, "validation samples evaluated: every user's first, then every "
                                                "user's second, ... (auto: all)",
                                       low=1)
    eval_k: int = setting(20, "K of the validation FHR@K that picks each stage's best checkpoint", low=1)
    seed: int = setting(0, "random seed")

    def __post_init__(self):
        super().__post_init__()
        if not self.stages:
            raise ConfigError(f"stages must come from {', '.join(STAGE_PROMPTS)}")
        if len(self.betas) != len(self.stages):
            raise ConfigError(f"betas needs one β per stage ({len(self.stages)}), got {len(self.betas)}")

    @classmethod
    def from_dict(cls, data: dict) -> "GRPOConfig":
        values = known_values(cls, data)
        if "stages" in values and "betas" not in values:
            values["betas"] = tuple(cls.betas[0] for _ in values["stages"])
        return cls(**values)
