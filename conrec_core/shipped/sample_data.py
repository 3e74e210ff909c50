"""The datasets shipped in sample_data/, and their workspaces, built on first use."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..data.importer import import_source
from .sample_outputs import MANIFEST, file_digest
from ..data.workspace import connect, open_workspace, read_meta, write_meta
from ..errors import WorkspaceBusy, WorkspaceError
from .sample_catalogue import DEFAULT_SAMPLE, REPO_ROOT, SAMPLE_DATA, SAMPLES  # noqa: F401 (re-exported for the app)

SAMPLE_OUTPUTS = SAMPLE_DATA / "outputs"
WORKSPACES_ENV = "CONREC_WORKSPACES"  # where workspaces live; defaults to <repo>/workspaces


def workspaces_dir() -> Path:
    return Path(os.environ.get(WORKSPACES_ENV) or REPO_ROOT / "workspaces")


def sample_workspace(name: str, directory: Path | None = None) -> Path:
    """Path of the sample's workspace, importing it first when missing or built from other source files."""
    if name not in SAMPLES:
        raise WorkspaceError(f"unknown sample dataset {name!r}; known: {', '.join(SAMPLES)}")
    sample = SAMPLES[name]
    path = (directory or workspaces_dir()) / f"{name}.duckdb"
    fingerprint = source_fingerprint(sample.folder)
    outputs = outputs_dir(name)
    manifest = outputs / MANIFEST
    outputs_stamp = file_digest(manifest) if manifest.is_file() else None
    if path.is_file():
        try:
            con = connect(path)
            built_from = read_meta(con, "source_fingerprint"), read_meta(con, "outputs_manifest")
            con.close()
            if built_from == (fingerprint, outputs_stamp):
                return path
        except WorkspaceBusy:
            raise  # in use (a job writes to it): never delete a file another process holds
        except WorkspaceError:
            path.unlink()  # our own cache file, old or broken: build it again
    import_source(sample.source, path, mapping=sample.mapping)
    from .sample_outputs import restore_outputs
    from ..rl.swing import build_swing

    if restore_outputs(path, outputs, fingerprint) is not None:
        with open_workspace(path, read_only=False) as con:
            build_swing(con)
    con = connect(path, read_only=False)
    write_meta(con, "source_fingerprint", fingerprint)
    write_meta(con, "outputs_manifest", outputs_stamp)
    con.close()
    return path


def outputs_dir(name: str) -> Path:
    """Where the pipeline outputs shipped with sample dataset `name` live."""
    return SAMPLE_OUTPUTS / name


def source_fingerprint(folder: Path) -> str:
    """Hash of every file's name and content in the folder: a changed sample rebuilds its workspace."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ship_sample_outputs(name: str, path: Path, names, command: str, run: Path | None = None) -> Path:
    """Ship the pipeline's outputs (`names`: its MethodNames) from the sample's workspace at `path` beside the
    sample; the workspace is marked as holding them, so the app does not import the sample again."""
    from .sample_outputs import ship_outputs

    out = outputs_dir(name)
    ship_outputs(path, out, name, source_fingerprint(SAMPLES[name].folder), names.sft_members + names.grpo_members,
                 command, prediction_sets=tuple(names.fusions), run=run)
    con = connect(path, read_only=False)
    write_meta(con, "outputs_manifest", file_digest(out / MANIFEST))
    con.close()
    return out
