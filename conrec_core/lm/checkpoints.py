"""SID language-model checkpoints: one folder each, safetensors only, tied to the codebook they were made with.

    <workspace>.files/checkpoints/<name>/
        training.json       stage, backbone and training config, codebook name and fingerprint, step, summary
        metrics.jsonl       one line per step (loss, lr, seconds) and per evaluation
        config.json + model.safetensors            full training (the tiny model), or
        adapter_config.json + adapter_model.safetensors   LoRA on a pretrained backbone (SID rows included)
        tokenizer.json ...  the tokenizer with the SID tokens
        state.safetensors + state.json             optimiser moments and RNG, for resuming

A save writes a whole new folder and swaps it in (`save_weights`), so no reader ever sees half a checkpoint.

Checkpoints stay in full precision; 4-bit is a choice made at load time.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .backbones import Backbone, base_source, default_device, load_pretrained, load_tokenizer, refuse_unsafe_files
from ..semantic_ids.store import Codebook, require_fingerprint
from ..errors import ConrecError
from .config import BackboneConfig
from ..data.workspace import file_digest
# the paths and records live in checkpoint_paths (no torch); callers of the weights find them here too
from .checkpoint_paths import (TRAINING_FILE, checkpoint_dir, checkpoint_names, checkpoints_dir, read_training,
                               settle)

METRICS_FILE = "metrics.jsonl"
WEIGHT_FILES = ("model.safetensors", "adapter_model.safetensors")  # whichever the stage wrote
STATE_FILE, STATE_META = "state.safetensors", "state.json"
CARRIED = "carried."  # the resume state's keys for a training loop's own tensors (optimiser keys are "<index>.")


@dataclass
class CheckpointInfo:
    name: str
    folder: Path
    training: dict

    @property
    def stage(self) -> str:
        return self.training.get("stage", "?")

    @property
    def fingerprint(self) -> str:
        return self.training.get("fingerprint", "")


def list_checkpoints(workspace) -> list[CheckpointInfo]:
    folder = checkpoints_dir(workspace)
    return [CheckpointInfo(name, folder / name, read_training(folder / name)) for name in checkpoint_names(workspace)]


def read_metrics(folder: Path) -> list[dict]:
    """The metric records, oldest first; a line a killed run left half-written is skipped (a resume rewrites
    the file without it, `keep_metrics`)."""
    path = folder / METRICS_FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def append_metrics(folder: Path, record: dict) -> None:
    with open(folder / METRICS_FILE, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def keep_metrics(folder: Path, last_step: int) -> None:
    """Drop metric lines past `last_step`: a resumed run redoes the steps after its last saved state."""
    kept = [r for r in read_metrics(folder) if r.get("step", 0) <= last_step]
    path = folder / METRICS_FILE
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    temporary.write_text("".join(json.dumps(r) + "\n" for r in kept))
    os.replace(temporary, path)


def write_json(path: Path, data: dict) -> None:
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    temporary.write_text(json.dumps(data, indent=2, default=str))
    os.replace(temporary, path)


def weights_problem(folder: Path, training: dict) -> str | None:
    """Why the checkpoint's weight files are not the ones its record was saved with; None when they are (or the
    record predates digests)."""
    for name, expected in training.get("weights_sha256", {}).items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if file_digest(path) != expected:
            return f"{name} is not the file this checkpoint was saved with (changed or truncated)"
    return None


def save_weights(folder: Path, backbone: Backbone, training: dict,
                 optimizer: torch.optim.Optimizer | None = None, carried: dict[str, torch.Tensor] | None = None
                 ) -> None:
    """Weights, tokenizer, training record and (with `optimizer`) the state to resume from, as one unit; the
    resume state also holds `carried`, tensors the training loop keeps besides the optimiser's (a weight
    average), which `load_carried` reads back.

    Everything is written to a folder beside the checkpoint that then replaces it by two renames, so a kill
    at any moment leaves either the old checkpoint or the new one, whole (`settle` finishes an interrupted
    swap). The metric log carries over; resume state carries over only when it is of the same step."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = _sibling(folder, "new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        backbone.model.save_pretrained(str(staging), safe_serialization=True)
        backbone.tokenizer.save_pretrained(str(staging))
        if optimizer is not None:
            _write_training_state(staging, optimizer, int(training.get("step", 0)), carried or {})
        elif _state_step(folder) == training.get("step"):
            for kept in (STATE_FILE, STATE_META):
                shutil.copy2(folder / kept, staging / kept)
        if (folder / METRICS_FILE).is_file():
            shutil.copy2(folder / METRICS_FILE, staging / METRICS_FILE)
        digests = {f: file_digest(staging / f) for f in WEIGHT_FILES if (staging / f).is_file()}
        write_json(staging / TRAINING_FILE, {**training, "weights_sha256": digests})
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = _sibling(folder, "old")
    folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)


