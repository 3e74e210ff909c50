"""One seed of an experiment, from an imported workspace to a report: the stages (`stages.plan`), then the
per-sample metrics summarised, the probes, and `report.json`, `report.md` with plots and the per-sample table."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..data.importer import rebuild_samples
from ..data.samples import long_tail_items, read_sample_config, read_samples
from ..data.workspace import open_workspace
from ..errors import ConrecError
from ..lm.checkpoint_paths import checkpoint_dir, read_training
from ..lm.checkpoints import read_metrics
from ..evaluation.baselines import baseline_method, read_training_summary
from ..evaluation.probes import filter_simulation, forgetting_rate
from ..evaluation.report import write_report
from ..evaluation.scoring import read_sample_metrics, summarise
from ..evaluation.tail_budget import split_budget_summary
from ..evaluation.true_dislikes import load_true_dislikes, reference_shares
from .names import MethodNames, prediction_names
from .side_by_side import Progress
from .spec import ExperimentSpec
from .stages import plan, read_prior_choice
from .tuning import with_tuned



@dataclass
class PipelineResult:
    out: Path
    methods: list[str]
    seconds: dict[str, float]
    names: MethodNames


# the report's share of the progress bar, in the stages' units (about seconds: experiment/stages.py), and the
# probes' share of it
REPORT_WEIGHT, REPORT_PROBES_SHARE = 15, 0.6


def run_pipeline(workspace, out, spec: ExperimentSpec = ExperimentSpec(), *,
                 on_progress: Progress | None = None, command: str | None = None) -> PipelineResult:
    """Run (or resume) every stage of `spec` for its seed and write the report into `out`; a baseline tuned on
    this workspace (`tuning.tune`) ranks with its chosen settings."""
    progress = on_progress or (lambda fraction, message: None)
    spec = with_tuned(workspace, spec).seeded()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prepare_samples(workspace, spec, progress)
    names = MethodNames.of(spec)
    seconds, kept, stages_end = run_stages(workspace, spec, names, progress)
    methods = [baseline_method(b, spec.sasrec.seed) for b in spec.baselines] + prediction_names(spec, names)
    metrics = read_sample_metrics(workspace, spec.split)
    metrics = metrics[metrics["method"].isin(methods)]
    summary = summarise(metrics, spec.baselines)
    summary = summary.sort_values("method", key=lambda column: column.map(methods.index), ignore_index=True)
    progress(stages_end, "report: the probes (filter simulation, forgetting, long tail)")
    found = probes(workspace, spec, names, metrics)
    progress(stages_end + (1 - stages_end) * REPORT_PROBES_SHARE, "report: writing report.md, report.html and "
                                                                   "the figures")
    write_report(workspace, out, spec, summary, metrics, names, seconds, command, found, kept)
    progress(1.0, f"report written to {out}")
    return PipelineResult(out, methods, seconds, names)


def prepare_samples(workspace, spec: ExperimentSpec, progress: Progress) -> None:
    """Rebuild the samples when the spec asks for other sample settings; refuse a workspace the run cannot
    score."""
    if spec.samples is not None and spec.samples != read_sample_config(workspace):
        progress(0.0, f"rebuilding the samples ({spec.samples.split} split)")
        rebuild_samples(workspace, spec.samples)
    with open_workspace(workspace) as con:
        counts = dict(con.execute("SELECT split, count(*) FROM samples GROUP BY split").fetchall())
    if not counts.get("train") or not counts.get(spec.split) or not counts.get("validation"):
        raise ConrecError(f"the workspace needs training, validation and {spec.split} samples; it has {counts}")


def run_stages(workspace, spec: ExperimentSpec, names: MethodNames, progress: Progress
               ) -> tuple[dict[str, float], list[str], float]:
    """Every stage in turn under one progress bar: the seconds each took, the stages that kept an earlier run's
    model, and where on the bar the stages end (the report's share follows)."""
    stages = plan(workspace, spec, names)
    total, done = sum(s.weight for s in stages) + REPORT_WEIGHT, 0.0
    furthest = [0.0]

    def forward(fraction: float, message: str) -> None:  # one stage's end and the next's start round apart
        furthest[0] = max(furthest[0], fraction)
        progress(furthest[0], message)

    seconds: dict[str, float] = {}
    kept: list[str] = []
    for stage in stages:
        start, share = done / total, stage.weight / total
        clock = time.perf_counter()
        forward(start, f"{stage.name}: started")  # a stage whose work reports nothing still shows it began
        if stage.run(lambda fraction, message, s=stage.name, a=start, b=share: forward(a + b * fraction,
                                                                                     f"{s}: {message}")):
            kept.append(stage.name)
        seconds[stage.name] = time.perf_counter() - clock
        done += stage.weight
    return seconds, kept, done / total


def probes(workspace, spec: ExperimentSpec, names: MethodNames, metrics) -> dict:
    """The report's probes: the filter simulation, forgetting, the prior's choice, the long-tail budget and,
    where the log ships them, the true dislikes."""
    found = {"filter_simulation": filter_simulation(workspace, names.grpo_checkpoint, spec.split, names.codebook),
             "forgetting": forgetting_rate(workspace, names.grpo_checkpoint, names.sft_checkpoint, spec.split)}
    if spec.uses_prior:
        found["prior"] = {"method": names.prior, **read_prior_choice(workspace, names)}
    samples = read_samples(workspace, spec.split)
    found["long_tail_budget"] = {"reference": names.grpo,
                                 "methods": split_budget_summary(workspace, metrics, samples, names.grpo)}
    truth = load_true_dislikes(workspace)
    if truth is not None:
        found["true_dislikes"] = reference_shares(truth, samples)
    found["training"] = training_stops(workspace, spec, names)
    found["grpo_validation"] = grpo_validation(checkpoint_dir(workspace, names.grpo_checkpoint))
    found["long_tail_share"] = long_tail_share(workspace, samples)
    return found


def long_tail_share(workspace, samples) -> float | None:
    """The share of the samples' future negatives (each once per sample) that are long-tail items."""
    tail = long_tail_items(workspace)
    future = [item for sample in samples.itertuples() for item in set(sample.future_negatives)]
    return sum(item in tail for item in future) / len(future) if future else None


def grpo_validation(folder) -> list[float]:
    """Validation FHR@K at every GRPO check, the warm-up's first (empty for a checkpoint that is not GRPO's)."""
    return [record["validation"]["fhr"] for record in read_metrics(folder)
            if "validation" in record and "event" in record and "fhr" in record["validation"]]


def training_stops(workspace, spec: ExperimentSpec, names: MethodNames) -> dict:
    """Where each learnt method's training stopped and which check it kept: the SASRec baselines (stopped on
    validation) and the SFT members (their step count, and the best check when they keep one)."""
    stops = {}
    for baseline in spec.baselines:
        summary = read_training_summary(workspace, baseline_method(baseline, spec.sasrec.seed))
        if summary is not None and summary.get("last_check") is not None:
            stops[baseline_method(baseline, spec.sasrec.seed)] = {
                "steps": summary["last_check"], "best_step": summary["best_step"], "cap": summary["steps_cap"],
                "best_validation_fhr": summary["best_validation_fhr"]}
    for member in names.sft_members:
        training = read_training(checkpoint_dir(workspace, member))
        summary = training.get("summary") or {}
        ranking = (summary.get("validation") or {}).get("ranking") or {}
        stops[member] = {"steps": training.get("step"), "best_step": summary.get("best_step"),
                         "cap": (training.get("sft") or {}).get("steps"), "best_validation_fhr": ranking.get("fhr")}
    return stops
