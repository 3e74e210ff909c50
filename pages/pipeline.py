"""Pipeline: run everything from codebook to report as one background job, read each run's report, compare runs
and seeds."""

import plotly.graph_objects as go
import streamlit as st

from app import runs_data
from app.plain import as_text
from app.job_panel import job_panel
from app.workspace_picker import pick_workspace
from conrec_core.errors import ConrecError
from conrec_core.evaluation.method_labels import method_label, short_label
from conrec_core.evaluation.report_warnings import report_warnings
from app.settings_form import field_help, settings_inputs
from conrec_core.experiment.seeds import seed_groups
from conrec_core.experiment.spec import PRESETS, ExperimentSpec, resolve
from conrec_core.jobs.params import PipelineJob
from conrec_core.views.runs import compare_figures, run_table, sample_differences
from conrec_core.evaluation.seed_summary import markdown as seeds_markdown
from conrec_core.jobs.registry import JobRegistry
from conrec_core.decoding.tail_quota import MEMBERS
from conrec_core.semantic_ids.encoder_config import EncoderConfig
from conrec_core.views.report import (FIGURES, display_table, filter_curve, headline, long_tail_budget,
                                      methods_frame, paired_tests_in_words)

REPORT_FILES = (("report.html", "text/html"), ("report.json", "application/json"),
                ("sample_metrics.parquet", "application/octet-stream"))
FIGURE_LABELS = dict(FIGURES)

st.title("Pipeline and reports")
st.caption("One job from the imported log to a report: codebook, SFT, progressive GRPO, predictions, the "
           "baselines, per-sample metrics with intervals over users. Every run is kept by its settings and "
           "seed, so runs and seeds can be compared here.")
workspace = pick_workspace()
registry = JobRegistry(workspace)

preset = st.radio("Preset", list(PRESETS), format_func=lambda name: PRESETS[name][0], key="pipeline_preset")
preset_spec = resolve(preset)
with st.form("pipeline_settings"):
    left, right = st.columns(2)
    first_seed = left.number_input("First seed", 0, 10_000, 0, key="pipeline_first_seed")
    seed_count = right.number_input("Seeds", 1, 5, 1, key="pipeline_seeds",
                                    help="every learnt method (SID models, SASRec) is trained once per seed")
    # keyed by the preset, so each preset's own values show until a person changes them
    chosen = settings_inputs(EncoderConfig, [left], ("collaborative",), f"pipeline_{preset}",
                             labels={"collaborative": "Co-occurrence vectors in the SIDs"},
                             values=preset_spec.codebook.encoder)
    chosen |= settings_inputs(ExperimentSpec, [right, left, right],
                              ("members", "tail_calibration", "codebook_per_seed"), f"pipeline_{preset}",
                              values=preset_spec,
                              labels={"members": "SID models per seed",
                                      "tail_calibration": "Calibrated to the user's own long tail"})
    quotas = [MEMBERS, *range(preset_spec.decoding.returns + 1)]
    chosen["tail_quota"] = st.selectbox(
        "Long-tail items in each fused top K", quotas, index=quotas.index(preset_spec.tail_quota),
        key=f"pipeline_{preset}_tail_quota", help=field_help(ExperimentSpec, "tail_quota"),
        format_func=lambda q: "as many as the models held (members)" if q == MEMBERS else f"at least {q}")
    started = st.form_submit_button("Run the pipeline", type="primary")
if started:
    try:
        spec = resolve(preset, chosen)
        seeds = tuple(range(int(first_seed), int(first_seed + seed_count)))
        job = registry.submit("pipeline", PipelineJob(preset=preset, seeds=seeds, spec=spec))
        st.toast(f"Pipeline job {job.id} is {job.status}.")
    except ConrecError as error:
        st.error(as_text(error))
job_panel(workspace, "pipeline", "pipeline run")

runs = runs_data.runs(workspace)
if not runs:
    st.info("No finished run on this workspace yet: start one above (the quick preset takes a few minutes).")
    st.stop()
names = [record.name for record, _ in runs]
by_name = dict(zip(names, runs))


def run_label(name: str) -> str:
    record, report = by_name[name]
    return f"{record.finished_at[:16].replace('T', ' ')} · {record.preset} · seed {record.seed} ({name})"


st.subheader("Runs")
st.dataframe(run_table(runs), hide_index=True, width="stretch", column_config={
    "full method FHR": st.column_config.NumberColumn(format="%.3f"),
    "best baseline FHR": st.column_config.NumberColumn(format="%.3f"),
    "settings": st.column_config.TextColumn(help="hash of the settings (seed aside) and of the samples scored")})

