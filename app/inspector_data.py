"""Cached reads behind the user inspector."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from conrec_core.views.user import predicted_users as read_predicted_users

from .workspace_picker import workspace_version


@st.cache_data(show_spinner=False)
def _predicted(path: str, version: float) -> pd.DataFrame:
    return read_predicted_users(path)


def predicted_users(path: Path) -> pd.DataFrame:
    """(checkpoint, user_id) pairs with stored predictions for test samples (what the inspector shows)."""
    return _predicted(str(path), workspace_version(path))
