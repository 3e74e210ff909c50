"""Cached reads of codebooks for the pages (cache keys include the workspace file's version)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from conrec_core.semantic_ids.store import list_codebooks
from conrec_core.views.codebook import codebook_items
from conrec_core.semantic_ids.item_index import ItemIndex

from .workspace_picker import CACHE_ENTRIES, workspace_version


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _codebooks(path: str, version: float) -> list[dict]:
    return list_codebooks(path)


def codebooks(path: Path) -> list[dict]:
    return _codebooks(str(path), workspace_version(path))


@st.cache_data(show_spinner="Loading the codebook…", max_entries=CACHE_ENTRIES)
def _items(path: str, name: str, version: float) -> pd.DataFrame:
    return codebook_items(path, name)


def items(path: Path, name: str) -> pd.DataFrame:
    return _items(str(path), name, workspace_version(path))


@st.cache_resource(show_spinner=False, max_entries=4)
def _index(path: str, name: str, version: float) -> ItemIndex:
    frame = _items(path, name, version)
    return ItemIndex(list(frame.item_id), np.stack(frame.vector.to_numpy()))


def index(path: Path, name: str) -> ItemIndex:
    return _index(str(path), name, workspace_version(path))


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _labels(path: str, name: str, version: float) -> dict[str, str]:
    frame = _items(path, name, version)
    return dict(zip(frame.item_id, frame.title + "  " + frame.sid))


def item_labels(path: Path, name: str) -> dict[str, str]:
    """item_id -> "title  SID", for item pickers."""
    return _labels(str(path), name, workspace_version(path))


def pick_codebook(path: Path) -> dict | None:
    """Sidebar choice among the workspace's codebooks, newest first; None when it has none."""
    available = codebooks(path)
    if not available:
        return None
    names = [c["name"] for c in available]
    name = st.sidebar.selectbox("Codebook", names, key="codebook_choice")
    return available[names.index(name)]
