"""Pipeline runs kept beside a workspace, by settings and seed: `<workspace>.files/runs/<settings>-s<seed>/`.

A run folder holds the pipeline's report (report.json, report.md with its plots, sample_metrics.parquet) and
run.json (preset, seed, settings hash, the samples it was scored on, when it ran). Runs of one settings hash
differ only in their seed, so they are what "mean ± sd over seeds" averages; two runs can be compared figure
by figure and sample by sample.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..data.samples import samples_fingerprint
from ..data.workspace import artifacts_dir
from ..errors import ConrecError
from .pipeline_config import PipelineConfig
from .seed_summary import fused_records, summarise_seeds

PRESETS = {"quick": "quick: minutes, a first look (16-code codebook, 60 SFT steps)",
           "default": "default: the method's settings (about 10 min on the synthetic shop, 12-17 on MovieLens "
                      "small, on 2 cores)",
           "ablations": "with ablations: also the comparison SID models and the reward variants (about 3× default)"}
RUN_FILE = "run.json"
RUN_NAME = re.compile(r"^[0-9a-f]{10}-s\d+$")


@dataclass(frozen=True)
class RunRecord:
    name: str  # the folder name: settings hash and seed
    preset: str
    seed: int
    settings: str  # hash of the pipeline settings without the seed, and of the samples they were scored on
    samples: str | None  # the workspace's samples fingerprint when the run started
    started_at: str
    finished_at: str | None = None


def preset_config(preset: str, seed: int = 0) -> PipelineConfig:
    if preset not in PRESETS:
        raise ConrecError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if preset == "quick":
        return PipelineConfig.quick(seed)
    config = PipelineConfig(seed=seed)
    return config.with_ablations() if preset == "ablations" else config


def settings_hash(config: PipelineConfig, samples: str | None) -> str:
    """Equal for two configs that differ at most in their seed, on the same samples."""
    unseeded = asdict(replace(config, seed=0).seeded())
    text = json.dumps({"config": unseeded, "samples": samples}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def runs_dir(workspace) -> Path:
    return artifacts_dir(workspace) / "runs"


def start_run(workspace, preset: str, config: PipelineConfig) -> tuple[Path, RunRecord]:
    """The folder for a run of `config` (emptied of an earlier run of the same settings and seed) and its record."""
    samples = samples_fingerprint(workspace)
    settings = settings_hash(config, samples)
    record = RunRecord(name=f"{settings}-s{config.seed}", preset=preset, seed=config.seed, settings=settings,
                       samples=samples, started_at=_now())
    folder = runs_dir(workspace) / record.name
    folder.mkdir(parents=True, exist_ok=True)
    for stale in ("report.json", "report.md", "sample_metrics.parquet"):  # a failed rerun must not look finished
        (folder / stale).unlink(missing_ok=True)
    _write_record(folder, record)
    return folder, record


def finish_run(folder: Path, record: RunRecord) -> RunRecord:
    finished = replace(record, finished_at=_now())
    _write_record(folder, finished)
    return finished


def list_runs(workspace) -> list[tuple[RunRecord, dict]]:
    """(record, report) of every finished run, newest first; unreadable or unfinished folders are passed over."""
    folder = runs_dir(workspace)
    if not folder.is_dir():
        return []
    runs = []
    for path in folder.iterdir():
        run = read_run(workspace, path.name, missing_ok=True)
        if run is not None:
            runs.append(run)
    return sorted(runs, key=lambda run: run[0].finished_at or "", reverse=True)


def read_run(workspace, name: str, missing_ok: bool = False) -> tuple[RunRecord, dict] | None:
    """A finished run's record and report; the name is checked, never used as a path as given."""
    if not RUN_NAME.match(name):
        raise ConrecError(f"not a run name: {name!r}")
    folder = runs_dir(workspace) / name
    try:
        record = RunRecord(**json.loads((folder / RUN_FILE).read_text()))
        report = json.loads((folder / "report.json").read_text())
    except (OSError, ValueError, TypeError):
        if missing_ok:
            return None
        raise ConrecError(f"run {name} has no readable report (unfinished, or its files were changed)") from None
    if record.finished_at is None:
        if missing_ok:
            return None
        raise ConrecError(f"run {name} has not finished")
    return record, report


def run_folder(workspace, name: str) -> Path:
    read_run(workspace, name)
    return runs_dir(workspace) / name


