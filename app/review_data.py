"""Cached reads behind the long-tail review."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from conrec_core.evaluation.slices import evaluated_samples as read_evaluated_samples

from .workspace_picker import CACHE_ENTRIES, workspace_version


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _evaluated(path: str, split: str, version: float) -> pd.DataFrame:
    return read_evaluated_samples(path, split)


def evaluated_samples(path: Path, split: str) -> pd.DataFrame:
    """Every scored sample of the split with its slice flags, read once per workspace version."""
    return _evaluated(str(path), split, workspace_version(path))
