"""`doctor`: check a workspace and everything beside it, and repair what can be repaired without losing work.

What it looks at, in order: the database file (opens, schema, every table), import leftovers, codebooks (weights
against the fingerprint the SIDs were made with; a save killed after its database commit is finished from its
staging folder), checkpoints (interrupted saves settled, weights against their recorded digests, codebook
fingerprints), job records (a worker that died is marked failed; unreadable records named), exports (data
files against their manifests' digests, temporary files of killed exports), the Parquet folders of killed Spark
runs. Nothing a user made is deleted:
only files conrec itself left half-written by a process that no longer runs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ..data.schema import TABLES, create_tables
from ..data.workspace import (RESULT_LOCK_TIMEOUT, artifacts_dir, connect, file_digest, has_table, open_workspace,
                              pid_alive, remove_orphan_imports)
from ..errors import ConrecError
from ..evaluation.slices import exports_dir
from ..jobs.registry import JobRegistry
from ..lm.checkpoints import (TRAINING_FILE, WEIGHT_FILES, checkpoints_dir, list_checkpoints, settle,
                              weights_problem)
from ..semantic_ids.store import WEIGHTS_FILE, codebook_dir, fingerprint, list_codebooks, load_codebook

OK, REPAIRED, PROBLEM = "ok", "repaired", "problem"


@dataclass(frozen=True)
class Finding:
    part: str  # what was checked: "workspace", "codebook 'default'", "checkpoint 'sft'", "job 3f2a…", ...
    status: str  # ok, repaired or problem
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def doctor(workspace: Path | str, *, repair: bool = True) -> list[Finding]:
    """Every finding about the workspace; with `repair`, safe repairs are made (and reported as repaired)."""
    workspace = Path(workspace).expanduser().resolve()
    findings = list(_leftover_imports(workspace, repair))
    try:
        connect(workspace).close()  # also migrates an older schema
    except ConrecError as error:
        return findings + [Finding("workspace", PROBLEM, str(error))]
    findings += _tables(workspace, repair)
    findings += _codebooks(workspace, repair)
    findings += _checkpoints(workspace, repair)
    findings += _jobs(workspace, repair)
    findings += _exports(workspace, repair)
    findings += _spark_exchanges(workspace, repair)
    return findings


def _leftover_imports(workspace: Path, repair: bool) -> list[Finding]:
    if not repair:
        stale = [p for p in workspace.parent.glob(f".{workspace.name}.building-*") if not _owner_alive(p.name)]
        return [Finding("leftovers", PROBLEM, f"{p.name}: left by an import that was killed") for p in stale]
    return [Finding("leftovers", REPAIRED, f"removed {name}, left by an import that was killed")
            for name in remove_orphan_imports(workspace)]


def _tables(workspace: Path, repair: bool) -> list[Finding]:
    with open_workspace(workspace) as con:
        missing = [name for name in TABLES if not has_table(con, name)]
    if not missing:
        return [Finding("workspace", OK, f"opens; all {len(TABLES)} tables present")]
    if not repair:
        return [Finding("workspace", PROBLEM, f"tables missing: {', '.join(missing)}")]
    with open_workspace(workspace, read_only=False, lock_timeout=RESULT_LOCK_TIMEOUT) as con:
        create_tables(con, missing)
    return [Finding("workspace", REPAIRED, f"created the missing tables (empty): {', '.join(missing)}")]


def _codebooks(workspace: Path, repair: bool) -> list[Finding]:
    findings = []
    for record in list_codebooks(workspace):
        name = record["name"]
        part = f"codebook {name!r}"
        try:
            load_codebook(workspace, name)
            findings.append(Finding(part, OK, f"weights match fingerprint {record['fingerprint'][:12]}"))
            continue
        except ConrecError as error:
            problem = str(error)
        staged = _finished_codebook_save(workspace, name, record["fingerprint"]) if repair else None
        if staged is not None:  # killed after the database commit, before the folder swap
            directory = codebook_dir(workspace, name)
            retired = directory.with_name(f".{directory.name}.doctor-old")
            if directory.exists():
                directory.rename(retired)
            staged.rename(directory)
            shutil.rmtree(retired, ignore_errors=True)
            findings.append(Finding(part, REPAIRED, "finished a save that was killed after the database commit"))
        else:
            findings.append(Finding(part, PROBLEM, problem))
    findings += _staging_folders(artifacts_dir(workspace) / "codebooks", "codebook", repair)
    return findings


def _finished_codebook_save(workspace: Path, name: str, expected: str) -> Path | None:
    """The staging folder of a killed save whose weights are the ones the workspace's SIDs came from."""
    directory = codebook_dir(workspace, name)
    with open_workspace(workspace) as con:
        rows = con.execute("SELECT item_id, sid FROM item_sids WHERE codebook = ? ORDER BY item_id", [name]).fetchall()
    for staged in directory.parent.glob(f".{name}.new-*"):
        weights = staged / WEIGHTS_FILE
        if not _owner_alive(staged.name) and weights.is_file() \
                and fingerprint(weights, [r[0] for r in rows], [r[1] for r in rows]) == expected:
            return staged
    return None


