"""The names an experiment gives its SID models and prediction sets, per seed."""

from __future__ import annotations

from dataclasses import dataclass

from .spec import ExperimentSpec


@dataclass(frozen=True)
class MethodNames:
    """Names of the pipeline's SID models for one seed, and the codebook they speak. With one member `sft` and
    `grpo` are checkpoints; with more they are the members' fused prediction sets (`pipeline-grpo-fused-sS`:
    never the name of a one-member run's checkpoint), and the members' checkpoints are `pipeline-sft-mM-sS` and
    `pipeline-grpo-mM-sS`."""
    seed: int
    codebook: str = "default"
    members: int = 1

    @classmethod
    def of(cls, spec: ExperimentSpec) -> "MethodNames":
        return cls(spec.seed, spec.codebook_name, spec.members)

    @property
    def sft(self) -> str:
        return self._fused("sft")

    @property
    def grpo(self) -> str:
        return self._fused("grpo")

    @property
    def prior(self) -> str:
        """The full method's predictions with the popularity prior (not a checkpoint of its own)."""
        return f"pipeline-grpo-prior-s{self.seed}"

    def variant(self, variant: str) -> str:
        return f"pipeline-{variant}-s{self.seed}"

    def reward(self, reward: str) -> str:
        return f"pipeline-grpo-{reward.replace('_', '-')}-s{self.seed}"

    @property
    def sft_members(self) -> list[str]:
        return self._members("sft")

    @property
    def grpo_members(self) -> list[str]:
        return self._members("grpo")

    @property
    def sft_checkpoint(self) -> str:
        """The SFT checkpoint the GRPO ablations start from and the probes read (member 0's with members)."""
        return self.sft_members[0]

    @property
    def grpo_checkpoint(self) -> str:
        """The full method's checkpoint the prior, the probes, the GRPO plot and the app read (member 0's)."""
        return self.grpo_members[0]

    @property
    def fusions(self) -> dict[str, list[str]]:
        """Each fused prediction set and the member checkpoints it fuses (none with one member)."""
        if self.members == 1:
            return {}
        return {self.sft: self.sft_members, self.grpo: self.grpo_members}

    def _fused(self, model: str) -> str:
        return f"pipeline-{model}-s{self.seed}" if self.members == 1 else f"pipeline-{model}-fused-s{self.seed}"

    def _members(self, model: str) -> list[str]:
        if self.members == 1:
            return [f"pipeline-{model}-s{self.seed}"]
        return [f"pipeline-{model}-m{member}-s{self.seed}" for member in range(self.members)]


def model_names(spec: ExperimentSpec, names: MethodNames) -> list[str]:
    """The SID models (checkpoints) the pipeline trains, in report order."""
    return ([names.variant(v) for v in spec.sft_variants] + names.sft_members + names.grpo_members
            + [names.reward(r) for r in spec.grpo_rewards()])


def prediction_names(spec: ExperimentSpec, names: MethodNames) -> list[str]:
    """Every set of predictions the pipeline scores: its models', the members' fusions, and the full method's with
    the prior."""
    models = [names.variant(v) for v in spec.sft_variants]
    for fused, members in ((names.sft, names.sft_members), (names.grpo, names.grpo_members)):
        models += members + ([fused] if fused in names.fusions else [])
    models += [names.prior] if spec.uses_prior else []
    return models + [names.reward(r) for r in spec.grpo_rewards()]
