"""Codebooks on disk and in the workspace: weights in safetensors, SIDs and map in tables, a fingerprint.

The fingerprint hashes the weights, the item set and the SIDs. Every later stage records the fingerprint
of the codebook it was trained with and refuses to run against another one (`require_fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.torch import load_file, save_file

from .codebook_config import CodebookConfig
from ..errors import ConrecError
from .rqvae import RQVAE
from .sids import SemanticIds
from ..data.samples import require_samples
from ..data.workspace import RESULT_LOCK_TIMEOUT, artifacts_dir, check_name, open_workspace

WEIGHTS_FILE, CONFIG_FILE = "model.safetensors", "codebook.json"
class CodebookMismatch(ConrecError):
    """A stage was asked to use a codebook other than the one it was built with."""


@dataclass
class Codebook:
    name: str
    config: CodebookConfig
    fingerprint: str
    sids: SemanticIds
    vectors: np.ndarray  # (items, latent_dim) SID vectors, rows in sids.item_ids order
    report: dict
    directory: Path

    def unit_vectors(self) -> np.ndarray:
        """SID vectors scaled to unit length (float64), so a dot product is a cosine (rewards, filter, line-ups)."""
        vectors = self.vectors.astype(np.float64)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def load_model(self) -> RQVAE:
        """The RQ-VAE itself (only needed to decode or to map new codes to vectors)."""
        meta = json.loads((self.directory / CONFIG_FILE).read_text())
        model = RQVAE(meta["input_dim"], self.config)
        model.load_state_dict(load_file(str(self.directory / WEIGHTS_FILE)))
        return model.eval()


def codebook_dir(workspace: Path | str, name: str) -> Path:
    return artifacts_dir(workspace) / "codebooks" / check_name(name, "codebook")


def fingerprint(weights_file: Path, item_ids: list[str], sids: list[str]) -> str:
    digest = hashlib.sha256(weights_file.read_bytes())
    digest.update("\n".join(item_ids).encode())
    digest.update("\n".join(sids).encode())
    return digest.hexdigest()


def save_codebook(workspace: Path | str, name: str, model: RQVAE, config: CodebookConfig, sids: SemanticIds,
                  vectors: np.ndarray, reconstruction_cosine: np.ndarray, report: dict,
                  map_xy: np.ndarray | None) -> str:
    """Write weights and config, then the SIDs, vectors and map into the workspace; return the fingerprint.

    The files go to a folder beside the codebook's and replace it only after the workspace's transaction has
    committed: a failed write (a lock time-out, a kill) leaves the old codebook whole, files and tables."""
    directory = codebook_dir(workspace, name)
    staging = directory.with_name(f".{directory.name}.new-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        stamp = _write_files(staging, name, model, config, sids, report)
        _write_tables(workspace, name, stamp, config, sids, vectors, reconstruction_cosine, report, map_xy)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = directory.with_name(f".{directory.name}.old-{os.getpid()}")
    if directory.exists():
        directory.rename(retired)
    staging.rename(directory)
    shutil.rmtree(retired, ignore_errors=True)
    return stamp


def _write_files(folder: Path, name: str, model: RQVAE, config: CodebookConfig, sids: SemanticIds,
                 report: dict) -> str:
    weights = folder / WEIGHTS_FILE
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(weights))
    stamp = fingerprint(weights, sids.item_ids, sids.sids)
    (folder / CONFIG_FILE).write_text(json.dumps({
        "name": name, "fingerprint": stamp, "input_dim": model.input_dim, "config": config.to_dict(),
        "report": report}, indent=2))
    return stamp


def _write_tables(workspace, name: str, stamp: str, config: CodebookConfig, sids: SemanticIds, vectors: np.ndarray,
                  reconstruction_cosine: np.ndarray, report: dict, map_xy: np.ndarray | None) -> None:
    with open_workspace(workspace, read_only=False, lock_timeout=RESULT_LOCK_TIMEOUT) as con:
        con.execute("BEGIN TRANSACTION")
        current = [i for (i,) in con.execute("SELECT item_id FROM items ORDER BY item_id").fetchall()]
        if current != sorted(sids.item_ids):  # imported again while the codebook trained: its SIDs fit no item set
            con.execute("ROLLBACK")
            raise ConrecError(f"codebook {name!r}: the workspace changed while it trained (its items are not the ones "
                              "encoded; was the data imported again?); nothing was saved: train it again")
        for table, key in (("codebooks", "name"), ("item_sids", "codebook"), ("item_map", "codebook")):
            con.execute(f"DELETE FROM {table} WHERE {key} = ?", [name])
        con.execute("INSERT INTO codebooks VALUES (?, ?, ?, ?, ?, ?)",
                    [name, stamp, datetime.now(timezone.utc).replace(tzinfo=None), len(sids.item_ids),
                     json.dumps(config.to_dict()), json.dumps(report)])
        frame = {"codebook": [name] * len(sids.item_ids), "item_id": sids.item_ids,
                 "codes": [list(c) for c in sids.codes], "sid": sids.sids,
                 "vector": [v.tolist() for v in vectors.astype(np.float32)],
                 "reconstruction_cosine": reconstruction_cosine.astype(np.float32)}
        con.register("new_sids", pd.DataFrame(frame))
        con.execute("INSERT INTO item_sids SELECT codebook, item_id, CAST(codes AS INTEGER[]), sid, "
                    "CAST(vector AS FLOAT[]), reconstruction_cosine FROM new_sids")
        if map_xy is not None:
            con.register("new_points", pd.DataFrame({"codebook": name, "item_id": sids.item_ids,
                                                     "x": map_xy[:, 0], "y": map_xy[:, 1]}))
            con.execute("INSERT INTO item_map SELECT codebook, item_id, x, y FROM new_points")
        con.execute("COMMIT")


def list_codebooks(workspace: Path | str) -> list[dict]:
    with open_workspace(workspace) as con:
        rows = con.execute("SELECT name, fingerprint, created_at, items, report FROM codebooks "
                           "ORDER BY created_at DESC").fetchall()
    return [{"name": n, "fingerprint": f, "created_at": c, "items": i, "report": json.loads(r)}
            for n, f, c, i, r in rows]


def save_map(workspace: Path | str, name: str, item_ids: list[str], map_xy: np.ndarray) -> None:
    """Replace codebook `name`'s item map (a codebook trained without one gets one later)."""
    with open_workspace(workspace, read_only=False, lock_timeout=RESULT_LOCK_TIMEOUT) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM item_map WHERE codebook = ?", [name])
        con.register("new_points", pd.DataFrame({"codebook": name, "item_id": item_ids,
                                                 "x": map_xy[:, 0], "y": map_xy[:, 1]}))
        con.execute("INSERT INTO item_map SELECT codebook, item_id, x, y FROM new_points")
        con.execute("COMMIT")


