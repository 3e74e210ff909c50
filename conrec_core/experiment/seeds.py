"""The one seed loop: an experiment spec run for each seed into the one output layout (`runs`), then, with two
or more seeds, every learnt method's seeds fused and the seeds summarised. The command line, the app's pipeline
job and the ablation all come through here or `pipeline.run_pipeline`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..errors import ConrecError
from ..evaluation.report_record import Report, read_report
from ..evaluation.seed_summary import fused_records, markdown, summarise_seeds
from .pipeline import PipelineResult, run_pipeline
from .runs import RunRecord, finish_run, read_seeds, runs_dir, start_run, store_root, write_seeds
from .side_by_side import Progress
from .spec import ExperimentSpec
from .tuning import with_tuned



@dataclass
class SeedsResult:
    root: Path
    records: list[RunRecord]
    results: dict[int, PipelineResult]
    summary: dict | None  # over the seeds, with the fused table; None with one seed


def run_seeds(workspace, spec: ExperimentSpec, seeds: list[int], root: Path | None = None, *, preset: str = "custom",
              command: str | None = None, on_progress: Progress | None = None,
              on_seed: Callable[[int], Progress] | None = None) -> SeedsResult:
    """Run `spec` once per seed into ROOT/seed-S (ROOT: `root`, or the workspace's run store for these settings),
    then with two or more seeds fuse and summarise them into ROOT/seeds.md and ROOT/seeds.json. `on_seed(seed)`,
    where given, makes each seed's own progress callback (a bar per seed); else `on_progress` spans all seeds."""
    if not seeds:
        raise ConrecError("choose at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ConrecError(f"each seed once, not {seeds}")
    progress = on_progress or (lambda fraction, message: None)
    spec = with_tuned(workspace, spec)  # before the settings hash: a run with tuned baselines is a run of its own
    root = Path(root) if root is not None else store_root(workspace, spec)
    records, results = [], {}
    for index, seed in enumerate(seeds):
        seeded = replace(spec, seed=seed)
        folder, record = start_run(workspace, root, preset, seeded)
        label = f"seed {seed} ({index + 1} of {len(seeds)}): " if len(seeds) > 1 else ""
        seed_progress = on_seed(seed) if on_seed else (
            lambda fraction, message, i=index, text=label: progress((i + fraction) / len(seeds), text + message))
        results[seed] = run_pipeline(workspace, folder, seeded, on_progress=seed_progress, command=command)
        records.append(finish_run(folder, record))
    summary = None
    if len(seeds) > 1:
        progress(1.0, "fusing the seeds")
        summary = summarise(workspace, spec, results, root, records)
    return SeedsResult(root, records, results, summary)


def summarise(workspace, spec: ExperimentSpec, results: dict[int, PipelineResult], root: Path,
              records: list[RunRecord]) -> dict:
    """Fuse each learnt method's seeds, summarise the seeds' reports, write ROOT/seeds.json and ROOT/seeds.md."""
    from .seed_fusion import fuse_seeds

    fused = fuse_seeds(workspace, {seed: result.methods for seed, result in results.items()}, spec.split,
                       spec.baselines)
    reports = {seed: read_report(result.out / "report.json") for seed, result in results.items()}
    summary = {**summarise_seeds(reports), "fused": fused_records(fused),
               "reports": {seed: str(result.out) for seed, result in results.items()}}
    write_seeds(root, summary, records)
    (root / "seeds.md").write_text(markdown(summary))
    return summary


def seed_groups(runs: list[tuple[RunRecord, Report]], workspace) -> dict[str, dict]:
    """settings hash -> the seeds' reports summarised, for settings run with two or more seeds in the workspace's
    store, with the table of the seeds fused while exactly the runs it was made from are the group's."""
    groups: dict[str, dict[int, tuple[RunRecord, Report]]] = {}
    for record, report in runs:
        groups.setdefault(record.settings, {})[record.seed] = (record, report)
    summaries = {}
    for settings, by_seed in groups.items():
        if len(by_seed) < 2:
            continue
        summaries[settings] = summarise_seeds({seed: report for seed, (_, report) in by_seed.items()})
        kept = read_seeds(runs_dir(workspace) / settings, [record for record, _ in by_seed.values()])
        if kept and kept.get("fused"):
            summaries[settings]["fused"] = kept["fused"]
    return summaries
