"""The sidebar choice of workspace shared by every page, and cached reads of it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from conrec_core.shipped import sample_data

from conrec_core.data import stats
from conrec_core.errors import ConrecError
from conrec_core.data.workspace import open_workspace
from app.plain import as_text

CACHE_ENTRIES = 8  # per cached function: keys include the file version, so old entries would pile up

SESSION_KEY = "workspace_choice"  # the sidebar widget's key
CHOSEN_KEY = "workspace_chosen"  # the choice itself, which outlives the widget between pages


@st.cache_resource(show_spinner="Importing the sample dataset (first run only)…")
def _sample_path(name: str) -> str:
    return str(sample_data.sample_workspace(name))


def _choices() -> dict[str, str]:
    """Label -> sample name or workspace path; samples first, then other workspaces in the folder."""
    choices = {sample.title: f"sample:{name}" for name, sample in sample_data.SAMPLES.items()}
    folder = sample_data.workspaces_dir()
    sample_files = {f"{name}.duckdb" for name in sample_data.SAMPLES}
    if folder.is_dir():
        for path in sorted(folder.glob("*.duckdb")):
            if path.name not in sample_files:
                choices[f"Workspace: {path.stem}"] = str(path)
    return choices


def pick_workspace() -> Path:
    """Show the picker in the sidebar and return the chosen workspace, importing a sample on first use. The choice
    holds across pages (Streamlit forgets a widget's state on a page that does not draw it, so it is kept under a
    key of its own) and sits in the URL (`?dataset=NAME`), so a link reopens it."""
    choices = _choices()
    labels = list(choices)
    remembered = st.session_state.get(CHOSEN_KEY)
    if remembered not in labels:
        remembered = _label_from_url(choices) or sample_data.SAMPLES[sample_data.DEFAULT_SAMPLE].title
    label = st.sidebar.selectbox("Dataset", labels, index=labels.index(remembered), key=SESSION_KEY)
    st.session_state[CHOSEN_KEY] = label
    choice = choices[label]
    st.query_params["dataset"] = url_name(choice)
    st.sidebar.caption("Other logs: the *Import a log* page, or `python -m conrec_core import SOURCE --workspace "
                       f"{sample_data.workspaces_dir()}/NAME.duckdb`, adds them here.")
    if choice.startswith("sample:"):
        name = choice.removeprefix("sample:")
        st.sidebar.caption(sample_data.SAMPLES[name].description)
        try:
            return Path(_sample_path(name))
        except ConrecError as error:
            st.error(as_text(f"The sample dataset could not be imported: {error}"))
            st.stop()
    return Path(choice)


def url_name(choice: str) -> str:
    """How the URL names a choice: a sample by its name, a workspace by its file's stem."""
    return choice.removeprefix("sample:") if choice.startswith("sample:") else Path(choice).stem


def _label_from_url(choices: dict[str, str]) -> str | None:
    """The label whose URL name the link holds; the URL's text is only compared, never made into a path."""
    wanted = st.query_params.get("dataset")
    return next((label for label, choice in choices.items() if url_name(choice) == wanted), None)


def workspace_version(path: Path) -> float:
    """Part of every cache key: a workspace written since (import, samples, codebook) reads afresh."""
    return path.stat().st_mtime


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def _overview(path: str, version: float) -> dict:
    with open_workspace(path) as con:
        return {"summary": stats.summarize(con), "per_day": stats.negatives_per_day(con),
                "per_user": stats.negatives_per_user(con), "splits": stats.split_table(con),
                "reasons": stats.negative_reasons(con), "report": stats.import_report(con)}


def workspace_overview(path: Path) -> dict:
    """Summary, daily and per-user counts, split table, reasons and import report, cached per file version."""
    try:
        return _overview(str(path), workspace_version(path))
    except (ConrecError, OSError) as error:
        st.error(as_text(error))
        st.stop()
