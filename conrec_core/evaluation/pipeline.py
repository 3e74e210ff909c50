"""From an imported workspace to a report in one call: codebook, Swing, the SID models (full SFT, comparison
models, GRPO and its ablations), predictions, baselines, per-sample metrics, then `report.json`, `report.md`
with plots, and the per-sample table."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..errors import ConrecError
from ..data.importer import rebuild_samples
from ..data.samples import read_sample_config, read_samples
from .baselines import baseline_method, training_groups
from .scoring import evaluate_baselines, evaluate_predictions, read_sample_metrics, summarise
from .pipeline_config import PipelineConfig
from .probes import filter_simulation, forgetting_rate
from .report import write_report
from .tail_budget import split_budget_summary
from .true_dislikes import load_true_dislikes, reference_shares
from ..data.workspace import open_workspace

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class MethodNames:
    """Names of the pipeline's SID models for one seed, and the codebook they speak. With one member `sft` and
    `grpo` are checkpoints; with more they are the members' fused prediction sets (`pipeline-grpo-fused-sS`:
    never the name of a one-member run's checkpoint), and the members' checkpoints are `pipeline-sft-mM-sS` and
    `pipeline-grpo-mM-sS`."""
    seed: int
    codebook: str = "default"
    members: int = 1

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


@dataclass
class PipelineResult:
    out: Path
    methods: list[str]
    seconds: dict[str, float]
    names: MethodNames


@dataclass
class Stage:
    name: str
    weight: float  # rough share of the run, for one progress bar over all stages
    run: Callable[[Progress], bool | None]  # True: it kept a finished model of an earlier run instead of training


def run_pipeline(workspace, out, config: PipelineConfig = PipelineConfig(), *,
                 on_progress: Progress | None = None, command: str | None = None) -> PipelineResult:
    progress = on_progress or (lambda fraction, message: None)
    config = config.seeded()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if config.samples is not None and config.samples != read_sample_config(workspace):
        progress(0.0, f"rebuilding the samples ({config.samples.split} split)")
        rebuild_samples(workspace, config.samples)
    with open_workspace(workspace) as con:
        counts = dict(con.execute("SELECT split, count(*) FROM samples GROUP BY split").fetchall())
    if not counts.get("train") or not counts.get(config.split) or not counts.get("validation"):
        raise ConrecError(f"the workspace needs training, validation and {config.split} samples; it has {counts}")
    names = MethodNames(config.seed, config.codebook_name, config.members)
    stages = plan(workspace, config, names)
    total, done = sum(s.weight for s in stages), 0.0
    seconds: dict[str, float] = {}
    kept: list[str] = []
    for stage in stages:
        start, share = done / total, stage.weight / total
        clock = time.perf_counter()
        if stage.run(lambda fraction, message, s=stage.name, a=start, b=share: progress(a + b * fraction,
                                                                                      f"{s}: {message}")):
            kept.append(stage.name)
        seconds[stage.name] = time.perf_counter() - clock
        done += stage.weight
    models = model_names(config, names)
    methods = [baseline_method(b, config.sasrec.seed) for b in config.baselines] + prediction_names(config, names)
    metrics = read_sample_metrics(workspace, config.split)
    metrics = metrics[metrics["method"].isin(methods)]
    summary = summarise(metrics, config.baselines)
    summary = summary.sort_values("method", key=lambda names: names.map(methods.index), ignore_index=True)
    probes = {"filter_simulation": filter_simulation(workspace, names.grpo_checkpoint, config.split, names.codebook),
              "forgetting": forgetting_rate(workspace, names.grpo_checkpoint, names.sft_checkpoint, config.split)}
    if config.uses_prior:
        probes["prior"] = {"method": names.prior, **read_prior_choice(workspace, names)}
    samples = read_samples(workspace, config.split)
    probes["long_tail_budget"] = {"reference": names.grpo,
                                  "methods": split_budget_summary(workspace, metrics, samples, names.grpo)}
    truth = load_true_dislikes(workspace)
    if truth is not None:
        probes["true_dislikes"] = reference_shares(truth, samples)
    write_report(workspace, out, config, summary, metrics, names, seconds, command, probes, kept)
    progress(1.0, f"report written to {out}")
    return PipelineResult(out, methods, seconds, names)


def model_names(config: PipelineConfig, names: MethodNames) -> list[str]:
    """The SID models (checkpoints) the pipeline trains, in report order."""
    return ([names.variant(v) for v in config.sft_variants] + names.sft_members + names.grpo_members
            + [names.reward(r) for r in config.grpo_rewards()])


def finished_as_configured(workspace, name: str, settings: dict, warmup: str | None = None,
                           codebook: str = "default") -> bool:
    """Whether checkpoint `name` finished training with exactly `settings` (record key -> config) on the
    workspace's current samples and codebook `codebook`: a rerun of the pipeline (after a later stage failed, or to
    add a baseline) keeps it instead of training it again."""
    from ..lm.checkpoints import checkpoint_dir, read_training
    from ..lm.sft import fitted_on
    from ..data.samples import samples_fingerprint
    from ..semantic_ids.store import load_codebook

    try:
        training = read_training(checkpoint_dir(workspace, name))
        if not training.get("finished") or (warmup is not None and training.get("warmup") != warmup):
            return False
        if fitted_on(training) != (samples_fingerprint(workspace), load_codebook(workspace, codebook).fingerprint):
            return False
    except (ConrecError, OSError, ValueError):  # no such checkpoint, an unreadable record, a stale codebook
        return False
    return all(key in training and type(value).from_dict(training[key]) == value for key, value in settings.items())


def member_chains(config: PipelineConfig, names: MethodNames) -> list:
    """Each member's SFT then GRPO run (member_pool.MemberChain), seeded as `config` seeds that member."""
    from .member_pool import MemberChain

    return [MemberChain(member, sft_name, config.member_sft(member), grpo_name, config.member_grpo(member),
                        config.member_backbone(member))
            for member, (sft_name, grpo_name) in enumerate(zip(names.sft_members, names.grpo_members))]


