"""Whether a baseline's stored metrics still stand, so that a rerun of the pipeline (the SID model's settings
changed, another seed) scores it again only when something it depends on changed: its settings, the events, the
samples, the Swing table, the codebook the candidate metric reads, the split and K, or the code that ranks and
scores it (every conrec_core module `scoring.py` imports, directly or not; its comments and docstrings aside)."""

from __future__ import annotations

import ast
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from .baseline_names import SASREC_VARIANTS
from .baseline_settings import BaselineSettings
from .sasrec_config import SASRecConfig
from ..data.workspace import artifacts_dir, open_workspace, read_meta
from ..semantic_ids.store import list_codebooks

PACKAGE = Path(__file__).resolve().parents[1]
ENTRY = PACKAGE / "evaluation" / "scoring.py"


def _module_file(parts: list[str]) -> Path | None:
    path = PACKAGE.joinpath(*parts)
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return path / "__init__.py" if (path / "__init__.py").is_file() else None


def _imported_files(path: Path):
    """The package's modules `path` imports (relative or `conrec_core.` imports, at any depth of the file)."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        named = (node.module or "").split(".") if node.module else []
        if node.level:
            target = package[:len(package) - node.level + 1] + named
        elif named[0] == PACKAGE.name:
            target = named[1:]
        else:
            continue
        for parts in [target] + [target + [alias.name] for alias in node.names]:
            found = _module_file(parts)
            if found is not None:
                yield found


@lru_cache(maxsize=1)
def ranking_sources() -> tuple[Path, ...]:
    """Every package module the baselines' ranking and scoring run through."""
    seen: set[Path] = set()
    todo = [ENTRY]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(_imported_files(path))
    return tuple(sorted(seen))


def code_form(source: str) -> str:
    """What a module does, without its comments, docstrings and layout: an edit to those keeps every stored row.

    >>> code_form('def f(x):\\n    "Twice x."\\n    return 2 * x  # doubled') == code_form("def f(x): return 2*x")
    True
    >>> code_form("def f(x): return 2 * x") == code_form("def f(x): return 3 * x")
    False
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


@lru_cache(maxsize=1)
def code_digest() -> str:
    digest = hashlib.sha256()
    for path in ranking_sources():
        form = code_form(path.read_text(encoding="utf-8"))
        digest.update(f"{path.relative_to(PACKAGE)}\0{form}\0".encode())
    return digest.hexdigest()


def run_key(workspace, baseline: str, method: str, split: str, k: int, sasrec: SASRecConfig,
            settings: BaselineSettings) -> str:
    """What baseline `baseline` (stored as `method`) scored on `split` at `k` depends on, as one digest; the
    SASRec settings count only for the SASRec baselines (the others rank the same at every seed)."""
    with open_workspace(workspace) as con:
        events = con.execute("SELECT count(*), max(event_id) FROM events").fetchone()
        # a Swing table built again with the same settings on the same samples is the same table
        swing = {key: value for key, value in (read_meta(con, "swing") or {}).items() if key != "built_at"}
        inputs = {"samples": read_meta(con, "samples_fingerprint"), "swing": swing}
    books = {book["name"]: book["fingerprint"] for book in list_codebooks(workspace)}
    record = {"baseline": baseline, "method": method, "split": split, "k": k, "events": list(events),
              "codebook": books.get("default"), "settings": settings.to_dict(), "code": code_digest(),
              "sasrec": sasrec.to_dict() if baseline in SASREC_VARIANTS else None, **inputs}
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def _record_path(workspace, method: str, split: str) -> Path:
    return artifacts_dir(workspace) / "baselines" / f"{method}.{split}.scored.json"


def forget_run(workspace, method: str, split: str) -> None:
    """Before a baseline's rows are stored again: a run killed between the two never leaves a record that
    vouches for rows it did not write."""
    _record_path(workspace, method, split).unlink(missing_ok=True)


def record_run(workspace, method: str, split: str, key: str, rows: int) -> None:
    path = _record_path(workspace, method, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps({"key": key, "rows": rows}))
    temporary.replace(path)


def run_kept(workspace, method: str, split: str, key: str) -> bool:
    """Whether `method`'s stored rows on `split` were scored with exactly `key` and are all still there."""
    try:
        record = json.loads(_record_path(workspace, method, split).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("key") != key:
        return False
    with open_workspace(workspace) as con:
        stored = con.execute("SELECT count(*) FROM sample_metrics WHERE method = ? AND split = ?",
                             [method, split]).fetchone()[0]
    return stored == record.get("rows")
