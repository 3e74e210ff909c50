"""The arguments of benchmarks that time a trained checkpoint: a workspace (default: the synthetic sample's) and
a checkpoint in it (default: its first, or its first of one stage)."""

from __future__ import annotations

import argparse
from pathlib import Path


def checkpoint_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--checkpoint")
    return parser


def workspace_and_checkpoint(args: argparse.Namespace, stage: str | None = None) -> tuple[Path, str]:
    from conrec_core.lm.checkpoints import list_checkpoints
    from conrec_core.shipped.sample_data import sample_workspace

    workspace = args.workspace or sample_workspace("synthetic-shop")
    checkpoint = args.checkpoint or next((c.name for c in list_checkpoints(workspace)
                                          if stage is None or c.training.get("stage") == stage), None)
    if checkpoint is None:
        raise SystemExit(f"{workspace} has no {stage + ' ' if stage else ''}checkpoint: run `python -m conrec_core "
                         "pipeline --sample synthetic-shop` first, or pass --checkpoint")
    return workspace, checkpoint
