"""Commands that score and report: evaluate, pipeline."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
from dataclasses import replace
from pathlib import Path

from ..config import add_options, config_from_options
from ..data.samples_config import SPLITS
from ..data.workspace import open_workspace
from ..errors import ConrecError
from ..evaluation.baseline_names import BASELINES, NEIGHBOUR_BASELINES, SASREC_VARIANTS
from ..evaluation.baseline_settings import BaselineSettings, NeighbourConfig
from ..evaluation.ease_config import EASEConfig
from ..evaluation.sasrec_config import SASRecConfig
from ..experiment.spec import OVERRIDES, PRESETS, ExperimentSpec, resolve
from ..experiment.tuning_spaces import SEARCH_SPACE_NAMES
from ..semantic_ids.encoder_config import COLLABORATIVE_MODES
from ..shipped.sample_catalogue import SAMPLES
from .model_commands import tail_quota_option
from .progress import progress_bar


def register(commands) -> dict:
    pipeline = commands.add_parser("pipeline",
                                   help="codebook → SFT models → GRPO → predictions → baselines → report",
                                   description="Everything from an imported workspace to a report: DIR/report.json, "
                                               "DIR/report.md with PNG plots and DIR/sample_metrics.parquet.")
    target = pipeline.add_mutually_exclusive_group(required=True)
    target.add_argument("--workspace", type=Path, help="an imported workspace")
    target.add_argument("--sample", choices=list(SAMPLES),
                        help="a shipped sample dataset: the app's own workspace for it (imported when missing)")
    pipeline.add_argument("--out", type=Path, required=True, help="folder for the report")
    presets = pipeline.add_mutually_exclusive_group()
    presets.add_argument("--preset", choices=list(PRESETS), default="default",
                         help="; ".join(label for label, _ in PRESETS.values()))
    presets.add_argument("--quick", dest="preset", action="store_const", const="quick", help="--preset quick")
    pipeline.add_argument("--ablations", action="store_true", default=None,
                          help="add to the preset the comparison SID models (TIGER-, LC-Rec-style), the paper's "
                               "Table 2 and its Table 4 reward variants (--preset ablations: the default's)")
    pipeline.add_argument("--split", choices=SPLITS,
                          help="rebuild the workspace's samples with this split first (default: keep its samples); "
                               "global is the leak-free check of the per-user protocol")
    pipeline.add_argument("--seed", type=int, default=0, help="the first seed of the SFT, GRPO and SASRec runs "
                                                              "(default %(default)s)")
    pipeline.add_argument("--seeds", type=int, default=1, help="train every learnt method with this many seeds "
                          "(--seed, --seed + 1, ...): one report per seed in OUT/seed-S, and with two or more "
                          "OUT/seeds.md with mean ± sd over seeds and the seeds fused (default %(default)s)")
    pipeline.add_argument("--ship", action="store_true",
                          help="with --sample: write the codebook, the SFT and final checkpoints, their predictions "
                               "and the per-sample metrics to sample_data/outputs/NAME, which the app opens on")
    pipeline.add_argument("--collaborative", choices=COLLABORATIVE_MODES,
                          help="co-occurrence vectors of the training events in the codebook's item vectors "
                               "(default: the preset's)")
    pipeline.add_argument("--tail-quota", type=tail_quota_option, metavar="N|members",
                          help=ExperimentSpec.__dataclass_fields__["tail_quota"].metadata["help"])
    add_options(pipeline.add_argument_group("experiment settings (default: the preset's)"), ExperimentSpec)

    evaluate = commands.add_parser("evaluate", help="per-sample metrics of checkpoints and baselines, with intervals",
                                   description="Score the stored predictions of checkpoints and the baselines on a "
                                               "split; keeps every metric per sample in the workspace and prints "
                                               "means with 95% bootstrap intervals and a paired test of FHR "
                                               "against the best baseline.")
    evaluate.add_argument("--workspace", type=Path, required=True)
    evaluate.add_argument("--split", choices=("validation", "test"), default="test")
    evaluate.add_argument("--checkpoints", nargs="*", default=None,
                          help="checkpoints whose predictions to score (default: every one with predictions)")
    evaluate.add_argument("--baselines", nargs="*", choices=BASELINES, default=list(BASELINES))
    evaluate.add_argument("--k", type=int, default=20, help="cut-off K of the baselines (default %(default)s)")
    evaluate.add_argument("--tail-budget-of", metavar="METHOD",
                          help="also read every method's LIF@K at METHOD's long-tail budget (its number of "
                               "long-tail items per sample; evaluation/tail_budget.py), with the paired test against "
                               "METHOD; METHOD must be one of the methods scored here")
    add_options(evaluate.add_argument_group("SASRec baselines"), SASRecConfig, prefix="sasrec_")
    add_options(evaluate.add_argument_group("EASE baseline"), EASEConfig, prefix="ease_")
    for method in NEIGHBOUR_BASELINES:
        add_options(evaluate.add_argument_group(f"{method} baseline"), NeighbourConfig, prefix=f"{method}_",
                    defaults=getattr(BaselineSettings(), method))
    evaluate.add_argument("--json", action="store_true")
    register_experiments(commands)
    return {"pipeline": run_pipeline_command, "evaluate": run_evaluate, "ablation": run_ablation_command,
            "tune": run_tune_command}


def register_experiments(commands) -> None:
    """The commands that choose defaults on validation: the ablation and the tuning protocol."""
    ablation = commands.add_parser("ablation", help="the default pipeline against one change at a time",
                                   description="Leave-one-out ablation on one seed: the default pipeline, then again "
                                               "with one thing changed per row, each on the validation split (and "
                                               "the test split with --with-test, for a final report only), with a "
                                               "paired test against the default. Writes "
                                               "OUT/ablation.md, ablation.json and the per-sample table, after each "
                                               "row; a stopped run resumes at the next one.")
    ablation.add_argument("--workspace", type=Path, required=True, help="an imported workspace (never written to)")
    ablation.add_argument("--out", type=Path, required=True, help="folder for ablation.md, .json and the samples")
    ablation.add_argument("--scratch", type=Path, help="folder for the workspace copies (default: OUT/workspaces)")
    ablation.add_argument("--only", nargs="+", default=(), metavar="VARIANT", help="run only these variants")
    ablation.add_argument("--seed", type=int, default=0, help="seed of every run's SFT, GRPO and baselines; a seed's "
                          "models are named by it, so a source workspace's models of that seed are kept "
                          "(default %(default)s)")
    ablation.add_argument("--quick", action="store_true", help="the quick preset's settings, two members")
    ablation.add_argument("--with-test", action="store_true",
                          help="also the test split: for a final report only, never to choose a default (default: "
                               "validation alone)")
    tune = commands.add_parser("tune", help="search a baseline's settings on the validation split",
                               description="One tuning protocol for every method: a seeded random search of its "
                                           "settings (the defaults first), each trial scored by FHR@K on the "
                                           "validation split alone; the chosen settings and every trial's figure "
                                           "are kept beside the workspace, and the pipeline ranks with them. The "
                                           "test split is never read.")
    tune.add_argument("--workspace", type=Path, required=True)
    tune.add_argument("--method", required=True, choices=list(SEARCH_SPACE_NAMES), help="the method to tune")
    tune.add_argument("--trials", type=int, default=20, help="the trial budget, the same for every method "
                                                             "(default %(default)s)")
    tune.add_argument("--seed", type=int, default=0, help="seed of the random search (default %(default)s)")
    tune.add_argument("--json", action="store_true", help="print the tuning record as JSON")


def run_tune_command(args: argparse.Namespace) -> int:
    from ..experiment.tuning import tune

    with open_workspace(args.workspace):  # a missing workspace is named before any work
        pass
    bar, progress = progress_bar(f"tuning {args.method}")
    with bar:
        record = tune(args.workspace, args.method, args.trials, args.seed, on_progress=progress)
    if args.json:
        print(json.dumps(record.to_dict(), indent=2))
        return 0
    print(f"{args.method}: {record.budget} trials on {record.samples:,} validation samples, FHR@{record.k}")
    for trial in sorted(record.trials, key=lambda trial: -trial.fhr):
        settings = ", ".join(f"{name} {value}" for name, value in trial.settings.items()
                             if name in SEARCH_SPACE_NAMES[args.method])
        print(f"  {trial.fhr:.4f}  {settings}  ({trial.seconds:.0f} s)")
    print(f"chosen: validation FHR@{record.k} {record.chosen_fhr:.4f}; the pipeline ranks {args.method} with these "
          "settings on this workspace")
    return 0


def run_ablation_command(args: argparse.Namespace) -> int:
    from ..experiment.ablation import SPLITS, WITH_TEST, run_ablation

    with open_workspace(args.workspace):  # a missing workspace is named before any copy is made
        pass
    run_ablation(args.workspace, args.out, args.scratch or args.out / "workspaces", tuple(args.only), args.quick,
                 "python -m conrec_core " + shlex.join(args.argv), splits=WITH_TEST if args.with_test else SPLITS,
                 seed=args.seed)
    return 0


def run_pipeline_command(args: argparse.Namespace) -> int:
    if args.ship and not args.sample:
        raise ConrecError("--ship needs --sample: shipped outputs belong to a sample dataset")
    if args.seeds < 1:
        raise ConrecError("--seeds must be at least 1")
    spec = pipeline_spec(args)
    if args.ship and replace(spec, seed=args.seed).codebook_name != "default":
        raise ConrecError("--ship ships the first seed's models, which must speak the default codebook: "
                          "start the seeds at --seed 0")
    from ..data.samples import read_sample_config  # after the checks: a wrong option answers before torch loads
    from ..experiment.seeds import run_seeds
    from ..shipped.sample_data import sample_workspace, ship_sample_outputs

    command = "python -m conrec_core " + shlex.join(args.argv)
    workspace = args.workspace or sample_workspace(args.sample)
    if args.split:  # the workspace's sample settings, with the other split
        spec = replace(spec, samples=replace(read_sample_config(workspace), split=args.split,
                                             validation_cut=None, test_cut=None))
    seeds = list(range(args.seed, args.seed + args.seeds))
    with contextlib.ExitStack() as bars:
        def seed_bar(seed: int):
            bar, progress = progress_bar("pipeline" if len(seeds) == 1 else f"pipeline, seed {seed}")
            bars.enter_context(bar)
            return progress

        result = run_seeds(workspace, spec, seeds, Path(args.out), preset=args.preset, command=command,
                           on_seed=seed_bar)
    for seed, run in result.results.items():
        print(f"report: {run.out / 'report.md'} (methods: {', '.join(run.methods)})")
        print("  " + ", ".join(f"{stage} {value:.0f} s" for stage, value in run.seconds.items()))
    if result.summary is not None:
        print(f"over seeds: {result.root / 'seeds.md'}")
    if args.ship:
        first = result.results[seeds[0]]
        shipped = ship_sample_outputs(args.sample, workspace, first.names, command, run=first.out)
        print(f"shipped outputs: {shipped}")
    return 0


def pipeline_spec(args: argparse.Namespace):
    """The experiment spec from the pipeline's options: the preset's, with every option given (the sample split
    is read from the workspace later)."""
    overrides = {name: getattr(args, name, None) for name in OVERRIDES}
    return resolve(args.preset, overrides)


def run_evaluate(args: argparse.Namespace) -> int:
    from ..data.samples import read_samples
    from ..evaluation.baselines import baseline_method
    from ..evaluation.intervals import format_p
    from ..evaluation.scoring import (LABELS, METRICS, evaluate_baseline, evaluate_predictions, read_sample_metrics,
                                      summarise)
    from ..evaluation.tail_budget import split_budget_summary
    from ..rl.swing import ensure_swing

    with open_workspace(args.workspace) as con:
        predicted = [c for (c,) in con.execute("SELECT DISTINCT checkpoint FROM predictions ORDER BY 1").fetchall()]
        has_codebook = bool(con.execute("SELECT count(*) FROM codebooks").fetchall()[0][0])
    if "swing_cf" in args.baselines:
        ensure_swing(args.workspace)
    sasrec = config_from_options(SASRecConfig, args, prefix="sasrec_")
    defaults = BaselineSettings()
    settings = BaselineSettings(ease=config_from_options(EASEConfig, args, prefix="ease_"),
                                **{method: config_from_options(NeighbourConfig, args, prefix=f"{method}_",
                                                               base=getattr(defaults, method))
                                   for method in NEIGHBOUR_BASELINES})
    checkpoints = predicted if args.checkpoints is None else args.checkpoints
    methods = [baseline_method(b, sasrec.seed) for b in args.baselines] + list(checkpoints)
    if args.tail_budget_of is not None and args.tail_budget_of not in methods:  # refused before any training
        raise ConrecError(f"--tail-budget-of {args.tail_budget_of!r} is not among the methods scored here "
                          f"({', '.join(methods)})")
    for baseline in args.baselines:
        if baseline in SASREC_VARIANTS:
            bar, progress = progress_bar(baseline)
            with bar:
                evaluate_baseline(args.workspace, baseline, args.split, args.k, sasrec, on_progress=progress)
        else:
            evaluate_baseline(args.workspace, baseline, args.split, args.k, settings=settings)
    for checkpoint in checkpoints:
        evaluate_predictions(args.workspace, checkpoint, args.split, args.k)
    metrics = read_sample_metrics(args.workspace, args.split)
    metrics = metrics[metrics["method"].isin(methods)]
    table = summarise(metrics, tuple(args.baselines))
    budget = {} if args.tail_budget_of is None else {row["method"]: row for row in split_budget_summary(
        args.workspace, metrics, read_samples(args.workspace, args.split), args.tail_budget_of)}
    if args.json:  # with a budget, each method's row carries its figures at it
        records = json.loads(table.to_json(orient="records"))
        if args.tail_budget_of is not None:
            records = [{**row, "long_tail_budget": budget.get(row["method"])} for row in records]
        print(json.dumps(records, indent=2))
        return 0
    print(f"{args.split} split, means with 95% bootstrap intervals")
    if not has_codebook:
        print("  (no candidate accuracy: it ranks line-ups by SID vectors; train a codebook with `codebook`)")
    for row in table.to_dict("records"):
        figures = "  ".join(f"{LABELS[name]}@{row['k']} {row[name]:.4f} [{row[name + '_low']:.4f}, "
                            f"{row[name + '_high']:.4f}]" for name in METRICS
                            if row[name] is not None and row[name] == row[name])
        test = row.get("fhr_p_value")
        versus = f"  vs {row['best_baseline']}: p {format_p(test)}" if isinstance(test, float) and test == test else ""
        print(f"  {row['method']:<20} n={row['samples']:<5} {figures}{versus}")
    if args.tail_budget_of is not None:
        print(f"LIF@{args.k} at {args.tail_budget_of}'s long-tail budget (its long-tail items per sample), "
              f"samples with a long-tail future negative")
        for method, row in budget.items():
            interval, p = row["lif_at_budget"], row["p_value_vs_reference"]
            figure = "–" if interval is None else (f"{interval['value']:.4f} [{interval['low']:.4f}, "
                                                    f"{interval['high']:.4f}]")
            print(f"  {method:<20} long-tail items {row['long_tail_items']:.1f}  LIF@{args.k} at the budget {figure}"
                  + ("" if p is None else f"  vs {args.tail_budget_of}: p {format_p(p)}"))
        if not budget:
            print("  (no sample has a long-tail future negative)")
    return 0
