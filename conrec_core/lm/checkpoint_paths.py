"""Where a workspace's checkpoints live, and reading one's record: no torch, so the CLI can refuse a missing
checkpoint at once (lm/checkpoints.py loads and saves the weights)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..data.workspace import artifacts_dir, check_name, pid_alive
from ..errors import ConrecError

TRAINING_FILE = "training.json"


def checkpoints_dir(workspace) -> Path:
    return artifacts_dir(workspace) / "checkpoints"


def checkpoint_dir(workspace, name: str) -> Path:
    return checkpoints_dir(workspace) / check_name(name, "checkpoint")


def read_training(folder: Path) -> dict:
    path = folder / TRAINING_FILE
    if not path.is_file() and settle(folder.parent):
        pass  # an interrupted save may just have been finished
    if not path.is_file():
        raise ConrecError(f"{folder} is not a conrec checkpoint (no {TRAINING_FILE})")
    return json.loads(path.read_text())


def settle(parent: Path) -> list[str]:
    """Finish or undo checkpoint saves that a killed process left in `parent`; return what was done.

    A save killed between its two renames left no checkpoint folder but a complete `.NAME.new-PID` (its record
    is written last): that becomes the checkpoint. Any other leftover of a process that is gone is removed."""
    done = []
    if not parent.is_dir():
        return done
    for leftover in sorted(parent.glob(".*.new-*")) + sorted(parent.glob(".*.old-*")):
        name, _, pid = leftover.name[1:].rpartition("-")
        name, role = name.rsplit(".", 1)
        if not pid.isdigit() or pid_alive(int(pid)) or not leftover.exists():
            continue
        target = parent / name
        if not target.exists() and (leftover / TRAINING_FILE).is_file():
            leftover.rename(target)
            done.append(f"checkpoint {name!r}: finished an interrupted save")
        else:
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(f"checkpoint {name!r}: removed {leftover.name}, left by a save that was killed")
    return done


def checkpoint_names(workspace) -> list[str]:
    """The names of the workspace's finished or resumable checkpoints, after settling interrupted saves."""
    folder = checkpoints_dir(workspace)
    if not folder.is_dir():
        return []
    settle(folder)
    return sorted(child.name for child in folder.iterdir() if (child / TRAINING_FILE).is_file())


def require_checkpoint(workspace, name: str) -> dict:
    """The record of checkpoint `name`, or an error naming the workspace's checkpoints (a mistyped name)."""
    try:
        return read_training(checkpoint_dir(workspace, name))
    except ConrecError:
        names = checkpoint_names(workspace)
        raise ConrecError(f"no checkpoint {name!r} in {workspace}; "
                          + (f"its checkpoints: {', '.join(names)}" if names else "it has none yet (run sft)")) \
            from None


def fitted_on(training: dict) -> tuple[str | None, str | None]:
    """The samples and codebook fingerprints a checkpoint's training record names."""
    return training.get("samples_fingerprint"), training.get("fingerprint")


def trained_with(training: dict, settings: dict) -> bool:
    """Whether a training record holds exactly `settings` (record key -> a `Settings` instance).

    >>> from conrec_core.lm.config import SFTConfig
    >>> trained_with({"sft": SFTConfig(steps=5).to_dict()}, {"sft": SFTConfig(steps=5)})
    True
    >>> trained_with({"sft": SFTConfig(steps=5).to_dict()}, {"sft": SFTConfig(steps=6)})
    False
    """
    return all(key in training and type(value).from_dict(training[key]) == value for key, value in settings.items())


def finished_as_configured(training: dict, settings: dict, fitted: tuple[str, str], warmup: str | None = None
                           ) -> bool:
    """The one resume rule: a checkpoint whose record says it finished, fitted on `fitted` (samples and codebook
    fingerprints), from warm-up `warmup` (GRPO) and with exactly `settings` is kept instead of trained again."""
    return (bool(training.get("finished")) and (warmup is None or training.get("warmup") == warmup)
            and fitted_on(training) == fitted and trained_with(training, settings))
