"""Trained checkpoints scored on validation sets of other sizes, without training anything again.

    python -m experiments.validation_sets WORKSPACE CHECKPOINT ... [--anchors 1 5 1000] [--k 20]

For each N of `--anchors`, a copy of WORKSPACE (in a temporary folder) gets its samples rebuilt with
`validation_anchors = N`, every other sample setting kept. Training and test samples do not depend on N; this
checks that they are the same (users, anchor times, targets, contexts) before it decodes each checkpoint on the
copy's validation samples, and refuses otherwise. Prints validation FHR@K per checkpoint and per baseline
(most-disliked, Swing, cosine item-CF): the mean over samples, the mean of per-user means (every user counts
once, however many anchors they have) and its standard error.

The SFT steps default was chosen with it (docs/decisions.md#validation-anchors).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from conrec_core.data.importer import rebuild_samples
from conrec_core.data.samples import read_sample_config, read_samples
from conrec_core.data.workspace import artifacts_dir, open_workspace
from conrec_core.evaluation.baselines import rank_baseline
from conrec_core.evaluation.scoring import sample_metrics
from conrec_core.decoding.decoding_config import DecodingConfig
from conrec_core.decoding.predict import load_run
from conrec_core.rl.swing import build_swing

BASELINES = ("most_disliked", "swing_cf", "item_cf")
# what makes two training samples the same sample, whatever their ids
SAME_SAMPLE = ["user_id", "anchor_ts", "next_negative", "context_negatives", "context_positives",
               "future_negatives"]


def copy_with_anchors(workspace: Path, folder: Path, anchors: int) -> Path:
    """A copy of `workspace` (database only: checkpoints stay with the original) with N validation anchors."""
    copy = folder / f"anchors-{anchors}.duckdb"
    shutil.copy(workspace, copy)
    rebuild_samples(copy, replace(read_sample_config(workspace), validation_anchors=anchors))
    with open_workspace(copy, read_only=False) as con:
        build_swing(con)
    return copy


def require_same_training(workspace: Path, copy: Path) -> None:
    for split in ("train", "test"):
        original, rebuilt = (read_samples(w, split)[SAME_SAMPLE].map(
            lambda v: tuple(v) if isinstance(v, (list, np.ndarray)) else v) for w in (workspace, copy))
        if not original.reset_index(drop=True).equals(rebuilt.reset_index(drop=True)):
            raise SystemExit(f"the {split} samples differ between {workspace} and its rebuilt copy: a checkpoint "
                             "trained on the one is not a checkpoint of the other")


def checkpoint_hits(workspace: Path, copy: Path, checkpoint: str, k: int) -> pd.DataFrame:
    run = load_run(workspace, checkpoint, "validation", samples_from=copy)
    rows = run.codebook.sids.item_ids
    return validation_hits(copy, [[rows[r] for r in d.rows] for d in run.search(DecodingConfig(returns=k))], k)


def baseline_hits(copy: Path, method: str, k: int) -> pd.DataFrame:
    return validation_hits(copy, rank_baseline(copy, method, read_samples(copy, "validation"), k), k)


def validation_hits(copy: Path, rankings: list[list[str]], k: int) -> pd.DataFrame:
    """Each validation sample's user and FHR@K, scored as every method is (`evaluation/scoring.sample_metrics`)."""
    return sample_metrics(read_samples(copy, "validation"), rankings, set(), k)[["user_id", "fhr"]]


def summary(hits: pd.DataFrame) -> dict:
    per_user = hits.groupby("user_id")["fhr"].mean()
    return {"samples": len(hits), "users": len(per_user), "fhr": round(float(hits["fhr"].mean()), 4),
            "fhr_per_user": round(float(per_user.mean()), 4),
            "se_per_user": round(float(per_user.std(ddof=1) / np.sqrt(len(per_user))), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--anchors", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()
    if not artifacts_dir(args.workspace).exists():
        raise SystemExit(f"{args.workspace} has no trained checkpoints")
    with tempfile.TemporaryDirectory() as folder:
        for anchors in args.anchors:
            copy = copy_with_anchors(args.workspace, Path(folder), anchors)
            require_same_training(args.workspace, copy)
            print(f"\nvalidation anchors {anchors}")
            for method in BASELINES:
                print(method, summary(baseline_hits(copy, method, args.k)), flush=True)
            for checkpoint in args.checkpoints:
                print(checkpoint, summary(checkpoint_hits(args.workspace, copy, checkpoint, args.k)), flush=True)


if __name__ == "__main__":
    main()