def sft_finished(workspace, name: str, sft_config, backbone, codebook: str) -> bool:
    """Whether SFT checkpoint `name` finished with these SFT and backbone settings (finished_as_configured)."""
    return finished_as_configured(workspace, name, {"sft": sft_config, "backbone": backbone}, codebook=codebook)


def grpo_finished(workspace, name: str, grpo_config, backbone, warmup: str, codebook: str) -> bool:
    """Whether GRPO checkpoint `name` finished with these settings on warm-up `warmup` (finished_as_configured)."""
    return finished_as_configured(workspace, name, {"grpo": grpo_config, "backbone": backbone}, warmup, codebook)


def codebook_as_configured(workspace, name: str, config) -> bool:
    """Whether codebook `name` exists, fits the workspace's items and samples, and was fitted with exactly the SID
    settings of `config` (a `CodebookConfig`; its code decoder may differ): else the pipeline fits it again
    (another seed's, `--collaborative`)."""
    from ..semantic_ids.store import load_codebook

    try:
        book = load_codebook(workspace, name)
    except ConrecError:  # missing, its files changed, or fitted on other items or samples
        return False
    return book.config.sid_settings() == config.sid_settings()


def prediction_names(config: PipelineConfig, names: MethodNames) -> list[str]:
    """Every set of predictions the pipeline scores: its models', the members' fusions, and the full method's with
    the prior."""
    models = [names.variant(v) for v in config.sft_variants]
    for fused, members in ((names.sft, names.sft_members), (names.grpo, names.grpo_members)):
        models += members + ([fused] if fused in names.fusions else [])
    models += [names.prior] if config.uses_prior else []
    return models + [names.reward(r) for r in config.grpo_rewards()]


def prior_choice_path(workspace, names: MethodNames) -> Path:
    from ..lm.checkpoints import checkpoint_dir

    return checkpoint_dir(workspace, names.grpo_checkpoint) / "prior_choice.json"


def read_prior_choice(workspace, names: MethodNames) -> dict:
    return json.loads(prior_choice_path(workspace, names).read_text())


