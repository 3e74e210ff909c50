"""The one output layout of an experiment, and the run store the app reads.

    ROOT/seed-S/    one seed's run: run.json (preset, seed, settings hash, the samples scored, when it ran),
                    report.json, report.md with its plots, sample_metrics.parquet
    ROOT/seeds.md   with two or more seeds: mean ± sd over the seeds and the seeds fused (seeds.json: the same,
                    with the finishing time of each seed's run it was made from)

The command line writes ROOT where `--out` says; the app keeps one ROOT per settings hash beside the workspace,
`<workspace>.files/runs/<settings>/`, so runs of one settings hash differ only in their seed. A run is named
`<settings>-s<seed>` there.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from ..data.samples import samples_fingerprint
from ..data.workspace import artifacts_dir
from ..errors import ConrecError
from ..evaluation.report_record import Report, read_report
from .spec import ExperimentSpec

RUN_FILE = "run.json"
SEEDS_FILE = "seeds.json"
REPORT_FILES = ("report.json", "report.md", "sample_metrics.parquet")
RUN_NAME = re.compile(r"^([0-9a-f]{10})-s(\d+)$")


@dataclass(frozen=True)
class RunRecord:
    name: str  # settings hash and seed
    preset: str
    seed: int
    settings: str  # hash of the spec without the seed, and of the samples it was scored on
    samples: str | None  # the workspace's samples fingerprint when the run started
    started_at: str
    finished_at: str | None = None


def settings_hash(spec: ExperimentSpec, samples: str | None) -> str:
    """Equal for two specs that differ at most in their seed, on the same samples."""
    unseeded = asdict(replace(spec, seed=0).seeded())
    text = json.dumps({"config": unseeded, "samples": samples}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def seed_folder(root: Path, seed: int) -> Path:
    return Path(root) / f"seed-{seed}"


def runs_dir(workspace) -> Path:
    return artifacts_dir(workspace) / "runs"


def store_root(workspace, spec: ExperimentSpec) -> Path:
    """The app's ROOT for `spec`'s settings on the workspace's current samples."""
    return runs_dir(workspace) / settings_hash(spec, samples_fingerprint(workspace))


def start_run(workspace, root: Path, preset: str, spec: ExperimentSpec) -> tuple[Path, RunRecord]:
    """The seed's folder under `root` (emptied of an earlier run's report) and its record."""
    samples = samples_fingerprint(workspace)
    settings = settings_hash(spec, samples)
    record = RunRecord(name=f"{settings}-s{spec.seed}", preset=preset, seed=spec.seed, settings=settings,
                       samples=samples, started_at=_now())
    folder = seed_folder(root, spec.seed)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in REPORT_FILES:  # a failed rerun must not look finished
        (folder / stale).unlink(missing_ok=True)
    _write_json(folder / RUN_FILE, asdict(record))
    return folder, record


def finish_run(folder: Path, record: RunRecord) -> RunRecord:
    finished = replace(record, finished_at=_now())
    _write_json(folder / RUN_FILE, asdict(finished))
    return finished


def list_runs(workspace) -> list[tuple[RunRecord, Report]]:
    """(record, report) of every finished run in the store, newest first; unreadable or unfinished folders are
    passed over."""
    folder = runs_dir(workspace)
    if not folder.is_dir():
        return []
    runs = [read_folder(path) for path in folder.glob("*/seed-*") if path.is_dir()]
    return sorted((run for run in runs if run is not None), key=lambda run: run[0].finished_at or "", reverse=True)


def read_folder(folder: Path) -> tuple[RunRecord, Report] | None:
    """A finished run's record and report, or None."""
    try:
        record = RunRecord(**json.loads((folder / RUN_FILE).read_text()))
        report = read_report(folder / "report.json")
    except (OSError, ValueError, TypeError, ConrecError):
        return None
    return (record, report) if record.finished_at is not None else None


def run_folder(workspace, name: str) -> Path:
    """A finished run's folder in the store; the name is checked, never used as a path as given."""
    match = RUN_NAME.match(name)
    if not match:
        raise ConrecError(f"not a run name: {name!r}")
    folder = seed_folder(runs_dir(workspace) / match[1], int(match[2]))
    if read_folder(folder) is None:
        raise ConrecError(f"run {name} has no readable report (unfinished, or its files were changed)")
    return folder


def read_run(workspace, name: str) -> tuple[RunRecord, Report]:
    return read_folder(run_folder(workspace, name))


def write_seeds(root: Path, summary: dict, records: list[RunRecord]) -> None:
    """Keep the seeds' summary (`seed_summary.summarise_seeds`, with the fused table) with each run's finishing
    time, so the store shows it only while those exact runs are the group's."""
    _write_json(Path(root) / SEEDS_FILE, {**summary, "runs": {r.name: r.finished_at for r in records}})


def read_seeds(root: Path, records: list[RunRecord]) -> dict | None:
    """The seeds' summary kept for exactly these runs as they finished; None if there is none, or if a run was
    added or redone since."""
    try:
        kept = json.loads((Path(root) / SEEDS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("runs") != {r.name: r.finished_at for r in records}:
        return None
    return kept


def _write_json(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=1, default=str))
    temporary.replace(path)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
