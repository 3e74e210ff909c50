"""Settings of the one-command pipeline: every stage's config, and the quick variant the tests run."""

from __future__ import annotations

from dataclasses import dataclass, field

from .baselines import BASELINES
from .codebook_config import CodebookConfig
from .decoding_config import DecodingConfig
from .grpo_config import GRPOConfig
from .lm_config import BackboneConfig, SFTConfig


@dataclass(frozen=True)
class PipelineConfig:
    seed: int = 0  # seeds the SFT and GRPO runs (the codebook keeps its own seed)
    split: str = "test"  # the split the report scores
    codebook: CodebookConfig = field(default_factory=CodebookConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    baselines: tuple[str, ...] = BASELINES
    compute_map: bool = True  # the 2-D item map for the explorer and the inspector (about 40 s of UMAP)

    @classmethod
    def quick(cls, seed: int = 0) -> "PipelineConfig":
        """Minutes-scale settings for tests: a 16-code codebook, 60 SFT steps, 2 GRPO steps per stage."""
        return cls(seed=seed, codebook=CodebookConfig(codebook_size=16, epochs=8, warmup_epochs=3, batch_size=64,
                                                      code_decoder_steps=50),
                   sft=SFTConfig(steps=60, eval_every=30, checkpoint_every=60, eval_examples=20, seed=seed),
                   grpo=GRPOConfig(steps_per_stage=2, prompts_per_step=4, group_size=4, eval_every=2,
                                   eval_samples=20, seed=seed),
                   compute_map=False)

    def seeded(self) -> "PipelineConfig":
        """The same settings with the SFT and GRPO seeds set to `seed`."""
        from dataclasses import replace

        return replace(self, sft=replace(self.sft, seed=self.seed), grpo=replace(self.grpo, seed=self.seed))
