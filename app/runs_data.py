"""Cached reads of the pipeline runs kept beside a workspace."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.workspace_picker import CACHE_ENTRIES
from conrec_core.evaluation.report_html import report_zip
from conrec_core.experiment.runs import RUN_FILE, SEEDS_FILE, list_runs, run_folder, runs_dir


def runs_version(workspace: Path) -> float:
    """Changes when a run starts or finishes (its folder or record is written)."""
    folder = runs_dir(workspace)
    if not folder.is_dir():
        return 0.0
    return max([folder.stat().st_mtime] + [p.stat().st_mtime for p in folder.glob(f"*/seed-*/{RUN_FILE}")]
               + [p.stat().st_mtime for p in folder.glob(f"*/{SEEDS_FILE}")])


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _runs(path: str, version: float) -> list:
    return list_runs(path)


def runs(workspace: Path) -> list:
    """(record, report) of every finished run, newest first."""
    return _runs(str(workspace), runs_version(workspace))


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _sample_metrics(path: str, name: str, version: float) -> pd.DataFrame:
    return pd.read_parquet(run_folder(path, name) / "sample_metrics.parquet")


def sample_metrics(workspace: Path, name: str) -> pd.DataFrame:
    return _sample_metrics(str(workspace), name, runs_version(workspace))


def has_run_file(workspace: Path, name: str, file: str) -> bool:
    return (run_folder(workspace, name) / file).is_file()


def run_zip(workspace: Path, name: str) -> bytes:
    """The run's report.md with the figures it links, zipped under the run's name."""
    return report_zip(run_folder(workspace, name), prefix=name)


def run_file(workspace: Path, name: str, file: str) -> bytes:
    """One of a run's report files, for download (names come from a fixed list, never from the user)."""
    return (run_folder(workspace, name) / file).read_bytes()
