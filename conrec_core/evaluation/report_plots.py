"""The report's PNG plots (matplotlib: plotly's static export needs a browser)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..lm.checkpoints import read_metrics
from .method_labels import ROLES, short_label
from .report_record import Report
from .scoring import LABELS, METRICS


def metric_plot(summary: pd.DataFrame, path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 3.4), sharey=False)
    for axis, metric in zip(axes, METRICS):
        frame = summary.dropna(subset=[metric])
        values = frame[metric].astype(float)
        errors = [values - frame[f"{metric}_low"].astype(float), frame[f"{metric}_high"].astype(float) - values]
        colours = ["#7f7f7f" if m in ROLES else "#d62728" for m in frame["method"]]
        axis.bar(range(len(frame)), values, yerr=errors, color=colours, capsize=3)
        axis.set_xticks(range(len(frame)), [short_label(m) for m in frame["method"]], rotation=60, ha="right",
                        fontsize=7)
        axis.set_title(f"{LABELS[metric]}@{int(summary['k'].max())}")
    figure.suptitle("Per method, 95% bootstrap intervals (grey: baselines)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name


def grpo_plot(folder: Path, path: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evaluations = [r for r in read_metrics(folder) if "validation" in r and "event" in r]
    if not evaluations:
        return None
    figure, axis = plt.subplots(figsize=(7, 3.4))
    warm = [r for r in evaluations if r["stage"] == 0]
    for stage in sorted({r["stage"] for r in evaluations} - {0}):
        points = [r for r in evaluations if r["stage"] == stage]
        axis.plot([r["step"] for r in points], [r["validation"]["fhr"] for r in points], marker="o",
                  label=f"stage {stage}: {points[0]['prompt']}")
    if warm:
        axis.axhline(warm[0]["validation"]["fhr"], color="grey", linestyle=":", label="warm-up SFT model")
    axis.set_xlabel("GRPO step")
    axis.set_ylabel(f"validation FHR@{evaluations[0]['validation']['k']}")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name


def filter_plot(table: pd.DataFrame, path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.4))
    for column, label, colour in (("negatives_caught", "future negatives caught", "#d62728"),
                                  ("positives_filtered", "future positives wrongly filtered", "#2ca02c"),
                                  ("filter_rate", "all window items filtered", "#7f7f7f")):
        axis.plot(table["theta"], table[column], marker="o", label=label, color=colour)
    axis.set_xlabel("θ (cosine to the predicted-dislike set)")
    axis.set_ylabel("share")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name


def long_tail_plot(report: Report, path: Path) -> str | None:
    """LIF@K against the long-tail items each method spends its top K on, and LIF@K at the full method's budget."""
    budget = report.long_tail_budget
    by_name = {row["method"]: row for row in (budget or {}).get("methods", [])}
    methods = [m for m in report.methods if m.method in by_name and m.lif and by_name[m.method]["lif_at_budget"]]
    if not methods:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = methods[0].k
    colours = ["#d62728" if m.method == budget["reference"] else
               "#7f7f7f" if m.role in ROLES.values() else "#ff9896" for m in methods]
    figure, (spent, ranked) = plt.subplots(1, 2, figsize=(11, 4))
    for method, colour in zip(methods, colours):
        x, y = by_name[method.method]["long_tail_items"], method.lif.value
        spent.scatter(x, y, color=colour)
        spent.annotate(method.method, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    spent.set_xlabel(f"long-tail items in the top {k} (mean)")
    spent.set_ylabel(f"LIF@{k}")
    spent.set_title("What each list spends on the long tail")
    values = [by_name[m.method]["lif_at_budget"] for m in methods]
    ranked.bar(range(len(methods)), [v["value"] for v in values], color=colours, capsize=3,
               yerr=[[v["value"] - v["low"] for v in values], [v["high"] - v["value"] for v in values]])
    ranked.set_xticks(range(len(methods)), [m.method for m in methods], rotation=60, ha="right", fontsize=7)
    ranked.set_title(f"LIF@{k} at the full method's long-tail budget")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name
