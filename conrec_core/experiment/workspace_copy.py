"""A benchmark's own copy of a workspace, so runs compared against each other start from the same state and
never write into the original."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_with_codebooks(source: Path, folder: Path, *, checkpoints: bool = False) -> Path:
    """`source` copied into the new folder `folder`, with its codebooks (candidate line-ups and SID models read
    them) and, with `checkpoints`, its trained SID models (a pipeline run on the copy keeps those finished with its
    settings); returns the copy's path."""
    from conrec_core.data.workspace import artifacts_dir

    folder.mkdir(parents=True)
    workspace = folder / Path(source).name
    shutil.copy(source, workspace)
    for part in ("codebooks", "checkpoints") if checkpoints else ("codebooks",):
        if (artifacts_dir(source) / part).is_dir():
            shutil.copytree(artifacts_dir(source) / part, artifacts_dir(workspace) / part)
    return workspace