def _sibling(folder: Path, role: str, pid: int | None = None) -> Path:
    return folder.with_name(f".{folder.name}.{role}-{pid or os.getpid()}")


def _state_step(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / STATE_META).read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_training_state(folder: Path, optimizer: torch.optim.Optimizer, step: int,
                          carried: dict[str, torch.Tensor]) -> None:
    state = optimizer.state_dict()
    tensors = {f"{index}.{key}": value.detach().cpu().contiguous()
               for index, values in state["state"].items() for key, value in values.items()
               if isinstance(value, torch.Tensor)}
    tensors.update({f"{CARRIED}{name}": value.detach().cpu().contiguous() for name, value in carried.items()})
    tensors["rng"] = torch.get_rng_state()
    save_file(tensors, str(folder / STATE_FILE))
    write_json(folder / STATE_META, {"step": step, "param_groups": state["param_groups"]})


def load_training_state(folder: Path, optimizer: torch.optim.Optimizer) -> int:
    """Restore the optimiser and RNG; return the step to continue from (0 when there is no state)."""
    if not (folder / STATE_FILE).is_file() or not (folder / STATE_META).is_file():
        return 0
    meta = json.loads((folder / STATE_META).read_text())
    tensors = load_file(str(folder / STATE_FILE))
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key == "rng" or key.startswith(CARRIED):
            continue
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors["rng"])
    return int(meta["step"])


def load_carried(folder: Path) -> dict[str, torch.Tensor]:
    """The tensors `save_weights` carried in the resume state (none where there is no state, or it has none)."""
    if not (folder / STATE_FILE).is_file():
        return {}
    tensors = load_file(str(folder / STATE_FILE))
    return {key[len(CARRIED):]: value for key, value in tensors.items() if key.startswith(CARRIED)}


def load_checkpoint(folder: Path, *, codebook: Codebook | None = None, load_in_4bit: bool = False,
                    device: torch.device | None = None, trainable: bool = False) -> tuple[Backbone, dict]:
    """The model and tokenizer of a checkpoint, optionally quantised to NF4, checked against `codebook`."""
    folder = Path(folder)
    training = read_training(folder)
    refuse_unsafe_files(folder)
    if codebook is not None:
        require_fingerprint(codebook, training.get("fingerprint", ""), f"checkpoint {folder.name!r}")
    device = device or default_device()
    backbone_config = BackboneConfig.from_dict(training["backbone"])
    tokenizer = load_tokenizer(folder)
    if training.get("mode") == "lora":
        from peft import PeftModel

        source, gguf = base_source(backbone_config)
        base = load_pretrained(source, gguf_file=gguf, load_in_4bit=load_in_4bit, device=device)
        if base.get_input_embeddings().num_embeddings != len(tokenizer):
            base.resize_token_embeddings(len(tokenizer), mean_resizing=False)  # rows come from the adapter
        model = PeftModel.from_pretrained(base, str(folder), is_trainable=trainable)
    else:
        if not (folder / "model.safetensors").is_file():
            raise ConrecError(f"{folder} has no model.safetensors")
        model = load_pretrained(folder, gguf_file=None, load_in_4bit=load_in_4bit, device=device)
    if not trainable:
        model.eval()
    loaded = BackboneConfig.from_dict({**training["backbone"], "load_in_4bit": load_in_4bit})
    return Backbone(model, tokenizer, loaded), training
