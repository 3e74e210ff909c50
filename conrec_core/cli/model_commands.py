"""Commands that train and run models: codebook, sft, swing, grpo, predict, ensemble, score."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from ..config import add_options, config_from_options
from ..errors import ConrecError
from ..data.workspace import check_name, open_workspace, require_workspace_file
from ..lm.checkpoint_paths import checkpoints_dir, require_checkpoint
from ..lm.config import TINY, BackboneConfig, SFTConfig
from ..decoding.prior import WEIGHT_GRID
from ..decoding.decoding_config import DecodingConfig
from ..rl.grpo_config import GRPOConfig
from ..rl.swing_config import SwingConfig
from ..semantic_ids.codebook_config import CodebookConfig
from ..semantic_ids.encoder_config import EncoderConfig
from .engine_options import add_engine_options, engine_options
from .progress import print_json, progress_bar


def tail_quota_option(text: str) -> int | str:
    """--tail-quota's value: `members` or a whole number (argparse shows the error)."""
    from ..decoding.tail_quota import parse_tail_quota

    try:
        return parse_tail_quota(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(commands) -> dict:
    codebook = commands.add_parser("codebook", help="train the RQ-VAE codebook and assign semantic IDs",
                                   description="Encode items, train the RQ-VAE, assign collision-free SIDs, "
                                               "compute the item map and print the quality report.")
    codebook.add_argument("--workspace", type=Path, required=True)
    codebook.add_argument("--name", default="default", help="codebook name (default %(default)s)")
    add_options(codebook.add_argument_group("codebook (method §3)"), CodebookConfig)
    add_options(codebook.add_argument_group("item encoder"), EncoderConfig)
    codebook.add_argument("--no-map", action="store_true", help="skip the 2-D item map (UMAP)")
    codebook.add_argument("--json", action="store_true", help="print the quality report as JSON")

    sft = commands.add_parser("sft", help="train the SID language model (translation, alignment, next negative)",
                              description="SFT stages 1-3 on a workspace with a codebook; resumes an interrupted "
                                          "run of the same name and settings.")
    sft.add_argument("--workspace", type=Path, required=True)
    sft.add_argument("--name", default="sft", help="checkpoint name (default %(default)s)")
    sft.add_argument("--codebook", default="default", help="codebook whose SIDs the model speaks")
    sft.add_argument("--backbone", default=TINY, help=BackboneConfig.__dataclass_fields__["name"].metadata["help"])
    sft.add_argument("--4bit", dest="load_in_4bit", action="store_true",
                     help="load a pretrained backbone in NF4 (bitsandbytes) for LoRA training")
    add_options(sft.add_argument_group("SFT (method §4)"), SFTConfig)
    sft.add_argument("--restart", action="store_true", help="start again even if a saved state exists")
    sft.add_argument("--json", action="store_true", help="print the summary as JSON")

    swing = commands.add_parser("swing", help="Swing item-item similarity on the training negatives",
                                description="Build (or rebuild) the Swing neighbours GRPO rewards read (method §6).")
    swing.add_argument("--workspace", type=Path, required=True)
    add_options(swing, SwingConfig)
    add_engine_options(swing)
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
    add_options(grpo.add_argument_group("GRPO (method §4-5)"), GRPOConfig)
    grpo.add_argument("--4bit", dest="load_in_4bit", action="store_true",
                      help="QLoRA: the LoRA checkpoint's base in NF4")
    grpo.add_argument("--json", action="store_true")

    predict = commands.add_parser("predict", help="write a checkpoint's predicted negatives to the workspace",
                                  description="Constrained beam search over valid SIDs for every sample of a "
                                              "split (or of the given users); prints HR@K and FHR@K.")
    predict.add_argument("--workspace", type=Path, required=True)
    predict.add_argument("--checkpoint", required=True, help="checkpoint name (see the checkpoints page)")
    predict.add_argument("--users", nargs="+", help="only these users' samples")
    predict.add_argument("--split", choices=("train", "validation", "test"), default="test")
    add_options(predict.add_argument_group("decoding (method §7)"), DecodingConfig, aliases={"returns": "--top-k"})
    predict.add_argument("--choose-prior", action="store_true",
                         help="first choose --prior-weight on the validation samples (FHR@K over "
                              f"{', '.join(map(str, WEIGHT_GRID))}), then predict with it")
    predict.add_argument("--save-as", metavar="NAME", help="store the predictions under this name instead of the "
                                                           "checkpoint's (to compare decodings of one model)")
    predict.add_argument("--4bit", dest="load_in_4bit", action="store_true", help="load the checkpoint in NF4")
    predict.add_argument("--json", action="store_true")

    ensemble = commands.add_parser("ensemble", help="fuse stored predictions of several models into one set",
                                   description="Reciprocal-rank fusion of prediction sets stored by predict (seeds "
                                               "of one model, other decodings, SFT and GRPO checkpoints of one "
                                               "codebook); `evaluate --checkpoints NAME` then scores the result.")
    ensemble.add_argument("--workspace", type=Path, required=True)
    ensemble.add_argument("--members", nargs="+", required=True, metavar="SET",
                          help="prediction sets to fuse (checkpoint names, or predict's --save-as names)")
    ensemble.add_argument("--name", required=True, help="name of the fused prediction set")
    ensemble.add_argument("--split", choices=("train", "validation", "test"), default="test")
    ensemble.add_argument("--top-k", type=int, default=20, help="items kept per sample (default %(default)s)")
    ensemble.add_argument("--tail-quota", type=tail_quota_option, default=0, metavar="N|members",
                          help="at least N of each sample's top K are long-tail items, where the members ranked "
                               "enough of them; members: as many as the members' top K held on average "
                               "(default %(default)s)")
    ensemble.add_argument("--tail-calibration", type=float, default=0.0, metavar="STRENGTH",
                          help="and at least this share (0 to 1) of the user's own long-tail share among their "
                               "earlier negatives (default %(default)s)")
    ensemble.add_argument("--json", action="store_true")

    score = commands.add_parser("score", help="each user's most likely next rejections, as a Parquet file",
                                description="The dislike list for production: for each user (all by default), the "
                                            "K items a checkpoint finds them most likely to reject next, given "
                                            "every event up to --as-of, never an item they already met. Long "
                                            "form: user, rank, item, score (the model's log-probability; users "
                                            "with no negative yet get the most disliked items, scored by their "
                                            "log share of the negatives).")
    score.add_argument("--workspace", type=Path, required=True)
    score.add_argument("--checkpoint", required=True, help="checkpoint name (see the checkpoints page)")
    score.add_argument("--out", type=Path, required=True, help="the Parquet file to write (replaced whole)")
    score.add_argument("--top-k", type=int, default=20, help="items per user (default %(default)s)")
    score.add_argument("--as-of", metavar="TIME",
                       help="read each user's events up to this ISO-8601 time, UTC unless it names a zone "
                            "(default: the end of the log)")
    score.add_argument("--users", nargs="+", help="only these users")
    score.add_argument("--shard", type=shard_option, metavar="I/N",
                       help="only shard I of N (0 to N-1) of the users, split by a hash of their id: run N "
                            "commands, on as many machines or processes, for N files that hold every user once")
    score.add_argument("--beams", type=int, default=DecodingConfig().beams,
                       help="beam width (default %(default)s; at least --top-k)")
    score.add_argument("--batch-size", type=int, default=DecodingConfig().batch_size,
                       help="prompts per generate call (default %(default)s)")
    score.add_argument("--4bit", dest="load_in_4bit", action="store_true", help="load the checkpoint in NF4")
    score.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    return {"codebook": run_codebook, "sft": run_sft, "swing": run_swing, "grpo": run_grpo, "predict": run_predict,
            "ensemble": run_ensemble, "score": run_score}


def run_codebook(args: argparse.Namespace) -> int:
    require_workspace_file(args.workspace)  # a typo fails before torch loads
    from ..semantic_ids.codebook import build_codebook  # torch loads only for this command

    config = config_from_options(CodebookConfig, args, encoder=config_from_options(EncoderConfig, args))
    bar, progress = progress_bar("codebook")
    with bar:
        result = build_codebook(args.workspace, args.name, config, compute_map=not args.no_map,
                                on_progress=progress)
    report = result.report.to_dict()
    if args.json:
        print_json({"name": result.name, "fingerprint": result.fingerprint, "parts": result.parts, "report": report})
        return 0
    print(f"codebook {result.name!r} for {report['items']:,} items ({', '.join(result.parts)}), "
          f"fingerprint {result.fingerprint[:12]}")
    if result.config.codebook_size != config.codebook_size:
        print(f"  {result.config.codebook_size} codes per level, not {config.codebook_size}: "
              f"{config.codebook_size}^{config.levels} SID prefixes would be fewer than the items")
    print(f"  reconstruction cosine: mean {report['reconstruction_cosine_mean']:.3f}, "
          f"10th percentile {report['reconstruction_cosine_p10']:.3f}")
    for level, (used, perplexity) in enumerate(zip(report["utilisation"], report["perplexity"])):
        print(f"  level {level + 1}: {used:.0%} of {result.config.codebook_size} codes used, "
              f"perplexity {perplexity:.1f}")
    print(f"  items needing a 4th token: {report['fourth_token_share']:.2%} "
          f"(largest group {report['largest_collision_group']})")
    print(f"  final loss {report['loss_curve'][-1]['loss']:.4f} after {len(report['loss_curve'])} epochs, "
          f"{report['seconds']} s")
    return 0


def run_sft(args: argparse.Namespace) -> int:
    check_name(args.name, "checkpoint")
    require_workspace_file(args.workspace)  # a typo fails before torch loads
    from ..training.sft import train_sft  # torch loads only for this command

    backbone = BackboneConfig(name=args.backbone, load_in_4bit=args.load_in_4bit)
    config = config_from_options(SFTConfig, args)
    if args.tasks is not None:
        config = config.with_tasks(tuple(args.tasks))
    bar, progress = progress_bar("sft")
    with bar:
        result = train_sft(args.workspace, args.name, backbone, config, args.codebook, resume=not args.restart,
                           on_progress=progress)
    if args.json:
        print_json({"checkpoint": str(result.folder), "step": result.step, "summary": result.summary})
        return 0
    validation = result.summary["validation"]
    print(f"checkpoint {args.name!r} after {result.step} steps in {result.folder}")
    for task, loss in validation["loss"].items():
        print(f"  validation loss {task}: {loss:.3f}")
    if validation.get("alignment_accuracy") is not None:
        print(f"  alignment accuracy (4 candidates, chance 0.25): validation {validation['alignment_accuracy']:.3f}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    check_name(args.checkpoint, "checkpoint")
    require_workspace_file(args.workspace)  # a typo fails before torch loads
    require_checkpoint(args.workspace, args.checkpoint)
    from ..decoding.predict import choose_prior, predict

    config, choice = config_from_options(DecodingConfig, args), None
    if args.choose_prior:
        bar, progress = progress_bar("prior weight")
        with bar:
            choice = choose_prior(args.workspace, args.checkpoint, config, on_progress=progress)
        config = replace(config, prior_weight=choice.weight)
    bar, progress = progress_bar("predict")
    with bar:
        run = predict(args.workspace, args.checkpoint, split=args.split, users=args.users, config=config,
                      load_in_4bit=args.load_in_4bit, on_progress=progress, save_as=args.save_as)
    if args.json:
        print_json({**run.to_dict(), "prior": choice.to_dict() if choice else {"weight": config.prior_weight}})
        return 0
    if choice is not None:
        tried = ", ".join(f"{w}: {v:.4f}" for w, v in choice.fhr.items())
        print(f"prior weight {choice.weight} (validation FHR@{config.returns} by weight: {tried})")
    print(f"wrote {run.k} predicted negatives for each of {run.samples:,} {args.split} samples "
          f"({run.seconds:.1f} s); invalid outputs {run.invalid}")
    print(f"  HR@{run.k} {run.hr:.4f}   FHR@{run.k} {run.fhr:.4f}")
    return 0


def shard_option(text: str) -> tuple[int, int]:
    """`I/N` as (I, N), 0 <= I < N."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()) or not 0 <= int(index) < int(count):
        raise argparse.ArgumentTypeError(f"{text!r}: give I/N with 0 <= I < N, e.g. 0/4")
    return int(index), int(count)


def run_score(args: argparse.Namespace) -> int:
    check_name(args.checkpoint, "checkpoint")
    require_workspace_file(args.workspace)
    require_checkpoint(args.workspace, args.checkpoint)
    if args.top_k < 1:
        raise ConrecError("--top-k must be at least 1")
    from ..decoding.as_of import parse_as_of
    from ..decoding.score import score_users

    config = DecodingConfig(beams=max(args.beams, args.top_k), batch_size=args.batch_size)
    bar, progress = progress_bar("score")
    with bar:
        run = score_users(args.workspace, args.checkpoint, args.out, top_k=args.top_k, as_of=parse_as_of(args.as_of),
                          users=args.users, shard=args.shard, config=config, load_in_4bit=args.load_in_4bit,
                          on_progress=progress)
    if args.json:
        print_json(run.to_dict())
        return 0
    print(f"wrote the top {args.top_k} likely rejections of {run.users:,} users to {run.out} ({run.rows:,} rows; "
          f"events up to {run.as_of:%Y-%m-%d %H:%M} UTC)")
    print(f"  {run.users_per_second:,.1f} users per second ({run.seconds:.1f} s)")
    return 0


def run_ensemble(args: argparse.Namespace) -> int:
    from ..decoding.ensemble import ensemble_predictions

    require_workspace_file(args.workspace)
    run = ensemble_predictions(args.workspace, args.members, args.name, args.split, args.top_k, args.tail_quota,
                               args.tail_calibration)
    if args.json:
        print_json(run.to_dict())
        return 0
    print(f"wrote {run.name!r}: the top {run.k} of {len(run.members)} prediction sets fused for each of "
          f"{run.samples:,} {args.split} samples" + (f", long-tail quota {run.tail_quota}" if run.tail_quota else "")
          + (f", calibrated to {run.tail_calibration:g} of each user's long-tail share" if run.tail_calibration
             else ""))
    print(f"  HR@{run.k} {run.hr:.4f}   FHR@{run.k} {run.fhr:.4f}")
    return 0


def run_swing(args: argparse.Namespace) -> int:
    from ..rl.swing import build_swing
    from ..spark.engine import engine_fill

    engine, spark = engine_options(args)
    with engine_fill(args.workspace, engine, spark, "swing") as fill, \
            open_workspace(args.workspace, read_only=False) as con:
        counts = build_swing(con, config_from_options(SwingConfig, args), fill)
    if args.json:
        print_json(counts)
    else:
        print(f"Swing over {counts['negatives']:,} training negatives: {counts['user_pairs']:,} user pairs sharing "
              f"2+ items; {counts['items_with_neighbours']:,} items have neighbours ({counts['neighbour_rows']:,} rows)")
    return 0


def warmup_name(workspace: Path, checkpoint: str) -> str:
    """A checkpoint given by name, or by its folder (which must lie in the workspace's checkpoints folder)."""
    folder = Path(checkpoint).expanduser()
    if folder.is_dir():
        if folder.resolve().parent != checkpoints_dir(workspace).resolve():
            raise ConrecError(f"{folder} is not a checkpoint of {workspace} (those live in "
                              f"{checkpoints_dir(workspace)})")
        return folder.name
    return checkpoint


def run_grpo(args: argparse.Namespace) -> int:
    require_workspace_file(args.workspace)  # a typo fails before torch loads
    warmup = warmup_name(args.workspace, args.checkpoint)
    require_checkpoint(args.workspace, warmup)
    from ..rl.grpo import train_grpo

    overrides = {}
    if args.stages is not None and args.betas is None:  # one default β per chosen stage
        overrides["betas"] = tuple(GRPOConfig().betas[0] for _ in args.stages)
    config = config_from_options(GRPOConfig, args, **overrides)
    bar, progress = progress_bar("grpo")
    main_process = os.environ.get("RANK", "0") == "0"  # under accelerate launch, only rank 0 reports
    with bar:
        result = train_grpo(args.workspace, args.name, warmup, config,
                            load_in_4bit=args.load_in_4bit, on_progress=progress if main_process else None)
    summary = result.summary
    if not main_process:
        return 0
    if args.json:
        print_json({"checkpoint": str(result.folder), "summary": summary})
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