def plan(workspace, config: PipelineConfig, names: MethodNames) -> list[Stage]:
    from ..semantic_ids.codebook import build_codebook
    from ..rl.grpo import train_grpo
    from ..lm.ensemble import ensemble_predictions
    from ..lm.predict import predict, predict_choosing_prior
    from ..lm.sft import train_sft
    from ..rl.swing import ensure_swing
    from .member_pool import train_members
    from .side_by_side import Job, run_side_by_side, side_by_side_workers

    def codebook(progress: Progress) -> bool:
        kept = codebook_as_configured(workspace, names.codebook, config.codebook)
        if not kept:
            build_codebook(workspace, names.codebook, config.codebook, compute_map=config.compute_map,
                           on_progress=progress)
        ensure_swing(workspace)
        return kept

    trained: set[str] = set()  # checkpoints this run trained (a GRPO model kept needs its warm-up kept too)

    def kept_or_trained(name: str, finished: Callable[[], bool],
                        train: Callable[[Progress], object]) -> Callable[[Progress], bool]:
        def run(progress: Progress) -> bool:
            if finished():
                progress(1.0, f"kept {name}: finished with these settings on these samples")
                return True
            train(progress)
            trained.add(name)
            return False
        return run

    def sft(name: str, sft_config, backbone) -> Callable[[Progress], bool]:
        return kept_or_trained(
            name, lambda: sft_finished(workspace, name, sft_config, backbone, names.codebook),
            lambda progress: train_sft(workspace, name, backbone, sft_config, names.codebook,
                                       on_progress=progress))

    def grpo(name: str, grpo_config, warmup: str, backbone) -> Callable[[Progress], bool]:
        return kept_or_trained(
            name, lambda: warmup not in trained and grpo_finished(workspace, name, grpo_config, backbone, warmup,
                                                                  names.codebook),
            lambda progress: train_grpo(workspace, name, warmup, grpo_config, on_progress=progress))

    def predict_all(progress: Progress) -> None:
        models = model_names(config, names)
        for index, checkpoint in enumerate(models):
            predict(workspace, checkpoint, split=config.split, config=config.decoding,
                    on_progress=lambda fraction, message, i=index: progress((i + fraction) / len(models),
                                                                           f"{checkpoint}: {message}"))
        for fused, members in names.fusions.items():
            ensemble_predictions(workspace, members, fused, config.split, config.decoding.returns, config.tail_quota,
                                 config.tail_calibration)

    def prior(progress: Progress) -> None:
        _, choice = predict_choosing_prior(workspace, names.grpo_checkpoint, config=config.decoding,
                                           split=config.split, save_as=names.prior, on_progress=progress)
        prior_choice_path(workspace, names).write_text(json.dumps(choice.to_dict(), indent=2))

    def baselines(progress: Progress) -> None:
        groups = training_groups(config.baselines)
        jobs = [Job(" + ".join(group), evaluate_baselines,
                    (workspace, group, config.split, config.decoding.returns, config.sasrec)) for group in groups]
        run_side_by_side(jobs, side_by_side_workers(len(jobs)) if config.baselines_side_by_side else 1, progress)

    def models(progress: Progress) -> None:
        for checkpoint in prediction_names(config, names):
            evaluate_predictions(workspace, checkpoint, config.split, config.decoding.returns)

    # weights: seconds on the synthetic sample, roughly
    sft_weight = config.sft.steps / 10
    grpo_weight = config.grpo.steps_per_stage * 2
    stages = [Stage("codebook", 90, codebook)]
    workers = side_by_side_workers(config.members) if config.members_side_by_side else 1
    if workers > 1:
        chains = member_chains(config, names)

        def members(progress: Progress) -> bool:
            results = train_members(workspace, chains, names.codebook, workers, progress)
            trained.update(name for chain, result in zip(chains, results)
                           for name, kept in ((chain.sft_name, result.sft_kept), (chain.grpo_name, result.grpo_kept))
                           if not kept)
            return all(result.sft_kept and result.grpo_kept for result in results)

        stages.append(Stage("members side by side", (sft_weight + grpo_weight) * config.members / workers, members))
    else:
        for member, name in enumerate(names.sft_members):
            stage = "sft" if config.members == 1 else f"sft member {member}"
            stages.append(Stage(stage, sft_weight, sft(name, config.member_sft(member),
                                                       config.member_backbone(member))))
    for variant in config.sft_variants:
        variant_config = config.variant_sft(variant)
        stages.append(Stage(variant, variant_config.steps / 10, sft(names.variant(variant), variant_config,
                                                                    config.backbone)))
    if workers == 1:  # else the members' GRPO trained side by side with their SFT
        for member, (name, warmup) in enumerate(zip(names.grpo_members, names.sft_members)):
            stage = "grpo" if config.members == 1 else f"grpo member {member}"
            stages.append(Stage(stage, grpo_weight, grpo(name, config.member_grpo(member),
                                                         warmup, config.member_backbone(member))))
    for reward in config.grpo_rewards():
        stages.append(Stage(f"grpo {reward}", grpo_weight, grpo(names.reward(reward), replace(config.grpo,
                                                                                               reward=reward),
                                                                names.sft_checkpoint, config.member_backbone(0))))
    stages.append(Stage("predict", 15 * len(model_names(config, names)), predict_all))
    if config.uses_prior:
        stages.append(Stage("prior", 30, prior))
    stages += [
               Stage("baselines", 20 + 50 * sum(b.startswith("sasrec") for b in config.baselines), baselines),
               Stage("evaluate", 10, models)]
    return stages
