"""Cached reads behind the user inspector."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from conrec_core.data.workspace import has_table, open_workspace

from .workspace_picker import workspace_version


@st.cache_data(show_spinner=False)
def _predicted(path: str, version: float) -> pd.DataFrame:
    with open_workspace(path) as con:
        if not has_table(con, "predictions"):
            return pd.DataFrame(columns=["checkpoint", "user_id"])
        return con.execute("""SELECT DISTINCT p.checkpoint, p.user_id FROM predictions p JOIN samples s USING (sample_id)
                              WHERE s.split = 'test' ORDER BY p.checkpoint, p.user_id""").df()


def predicted_users(path: Path) -> pd.DataFrame:
    """(checkpoint, user_id) pairs with stored predictions for test samples (what the inspector shows)."""
    return _predicted(str(path), workspace_version(path))
