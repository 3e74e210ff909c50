"""The pipeline's stages as data: each a name, a rough weight for one progress bar over all of them, and a
function that runs it. A stage that trains a model keeps it instead when it finished with the same settings on
the same samples and codebook (`resume`); a GRPO model is kept only if its warm-up was kept too.

The order: codebook (and Swing) → the SID models (members side by side, or SFT then GRPO in turn) → comparison
models and reward ablations → predictions and fusions → the prior's row → baselines → scoring.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from ..evaluation.baselines import training_groups
from ..evaluation.scoring import evaluate_baselines, evaluate_predictions
from ..lm.checkpoint_paths import checkpoint_dir
from ..lm.config import SFTConfig
from . import resume
from .names import MethodNames, model_names, prediction_names
from .side_by_side import Job, Progress, run_side_by_side, side_by_side_workers
from .spec import ExperimentSpec



@dataclass
class Stage:
    name: str
    weight: float  # about the stage's seconds on 2 cores (fixed start-up plus the work its settings ask), for
    # one progress bar whose time-left estimate holds: each weight's fixed part is the start-up measured on a
    # 100k-event log (benchmarks/bench_app_quick.py --stages), its other part the work of the default settings
    # on the synthetic shop
    run: Callable[[Progress], bool | None]  # True: it kept a finished model of an earlier run instead of training


@dataclass
class Plan:
    """What one seed's run needs to build its stages, and the checkpoints it trained so far (a GRPO model kept
    needs its warm-up kept too)."""
    workspace: object
    spec: ExperimentSpec
    names: MethodNames
    trained: set[str] = field(default_factory=set)

    def kept_or_trained(self, name: str, kept: Callable[[], bool], train: Callable[[Progress], object]
                        ) -> Callable[[Progress], bool]:
        def run(progress: Progress) -> bool:
            if kept():
                progress(1.0, f"kept {name}: finished with these settings on these samples")
                return True
            train(progress)
            self.trained.add(name)
            return False
        return run

    def sft(self, name: str, sft_config, backbone) -> Callable[[Progress], bool]:
        from ..training.sft import train_sft

        return self.kept_or_trained(
            name, lambda: resume.sft_kept(self.workspace, name, sft_config, backbone, self.names.codebook),
            lambda progress: train_sft(self.workspace, name, backbone, sft_config, self.names.codebook,
                                       on_progress=progress))

    def grpo(self, name: str, grpo_config, warmup: str, backbone) -> Callable[[Progress], bool]:
        from ..rl.grpo import train_grpo

        return self.kept_or_trained(
            name, lambda: warmup not in self.trained and resume.grpo_kept(self.workspace, name, grpo_config,
                                                                          backbone, warmup, self.names.codebook),
            lambda progress: train_grpo(self.workspace, name, warmup, grpo_config, on_progress=progress))


def plan(workspace, spec: ExperimentSpec, names: MethodNames) -> list[Stage]:
    """Every stage of one seed's run, in order."""
    state = Plan(workspace, spec, names)
    stages = [Stage("codebook", codebook_weight(spec), lambda progress: codebook_stage(state, progress))]
    stages += member_stages(state)
    stages += [Stage(variant, sft_weight(spec.variant_sft(variant)),
                     state.sft(names.variant(variant), spec.variant_sft(variant), spec.backbone))
               for variant in spec.sft_variants]
    if not side_by_side(spec):  # else the members' GRPO trained side by side with their SFT
        stages += [Stage("grpo" if spec.members == 1 else f"grpo member {member}", grpo_weight(spec),
                         state.grpo(name, spec.member_grpo(member), warmup, spec.member_backbone(member)))
                   for member, (name, warmup) in enumerate(zip(names.grpo_members, names.sft_members))]
    stages += [Stage(f"grpo {reward}", grpo_weight(spec),
                     state.grpo(names.reward(reward), replace(spec.grpo, reward=reward), names.sft_checkpoint,
                                spec.member_backbone(0)))
               for reward in spec.grpo_rewards()]
    stages.append(Stage("predict", 8 * len(model_names(spec, names)),
                        lambda progress: predict_stage(state, progress)))
    if spec.uses_prior:
        stages.append(Stage("prior", 30, lambda progress: prior_stage(state, progress)))
    stages.append(Stage("baselines", 15 + 150 * sum(b.startswith("sasrec") for b in spec.baselines),
                        lambda progress: baselines_stage(state, progress)))
    stages.append(Stage("evaluate", 10, lambda progress: score_stage(state)))
    return stages


