"""Checkpoints: compare the trained checkpoints, read their curves, load one (4-bit or full), run predictions,
write the dislike list for production."""

from dataclasses import replace
from pathlib import Path

import plotly.express as px
import streamlit as st

from app import checkpoint_data
from app.plain import as_text
from app.job_panel import job_panel
from app.workspace_picker import pick_workspace
from conrec_core.errors import ConrecError
from conrec_core.evaluation.method_labels import method_label
from conrec_core.decoding.as_of import parse_as_of
from conrec_core.jobs.params import PredictJob, ScoreJob
from conrec_core.jobs.registry import JobRegistry
from conrec_core.decoding.decoding_config import DecodingConfig
from conrec_core.views.checkpoints import (checkpoint_table, codebook_fingerprints, fingerprint_status, grpo_curves,
                                           sft_curves)

st.title("Language-model checkpoints")
st.caption("The SID language model reads a user's recent dislikes and writes the semantic IDs of the items they "
           "will reject next. Compare what was trained (on the Train page), load a checkpoint in full or 4-bit "
           "precision and run its predictions in the background.")

workspace = pick_workspace()
registry = JobRegistry(workspace)
fingerprints = codebook_fingerprints(workspace)
if not fingerprints:
    st.info("This workspace has no codebook yet: train one on the Codebook trainer page first.")
    st.stop()

infos, table = checkpoint_table(workspace, fingerprints)

if not infos:
    st.info("No checkpoints yet: train one on the Train page, or run "
            f"`python -m conrec_core sft --workspace {workspace}`.")
    st.stop()

st.dataframe(table, hide_index=True, width="stretch", column_config={
    "alignment accuracy (validation)": st.column_config.NumberColumn(format="%.3f", help="chance is 0.25"),
    "next-negative loss (validation)": st.column_config.NumberColumn(format="%.3f"),
    "FHR@K (validation)": st.column_config.NumberColumn(
        format="%.3f", help="GRPO: its best stage's, on the validation samples it evaluated (K beside it)")})

names = [info.name for info in infos]
chosen_name = st.selectbox("Checkpoint", names, key="checkpoint_choice", format_func=method_label)
info = infos[names.index(chosen_name)]
status = fingerprint_status(info, fingerprints)

if info.stage == "grpo":
    grpo_steps, grpo_evaluations = grpo_curves(info.folder)
    stage_colours = checkpoint_data.stage_colours(grpo_evaluations)
    if not grpo_steps.empty:
        smoothed = grpo_steps.assign(value=grpo_steps.groupby(["figure", "stage"])["value"].transform(
            lambda s: s.rolling(10, min_periods=1).mean()))
        chart = px.line(smoothed, x="step", y="value", color="stage", facet_col="figure", facet_col_wrap=3,
                        color_discrete_map=stage_colours, title="GRPO per step (10-step mean), by stage")
        chart.update_yaxes(matches=None, title_text="")
        chart.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
        chart.update_layout(height=460, margin=dict(l=0, r=0, t=60, b=0), legend_title_text="")
        st.plotly_chart(chart, width="stretch")
    if not grpo_evaluations.empty:
        metric = next(c for c in grpo_evaluations.columns if c.startswith("FHR@"))
        chart = px.line(grpo_evaluations, x="step", y=metric, color="stage", markers=True, hover_data=["event"],
                        color_discrete_map=stage_colours, title=f"Validation {metric} per stage (each stage keeps its best)")
        warm = grpo_evaluations[grpo_evaluations["stage"] == "warm-up"][metric]
        if not warm.empty:
            chart.add_hline(y=float(warm.iloc[0]), line_dash="dot", annotation_text="warm-up SFT model")
        chart.update_layout(height=340, margin=dict(l=0, r=0, t=40, b=0), legend_title_text="")
        st.plotly_chart(chart, width="stretch")

steps_frame, evaluations = sft_curves(info.folder) if info.stage == "sft" else (None, None)
left, right = st.columns(2)
if steps_frame is not None and not steps_frame.empty:
    smoothed = steps_frame.assign(loss=steps_frame.groupby("task")["loss"].transform(
        lambda s: s.rolling(25, min_periods=1).mean()))
    chart = px.line(smoothed, x="step", y="loss", color="task", log_y=True,
                    title="Training loss per task (25-step mean)")
    chart.update_layout(height=320, margin=dict(l=0, r=0, t=40, b=0), legend_title_text="")
    left.plotly_chart(chart, width="stretch")
if evaluations is not None and not evaluations.empty:
    chart = px.line(evaluations, x="step", y="value", color="figure", markers=True,
                    title="Held-out figures (validation samples)")
    chart.add_hline(y=0.25, line_dash="dot", annotation_text="alignment chance")
    chart.update_layout(height=320, margin=dict(l=0, r=0, t=40, b=0), legend_title_text="", yaxis_title="")
    right.plotly_chart(chart, width="stretch")

st.subheader("Load")
precision = st.radio("Precision", ["full", "4-bit NF4"], horizontal=True, key="checkpoint_precision",
                     help="4-bit quantises the linear layers with bitsandbytes at load time; the checkpoint "
                          "itself stays in full precision")
if status != "matches":
    st.error(f"This checkpoint's codebook fingerprint does not match the workspace ({status}): its SIDs would "
             "name other items. Train it again on the current codebook.")
    st.stop()