report_tab, compare_tab, seeds_tab = st.tabs(["Report", "Compare two runs", "Across seeds"])

with report_tab:
    chosen = st.selectbox("Run", names, format_func=run_label, key="pipeline_run")
    record, report = by_name[chosen]
    frame = methods_frame(report)
    top = headline(report)
    if top is not None:
        cells = st.columns(3)
        cells[0].metric(f"Full method FHR@{top['k']}", f"{top['full']:.3f}",
                        help=f"averaged per user first: {top['full_per_user']:.3f}")
        cells[1].metric(f"Best baseline FHR@{top['k']}", f"{top['best']:.3f}",
                        help=f"{top['best_label']}; averaged per user first: {top['best_per_user']:.3f}")
        if top["difference"] is not None:
            difference = top["difference"]
            cells[2].metric("Difference", f"{difference['value']:+.3f}",
                            help=f"95% interval [{difference['low']:+.3f}, {difference['high']:+.3f}], users "
                                 "resampled" + ("" if top["ratio"] is None else
                                                f"; ratio {top['ratio']['value']:.2f} [{top['ratio']['low']:.2f}, "
                                                f"{top['ratio']['high']:.2f}]"))
        st.markdown(f"**{top['verdict'][0].upper() + top['verdict'][1:]}.**")
    for warning in report_warnings(report):
        st.warning(warning, icon=":material/warning:")
    st.caption(f"{report.split} split ({report.sample_split} sample split); 95% intervals resample "
               "users; p is a paired sign-flip test of FHR against the best baseline, per user.")
    st.dataframe(display_table(frame), hide_index=True, width="stretch",
                 column_config={"name": st.column_config.TextColumn(help="internal name (CLI, files)")})
    for sentence in paired_tests_in_words(report):
        st.markdown(f"- {sentence}")
    metric = st.radio("Figure", [f for f, _ in FIGURES if frame[f].notna().any()], format_func=FIGURE_LABELS.get,
                      horizontal=True, key="pipeline_figure")
    shown = frame[frame[metric].notna()]
    # horizontal bars with short labels: the full roles would squash a vertical chart at 1,400 px
    chart = go.Figure(go.Bar(y=shown["name"].map(short_label), x=shown[metric], orientation="h",
                             hovertext=shown["method"] + " (" + shown["name"] + ")",
                             error_x=dict(type="data", symmetric=False, array=shown[f"{metric}_high"] - shown[metric],
                                          arrayminus=shown[metric] - shown[f"{metric}_low"]),
                             marker_color=["#7f7f7f" if b else "#c0392b" for b in shown["baseline"]]))
    chart.update_layout(height=80 + 28 * len(shown), margin=dict(l=0, r=0, t=40, b=0),
                        xaxis_title=FIGURE_LABELS[metric], yaxis_autorange="reversed",
                        title=f"{FIGURE_LABELS[metric]}@{int(frame['k'].iloc[0])} with 95% intervals "
                              "(grey: baselines)")
    st.plotly_chart(chart, width="stretch", key="pipeline_chart")
    budget = long_tail_budget(report)
    if not budget.empty:
        st.markdown(f"**Long tail at an equal budget.** LIF@{int(frame['k'].iloc[0])} counts only long-tail hits, so "
                    "a list can win it by filling its top K with long-tail items (left). On the right every method "
                    "keeps, per sample, only as many long-tail items as the full method put in that sample's list: "
                    "which method ranks the long tail better, whatever room it gives it.")
        colours = ["#7f7f7f" if b else "#c0392b" for b in budget["baseline"]]
        spent, ranked = st.columns(2)
        scatter = go.Figure(go.Scatter(x=budget["long_tail_items"], y=budget["lif"], mode="markers+text",
                                       text=budget["name"], textposition="top center", hovertext=budget["method"],
                                       marker=dict(color=colours, size=10)))
        scatter.update_layout(height=360, margin=dict(l=0, r=0, t=40, b=0), xaxis_title="long-tail items in the top K",
                              yaxis_title="LIF", title="What each list spends on the long tail")
        spent.plotly_chart(scatter, width="stretch", key="pipeline_tail_spent")
        bars = go.Figure(go.Bar(x=budget["method"], y=budget["lif_at_budget"], hovertext=budget["name"],
                                marker_color=colours,
                                error_y=dict(type="data", symmetric=False, array=budget["high"] - budget["lif_at_budget"],
                                             arrayminus=budget["lif_at_budget"] - budget["low"])))
        bars.update_layout(height=360, margin=dict(l=0, r=0, t=40, b=0), yaxis_title="LIF at the budget",
                           title="LIF at the full method's long-tail budget")
        ranked.plotly_chart(bars, width="stretch", key="pipeline_tail_budget")
    curve = filter_curve(report)
    if not curve.empty:
        filtered = go.Figure()
        for column, name in (("negatives_caught", "future negatives filtered"),
                             ("positives_filtered", "future positives filtered")):
            filtered.add_trace(go.Scatter(x=curve["theta"], y=curve[column], mode="lines+markers", name=name))
        filtered.update_layout(height=320, margin=dict(l=0, r=0, t=40, b=0), xaxis_title="threshold θ",
                               yaxis_title="share", title=f"Filter simulation ({method_label(report.filter_checkpoint)})")
        st.plotly_chart(filtered, width="stretch", key="pipeline_filter")
    present = [(file, mime) for file, mime in REPORT_FILES if runs_data.has_run_file(workspace, chosen, file)]
    buttons = st.columns(len(present) + 1)
    for column, (file, mime) in zip(buttons, present):
        column.download_button(file, runs_data.run_file(workspace, chosen, file), file_name=f"{chosen}-{file}",
                               mime=mime, key=f"pipeline_download_{file}",
                               help="the report as one page, figures inside" if file == "report.html" else None)
    buttons[-1].download_button("report.md + figures (zip)", runs_data.run_zip(workspace, chosen),
                                file_name=f"{chosen}-report.zip", mime="application/zip",
                                key="pipeline_download_zip")