def _checkpoints(workspace: Path, repair: bool) -> list[Finding]:
    folder = checkpoints_dir(workspace)
    findings = []
    if repair:
        findings += [Finding("leftovers", REPAIRED, message) for message in settle(folder)]
    else:
        findings += _staging_folders(folder, "checkpoint", repair=False)
    codebooks = {c["name"]: c["fingerprint"] for c in list_codebooks(workspace)}
    for info in list_checkpoints(workspace) if repair else _listed_without_settling(folder):
        part = f"checkpoint {info.name!r}"
        problem = weights_problem(info.folder, info.training)
        if problem is None and not any((info.folder / f).is_file() for f in WEIGHT_FILES):
            problem = "no weights file"
        codebook = info.training.get("codebook", "default")
        if problem is None and codebooks.get(codebook) != info.fingerprint:
            problem = (f"made with codebook {codebook!r} at fingerprint {info.fingerprint[:12]}, which the workspace "
                       "no longer holds: predictions from it would name other items; train it again")
        findings.append(Finding(part, PROBLEM, problem) if problem else
                        Finding(part, OK, f"{info.stage}, step {info.training.get('step', '?')}, weights verified"
                                if info.training.get("weights_sha256") else
                                f"{info.stage}, step {info.training.get('step', '?')} (saved without digests)"))
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.is_dir() and not child.name.startswith(".") and not (child / TRAINING_FILE).is_file():
                if any((child / f).is_file() for f in WEIGHT_FILES):  # weights without a record: never ours now
                    findings.append(Finding(f"checkpoint {child.name!r}", PROBLEM, f"weights without {TRAINING_FILE}: "
                                            f"not a usable checkpoint (not listed); remove {child}"))
                else:
                    findings.append(Finding(f"checkpoint {child.name!r}", OK, "no saved weights yet (a run in "
                                            "progress, or one stopped before its first save): not listed"))
    return findings


def _listed_without_settling(folder: Path):
    from ..lm.checkpoints import CheckpointInfo, read_training

    if not folder.is_dir():
        return []
    return [CheckpointInfo(c.name, c, read_training(c)) for c in sorted(folder.iterdir())
            if not c.name.startswith(".") and (c / TRAINING_FILE).is_file()]


def _jobs(workspace: Path, repair: bool) -> list[Finding]:
    registry = JobRegistry(workspace)
    if not registry.folder.is_dir():
        return []
    findings, running = [], 0
    paths = sorted(registry.folder.glob("*.json"))
    for path in paths:
        try:
            recorded = registry.read(path.stem)
        except ConrecError:
            findings.append(Finding(f"job file {path.name}", PROBLEM,
                                    "unreadable (truncated, or not a job record); the app passes over it"))
            continue
        if not recorded.active:
            continue
        if not repair:
            running += 1
            continue
        current = registry.get(recorded.id)  # marks a job whose worker is gone as failed
        if current.active:
            running += 1
        else:
            findings.append(Finding(f"job {current.id}", REPAIRED,
                                    f"{current.kind}: its worker is gone; marked {current.status}"))
    findings.append(Finding("jobs", OK, f"{len(paths)} records, {running} running"))
    return findings


def _exports(workspace: Path, repair: bool) -> list[Finding]:
    folder = exports_dir(workspace)
    if not folder.is_dir():
        return []
    findings = []
    for temporary in sorted(folder.glob(".*.tmp")):
        pid = temporary.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not pid_alive(int(pid)):
            if repair:
                temporary.unlink(missing_ok=True)
            findings.append(Finding("leftovers", REPAIRED if repair else PROBLEM,
                                    f"{'removed ' if repair else ''}{temporary.name}, left by an export that was killed"))
    for manifest in sorted(folder.glob("*.manifest.json")):
        part = f"export {manifest.name.removesuffix('.manifest.json')!r}"
        try:
            record = json.loads(manifest.read_text())
            data = folder / Path(record["file"]).name
        except (ValueError, KeyError, TypeError):
            findings.append(Finding(part, PROBLEM, f"{manifest.name} is unreadable"))
            continue
        if not data.is_file():
            findings.append(Finding(part, PROBLEM, f"{data.name} is missing"))
        elif record.get("sha256") and file_digest(data) != record["sha256"]:
            findings.append(Finding(part, PROBLEM, f"{data.name} does not match its manifest (another export "
                                                   "replaced it, or it was edited); export it again"))
        else:
            findings.append(Finding(part, OK, f"{record.get('rows', '?')} rows"))
    return findings


def _spark_exchanges(workspace: Path, repair: bool) -> list[Finding]:
    """Parquet folders of Spark runs that were killed (`spark/exchange.py`; the default place only: a cluster's
    shared folder is the cluster's to clean)."""
    from ..spark.exchange import default_exchange

    folder = default_exchange(workspace)
    return _dead_owners(sorted(folder.glob("run-*")) if folder.is_dir() else [], repair,
                        "Spark exchange folder {}, left by a Spark run that was killed")


def _staging_folders(parent: Path, what: str, repair: bool) -> list[Finding]:
    """Staging or retired folders (`.NAME.new-PID`, `.NAME.old-PID`) whose process is gone."""
    if not parent.is_dir():
        return []
    return _dead_owners(sorted(parent.glob(".*.new-*")) + sorted(parent.glob(".*.old-*")), repair,
                        what + " folder {}, left by a save that was killed")


def _dead_owners(folders: list[Path], repair: bool, message: str) -> list[Finding]:
    """The folders whose name ends in the id of a process that is gone: removed with `repair`, reported by
    `message` (formatted with the folder's name) either way."""
    findings = []
    for leftover in folders:
        if _owner_alive(leftover.name) or not leftover.exists():
            continue
        if repair:
            shutil.rmtree(leftover, ignore_errors=True)
        findings.append(Finding("leftovers", REPAIRED if repair else PROBLEM,
                                ("removed " if repair else "") + message.format(leftover.name)))
    return findings


def _owner_alive(name: str) -> bool:
    pid = name.rsplit("-", 1)[-1]
    return pid.isdigit() and pid_alive(int(pid))
