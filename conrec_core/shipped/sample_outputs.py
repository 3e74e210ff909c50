"""Pipeline outputs shipped beside a sample dataset, so the app has content on first open.

    sample_data/outputs/<dataset>/
        manifest.json           dataset fingerprint, codebook fingerprint, checkpoints, the regenerate command,
                                and the SHA-256 of every file below
        codebooks/default/      the RQ-VAE weights (safetensors) and its config
        checkpoints/<name>/     the tiny model's SFT and final GRPO checkpoints (safetensors; no optimiser state)
        tables/*.parquet        codebooks, item_sids, item_map, predictions, sample_metrics
        run/                    the pipeline run's report (report.json, .md, .html, figures, per-sample metrics and
                                its run.json), so the Pipeline page shows it

`ship_outputs` writes the folder from a workspace the pipeline has run on; `restore_outputs` copies it into a
freshly imported workspace, only when the manifest was made from exactly the dataset files shipped now.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import ConrecError
from ..data.workspace import artifacts_dir, check_name, file_digest, open_workspace, write_meta

MANIFEST = "manifest.json"
RUN_FOLDER = "run"
RUN_FILES = ("run.json", "report.json", "report.md", "report.html", "sample_metrics.parquet")
CODEBOOK = "default"
# table -> the column naming what a row belongs to (rows of other codebooks or checkpoints are left out)
SHIPPED_TABLES = {"codebooks": "name", "item_sids": "codebook", "item_map": "codebook", "predictions": "checkpoint",
                  "sample_metrics": None}
SKIPPED_FILES = ("state.safetensors", "state.json")  # resumable training state: large, not needed to use a model


def folder_digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): file_digest(p)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}


def ship_outputs(workspace, out: Path, dataset: str, source_fingerprint: str, checkpoints: list[str],
                 command: str, prediction_sets: tuple[str, ...] = (), run: Path | None = None) -> dict:
    """Write the default codebook, the checkpoints, their predictions and those of `prediction_sets` (fused sets
    without a checkpoint of their own), every per-sample metric and the pipeline run's folder `run` to `out`."""
    from ..semantic_ids.store import load_codebook
    from ..lm.checkpoints import checkpoint_dir, read_training

    codebook = load_codebook(workspace, CODEBOOK)
    for name in checkpoints:
        if read_training(checkpoint_dir(workspace, name)).get("fingerprint") != codebook.fingerprint:
            raise ConrecError(f"checkpoint {name!r} was not trained with the workspace's default codebook")
    staging = out.with_name(out.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "tables").mkdir(parents=True)
    shutil.copytree(codebook.directory, staging / "codebooks" / CODEBOOK)
    for name in checkpoints:
        shutil.copytree(checkpoint_dir(workspace, name), staging / "checkpoints" / name,
                        ignore=shutil.ignore_patterns(*SKIPPED_FILES))
    with open_workspace(workspace) as con:
        for table, owner in SHIPPED_TABLES.items():
            if owner is None:
                frame = con.execute(f"SELECT * FROM {table}").df()
            elif table == "predictions":
                frame = con.execute("SELECT * FROM predictions WHERE list_contains(?, checkpoint)",
                                    [checkpoints + list(prediction_sets)]).df()
            else:
                frame = con.execute(f"SELECT * FROM {table} WHERE {owner} = ?", [CODEBOOK]).df()
            frame.to_parquet(staging / "tables" / f"{table}.parquet", index=False)
    if run is not None:
        copy_run(run, staging / RUN_FOLDER)
    manifest = {"dataset": dataset, "source_fingerprint": source_fingerprint, "codebook": CODEBOOK,
                "codebook_fingerprint": codebook.fingerprint, "checkpoints": checkpoints,
                "prediction_sets": list(prediction_sets), "command": command,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "files": folder_digests(staging)}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return manifest


def copy_run(run: Path, target: Path) -> None:
    """A finished pipeline run's report files and figures (nothing else it may hold) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(run).iterdir()):
        if path.name in RUN_FILES or path.suffix == ".png":
            shutil.copy2(path, target / path.name)


def read_manifest(folder: Path) -> dict | None:
    """The manifest when every file it lists is there with its recorded digest; None otherwise."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
    except (ValueError, KeyError, TypeError):
        return None
    if folder_digests(folder) != files:
        return None
    return manifest


def restore_outputs(workspace, folder: Path, source_fingerprint: str) -> dict | None:
    """Copy shipped outputs into a freshly imported workspace; None (nothing copied) when there are none, when
    a file differs from its manifest, or when they were made from other dataset files."""
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("source_fingerprint") != source_fingerprint:
        return None
    from ..semantic_ids.store import codebook_dir, load_codebook

    codebook = codebook_dir(workspace, CODEBOOK)
    shutil.rmtree(codebook, ignore_errors=True)
    shutil.copytree(folder / "codebooks" / CODEBOOK, codebook)
    for name in manifest["checkpoints"]:
        target = artifacts_dir(workspace) / "checkpoints" / check_name(name, "checkpoint")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder / "checkpoints" / name, target)
    with open_workspace(workspace, read_only=False) as con:
        con.execute("BEGIN TRANSACTION")
        for table in SHIPPED_TABLES:
            frame = pd.read_parquet(folder / "tables" / f"{table}.parquet")
            con.register("shipped", frame)
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM shipped")
            con.unregister("shipped")
        write_meta(con, "shipped_outputs", {"created_at": manifest["created_at"],
                                            "checkpoints": manifest["checkpoints"]})
        con.execute("COMMIT")
    load_codebook(workspace, CODEBOOK)  # the fingerprint check: weights, items and SIDs agree
    restore_run(workspace, folder / RUN_FOLDER)
    return manifest


def restore_run(workspace, shipped: Path) -> None:
    """The shipped run into the workspace's run store, under its own settings and seed (read from its record,
    never from a path), so the Pipeline page lists it."""
    from ..experiment.runs import RUN_NAME, runs_dir, seed_folder

    try:
        record = json.loads((shipped / "run.json").read_text())
    except (OSError, ValueError):
        return
    match = RUN_NAME.match(str(record.get("name", "")))
    if not match or record.get("finished_at") is None:
        return
    copy_run(shipped, seed_folder(runs_dir(workspace) / match[1], int(match[2])))
