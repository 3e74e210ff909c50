"""The functions jobs run: fn(workspace, params, progress) -> JSON-able result."""

from __future__ import annotations

import time

from ..errors import ConrecError

from ..semantic_ids.codebook_config import CodebookConfig
from ..lm.decoding_config import DecodingConfig
from ..rl.grpo_config import GRPOConfig
from ..lm.config import BackboneConfig, SFTConfig


def codebook(workspace: str, params: dict, progress) -> dict:
    from ..semantic_ids.codebook import build_codebook  # torch and friends load in the worker only

    config = CodebookConfig.from_dict(params.get("config", {}))
    result = build_codebook(workspace, params.get("name", "default"), config,
                            compute_map=params.get("compute_map", True), on_progress=progress)
    return {"name": result.name, "fingerprint": result.fingerprint, "report": result.report.to_dict(),
            "parts": result.parts}


def sft(workspace: str, params: dict, progress) -> dict:
    from ..lm.sft import train_sft

    result = train_sft(workspace, params.get("name", "sft"), BackboneConfig.from_dict(params.get("backbone", {})),
                       SFTConfig.from_dict(params.get("config", {})), params.get("codebook", "default"),
                       resume=params.get("resume", True), on_progress=progress)
    return {"checkpoint": result.folder.name, "step": result.step, "summary": result.summary}


def grpo(workspace: str, params: dict, progress) -> dict:
    from ..rl.grpo import train_grpo

    result = train_grpo(workspace, params.get("name", "grpo"), params["warmup"],
                        GRPOConfig.from_dict(params.get("config", {})),
                        load_in_4bit=params.get("load_in_4bit", False), on_progress=progress)
    return {"checkpoint": result.folder.name, "summary": result.summary}


def predict(workspace: str, params: dict, progress) -> dict:
    from ..lm.predict import predict as run_predictions

    run = run_predictions(workspace, params["checkpoint"], split=params.get("split", "test"),
                          users=params.get("users"), config=DecodingConfig.from_dict(params.get("decoding", {})),
                          load_in_4bit=params.get("load_in_4bit", False), on_progress=progress)
    return run.to_dict()


def sleep(workspace: str, params: dict, progress) -> dict:
    """A job that only waits and reports progress: what the runner's own tests drive."""
    steps = int(params.get("steps", 10))
    for step in range(steps):
        progress(step / steps, f"step {step + 1} of {steps}")
        time.sleep(float(params.get("seconds", 0.1)))
    if params.get("fail"):
        raise ConrecError("asked to fail")
    progress(1.0, "finished")
    return {"steps": steps}
