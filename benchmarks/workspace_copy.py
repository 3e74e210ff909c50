"""A benchmark's own copy of a workspace, so runs compared against each other start from the same state and
never write into the original."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_with_codebooks(source: Path, folder: Path) -> Path:
    """`source` copied into the new folder `folder`, with its codebooks (candidate line-ups and SID models read
    them); returns the copy's path."""
    from conrec_core.data.workspace import artifacts_dir

    folder.mkdir(parents=True)
    workspace = folder / Path(source).name
    shutil.copy(source, workspace)
    if (artifacts_dir(source) / "codebooks").is_dir():
        shutil.copytree(artifacts_dir(source) / "codebooks", artifacts_dir(workspace) / "codebooks")
    return workspace
