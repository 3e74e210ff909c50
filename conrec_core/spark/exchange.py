"""Tables between a DuckDB workspace and Spark, as Parquet in an exchange folder. Times travel as microseconds
since the epoch (BIGINT), so neither side's time-zone rules touch them and the engines compare them exactly."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..data.workspace import artifacts_dir

# What Spark reads: the events' columns the samples and Swing use.
EVENT_COLUMNS = "event_id, user_id, item_id, epoch_us(ts) AS ts, kind"


def sql_string(text: str) -> str:
    """A string literal for a statement that takes no bound parameter where a path goes (COPY ... TO)."""
    return "'" + text.replace("'", "''") + "'"


def default_exchange(workspace: Path) -> Path:
    return artifacts_dir(workspace) / "spark"


@contextlib.contextmanager
def exchange_folder(workspace: Path, exchange: str | None) -> Iterator[Path]:
    """A fresh folder for one run's files, under `exchange` (one the cluster reads too) or beside the workspace;
    removed afterwards, whatever happens. Its name ends in this process's id, so `doctor` can tell the folder of
    a killed run (`maintenance/doctor.py`)."""
    root = Path(exchange) if exchange else default_exchange(workspace)
    folder = root / f"run-{uuid.uuid4().hex[:12]}-{os.getpid()}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def export(con, query: str, path: Path) -> str:
    """Write the rows of `query` to one Parquet file; returns its path as Spark reads it."""
    con.execute(f"COPY ({query}) TO {sql_string(str(path))} (FORMAT parquet)")
    return str(path)


def imported(path: Path) -> str:
    """The FROM clause that reads a table Spark wrote (a folder of part files)."""
    return f"read_parquet({sql_string(str(path / '*.parquet'))})"


def as_timestamp(column: str) -> str:
    """A microseconds column back to a TIMESTAMP."""
    return f"make_timestamp({column})"
