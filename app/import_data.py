"""What the import page reads and writes: uploaded files kept beside the workspaces, cached previews of a file,
mapping checks, and the mapping file saved next to the workspace it made."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from conrec_core.data.mapping import ImportMapping, mapping_to_dict, parse_mapping
from conrec_core.data.movielens import detect_layout
from conrec_core.data.mapping_guess import MappingGuess, guess_event_mapping
from conrec_core.data.preview import ColumnValues, EventFilePreview
from conrec_core.data.workspace import check_name
from conrec_core.errors import ConrecError, DataError
from conrec_core.shipped import sample_data
from conrec_core.shipped.sample_catalogue import SAMPLE_DATA

UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".parquet")
PREVIEWS_KEPT = 2  # whole files live in memory while their form is open


def uploads_dir() -> Path:
    return sample_data.workspaces_dir() / "uploads"


def save_upload(name: str, data: bytes) -> Path:
    """Keep an uploaded file under uploads/ as `<content hash>-<cleaned name>`: the browser's file name never
    chooses a folder, and two different uploads of the same name never overwrite each other."""
    lowered = name.lower()
    suffix = next((s for s in sorted(UPLOAD_SUFFIXES, key=len, reverse=True) if lowered.endswith(s)), None)
    if suffix is None:
        raise ConrecError(f"{name}: upload a {', '.join(UPLOAD_SUFFIXES)} file")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name[: len(name) - len(suffix)]).name).strip("._")[:40] or "log"
    folder = uploads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:12]}-{stem}{suffix}"
    if not target.is_file():
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.replace(target)
    return target


def default_name(source: Path) -> str:
    """A workspace name from the file: its name without suffixes (and without the upload's hash prefix)."""
    stem = source.name if source.is_dir() else source.name.split(".")[0]
    if source.parent == uploads_dir():
        stem = stem.split("-", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")[:40]
    return cleaned or "log"


DATA_ROOTS_ENV = "CONREC_DATA_ROOTS"  # more folders whose files the page may read, separated like PATH


def data_roots() -> list[Path]:
    """The folders a path typed on the page may point into: the workspaces, the shipped samples and the folders
    in CONREC_DATA_ROOTS. Anything else on the machine stays unread, whoever reaches the page."""
    extra = [Path(p).expanduser() for p in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    return [root.resolve() for root in [sample_data.workspaces_dir(), SAMPLE_DATA, *extra]]


def server_path(text: str) -> Path:
    """A file or folder on this machine typed by the user: it must exist, under one of `data_roots()` (links
    resolved first); nothing is written there."""
    if not text.strip():
        raise ConrecError("type the path of an event file or a MovieLens folder")
    path = Path(text.strip()).expanduser().resolve()
    roots = data_roots()
    if not any(path == root or path.is_relative_to(root) for root in roots):
        raise ConrecError(f"the page reads files under {', '.join(str(r) for r in roots)} only: upload the file, "
                          f"or start the app with {DATA_ROOTS_ENV}=FOLDER to let it read that folder")
    if not path.exists():
        raise DataError("file or folder not found", file=str(path))
    return path


def is_movielens(path: Path) -> bool:
    return path.is_dir() and detect_layout(path) is not None


def target_workspace(name: str) -> Path:
    """workspaces/NAME.duckdb; the samples' own workspaces are not for imports."""
    check_name(name, "workspace")
    if name in sample_data.SAMPLES:
        raise ConrecError(f"{name!r} is the name of a sample dataset's workspace: choose another")
    return sample_data.workspaces_dir() / f"{name}.duckdb"


def mapping_path(workspace: Path) -> Path:
    return workspace.with_name(f"{workspace.stem}.mapping.json")


def save_mapping(workspace: Path, mapping: ImportMapping) -> Path:
    """The mapping as JSON next to the workspace, so `python -m conrec_core import` can repeat the import."""
    path = mapping_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(mapping_to_dict(mapping), indent=1))
    temporary.replace(path)
    return path


def build_mapping(raw: dict) -> ImportMapping:
    """The form's mapping, checked by the same parser as a mapping file."""
    return parse_mapping(raw, base_dir=sample_data.workspaces_dir(), label="the mapping")


@st.cache_resource(max_entries=PREVIEWS_KEPT, show_spinner="Reading the file…")
def _preview(path: str, version: tuple, delimiter: str | None, encoding: str) -> EventFilePreview:
    return EventFilePreview(Path(path), delimiter=delimiter, encoding=encoding, label=label(Path(path)))


def label(path: Path) -> str:
    """How messages name a file: an upload by the name it was uploaded with, any other file by its path."""
    return path.name.split("-", 1)[-1] if path.parent == uploads_dir() else str(path)


def preview(path: Path, delimiter: str | None = None, encoding: str = "utf-8") -> EventFilePreview:
    stat = path.stat()
    return _preview(str(path), (stat.st_size, stat.st_mtime_ns), delimiter, encoding)


@st.cache_data(max_entries=64, show_spinner=False)
def column_values(path: str, version: tuple, column: str, delimiter: str | None, encoding: str) -> ColumnValues:
    return _preview(path, version, delimiter, encoding).values(column)


@st.cache_data(max_entries=16, show_spinner="Guessing the columns…")
def _guess(path: str, version: tuple, delimiter: str | None, encoding: str) -> MappingGuess:
    return guess_event_mapping(_preview(path, version, delimiter, encoding))


def guess_mapping(path: Path, delimiter: str | None = None, encoding: str = "utf-8") -> MappingGuess:
    """The mapping the form starts from: the same guess as `python -m conrec_core import FILE --guess`."""
    stat = path.stat()
    return _guess(str(path), (stat.st_size, stat.st_mtime_ns), delimiter, encoding)


def listed_kinds(rule: dict, listed: list[str]) -> dict[str, list[str]]:
    """kind -> the listed values placed under it: the rule's own lists, or for a threshold rule each numeric
    value by the thresholds (so "listed values" on a rating column starts filled in)."""
    if "negative_max" not in rule:
        return {kind: [v for v in rule.get(kind, []) if v in listed] for kind in ("negative", "positive", "neutral")}
    placed: dict[str, list[str]] = {"negative": [], "positive": [], "neutral": []}
    for value in listed:
        try:
            number = float(value)
        except ValueError:
            continue
        kind = ("negative" if number <= rule["negative_max"] else
                "positive" if number >= rule["positive_min"] else "neutral")
        placed[kind].append(value)
    return placed


# The mapping file's keys in the words of the form's fields, for a message the importer wrote about the mapping.
FORM_WORDS = {"'events.kind'": "the feedback column", "'events.reason'": "the reason column",
              "'events'": "the event columns", "'negative_max'": "“Negative at or below”",
              "'positive_min'": "“Positive at or above”", "'time_unit'": "the time unit",
              "under 'negative'": "as negative feedback", "'negative'": "negative feedback",
              "'items'": "the item file", "'id'": "the item id column"}


def in_form_words(message: str) -> str:
    for key, words in FORM_WORDS.items():
        message = message.replace(key, words)
    return message


@dataclass(frozen=True)
class CheckOutcome:
    """A mapping's check on the whole file: the counts, or the importer's message and the column it names."""
    rows: int = 0
    kept: int = 0
    kinds: tuple[tuple[str, int], ...] = ()
    error: str | None = None
    column: str | None = None


@st.cache_data(max_entries=32, show_spinner="Checking every row…")
def _check(path: str, version: tuple, delimiter: str | None, encoding: str, mapping_json: str) -> CheckOutcome:
    file = _preview(path, version, delimiter, encoding)
    try:
        mapping = build_mapping(json.loads(mapping_json))
        counts, kinds = file.check(mapping.events)
    except DataError as error:
        return CheckOutcome(error=str(error), column=error.column)
    except ConrecError as error:
        return CheckOutcome(error=str(error))
    return CheckOutcome(rows=counts.rows_read, kept=counts.events_kept, kinds=tuple(sorted(kinds.items())))


def check_mapping(path: Path, raw: dict, delimiter: str | None = None, encoding: str = "utf-8") -> CheckOutcome:
    stat = path.stat()
    return _check(str(path), (stat.st_size, stat.st_mtime_ns), delimiter, encoding, json.dumps(raw, sort_keys=True))
