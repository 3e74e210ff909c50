"""Slices of the evaluated samples (long-tail users and items, users without negative history, any metric
filter), their metric tables, and exports of a slice with a manifest."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..data.csv_export import csv_text
from ..errors import ConfigError, ConrecError
from .scoring import common_samples, summarise
from ..data.samples import read_sample_config
from ..lm.checkpoints import list_checkpoints
from ..data.workspace import artifacts_dir, check_name, file_digest, open_workspace, read_meta

SLICES = ("all samples", "long-tail users", "long-tail items", "no negative history")


def slice_definitions(workspace) -> dict[str, str]:
    """Each slice in words, with the thresholds the workspace's samples were built with."""
    rules = read_sample_config(workspace).definitions()
    return {"all samples": "every evaluated sample",
            "long-tail users": f"{rules['long-tail users']} (method §2)",
            "long-tail items": f"samples whose future window holds a long-tail item ({rules['long-tail items']}; "
                               "LIF's population)",
            "no negative history": "the anchor negative is the user's first: nothing to read from"}
FILTER_METRICS = ("hr", "fhr", "ndcg")
EXPORT_FORMATS = ("parquet", "csv")


def evaluated_samples(workspace, split: str = "test") -> pd.DataFrame:
    """Per-sample metrics of every method joined with what slices need from the samples."""
    with open_workspace(workspace) as con:
        return con.execute("""
            SELECT m.*, s.anchor_ts, s.next_negative, s.context_negative_count, s.context_positive_count,
                   len(s.future_negatives) AS future_negative_count
            FROM sample_metrics m JOIN samples s USING (sample_id)
            WHERE m.split = ? ORDER BY m.method, m.sample_id""", [split]).df()


def take_slice(frame: pd.DataFrame, name: str, metric_filter: tuple[str, float, float, str] | None = None
               ) -> pd.DataFrame:
    """The rows of a slice; `metric_filter` (metric, low, high, reference method) keeps the samples on which
    the reference method's value lies in [low, high], for every method, so all are compared on one set."""
    if name not in SLICES:
        raise ConfigError(f"unknown slice {name!r}; choose from {', '.join(SLICES)}")
    if name == "long-tail users":
        frame = frame[frame["long_tail_user"]]
    elif name == "long-tail items":
        frame = frame[frame["lif"].notna()]
    elif name == "no negative history":
        frame = frame[frame["context_negative_count"] == 0]
    if metric_filter is not None:
        metric, low, high, reference = metric_filter
        if metric not in FILTER_METRICS:
            raise ConfigError(f"filter metric must be one of {', '.join(FILTER_METRICS)}")
        if reference not in set(frame["method"]):
            raise ConfigError(f"the reference method {reference!r} has no scores in this slice")
        mine = frame[frame["method"] == reference]
        frame = frame[frame["sample_id"].isin(mine.loc[mine[metric].between(low, high), "sample_id"])]
    return frame


def slice_table(frame: pd.DataFrame, baselines: tuple[str, ...]) -> pd.DataFrame:
    """Metric means with intervals per method for the rows of a slice, on the samples every method scored."""
    return summarise(common_samples(frame), baselines) if not frame.empty else pd.DataFrame()


def exports_dir(workspace) -> Path:
    return artifacts_dir(workspace) / "exports"


def export_slice(workspace, name: str, rows: pd.DataFrame, fmt: str, *, split: str, slice_name: str,
                 metric_filter: tuple[str, float, float, str] | None, methods: list[str], table: pd.DataFrame,
                 overwrite: bool = False) -> tuple[Path, Path]:
    """Write a slice's rows and a JSON manifest (the slice, its filter, the methods with their checkpoints'
    fingerprints, the metric table, the thresholds) under the workspace's export folder; return both paths.

    The name is checked like any user-given file name, so nothing lands outside the export folder; an
    existing export of that name is replaced only with `overwrite`; both files are written to a temporary
    name and renamed, so a crash never leaves half a file under the export's name.
    """
    check_name(name, "export")
    if fmt not in EXPORT_FORMATS:
        raise ConrecError(f"export format must be one of {', '.join(EXPORT_FORMATS)}")
    if rows.empty:
        raise ConrecError("the slice is empty: nothing to export")
    folder = exports_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    data_path = folder / f"{name}.{fmt}"
    manifest_path = folder / f"{name}.manifest.json"
    for path in (data_path, manifest_path):
        if path.resolve().parent != folder.resolve():
            raise ConrecError(f"export name {name!r} would leave the export folder")
    if not overwrite and (data_path.exists() or manifest_path.exists()):
        raise ConrecError(f"an export named {name!r} exists already: choose another name, or replace it")
    staging = data_path.with_name(f".{data_path.name}.{os.getpid()}.tmp")
    if fmt == "parquet":
        rows.to_parquet(staging, index=False)
    else:
        staging.write_text(csv_text(rows))
    with open_workspace(workspace) as con:
        sample_config = read_meta(con, "sample_config", {})
        source = read_meta(con, "source", None)
    checkpoints = {info.name: {"fingerprint": info.fingerprint, "stage": info.stage,
                               "warmup": info.training.get("warmup")}
                   for info in list_checkpoints(workspace) if info.name in set(methods)}
    manifest = {"split": split, "slice": slice_name, "slice_definition": slice_definitions(workspace)[slice_name],
                "filter": dict(zip(("metric", "low", "high", "reference"), metric_filter)) if metric_filter else None,
                "methods": methods, "checkpoints": checkpoints, "metrics": table.to_dict("records")}
    full = {"dataset": {"workspace": Path(workspace).name, "source": source}, **manifest,
            "thresholds": {"long_tail_user_negatives": sample_config.get("long_tail_user_negatives"),
                           "long_tail_item_negatives": sample_config.get("long_tail_item_negatives"),
                           "window_days": sample_config.get("window_days")},
            "rows": len(rows), "file": data_path.name, "sha256": file_digest(staging),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    manifest_staging = manifest_path.with_name(f".{manifest_path.name}.{os.getpid()}.tmp")
    manifest_staging.write_text(json.dumps(full, indent=2, default=str))
    os.replace(staging, data_path)
    os.replace(manifest_staging, manifest_path)
    return data_path, manifest_path
