"""conrec app entry point: `streamlit run app/Home.py`."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded at run time
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import streamlit as st  # noqa: E402

st.set_page_config(page_title="conrec", page_icon="🚫", layout="wide")

from app.access import require_local_client  # noqa: E402

require_local_client()

PAGES = ROOT / "pages"
navigation = st.navigation([
    st.Page(PAGES / "overview.py", title="Workspace overview", icon=":material/monitoring:", default=True),
    st.Page(PAGES / "import_log.py", title="Import a log", icon=":material/upload_file:"),
    st.Page(PAGES / "pipeline.py", title="Pipeline and reports", icon=":material/analytics:"),
    st.Page(PAGES / "codebook_trainer.py", title="Codebook trainer", icon=":material/model_training:"),
    st.Page(PAGES / "codebook_explorer.py", title="Codebook explorer", icon=":material/scatter_plot:"),
    st.Page(PAGES / "train.py", title="Train", icon=":material/model_training:"),
    st.Page(PAGES / "checkpoints.py", title="Checkpoints", icon=":material/neurology:"),
    st.Page(PAGES / "user_inspector.py", title="User inspector", icon=":material/person_search:"),
    st.Page(PAGES / "long_tail_review.py", title="Long-tail review", icon=":material/filter_alt:"),
])
navigation.run()
