"""What the checkpoints page keeps between reruns: loaded models, tables read once per workspace version, and one
colour per GRPO stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from conrec_core.data.samples import read_samples
from conrec_core.decoding.prediction_store import read_predictions

from .workspace_picker import CACHE_ENTRIES, workspace_version


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _test_users(path: str, version: float) -> list[str]:
    return sorted(read_samples(path, "test", None)["user_id"].unique().tolist())


def test_users(path: Path) -> list[str]:
    """Users with a test sample: whom predictions can be run for."""
    return _test_users(str(path), workspace_version(path))


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _predictions(path: str, checkpoint: str, version: float) -> pd.DataFrame:
    frame = read_predictions(path, checkpoint)
    if "title" in frame:  # an id-only item is shown by its id, not as "None"
        frame["title"] = frame["title"].where(frame["title"].notna(), "(no title) " + frame["item_id"].astype(str))
    return frame


def predictions(path: Path, checkpoint: str) -> pd.DataFrame:
    return _predictions(str(path), checkpoint, workspace_version(path))


def stage_colours(evaluations: pd.DataFrame) -> dict[str, str]:
    """One colour per stage label, the same in every GRPO chart; the warm-up model in grey."""
    import plotly.express as px

    stages = [s for s in dict.fromkeys(evaluations.get("stage", [])) if s != "warm-up"]
    palette = px.colors.qualitative.Safe
    return {"warm-up": "#888888", **{s: palette[i % len(palette)] for i, s in enumerate(stages)}}


@st.cache_resource(max_entries=2, show_spinner="Loading the checkpoint…")
def loaded_model(folder: str, load_in_4bit: bool, version: float) -> dict:
    """The model in memory, and what it costs; `version` (the folder's mtime) reloads a retrained checkpoint."""
    from conrec_core.lm.backbones import guard_4bit
    from conrec_core.lm.checkpoints import load_checkpoint

    backbone, training = load_checkpoint(Path(folder), load_in_4bit=load_in_4bit)
    layers_4bit = guard_4bit(backbone.model) if load_in_4bit else 0
    return {"backbone": backbone, "memory_bytes": backbone.memory_bytes(), "layers_4bit": layers_4bit,
            "parameters": sum(p.numel() for p in backbone.model.parameters()), "device": str(backbone.device)}
