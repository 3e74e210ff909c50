"""Cached reads behind the user inspector."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from conrec_core.views import user as user_views

from .workspace_picker import CACHE_ENTRIES, workspace_version


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _predicted(path: str, version: float) -> pd.DataFrame:
    return user_views.predicted_users(path)


def predicted_users(path: Path) -> pd.DataFrame:
    """(checkpoint, user_id) pairs with stored predictions for test samples (what the inspector shows)."""
    return _predicted(str(path), workspace_version(path))


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _ranked(path: str, method: str, version: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    return user_views.ranked_users(path, method)


def ranked_users(path: Path, method: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(best, worst) users of a method by test FHR, read once per workspace version."""
    return _ranked(str(path), method, workspace_version(path))
