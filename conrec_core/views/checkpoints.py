"""The checkpoint table and training curves the Checkpoints pages show."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..evaluation.method_labels import method_role
from ..lm.checkpoints import CheckpointInfo, list_checkpoints, read_metrics
from ..semantic_ids.store import list_codebooks

GRPO_FIGURES = {"reward_mean": "reward (mean)", "reward_std": "reward (std)", "kl": "KL to the warm-up model",
                "clip_fraction": "clipped share of tokens", "invalid_rate": "invalid SIDs"}


def codebook_fingerprints(workspace) -> dict[str, str]:
    """The workspace's codebook names and their fingerprints."""
    return {book["name"]: book["fingerprint"] for book in list_codebooks(workspace)}


def fingerprint_status(info: CheckpointInfo, codebooks: dict[str, str]) -> str:
    """Whether a checkpoint still speaks its codebook's SIDs: 'matches', 'codebook missing' or a mismatch."""
    current = codebooks.get(info.training.get("codebook", ""))
    if current is None:
        return "codebook missing"
    return "matches" if current == info.fingerprint else "codebook retrained: mismatch"


def checkpoint_table(workspace, codebooks: dict[str, str]) -> tuple[list[CheckpointInfo], pd.DataFrame]:
    """Checkpoints and one row of figures each; `codebooks` maps codebook names to fingerprints."""
    infos = list_checkpoints(workspace)
    rows = []
    for info in infos:
        training = info.training
        summary = training.get("summary", {})
        validation = summary.get("validation", {})
        rows.append({
            "checkpoint": info.name, "what it is": method_role(info.name) or "", "stage": info.stage, "backbone": training["backbone"]["name"],
            "mode": training.get("mode"), "steps": training.get("step"),
            "finished": training.get("finished", False),
            "parameters": training.get("parameters"), "trainable": training.get("trainable_parameters"),
            "alignment accuracy (validation)": validation.get("alignment_accuracy"),
            "next-negative loss (validation)": (validation.get("loss") or {}).get("next_negative"),
            "FHR@K (validation)": validation.get("fhr"), "K": validation.get("k"),
            "warm-up": training.get("warmup"),
            "codebook": training.get("codebook"), "fingerprint": info.fingerprint[:12],
            "fingerprint status": fingerprint_status(info, codebooks),
        })
    return infos, pd.DataFrame(rows)


def sft_curves(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training loss per step and task, held-out figures per evaluation) of an SFT checkpoint."""
    records = read_metrics(folder)
    steps = [{"step": r["step"], "task": task, "loss": loss}
             for r in records for task, loss in {"all": r["loss"], **r.get("task_loss", {})}.items()]
    evaluations = [{"step": r["step"], "figure": f"validation loss: {task}", "value": value}
                   for r in records if "validation" in r for task, value in r["validation"]["loss"].items()]
    evaluations += [{"step": r["step"], "figure": "alignment accuracy", "value": r["validation"]["alignment_accuracy"]}
                    for r in records if r.get("validation", {}).get("alignment_accuracy") is not None]
    return pd.DataFrame(steps), pd.DataFrame(evaluations)


def grpo_curves(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-step figures in long form, with the stage; validation FHR@K and HR@K per evaluation)."""
    records = read_metrics(folder)
    steps = [{"step": r["step"], "stage": f"stage {r['stage']}: {r['prompt']}", "figure": label, "value": r[key]}
             for r in records if "reward_mean" in r for key, label in GRPO_FIGURES.items() if key in r]
    evaluations = [{"step": r["step"], "stage": "warm-up" if r["stage"] == 0 else f"stage {r['stage']}: {r['prompt']}",
                    "event": r["event"], f"FHR@{r['validation']['k']}": r["validation"]["fhr"],
                    f"HR@{r['validation']['k']}": r["validation"]["hr"]}
                   for r in records if "validation" in r and "event" in r]
    return pd.DataFrame(steps), pd.DataFrame(evaluations)
