"""Commands that score and report: evaluate, pipeline."""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import replace
from pathlib import Path

from ..config import add_options, config_from_options
from ..data.samples_config import SPLITS
from ..data.workspace import open_workspace
from ..errors import ConrecError
from ..evaluation.baseline_names import BASELINES, SASREC_VARIANTS
from ..evaluation.sasrec_config import SASRecConfig
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
    pipeline.add_argument("--quick", action="store_true", help="minutes-scale settings (for tests and a first look)")
    pipeline.add_argument("--split", choices=SPLITS,
                          help="rebuild the workspace's samples with this split first (default: keep its samples); "
                               "global is the leak-free check of the per-user protocol")
    pipeline.add_argument("--seed", type=int, default=0, help="seed of the SFT, GRPO and SASRec runs "
                                                              "(default %(default)s)")
    pipeline.add_argument("--seeds", type=int, default=1, help="train every learnt method with this many seeds "
                          "(--seed, --seed + 1, ...): one report per seed in OUT/seed-S, and OUT/seeds.md with mean "
                          "± sd over seeds (default %(default)s: one report in OUT)")
    pipeline.add_argument("--ship", action="store_true",
                          help="with --sample: write the codebook, the SFT and final checkpoints, their predictions "
                               "and the per-sample metrics to sample_data/outputs/NAME, which the app opens on")
    pipeline.add_argument("--collaborative", choices=COLLABORATIVE_MODES,
                          help="co-occurrence vectors of the training events in the codebook's item vectors: on (the "
                               "default), off, or auto (only when some items have no text)")
    pipeline.add_argument("--codebook-per-seed", action="store_true",
                          help="with --seeds: each seed fits its own codebook (seed 0 the default one), so the "
                               "fused seeds differ in their SIDs too (default: one codebook for every seed)")
    pipeline.add_argument("--members", type=int,
                          help="SID models (SFT and GRPO) per seed, differing in initial weights and batch order, "
                               "whose top K the report's SFT and full-method rows fuse (default 3; 1: one model)")
    pipeline.add_argument("--tail-quota", type=tail_quota_option, metavar="N|members",
                          help="with members: at least N of each fused top K are long-tail items, where the members "
                               "ranked enough; members (the default): as many as the members' top K held on "
                               "average; 0: the plain fusion")
    pipeline.add_argument("--tail-calibration", type=float, metavar="STRENGTH",
                          help="with members: each fused top K also holds at least this share (0 to 1) of the "
                               "user's own long-tail share among their earlier negatives (default 0.5; 0: off)")
    pipeline.add_argument("--members-in-turn", action="store_true",
                          help="train the members one after another in this process (default: side by side, a "
                               "process each sharing the CPU cores, when there are two or more cores and no GPU)")
    pipeline.add_argument("--baselines-in-turn", action="store_true",
                          help="rank the baselines one after another in this process (default: each SASRec model "
                               "and the untrained baselines side by side, as the members)")
    pipeline.add_argument("--ablations", action="store_true",
                          help="also the comparison SID models (TIGER-, LC-Rec-style), the paper's Table 2 and its "
                               "Table 4 reward variants: two more SFT and five more GRPO runs")

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
    evaluate.add_argument("--json", action="store_true")
    return {"pipeline": run_pipeline_command, "evaluate": run_evaluate}


def run_pipeline_command(args: argparse.Namespace) -> int:
    from ..data.samples import read_sample_config
    from ..evaluation.pipeline import run_pipeline
    from ..shipped.sample_data import sample_workspace, ship_sample_outputs

    if args.ship and not args.sample:
        raise ConrecError("--ship needs --sample: shipped outputs belong to a sample dataset")
    config = pipeline_config(args)
    if args.ship and config.codebook_name != "default":
        raise ConrecError("--ship ships the first seed's models, which must speak the default codebook: "
                          "start the seeds at --seed 0")
    command = "python -m conrec_core " + shlex.join(args.argv)
    workspace = args.workspace or sample_workspace(args.sample)
    if args.split:  # the workspace's sample settings, with the other split
        config = replace(config, samples=replace(read_sample_config(workspace), split=args.split,
                                                 validation_cut=None, test_cut=None))
    if args.seeds < 1:
        raise ConrecError("--seeds must be at least 1")
    seeds = list(range(args.seed, args.seed + args.seeds))
    results = {}
    for seed in seeds:
        out = Path(args.out) if len(seeds) == 1 else Path(args.out) / f"seed-{seed}"
        bar, progress = progress_bar("pipeline" if len(seeds) == 1 else f"pipeline, seed {seed}")
        with bar:
            results[seed] = run_pipeline(workspace, out, replace(config, seed=seed), on_progress=progress,
                                         command=command)
        print(f"report: {results[seed].out / 'report.md'} (methods: {', '.join(results[seed].methods)})")
        print("  " + ", ".join(f"{stage} {value:.0f} s" for stage, value in results[seed].seconds.items()))
    if len(seeds) > 1:
        from ..evaluation.seed_fusion import fuse_seeds
        from ..evaluation.seed_summary import write_seed_summary

        fused = fuse_seeds(workspace, {seed: result.methods for seed, result in results.items()}, config.split,
                           config.baselines)
        write_seed_summary(Path(args.out), {seed: result.out for seed, result in results.items()}, fused)
        print(f"over seeds: {Path(args.out) / 'seeds.md'}")
    if args.ship:
        shipped = ship_sample_outputs(args.sample, workspace, results[seeds[0]].names, command)
        print(f"shipped outputs: {shipped}")
    return 0


def pipeline_config(args: argparse.Namespace):
    """The pipeline's settings from its options (the sample split is read from the workspace later)."""
    from ..evaluation.pipeline_config import PipelineConfig

    config = PipelineConfig.quick(args.seed) if args.quick else PipelineConfig(seed=args.seed)
    config = config.with_ablations() if args.ablations else config
    config = replace(config, codebook_per_seed=True) if args.codebook_per_seed else config
    config = config.with_members(args.members, args.tail_quota, args.tail_calibration)
    config = replace(config, members_side_by_side=False) if args.members_in_turn else config
    config = replace(config, baselines_side_by_side=False) if args.baselines_in_turn else config
    return config.with_collaborative(args.collaborative) if args.collaborative else config


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
            evaluate_baseline(args.workspace, baseline, args.split, args.k)
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
