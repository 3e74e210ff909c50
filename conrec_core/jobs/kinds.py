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
    """Predictions of a checkpoint; with `choose_prior`, the popularity prior's weight is first chosen on the
    validation samples (the first half of the progress)."""
    from ..lm.predict import predict as run_predictions, predict_choosing_prior

    config = DecodingConfig.from_dict(params.get("decoding", {}))
    options = dict(split=params.get("split", "test"), users=params.get("users"),
                   load_in_4bit=params.get("load_in_4bit", False), on_progress=progress)
    if params.get("choose_prior"):
        run, choice = predict_choosing_prior(workspace, params["checkpoint"], config=config, **options)
        return {**run.to_dict(), "prior_weight": choice.weight, "prior_choice": choice.to_dict()}
    run = run_predictions(workspace, params["checkpoint"], config=config, **options)
    return {**run.to_dict(), "prior_weight": config.prior_weight, "prior_choice": None}


def import_log(workspace: str, params: dict, progress) -> dict:
    """Import `params["source"]` (a file with `params["mapping"]`, a mapping JSON path, or a MovieLens folder)
    into the job's workspace, which is replaced only if the import succeeds."""
    from ..data.importer import IMPORT_STEPS, import_source

    done = 0

    def step(name: str) -> None:
        nonlocal done
        progress(done / IMPORT_STEPS, name)
        done += 1

    report = import_source(params["source"], workspace, format=params.get("format", "auto"),
                           mapping=params.get("mapping"), on_step=step)
    return report.to_dict()


def pipeline(workspace: str, params: dict, progress) -> dict:
    """The one-command pipeline for each seed of `params["seeds"]` (default [0]) with the preset
    `params["preset"]` (and, where given, the codebook's co-occurrence vectors `params["collaborative"]`, the SID
    members per seed `params["members"]`, their fusion's long-tail quota `params["tail_quota"]` and calibration
    strength `params["tail_calibration"]`), each into its own run folder (evaluation.runs)."""
    from ..evaluation.pipeline import run_pipeline
    from ..evaluation.runs import finish_run, preset_config, start_run

    preset, seeds = params.get("preset", "default"), [int(s) for s in params.get("seeds", [0])]
    collaborative = params.get("collaborative")
    if not seeds:
        raise ConrecError("choose at least one seed")
    records, methods = [], {}
    for index, seed in enumerate(seeds):
        config = preset_config(preset, seed)
        config = config.with_collaborative(collaborative) if collaborative else config
        config = config.with_members(params.get("members"), params.get("tail_quota"), params.get("tail_calibration"))
        folder, record = start_run(workspace, preset, config)
        label = f"seed {seed} ({index + 1} of {len(seeds)}): " if len(seeds) > 1 else ""
        result = run_pipeline(workspace, folder, config, command=f"app: pipeline, preset {preset}, seed {seed}",
                              on_progress=lambda fraction, message, i=index: progress((i + fraction) / len(seeds),
                                                                                      label + message))
        records.append(finish_run(folder, record))
        methods[seed] = result.methods
    if len(set(seeds)) > 1:
        from ..evaluation.runs import write_fused_seeds
        from ..evaluation.seed_fusion import fuse_seeds

        progress(1.0, "fusing the seeds")
        write_fused_seeds(workspace, records, fuse_seeds(workspace, methods, config.split, config.baselines))
    return {"runs": [record.name for record in records], "preset": preset, "seeds": seeds,
            "collaborative": collaborative, "members": config.members, "tail_quota": config.tail_quota,
            "tail_calibration": config.tail_calibration}


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
