"""Commands that bring data in and look at it: import, info, samples, synthesize."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from ..config import add_options, config_from_options
from ..data.mapping import FORMATS
from ..data.movielens_config import MovieLensConfig
from ..data.samples_config import SampleConfig
from ..data.synthetic_config import WorldConfig
from ..data.workspace import open_workspace
from ..errors import ConrecError
from .engine_options import add_engine_options, engine_options
from .progress import print_json

MAPPING_HELP = ("JSON column mapping for --format table: events.user/item/time/time_unit(s|ms|iso), "
                "events.kind {column, negative:[...], positive:[...], neutral:[...]} or "
                "{column, negative_max, positive_min}, optional events.reason {column, keep, drop}, "
                "optional items {path, id, title, text:[...], category, vectors:{name: column}}; "
                "see conrec_core/data/mapping.py")


def register(commands) -> dict:
    importing = commands.add_parser("import", help="import an event log into a new workspace",
                                    description="Import an event log into a workspace (replaced only if the "
                                                "import succeeds), then build the default samples.")
    importing.add_argument("source", type=Path, help="MovieLens folder, or a CSV/Parquet event file")
    importing.add_argument("--workspace", type=Path, help="workspace file to create or replace (required unless "
                                                          "--guess)")
    importing.add_argument("--guess", action="store_true",
                           help="print the mapping the import page would start from for this event file, as JSON "
                                "(what it is unsure of on stderr), and import nothing")
    importing.add_argument("--format", choices=FORMATS, default="auto",
                           help="auto (default): a folder with ratings.csv or u.data is MovieLens, else table")
    importing.add_argument("--mapping", type=Path, help=MAPPING_HELP)
    add_options(importing.add_argument_group("MovieLens ratings"), MovieLensConfig)
    add_options(importing.add_argument_group("samples (method §2)"), SampleConfig)
    importing.add_argument("--json", action="store_true", help="print the import report as JSON")

    info = commands.add_parser("info", help="summarise a workspace",
                               description="A workspace at a glance: its source, users, items and events by kind, "
                                           "samples per split, and what was trained on it (codebooks, "
                                           "checkpoints, pipeline runs), with times in UTC.")
    info.add_argument("--workspace", type=Path, required=True)
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")

    samples = commands.add_parser("samples", help="rebuild a workspace's samples with other settings",
                                  description="Rebuild the (user, anchor) samples every stage reads: the split, "
                                              "the future window, the context lengths (method §2). Models "
                                              "trained on the old samples refuse the new ones until retrained.")
    samples.add_argument("--workspace", type=Path, required=True)
    add_options(samples.add_argument_group("samples (method §2)"), SampleConfig)
    add_engine_options(samples)
    samples.add_argument("--json", action="store_true")

    synth = commands.add_parser("synthesize", help="write the synthetic e-commerce world as importable files",
                                description="Write a synthetic e-commerce log whose users' true dislikes are known "
                                            "(events, items, profiles and a mapping), ready for import.")
    synth.add_argument("--out", type=Path, required=True, help="folder for events, items, profiles, mapping")
    add_options(synth, WorldConfig)
    return {"import": run_import, "info": run_info, "samples": run_samples, "synthesize": run_synthesize}


def run_import(args: argparse.Namespace) -> int:
    from ..data.importer import IMPORT_STEPS, import_source
    if args.guess:
        return print_guess(args.source)
    if args.workspace is None:
        raise ConrecError("import needs --workspace (or --guess, to print a mapping and import nothing)")
    with tqdm(total=IMPORT_STEPS, desc="import", unit="step", file=sys.stderr, disable=None) as bar:
        def step(name: str) -> None:
            bar.set_description(name)
            bar.update(1)
        report = import_source(args.source, args.workspace, format=args.format, mapping=args.mapping,
                               movielens=config_from_options(MovieLensConfig, args),
                               sample_config=config_from_options(SampleConfig, args), on_step=step)
    if args.json:
        print_json(report.to_dict())
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


def print_guess(source: Path) -> int:
    """The guessed mapping on stdout as JSON; its notes and the events per kind on stderr; 1 when a role could
    not be guessed."""
    from ..data.mapping_guess import guess_and_check
    from ..data.preview import EventFilePreview
    if source.is_dir():
        raise ConrecError(f"{source} is a folder: a MovieLens folder imports without a mapping; give an event file "
                          "to guess one")
    file = EventFilePreview(source)
    try:
        guess, kinds = guess_and_check(file)
    finally:
        file.close()
    print_json({"events": guess.events})
    for note in guess.notes:
        print(f"guess: {note}", file=sys.stderr)
    if kinds is not None:
        print("guess: events per kind: " + ", ".join(f"{kind} {count:,}" for kind, count in sorted(kinds.items())),
              file=sys.stderr)
    return 0 if kinds is not None else 1


def run_info(args: argparse.Namespace) -> int:
    from ..data.stats import summarize
    with open_workspace(args.workspace) as con:
        data = summarize(con).to_dict()
    data.update(trained_on(args.workspace))
    if args.json:
        print_json(data)
        return 0
    listed = ("codebooks", "checkpoints", "runs")
    width = max(len(key) for key in data)
    for key, value in data.items():
        if key not in listed:
            print(f"{key.replace('_', ' '):<{width}}  {plain(value)}")
    for key in listed:
        print(f"{key}: {len(data[key]) or 'none'}")
        for entry in data[key]:
            print("  " + "  ".join(f"{plain(value)}" for value in entry.values()))
    return 0


def trained_on(workspace: Path) -> dict:
    """The codebooks, checkpoints and pipeline runs a workspace holds, read without loading any model (and
    without touching a file: `doctor` settles interrupted saves)."""
    from ..data.workspace import artifacts_dir
    from ..lm.checkpoint_paths import TRAINING_FILE, checkpoints_dir
    with open_workspace(workspace) as con:
        codebooks = [{"name": name, "items": items, "created_at": _utc(created), "fingerprint": fingerprint[:12]}
                     for name, items, created, fingerprint in con.execute(
                         "SELECT name, items, created_at, fingerprint FROM codebooks ORDER BY name").fetchall()]
    checkpoints = []
    folder = checkpoints_dir(workspace)
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        record = _json_file(child / TRAINING_FILE)
        if record is not None:
            checkpoints.append({"name": child.name, "stage": record.get("stage", "sft"), "step": record.get("step"),
                                "codebook": record.get("codebook", "default")})
    runs = []
    for path in sorted((artifacts_dir(workspace) / "runs").glob("*/seed-*/run.json")):
        record = _json_file(path)
        if record is not None:
            runs.append({"name": record.get("name"), "preset": record.get("preset"), "seed": record.get("seed"),
                         "finished_at": record.get("finished_at") or "unfinished"})
    return {"codebooks": codebooks, "checkpoints": checkpoints, "runs": runs}


def _json_file(path: Path) -> dict | None:
    import json
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _utc(value) -> str | None:
    from datetime import datetime, timezone
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat(timespec="seconds")
    return None if value is None else str(value)


def plain(value) -> str:
    """A summary value as a person reads it: thousands separators, four decimals, 'none'."""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {plain(v)}" for k, v in value.items()) or "none"
    return "none" if value is None else str(value)


def run_samples(args: argparse.Namespace) -> int:
    from ..data.importer import rebuild_samples
    from ..spark.engine import engine_fill

    engine, spark = engine_options(args)
    with engine_fill(args.workspace, engine, spark, "samples") as fill:
        counts = rebuild_samples(args.workspace, config_from_options(SampleConfig, args), fill)
    if args.json:
        print_json(counts)
    else:
        print("samples: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
        print("  predictions, per-sample metrics and Swing of the old samples were dropped; checkpoints (and a "
              "codebook with collaborative vectors) fitted on them must be trained again")
    return 0


def run_synthesize(args: argparse.Namespace) -> int:
    from ..data.synthetic import generate_world, write_world
    path = write_world(generate_world(config_from_options(WorldConfig, args)), args.out)
    print(f"wrote the synthetic world to {args.out}; import it with:\n"
          f"  python -m conrec_core import {path} --mapping {args.out / 'mapping.json'} --workspace WS.duckdb")
    return 0
