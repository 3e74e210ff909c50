"""From an imported workspace to a report in one call: codebook, Swing, SFT, GRPO, predictions, baselines,
per-sample metrics, then `report.json`, `report.md` with plots, and the per-sample table."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .codebook_store import list_codebooks
from .errors import ConrecError
from .evaluation import evaluate_baseline, evaluate_predictions, read_sample_metrics, summarise
from .pipeline_config import PipelineConfig
from .probes import filter_simulation, forgetting_rate
from .report import write_report
from .workspace import has_table, open_workspace

Progress = Callable[[float, str], None]
# share of the run each stage takes on the synthetic sample, for one progress bar over all of them
STAGES = (("codebook", 0.15), ("sft", 0.35), ("grpo", 0.35), ("predict", 0.1), ("evaluate", 0.05))


@dataclass
class PipelineResult:
    out: Path
    methods: list[str]
    seconds: dict[str, float]


def run_pipeline(workspace, out, config: PipelineConfig = PipelineConfig(), *,
                 on_progress: Progress | None = None, command: str | None = None) -> PipelineResult:
    from .codebook import build_codebook
    from .grpo import train_grpo
    from .predict import predict
    from .sft import train_sft
    from .swing import build_swing

    progress = on_progress or (lambda fraction, message: None)
    config = config.seeded()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open_workspace(workspace) as con:
        counts = dict(con.execute("SELECT split, count(*) FROM samples GROUP BY split").fetchall()) \
            if has_table(con, "samples") else {}
    if not counts.get("train") or not counts.get(config.split) or not counts.get("validation"):
        raise ConrecError(f"the workspace needs training, validation and {config.split} samples; it has {counts}")
    starts, offset = {}, 0.0
    for stage, share in STAGES:
        starts[stage] = (offset, share)
        offset += share

    def stage_progress(stage: str) -> Progress:
        start, share = starts[stage]
        return lambda fraction, message: progress(start + share * fraction, f"{stage}: {message}")

    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    if not any(c["name"] == "default" for c in list_codebooks(workspace)):
        build_codebook(workspace, "default", config.codebook, compute_map=config.compute_map,
                       on_progress=stage_progress("codebook"))
    with open_workspace(workspace, read_only=False) as con:
        if not has_table(con, "swing_neighbours"):
            build_swing(con)
    seconds["codebook"] = time.perf_counter() - clock
    sft_name, grpo_name = f"pipeline-sft-s{config.seed}", f"pipeline-grpo-s{config.seed}"
    clock = time.perf_counter()
    train_sft(workspace, sft_name, config.backbone, config.sft, on_progress=stage_progress("sft"))
    seconds["sft"] = time.perf_counter() - clock
    clock = time.perf_counter()
    train_grpo(workspace, grpo_name, sft_name, config.grpo, on_progress=stage_progress("grpo"))
    seconds["grpo"] = time.perf_counter() - clock
    clock = time.perf_counter()
    for index, checkpoint in enumerate((sft_name, grpo_name)):
        step = stage_progress("predict")
        predict(workspace, checkpoint, split=config.split, config=config.decoding,
                on_progress=lambda fraction, message, i=index: step((i + fraction) / 2, message))
    seconds["predict"] = time.perf_counter() - clock
    clock = time.perf_counter()
    progress(starts["evaluate"][0], "evaluate: baselines and per-sample metrics")
    for baseline in config.baselines:
        evaluate_baseline(workspace, baseline, config.split, config.decoding.returns)
    for checkpoint in (sft_name, grpo_name):
        evaluate_predictions(workspace, checkpoint, config.split)
    methods = list(config.baselines) + [sft_name, grpo_name]
    metrics = read_sample_metrics(workspace, config.split)
    metrics = metrics[metrics["method"].isin(methods)]
    summary = summarise(metrics, config.baselines)
    progress(starts["evaluate"][0] + starts["evaluate"][1] / 2, "evaluate: filter simulation and forgetting")
    probes = {"filter_simulation": filter_simulation(workspace, grpo_name, config.split),
              "forgetting": forgetting_rate(workspace, grpo_name, sft_name, config.split)}
    seconds["evaluate"] = time.perf_counter() - clock
    write_report(workspace, out, config, summary, metrics, {"sft": sft_name, "grpo": grpo_name}, seconds, command,
                 probes)
    progress(1.0, f"report written to {out}")
    return PipelineResult(out, methods, seconds)