def codebook_weight(spec: ExperimentSpec) -> float:
    return 10 + 2 * spec.codebook.epochs


def sft_weight(sft: SFTConfig) -> float:
    return 20 + sft.steps / 10  # reading the data and building the examples, then about 10 steps a second


def grpo_weight(spec: ExperimentSpec) -> float:
    return 10 + spec.grpo.steps_per_stage


def side_by_side(spec: ExperimentSpec) -> bool:
    return spec.members_side_by_side and side_by_side_workers(spec.members) > 1


def member_stages(state: Plan) -> list[Stage]:
    """The members' SFT: one stage per member in turn, or one stage that trains every member's SFT and GRPO side
    by side."""
    spec, names = state.spec, state.names
    if not side_by_side(spec):
        return [Stage("sft" if spec.members == 1 else f"sft member {member}", sft_weight(spec.sft),
                      state.sft(name, spec.member_sft(member), spec.member_backbone(member)))
                for member, name in enumerate(names.sft_members)]
    workers = side_by_side_workers(spec.members)
    weight = (sft_weight(spec.sft) + grpo_weight(spec)) * spec.members / workers
    return [Stage("members side by side", weight, lambda progress: members_stage(state, workers, progress))]


def codebook_stage(state: Plan, progress: Progress) -> bool:
    from ..rl.swing import ensure_swing
    from ..semantic_ids.codebook import build_codebook

    kept = resume.codebook_kept(state.workspace, state.names.codebook, state.spec.codebook)
    if not kept:
        build_codebook(state.workspace, state.names.codebook, state.spec.codebook,
                       compute_map=state.spec.compute_map, on_progress=progress)
    ensure_swing(state.workspace)
    return kept


def members_stage(state: Plan, workers: int, progress: Progress) -> bool:
    from .members import member_chains, train_members

    chains = member_chains(state.spec, state.names)
    results = train_members(state.workspace, chains, state.names.codebook, workers, progress)
    state.trained.update(name for chain, result in zip(chains, results)
                         for name, kept in ((chain.sft_name, result.sft_kept), (chain.grpo_name, result.grpo_kept))
                         if not kept)
    return all(result.sft_kept and result.grpo_kept for result in results)


def predict_stage(state: Plan, progress: Progress) -> None:
    from ..decoding.ensemble import ensemble_predictions
    from ..decoding.predict import predict

    spec, models = state.spec, model_names(state.spec, state.names)
    for index, checkpoint in enumerate(models):
        predict(state.workspace, checkpoint, split=spec.split, config=spec.decoding,
                on_progress=lambda fraction, message, i=index, c=checkpoint: progress((i + fraction) / len(models),
                                                                                      f"{c}: {message}"))
    for fused, members in state.names.fusions.items():
        ensemble_predictions(state.workspace, members, fused, spec.split, spec.decoding.returns, spec.tail_quota,
                             spec.tail_calibration)


def prior_choice_path(workspace, names: MethodNames) -> Path:
    return checkpoint_dir(workspace, names.grpo_checkpoint) / "prior_choice.json"


def read_prior_choice(workspace, names: MethodNames) -> dict:
    return json.loads(prior_choice_path(workspace, names).read_text())


def prior_stage(state: Plan, progress: Progress) -> None:
    from ..decoding.predict import predict_choosing_prior

    _, choice = predict_choosing_prior(state.workspace, state.names.grpo_checkpoint, config=state.spec.decoding,
                                       split=state.spec.split, save_as=state.names.prior, on_progress=progress)
    prior_choice_path(state.workspace, state.names).write_text(json.dumps(choice.to_dict(), indent=2))


def baselines_stage(state: Plan, progress: Progress) -> bool:
    """Rank and score the baselines; True when every one was kept from an earlier run (`evaluate_baselines`)."""
    spec = state.spec
    groups = training_groups(spec.baselines)
    jobs = [Job(" + ".join(group), evaluate_baselines,
                (state.workspace, group, spec.split, spec.decoding.returns, spec.sasrec,
                 spec.baseline_settings))
            for group in groups]
    kept = run_side_by_side(jobs, side_by_side_workers(len(jobs)) if spec.baselines_side_by_side else 1, progress)
    return sum(map(len, kept)) == sum(map(len, groups))


def score_stage(state: Plan) -> None:
    for checkpoint in prediction_names(state.spec, state.names):
        evaluate_predictions(state.workspace, checkpoint, state.spec.split, state.spec.decoding.returns)
