"""Long-tail review: how every method does on the slices where dislikes are hardest to predict; export a slice."""

import re
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from app import review_data
from app.plain import as_text
from app.workspace_picker import pick_workspace
from conrec_core.evaluation.baselines import BASELINES, baseline_of
from conrec_core.errors import ConrecError
from conrec_core.evaluation.scoring import LABELS, METRICS
from conrec_core.evaluation.intervals import format_p
from conrec_core.evaluation.method_labels import method_label, short_label
from conrec_core.evaluation.slices import (EXPORT_FORMATS, FILTER_METRICS, SLICES, export_slice,
                                          slice_definitions, slice_table, take_slice)

st.title("Long-tail review")
st.caption("Metrics per slice with 95% bootstrap intervals, every scored method side by side; p is a paired test of "
           "FHR against the best baseline on the same samples.")
workspace = pick_workspace()
split = st.radio("Split", ["test", "validation"], horizontal=True, key="review_split")
frame = review_data.evaluated_samples(workspace, split)
if frame.empty:
    st.info("Nothing scored on this split yet: run `python -m conrec_core evaluate --workspace "
            f"{workspace} --split {split}` (after predictions), or the pipeline.")
    st.stop()

left, right = st.columns([1, 2])
definitions = slice_definitions(workspace)
slice_name = left.selectbox("Slice", SLICES, key="review_slice",
                            help="\n".join(f"{k}: {v}" for k, v in definitions.items()))
methods = right.multiselect("Methods", sorted(frame["method"].unique()), default=sorted(frame["method"].unique()),
                            format_func=method_label, key="review_methods")
metric_filter = None
if st.checkbox("Filter on a metric", key="review_filter_on"):
    a, b, c = st.columns([1, 1, 2])
    reference = a.selectbox("Of method", methods or sorted(frame["method"].unique()), key="review_filter_reference",
                            format_func=method_label,
                            help="samples are chosen once, by this method's value; every method is then "
                                 "compared on those same samples")
    metric = b.selectbox("Metric", FILTER_METRICS, key="review_filter_metric")
    low, high = c.slider("Keep samples with the value in", 0.0, 1.0, (0.0, 0.0), 0.05, key="review_filter_range")
    metric_filter = (metric, low, high, reference)

rows = take_slice(frame[frame["method"].isin(methods)], slice_name, metric_filter)
st.write(f"**{rows['sample_id'].nunique():,} samples** of {frame['sample_id'].nunique():,} in this slice "
         f"({definitions[slice_name]}).")
table = slice_table(rows, BASELINES)
if table.empty:
    st.info("No samples in this slice.")
    st.stop()

display = table[["samples"]].copy()
display.insert(0, "method", table["method"].map(method_label))
for metric in METRICS:
    display[LABELS[metric]] = [None if v is None or v != v else f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
                               for v, lo, hi in zip(table[metric], table[f"{metric}_low"], table[f"{metric}_high"])]
if "fhr_p_value" in table:
    display[f"p (FHR vs {table['best_baseline'].iloc[0]})"] = [
        "" if p != p else format_p(p) for p in table["fhr_p_value"]]
display["name"] = table["method"]  # the internal name: checkpoints, files and the CLI use it
st.dataframe(display, hide_index=True, width="stretch",
             column_config={"name": st.column_config.TextColumn("name", help="internal name (CLI, files)")})

chart = go.Figure(go.Bar(y=table["method"].map(short_label), x=table["fhr"], orientation="h",
                         hovertext=table["method"].map(method_label) + " (" + table["method"] + ")",
                         error_x=dict(type="data", symmetric=False, array=table["fhr_high"] - table["fhr"],
                                      arrayminus=table["fhr"] - table["fhr_low"]),
                         marker_color=["#7f7f7f" if baseline_of(m) else "#d62728" for m in table["method"]]))
chart.update_layout(height=80 + 28 * len(table), margin=dict(l=0, r=0, t=40, b=0), title=f"FHR@{int(table['k'].max())} on "
                    f"{slice_name} (grey: baselines)", xaxis_title="FHR", yaxis_autorange="reversed")
st.plotly_chart(chart, width="stretch")

st.subheader("Export this slice")
slice_key = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{split}-{slice_name}").strip("-")
if metric_filter:
    slice_key += re.sub(r"[^A-Za-z0-9_.-]+", "-", f"-{metric_filter[0]}-{metric_filter[1]:g}-{metric_filter[2]:g}")
with st.form("review_export"):
    a, b = st.columns([2, 1])
    # keyed by the slice, so the name follows the slice chosen rather than keeping the first one's
    name = a.text_input("Export name", value=slice_key, key=f"review_export_name_{slice_key}")
    fmt = b.radio("Format", EXPORT_FORMATS, horizontal=True, key="review_export_format")
    overwrite = a.checkbox("Replace an export of the same name", key="review_export_overwrite")
    exported = st.form_submit_button("Export", type="primary")
if exported:
    try:
        data_path, manifest_path = export_slice(workspace, name, rows, fmt, split=split, slice_name=slice_name,
                                                metric_filter=metric_filter, methods=methods, table=table,
                                                overwrite=overwrite)
    except ConrecError as error:
        st.error(as_text(error))
    else:
        st.session_state["review_exported"] = (str(data_path), str(manifest_path))
        st.success(f"Wrote {len(rows):,} rows to {data_path.name} and its manifest to {manifest_path.name} "
                   f"(in {data_path.parent}).")
written = st.session_state.get("review_exported")
if written and all(Path(path).is_file() for path in written):
    data_file, manifest_file = map(Path, written)
    left, right = st.columns(2)
    left.download_button(f"Download {data_file.name}", data_file.read_bytes(), file_name=data_file.name,
                         mime="text/csv" if data_file.suffix == ".csv" else "application/octet-stream",
                         key="review_download_data")
    right.download_button(f"Download {manifest_file.name}", manifest_file.read_bytes(), file_name=manifest_file.name,
                          mime="application/json", key="review_download_manifest")
