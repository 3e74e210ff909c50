"""The functions jobs run, `fn(workspace, params, progress) -> JSON-able result`, and the table of kinds the
registry and the worker read (`JOB_KINDS`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .params import CodebookJob, GRPOJob, ImportJob, MapJob, PipelineJob, PredictJob, ScoreJob, SFTJob


@dataclass(frozen=True)
class JobKind:
    params: type  # the Settings dataclass the job takes
    run: Callable  # fn(workspace, params, progress) -> JSON-able result


def codebook(workspace: str, params: CodebookJob, progress) -> dict:
    from ..semantic_ids.codebook import build_codebook  # torch and friends load in the worker only

    result = build_codebook(workspace, params.name, params.config, compute_map=params.compute_map,
                            on_progress=progress)
    return {"name": result.name, "fingerprint": result.fingerprint, "report": result.report.to_dict(),
            "parts": result.parts}


def item_map(workspace: str, params: MapJob, progress) -> dict:
    from ..semantic_ids.codebook import add_map

    return {"codebook": params.codebook, "items": add_map(workspace, params.codebook, on_progress=progress)}


def sft(workspace: str, params: SFTJob, progress) -> dict:
    from ..training.sft import train_sft

    result = train_sft(workspace, params.name, params.backbone, params.config, params.codebook,
                       resume=params.resume, on_progress=progress)
    return {"checkpoint": result.folder.name, "step": result.step, "summary": result.summary}


def grpo(workspace: str, params: GRPOJob, progress) -> dict:
    from ..rl.grpo import train_grpo

    result = train_grpo(workspace, params.name, params.warmup, params.config, load_in_4bit=params.load_in_4bit,
                        on_progress=progress)
    return {"checkpoint": result.folder.name, "summary": result.summary}


def predict(workspace: str, params: PredictJob, progress) -> dict:
    """Predictions of a checkpoint; with `choose_prior`, the popularity prior's weight is first chosen on the
    validation samples (the first half of the progress)."""
    from ..decoding.predict import predict as run_predictions, predict_choosing_prior

    options = dict(split=params.split, users=list(params.users) if params.users else None,
                   load_in_4bit=params.load_in_4bit, on_progress=progress)
    if params.choose_prior:
        run, choice = predict_choosing_prior(workspace, params.checkpoint, config=params.decoding, **options)
        return {**run.to_dict(), "prior_weight": choice.weight, "prior_choice": choice.to_dict()}
    run = run_predictions(workspace, params.checkpoint, config=params.decoding, **options)
    return {**run.to_dict(), "prior_weight": params.decoding.prior_weight, "prior_choice": None}


def score(workspace: str, params: ScoreJob, progress) -> dict:
    """The dislike list for production, written under the workspace's files as scores/CHECKPOINT-topK.parquet."""
    from ..data.workspace import artifacts_dir
    from ..decoding.as_of import parse_as_of
    from ..decoding.score import score_users

    folder = artifacts_dir(workspace) / "scores"
    folder.mkdir(parents=True, exist_ok=True)
    run = score_users(workspace, params.checkpoint, folder / f"{params.checkpoint}-top{params.top_k}.parquet",
                      top_k=params.top_k, as_of=parse_as_of(params.as_of),
                      users=list(params.users) if params.users else None, load_in_4bit=params.load_in_4bit,
                      on_progress=progress)
    return run.to_dict()


def import_log(workspace: str, params: ImportJob, progress) -> dict:
    """Import the source into the job's workspace, which is replaced only if the import succeeds."""
    from ..data.importer import IMPORT_STEPS, import_source

    done = 0

    def step(name: str) -> None:
        nonlocal done
        progress(done / IMPORT_STEPS, name)
        done += 1

    report = import_source(params.source, workspace, format=params.format, mapping=params.mapping, on_step=step)
    return report.to_dict()


def pipeline(workspace: str, params: PipelineJob, progress) -> dict:
    """The experiment for each seed, into the workspace's run store (experiment.seeds)."""
    from ..experiment.seeds import run_seeds

    spec = params.spec
    result = run_seeds(workspace, spec, list(params.seeds), preset=params.preset, on_progress=progress,
                       command=f"app: pipeline, preset {params.preset}, seeds {', '.join(map(str, params.seeds))}")
    return {"runs": [record.name for record in result.records], "preset": params.preset,
            "seeds": list(params.seeds), "members": spec.members, "tail_quota": spec.tail_quota,
            "tail_calibration": spec.tail_calibration,
            "collaborative": spec.codebook.encoder.collaborative}


JOB_KINDS = {"codebook": JobKind(CodebookJob, codebook), "sft": JobKind(SFTJob, sft),
             "grpo": JobKind(GRPOJob, grpo), "predict": JobKind(PredictJob, predict),
             "import": JobKind(ImportJob, import_log), "pipeline": JobKind(PipelineJob, pipeline),
             "score": JobKind(ScoreJob, score), "map": JobKind(MapJob, item_map)}
