"""The workspace: one DuckDB file holding a dataset and everything conrec derives from it.

Writers never touch a workspace in place when they replace its data: `new_workspace` builds a fresh file
beside it and swaps it in only after everything succeeded, so a failed import leaves the old one as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Iterator

import duckdb

from ..errors import WorkspaceBusy, WorkspaceError
from .schema import SCHEMA_VERSION, create_tables, migrate

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
# DuckDB lets a query take 80% of the machine's memory by default; a workspace connection gets this much and
# spills the rest to disk (joins, sorts, aggregations), so a big log's samples and Swing fit beside the app.
# CONREC_DUCKDB_MEMORY sets another (README: Big logs).
MEMORY_LIMIT = os.environ.get("CONREC_DUCKDB_MEMORY", "3GB")  # docs/decisions.md#big-logs
LOCK_TIMEOUT = 15.0  # seconds a connection waits for another process's lock (writers hold it for seconds)
# The results of long work (predictions, metrics, a codebook, embeddings) wait this long for readers to let
# go: giving up would throw the work away, and a reader (the app, a DuckDB shell) may hold on for a while.
RESULT_LOCK_TIMEOUT = 600.0


def require_workspace_file(path: Path | str) -> Path:
    """`path` if it is a DuckDB file, else a clear WorkspaceError: the check a command makes before it loads
    its libraries (it reads only the file's header, so it never waits for another process's lock)."""
    path = Path(path)
    if not path.is_file():
        raise WorkspaceError(f"{path}: no workspace here; create one with "
                             f"`python -m conrec_core import SOURCE --workspace {path}`")
    if not _is_duckdb_file(path):
        raise WorkspaceError(f"{path}: not a DuckDB file, so not a conrec workspace")
    return path


def connect(path: Path | str, *, read_only: bool = True, lock_timeout: float = LOCK_TIMEOUT) -> duckdb.DuckDBPyConnection:
    """Open an existing workspace, migrated to this conrec's schema; a clear WorkspaceError when it is missing,
    locked or not a workspace."""
    path = require_workspace_file(path)
    con = _connect_duckdb(path, read_only=read_only, lock_timeout=lock_timeout)
    version = _schema_version(con, path)
    if version < SCHEMA_VERSION:
        con.close()
        _migrate(path, lock_timeout)
        con = _connect_duckdb(path, read_only=read_only, lock_timeout=lock_timeout)
    _refuse_views(con, path)
    return con


def _refuse_views(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A conrec workspace holds tables only; a view (over read_text('/etc/…'), say) marks a crafted file."""
    views = [name for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary ORDER BY 1 LIMIT 4").fetchall()]
    if views:
        con.close()
        raise WorkspaceError(f"{path}: holds views ({', '.join(views[:3])}), which no conrec workspace has; it was "
                             "not made by conrec and is not opened")


def _connect_duckdb(path: Path, *, read_only: bool, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to `path` in UTC, waiting up to `lock_timeout` seconds for another writer."""
    deadline = time.monotonic() + lock_timeout
    while True:
        try:
            # a reader reaches nothing but the workspace: no view or query in a crafted file can read other files
            config = {"memory_limit": MEMORY_LIMIT} | ({"enable_external_access": False} if read_only else {})
            con = duckdb.connect(str(path), read_only=read_only, config=config)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise WorkspaceError(f"{path}: cannot open ({str(error).splitlines()[0]})") from None
            if time.monotonic() > deadline:
                raise WorkspaceBusy(f"{path}: the workspace is in use by another process (waited "
                                    f"{lock_timeout:.0f} s); close it there and try again") from None
            time.sleep(0.2)
        except duckdb.Error as error:
            raise WorkspaceError(f"{path}: cannot open ({str(error).splitlines()[0]})") from None
    con.execute("SET TimeZone = 'UTC'")
    return con


def _schema_version(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The workspace's schema version; closes `con` and refuses a file that is no workspace, or a newer one."""
    version = read_meta(con, "schema_version") if has_table(con, "meta") else None
    if version is None:
        con.close()
        raise WorkspaceError(f"{path}: a DuckDB file, but not a conrec workspace")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        con.close()
        raise WorkspaceError(f"{path}: workspace schema version {version}, this conrec reads up to "
                             f"{SCHEMA_VERSION}; update conrec or import the data again")
    return version


def _migrate(path: Path, lock_timeout: float) -> None:
    """Bring an older workspace up to date: a moment of write access, like any writer's."""
    con = _connect_duckdb(path, read_only=False, lock_timeout=lock_timeout)
    try:
        version = _schema_version(con, path)
        if version < SCHEMA_VERSION:  # another process may have migrated it meanwhile
            migrate(con, version)
    finally:
        con.close()


@contextlib.contextmanager
def open_workspace(path: Path | str, *, read_only: bool = True, lock_timeout: float = LOCK_TIMEOUT
                   ) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only=read_only, lock_timeout=lock_timeout)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def new_workspace(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to a fresh workspace that replaces `path` only if the block succeeds."""
    path = Path(path).expanduser().resolve()
    if path.exists() and not path.is_file():
        raise WorkspaceError(f"{path}: exists and is not a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        _check_replaceable(path)  # fail before the work, and again before the swap
    lock = _import_lock(path)  # one import into a path at a time: two would both report a success only one kept
    remove_orphan_imports(path)
    staging = path.with_name(f".{path.name}.building-{os.getpid()}")
    _remove_database(staging)
    con = duckdb.connect(str(staging), config={"memory_limit": MEMORY_LIMIT})
    try:
        con.execute("SET TimeZone = 'UTC'")
        create_tables(con)
        write_meta(con, "schema_version", SCHEMA_VERSION)
        yield con
        con.execute("CHECKPOINT")
        con.close()
        if path.exists():
            _check_replaceable(path)
        os.replace(staging, path)
    except BaseException:
        con.close()
        _remove_database(staging)
        raise
    finally:
        _release_import_lock(lock)  # a killed process's lock goes with it; its empty file is doctor's to remove


def _import_lock(path: Path):
    """An open handle holding the exclusive lock on PATH's import lock file; WorkspaceBusy when another import
    into the same path holds it."""
    lock_path = path.with_name(f".{path.name}.import-lock")
    while True:
        handle = open(lock_path, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise WorkspaceBusy(f"{path}: another import into this workspace is running; wait for it to finish "
                                "(the workspace is replaced only when one succeeds)") from None
        try:  # the file a finishing import removed is no lock: take the one at the path now
            if os.fstat(handle.fileno()).st_ino == os.stat(lock_path).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()


def _release_import_lock(handle) -> None:
    """Remove the lock file while still holding it (so nothing is left beside the workspace), then let go."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(handle.name)
    handle.close()


def artifacts_dir(workspace: Path | str) -> Path:
    """Folder beside the workspace file for what does not belong in tables: weights, job records."""
    workspace = Path(workspace)
    return workspace.with_name(workspace.stem + ".files")


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks: what artefact records store to be checked against later."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_name(name: str, what: str) -> str:
    """A user-chosen name that becomes part of a file path: letters, digits, _ . - only, no leading dot."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise WorkspaceError(f"{what} name {name!r} is not allowed: use 1-64 letters, digits, '_', '.' or '-', "
                             "starting with a letter or digit")
    return name


def _is_duckdb_file(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(12)[8:12] == DUCKDB_MAGIC


def _check_replaceable(path: Path) -> None:
    """Refuse to overwrite anything but a conrec workspace that no other process has open."""
    if not _is_duckdb_file(path):
        raise WorkspaceError(f"{path}: exists and is not a conrec workspace; refusing to overwrite it")
    try:
        con = duckdb.connect(str(path))  # also folds a leftover write-ahead log into the old file
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WorkspaceError(f"{path}: the workspace is in use by another conrec process; "
                                 "close it and try again") from None
        raise WorkspaceError(f"{path}: cannot open the existing file ({str(error).splitlines()[0]})") from None
    try:
        if not has_table(con, "meta"):
            raise WorkspaceError(f"{path}: a DuckDB database but not a conrec workspace; refusing to overwrite it")
    finally:
        con.close()


def remove_orphan_imports(path: Path) -> list[str]:
    """Remove the staging files of imports into `path` whose process is gone (killed mid-import); a staging
    file whose PID is alive may be another import at work and stays. Returns the names removed."""
    removed = []
    for staging in path.parent.glob(f".{path.name}.building-*"):
        pid = staging.name.rsplit("-", 1)[1]
        if staging.name.endswith(".wal") or not pid.isdigit() or pid_alive(int(pid)):
            continue
        _remove_database(staging)
        removed.append(staging.name)
    return removed


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_database(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary",
                            [name]).fetchall()[0][0])


def write_meta(con, key: str, value: Any) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, json.dumps(value, default=str)])


def read_meta(con, key: str, default: Any = None) -> Any:
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return json.loads(rows[0][0]) if rows else default