def load_codebook(workspace: Path | str, name: str = "default") -> Codebook:
    """Load a codebook, checking that its files are the ones the workspace's SIDs were made with."""
    directory = codebook_dir(workspace, name)
    with open_workspace(workspace) as con:
        record = con.execute("SELECT fingerprint, config, report FROM codebooks WHERE name = ?",
                             [name]).fetchall()
        if not record:
            raise ConrecError(f"the workspace has no codebook named {name!r}; train one with "
                              f"`python -m conrec_core codebook --workspace {workspace}`")
        rows = con.execute("SELECT item_id, codes, vector FROM item_sids WHERE codebook = ? ORDER BY item_id",
                           [name]).fetchall()
        current_items = [i for (i,) in con.execute("SELECT item_id FROM items ORDER BY item_id").fetchall()]
    expected, config_json, report_json = record[0]
    config = CodebookConfig.from_dict(json.loads(config_json))
    sids = SemanticIds(item_ids=[r[0] for r in rows], codes=[tuple(r[1]) for r in rows], levels=config.levels)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise CodebookMismatch(f"codebook {name!r}: its weights are missing from {directory}; train it again")
    actual = fingerprint(weights, sids.item_ids, sids.sids)
    if actual != expected:
        raise CodebookMismatch(f"codebook {name!r}: the files in {directory} (fingerprint {actual[:12]}) are not "
                               f"the ones the workspace's SIDs came from ({expected[:12]}); train it again")
    if current_items != sids.item_ids:
        raise CodebookMismatch(f"codebook {name!r} was trained on another item set than the workspace holds "
                               "now (was the data imported again?); train it again")
    fitted_on = json.loads(report_json).get("samples_fingerprint")
    if fitted_on is not None:  # its collaborative vectors came from the training part of those samples
        require_samples(workspace, fitted_on, f"codebook {name!r} (its collaborative vectors)")
    return Codebook(name=name, config=config, fingerprint=expected, sids=sids,
                    vectors=np.array([r[2] for r in rows], dtype=np.float32), report=json.loads(report_json),
                    directory=directory)


def require_fingerprint(codebook: Codebook, expected: str, what: str) -> None:
    """Refuse to combine `what` (a checkpoint, a reward table, ...) with a codebook it was not made with."""
    if codebook.fingerprint != expected:
        raise CodebookMismatch(f"{what} was made with codebook fingerprint {expected[:12]}, but codebook "
                               f"{codebook.name!r} is {codebook.fingerprint[:12]}: SIDs would mean other items. "
                               "Use the matching codebook, or redo this stage on the current one.")