with compare_tab:
    if len(names) < 2:
        st.info("Run the pipeline again (another seed or preset) to compare two runs.")
    else:
        left, right = st.columns(2)
        a = left.selectbox("Run A", names, index=1, format_func=run_label, key="pipeline_compare_a")
        b = right.selectbox("Run B", names, index=0, format_func=run_label, key="pipeline_compare_b")
        metric = st.radio("Figure", [f for f, _ in FIGURES], format_func=FIGURE_LABELS.get, horizontal=True,
                          key="pipeline_compare_figure")
        figures = compare_figures(by_name[a][1], by_name[b][1], metric)
        st.dataframe(figures, hide_index=True, width="stretch", column_config={
            column: st.column_config.NumberColumn(format="%.3f") for column in ("A", "B", "B − A")})
        record_a, record_b = by_name[a][0], by_name[b][0]
        if record_a.samples != record_b.samples:
            st.caption("The two runs were scored on different samples: only their figures compare, not their "
                       "samples one by one.")
        else:
            st.markdown("**Sample by sample**")
            methods_a = list(dict.fromkeys(runs_data.sample_metrics(workspace, a)["method"]))
            methods_b = list(dict.fromkeys(runs_data.sample_metrics(workspace, b)["method"]))
            full_a, full_b = by_name[a][1].full_method, by_name[b][1].full_method
            left, right = st.columns(2)
            method_a = left.selectbox("Method in A", methods_a, format_func=method_label, key="pipeline_method_a",
                                      index=methods_a.index(full_a) if full_a in methods_a else 0)
            method_b = right.selectbox("Method in B", methods_b, format_func=method_label, key="pipeline_method_b",
                                       index=methods_b.index(full_b) if full_b in methods_b else 0)
            pairs = sample_differences(runs_data.sample_metrics(workspace, a), runs_data.sample_metrics(workspace, b),
                                       method_a, method_b, "fhr")
            outcomes = pairs["outcome"].value_counts().reindex(["both hit", "only A hits", "only B hits",
                                                                "both miss"], fill_value=0)
            cells = st.columns(4)
            for cell, (outcome, count) in zip(cells, outcomes.items()):
                cell.metric(outcome, f"{count:,}", help="samples where the method's FHR is above 0 (A) / (B)")
            differing = pairs[pairs["outcome"].isin(["only A hits", "only B hits"])]
            st.dataframe(differing.sort_values(["outcome", "user_id"]), hide_index=True, width="stretch")

with seeds_tab:
    groups = seed_groups(runs, workspace)
    if not groups:
        st.info("No settings have been run with two or more seeds yet: choose 'Seeds' above 1 when you start "
                "the pipeline.")
    for settings, summary in groups.items():
        preset_of = next(record.preset for record, _ in runs if record.settings == settings)
        st.markdown(f"**Settings {settings}** ({preset_of}):")
        st.markdown(seeds_markdown(summary).split("\n", 2)[2])
