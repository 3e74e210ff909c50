"""Codebook trainer: settings, a background training job with live progress, then the quality report."""

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app import codebook_data
from app.job_panel import job_panel
from app.settings_form import settings_inputs
from app.workspace_picker import pick_workspace
from conrec_core.semantic_ids.codebook_config import CodebookConfig
from conrec_core.semantic_ids.encoder_config import EncoderConfig
from conrec_core.errors import ConrecError
from conrec_core.jobs.params import CodebookJob
from conrec_core.jobs.registry import JobRegistry
from conrec_core.data.workspace import check_name
from app.plain import as_text

st.title("Codebook trainer")
st.caption("Items become short hierarchical semantic IDs: an RQ-VAE quantises each item's vector (text, image, "
           "co-occurrence) into one code per level. Training runs in the background: switching pages or "
           "closing the tab does not stop it.")

workspace = pick_workspace()

with st.form("codebook_settings"):
    left, middle, right = st.columns(3)
    name = left.text_input("Name", value="default", help="letters, digits, '_', '.', '-'", key="cb_name")
    codebook_values = settings_inputs(
        CodebookConfig, [left, middle, right],
        ("levels", "codebook_size", "epochs", "batch_size", "learning_rate", "code_decoder_steps", "latent_dim",
         "seed"), "cb")
    encoder_values = settings_inputs(EncoderConfig, [right], ("image_weight", "collaborative"), "cb")
    submitted = st.form_submit_button("Train codebook", type="primary")

if submitted:
    try:
        config = CodebookConfig(**codebook_values, encoder=EncoderConfig(**encoder_values))
        job = JobRegistry(workspace).submit("codebook", CodebookJob(name=check_name(name, "codebook"),
                                                                    config=config))
        st.toast(f"Training job {job.id} is {job.status}.")
    except ConrecError as error:
        st.error(as_text(error))

job_panel(workspace, "codebook", "codebook training")

chosen = codebook_data.pick_codebook(workspace)
if chosen is None:
    st.info("This workspace has no codebook yet: train one above (a few minutes on the sample data).")
    st.stop()

report = chosen["report"]
st.subheader(f"Quality of codebook “{chosen['name']}”")
cols = st.columns(4)
cols[0].metric("Reconstruction cosine", f"{report['reconstruction_cosine_mean']:.3f}",
               help="mean cosine between an item's vector and its vector decoded from the SID; target 0.9")
cols[1].metric("10th percentile", f"{report['reconstruction_cosine_p10']:.3f}")
cols[2].metric("Items needing a 4th token", f"{report['fourth_token_share']:.1%}",
               help=f"largest group sharing all level codes: {report['largest_collision_group']}")
cols[3].metric("Items", f"{report['items']:,}")
st.caption(f"Fingerprint {chosen['fingerprint'][:16]} · trained {chosen['created_at']:%Y-%m-%d %H:%M} UTC "
           f"in {report['seconds']} s")

left, right = st.columns(2)
with left:
    levels_axis = [f"level {i + 1}" for i in range(len(report["utilisation"]))]
    chart = go.Figure([go.Bar(x=levels_axis, y=report["utilisation"], name="codes used",
                              text=[f"{u:.0%}" for u in report["utilisation"]], textposition="auto")])
    chart.update_layout(title="Codebook utilisation per level", yaxis_tickformat=".0%", yaxis_range=[0, 1],
                        height=300, margin=dict(l=0, r=0, t=40, b=0))
    st.plotly_chart(chart, width="stretch")
    st.caption("Perplexity per level (the number of equally used codes it amounts to): "
               + ", ".join(f"{p:.0f}" for p in report["perplexity"]))
with right:
    items = codebook_data.items(workspace, chosen["name"])
    chart = px.histogram(items, x="reconstruction_cosine", nbins=50, title="Reconstruction cosine per item")
    chart.add_vline(x=0.9, line_dash="dash", annotation_text="target")
    chart.update_layout(height=300, margin=dict(l=0, r=0, t=40, b=0), yaxis_title="items")
    st.plotly_chart(chart, width="stretch")

left, right = st.columns(2)
with left:
    curve = report["loss_curve"]
    chart = px.line(curve, x="epoch", y=["loss", "reconstruction", "commitment"], log_y=True,
                    title="RQ-VAE training loss (the first epochs warm up the autoencoder alone)")
    chart.update_layout(height=320, margin=dict(l=0, r=0, t=40, b=0), legend_title_text="", yaxis_title="")
    st.plotly_chart(chart, width="stretch")
with right:
    if report.get("code_decoder_curve"):
        chart = px.line(report["code_decoder_curve"], x="step", y="loss", log_y=True,
                        title="Code decoder fit (1 - cosine)")
        chart.update_layout(height=320, margin=dict(l=0, r=0, t=40, b=0), yaxis_title="")
        st.plotly_chart(chart, width="stretch")
        st.caption(f"The RQ-VAE's own decoder, reading the summed codewords, reaches cosine "
                   f"{report['sum_decoder_cosine_mean']:.3f}; the code decoder reads each level's codeword.")