if st.button("Load checkpoint", key="checkpoint_load"):
    try:
        loaded = checkpoint_data.loaded_model(str(info.folder), precision != "full",
                                              (info.folder / "training.json").stat().st_mtime)
    except (ConrecError, ImportError, RuntimeError) as error:
        st.error(as_text(f"Could not load {chosen_name}: {error}"))
    else:
        cols = st.columns(4)
        cols[0].metric("Memory", f"{loaded['memory_bytes'] / 2**20:,.1f} MiB",
                       help="parameters and buffers as held in memory (4-bit weights at their packed size)")
        cols[1].metric("Parameters", f"{loaded['parameters']:,}")
        cols[2].metric("4-bit layers", f"{loaded['layers_4bit']:,}")
        cols[3].metric("Device", loaded["device"])

st.subheader("Predict")
decoding = DecodingConfig()
users = checkpoint_data.test_users(workspace)
with st.form("predict_settings"):
    chosen_users = st.multiselect("Users (empty: every user with a test sample)", users, key="predict_users")
    left, right = st.columns(2)
    top_k = left.number_input("SIDs per sample", 1, 200, decoding.returns, key="predict_top_k")
    predict_4bit = right.checkbox("Load in 4-bit", key="predict_4bit")
    prior_weight = left.number_input(
        "Popularity prior weight", 0.0, 10.0, decoding.prior_weight, step=0.25, key="predict_prior_weight",
        help="re-rank the model's beams and the most disliked unseen items by log p(SID) + w · log(share of "
             "training negatives); 0: the model's own ranking. Helps where dislikes follow popularity.")
    choose_prior = right.checkbox("Choose the weight on validation", key="predict_choose_prior",
                                  help="try 0 to 10 on the validation samples and keep the best FHR@K (about as "
                                       "long as the predictions themselves)")
    run = st.form_submit_button("Run predictions", type="primary")
if run:
    try:
        ranking = replace(decoding, beams=max(int(top_k), decoding.beams), returns=int(top_k),
                          prior_weight=float(prior_weight))
        job = registry.submit("predict", PredictJob(checkpoint=chosen_name, users=tuple(chosen_users) or None,
                                                    load_in_4bit=predict_4bit, choose_prior=choose_prior,
                                                    decoding=ranking))
        st.toast(f"Prediction job {job.id} is {job.status}.")
    except ConrecError as error:
        st.error(as_text(error))
job_panel(workspace, "predict", "prediction run")

last = registry.latest("predict")
if last is not None and last.status == "done" and last.params.get("checkpoint") == chosen_name:
    result = last.result
    cols = st.columns(5)
    cols[0].metric("Samples", f"{result['samples']:,}")
    cols[1].metric(f"HR@{result['k']}", f"{result['hr']:.3f}", help="the next negative is in the top K")
    cols[2].metric(f"FHR@{result['k']}", f"{result['fhr']:.3f}", help="any negative of the 7-day window is in the top K")
    cols[3].metric("Invalid outputs", f"{result['invalid']:,}", help="0 under the SID constraint")
    cols[4].metric("Prior weight", f"{result.get('prior_weight', 0.0):g}",
                   help="the popularity prior's weight in the ranking (0: the model's own)")
    if result.get("prior_choice"):
        tried = result["prior_choice"]["fhr"]
        st.caption("Validation FHR@K by prior weight: " + ", ".join(f"{w}: {v:.3f}" for w, v in tried.items()))

predictions = checkpoint_data.predictions(workspace, chosen_name)
if predictions.empty:
    st.caption("No predictions from this checkpoint yet.")
else:
    user = st.selectbox("Show the predictions for user", sorted(predictions["user_id"].unique()),
                        key="predictions_user")
    st.dataframe(predictions[predictions["user_id"] == user][["anchor_ts", "rank", "sid", "item_id", "title",
                                                                         "score"]],
                 hide_index=True, width="stretch")

st.subheader("Dislike list for production")
st.caption("For every user, the items this checkpoint finds them most likely to reject next, given all their events "
           "up to a moment (by default the end of the log), never an item they already met: the list a "
           "recommender filters its candidates with. The same as `python -m conrec_core score --workspace "
           f"{workspace} --checkpoint {chosen_name} --out FILE.parquet`.")
with st.form("score_settings"):
    left, right = st.columns(2)
    score_k = left.number_input("Items per user", 1, 200, 20, key="score_top_k")
    as_of_text = right.text_input("Events up to (ISO-8601, UTC; empty: the end of the log)", key="score_as_of",
                                  placeholder="2024-03-01T00:00")
    score_users = st.multiselect("Users (empty: every user)", users, key="score_users")
    start_score = st.form_submit_button("Score users")
if start_score:
    try:
        parse_as_of(as_of_text.strip() or None)  # a typo fails here, not in the worker
        job = registry.submit("score", ScoreJob(checkpoint=chosen_name, top_k=int(score_k),
                                                as_of=as_of_text.strip() or None,
                                                users=tuple(score_users) or None))
        st.toast(f"Scoring job {job.id} is {job.status}.")
    except ConrecError as error:
        st.error(as_text(error))
job_panel(workspace, "score", "scoring run")
scored = registry.latest("score")
if scored is not None and scored.status == "done" and scored.params.get("checkpoint") == chosen_name:
    summary = scored.result
    scores_file = Path(summary["out"])
    cols = st.columns(3)
    cols[0].metric("Users", f"{summary['users']:,}")
    cols[1].metric("Rows", f"{summary['rows']:,}")
    cols[2].metric("Users per second", f"{summary['users_per_second']:,.1f}")
    st.caption(f"Events up to {summary['as_of']}; the file: {scores_file}")
    if scores_file.is_file():
        st.download_button("Download the dislike list (Parquet)", scores_file.read_bytes(),
                           file_name=scores_file.name, mime="application/octet-stream", key="score_download")