def run_table(runs: list[tuple[RunRecord, dict]]) -> pd.DataFrame:
    """One row per run: when, preset, seed, settings, split and the full method's and best baseline's FHR@K."""
    rows = []
    for record, report in runs:
        methods = {row["method"]: row for row in report["methods"]}
        full, best = methods.get(report.get("full_method")), methods.get(report.get("best_baseline"))
        k = report["methods"][0]["k"] if report["methods"] else None
        rows.append({"run": record.name, "finished": record.finished_at, "preset": record.preset,
                     "seed": record.seed, "settings": record.settings, "split": report.get("split"),
                     "sample split": report.get("sample_split"), "K": k,
                     "full method FHR": full["fhr"]["value"] if full and full.get("fhr") else None,
                     "best baseline": best["role"] if best else None,
                     "best baseline FHR": best["fhr"]["value"] if best and best.get("fhr") else None})
    return pd.DataFrame(rows)


def fused_seeds_path(workspace, settings: str) -> Path:
    return artifacts_dir(workspace) / "fused-seeds" / f"{settings}.json"  # not under runs/: only runs live there


def write_fused_seeds(workspace, records: list[RunRecord], fused: pd.DataFrame) -> None:
    """Keep `seed_fusion.fuse_seeds`' table for the finished runs `records` (one settings hash), with each run's
    finishing time, so it is shown only while those exact runs are the group's."""
    (settings,) = {record.settings for record in records}
    path = fused_seeds_path(workspace, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps({"runs": {r.name: r.finished_at for r in records}, "fused": fused_records(fused)},
                                    indent=1, default=str))
    temporary.replace(path)


def read_fused_seeds(workspace, records: list[RunRecord]) -> list[dict] | None:
    """The fused table kept for exactly these runs as they finished; None if there is none, or if a run was
    added or redone since."""
    try:
        kept = json.loads(fused_seeds_path(workspace, records[0].settings).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("runs") != {r.name: r.finished_at for r in records}:
        return None
    return kept.get("fused")


def seed_groups(runs: list[tuple[RunRecord, dict]], workspace=None) -> dict[str, dict]:
    """settings hash -> mean ± sd over its seeds (`seed_summary.summarise_seeds`), for settings run with 2+ seeds;
    with `workspace`, also the seeds fused (`fused`) where the pipeline job kept them for exactly those runs."""
    groups: dict[str, dict[int, tuple[RunRecord, dict]]] = {}
    for record, report in runs:
        groups.setdefault(record.settings, {})[record.seed] = (record, report)
    summaries = {}
    for settings, by_seed in groups.items():
        if len(by_seed) < 2:
            continue
        summaries[settings] = summarise_seeds({seed: report for seed, (_, report) in by_seed.items()})
        fused = None if workspace is None else read_fused_seeds(workspace, [r for r, _ in by_seed.values()])
        if fused:
            summaries[settings]["fused"] = fused
    return summaries


def compare_figures(left: dict, right: dict, metric: str = "fhr") -> pd.DataFrame:
    """Methods of two reports side by side (matched by role, since learnt methods' names carry their seed):
    each run's value and interval of `metric`, and the difference."""
    def by_role(report: dict) -> dict[str, dict]:
        return {row["role"] or row["method"]: row for row in report["methods"]}

    a, b = by_role(left), by_role(right)
    rows = []
    for role in list(a) + [r for r in b if r not in a]:
        cells = {"method": role}
        for side, rows_by_role in (("A", a), ("B", b)):
            figure = rows_by_role.get(role, {}).get(metric)
            cells[f"{side}"] = figure["value"] if figure else None
            cells[f"{side} interval"] = f"[{figure['low']:.3f}, {figure['high']:.3f}]" if figure else ""
        cells["B − A"] = None if cells["A"] is None or cells["B"] is None else cells["B"] - cells["A"]
        rows.append(cells)
    return pd.DataFrame(rows)


def sample_differences(left: pd.DataFrame, right: pd.DataFrame, method_left: str, method_right: str,
                       metric: str = "fhr") -> pd.DataFrame:
    """Per sample present in both per-sample tables: `metric` of one method in run A and of one in run B, and
    which of them hits. Both runs must have been scored on the same samples (`RunRecord.samples`)."""
    keys = ["sample_id", "user_id"]
    a = left.loc[left["method"] == method_left, keys + [metric]].rename(columns={metric: "A"})
    b = right.loc[right["method"] == method_right, keys + [metric]].rename(columns={metric: "B"})
    both = a.merge(b, on=keys, how="inner")
    both["outcome"] = "both miss"
    both.loc[(both["A"] > 0) & (both["B"] > 0), "outcome"] = "both hit"
    both.loc[(both["A"] > 0) & (both["B"] == 0), "outcome"] = "only A hits"
    both.loc[(both["A"] == 0) & (both["B"] > 0), "outcome"] = "only B hits"
    return both


def _write_record(folder: Path, record: RunRecord) -> None:
    temporary = folder / f".{RUN_FILE}.tmp"
    temporary.write_text(json.dumps(asdict(record), indent=1))
    temporary.replace(folder / RUN_FILE)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
