"""The pipeline's report: `report.json` (every figure with its interval), `report.md` with PNG plots, and the
per-sample table every figure is computed from."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .baselines import baseline_of
from .scoring import EXTRA_METRICS, LABELS, METRICS
from .intervals import format_p
from .method_labels import FULL_ROLE, PRIOR_ROLE, REWARD_ROLES, ROLES, SFT_ROLE, VARIANT_ROLES, method_role
from ..lm.checkpoints import checkpoint_dir, read_metrics
from ..decoding.tail_quota import MEMBERS
from ..data.samples import read_sample_config
from ..data.stats import calendar_overlap
from ..data.workspace import open_workspace, read_meta


def method_roles(names, config) -> dict[str, str]:
    """What each method of the report is, by name (`names`: the pipeline's MethodNames)."""
    quota = {0: "", MEMBERS: ", keeping their long-tail share"}.get(
        config.tail_quota, f", at least {config.tail_quota} of {config.decoding.returns} long-tail")
    if config.tail_calibration:
        share = f"{config.tail_calibration:g} of the user's own"
        quota = f"{quota} or {share}, whichever is more" if quota else f", at least {share} long-tail share"
    fused = f", {names.members} members fused{quota}" if names.members > 1 else ""
    roles = {**ROLES, names.sft: SFT_ROLE + fused, names.grpo: FULL_ROLE + fused, names.prior: PRIOR_ROLE}
    if names.members > 1:
        roles.update({member: method_role(member) for member in names.sft_members + names.grpo_members})
    roles.update({names.variant(v): VARIANT_ROLES[v] for v in config.sft_variants})
    roles.update({names.reward(r): REWARD_ROLES[r] for r in config.grpo_rewards()})
    return roles


def ablation_rows(names, config) -> list[tuple[str, str]]:
    """Table 2 of the paper as (step, method), where the pipeline trained every row's model."""
    if not config.ablations or "lcrec" not in config.sft_variants:
        return []
    return [("translation + sequence SFT", names.variant("lcrec")), ("+ alignment SFT", names.sft),
            ("+ progressive GRPO (next-negative hit reward)", names.reward("next_negative")),
            ("+ future-negative reward", names.reward("future_negative")),
            ("+ positive penalty (full method)", names.grpo)]


def reward_rows(names, config) -> list[tuple[str, str]]:
    """Table 4 of the paper: (reward, method) for every reward variant the pipeline trained."""
    if not config.ablations:
        return []
    return [(REWARD_ROLES[r], names.reward(r)) for r in
            ("future_negative", "future_negative_truncated")] + [(REWARD_ROLES["default"], names.grpo)] + \
        [(REWARD_ROLES[r], names.reward(r)) for r in ("default_truncated", "sid_levels", "next_negative")]


def write_report(workspace, out: Path, config, summary: pd.DataFrame, metrics: pd.DataFrame, names,
                 seconds: dict[str, float], command: str | None = None, probes: dict | None = None,
                 kept: list[str] | None = None) -> dict:
    roles = method_roles(names, config)
    with open_workspace(workspace) as con:
        source = read_meta(con, "source", None)
    sample_config = read_sample_config(workspace)
    definitions = sample_config.definitions()
    with open_workspace(workspace) as con:
        overlap = calendar_overlap(con)
    methods = []
    for row in summary.to_dict("records"):
        entry = {"method": row["method"], "role": roles.get(row["method"], ROLES.get(baseline_of(row["method"]), "")),
                 "samples": row["samples"], "users": row["users"],
                 "k": row["k"]}
        for metric in METRICS + EXTRA_METRICS:
            entry[metric] = None if missing(row.get(metric)) else {
                "value": row[metric], "low": row[f"{metric}_low"], "high": row[f"{metric}_high"]}
        entry["fhr_p_value_vs_best_baseline"] = None if missing(row.get("fhr_p_value")) else row["fhr_p_value"]
        entry["lif_p_value_vs_best_lif_baseline"] = None if missing(row.get("lif_p_value")) else row["lif_p_value"]
        methods.append(entry)
    probes = probes or {}
    report = {"workspace": str(Path(workspace).name), "source": source, "split": config.split,
              "best_baseline": summary["best_baseline"].iloc[0] if "best_baseline" in summary else None,
              "best_lif_baseline": summary["best_lif_baseline"].iloc[0] if "best_lif_baseline" in summary else None,
              "full_method": names.grpo, "methods": methods,
              "ablation": [{"step": step, "method": method} for step, method in ablation_rows(names, config)],
              "reward_variants": [{"reward": reward, "method": method}
                                  for reward, method in reward_rows(names, config)],
              "seconds": {k: round(v, 1) for k, v in seconds.items()}, "kept_stages": kept or [],
              "command": command, "config": asdict(config), "definitions": definitions,
              "sample_split": sample_config.split, "calendar_overlap": overlap,
              "filter_simulation": probes["filter_simulation"].to_dict("records")
              if "filter_simulation" in probes else None,
              "filter_checkpoint": names.grpo_checkpoint, "forgetting": probes.get("forgetting"),
              "true_dislikes": probes.get("true_dislikes"), "prior": probes.get("prior"),
              "long_tail_budget": probes.get("long_tail_budget"),
              "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (out / "report.json").write_text(json.dumps(report, indent=2, default=_plain, allow_nan=False))
    metrics.to_parquet(out / "sample_metrics.parquet", index=False)
    plots = [metric_plot(summary, out / "metrics.png"),
             grpo_plot(checkpoint_dir(workspace, names.grpo_checkpoint), out / "grpo_validation.png"),
             filter_plot(probes["filter_simulation"], out / "filter.png") if "filter_simulation" in probes else None,
             long_tail_plot(report, out / "long_tail.png")]
    (out / "report.md").write_text(markdown(report, [p for p in plots if p]))
    return report


def missing(value) -> bool:
    """None or NaN: a metric without a population (no line-ups, no long-tail users) or no test."""
    return value is None or (isinstance(value, float) and value != value)


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


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
        axis.set_xticks(range(len(frame)), frame["method"], rotation=60, ha="right", fontsize=7)
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


def long_tail_plot(report: dict, path: Path) -> str | None:
    """LIF@K against the long-tail items each method spends its top K on, and LIF@K at the full method's budget."""
    budget = report.get("long_tail_budget")
    by_name = {row["method"]: row for row in (budget or {}).get("methods", [])}
    methods = [m for m in report["methods"] if m["method"] in by_name and m.get("lif") and
               by_name[m["method"]]["lif_at_budget"]]
    if not methods:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = methods[0]["k"]
    colours = ["#d62728" if m["method"] == budget["reference"] else
               "#7f7f7f" if m["role"] in ROLES.values() else "#ff9896" for m in methods]
    figure, (spent, ranked) = plt.subplots(1, 2, figsize=(11, 4))
    for method, colour in zip(methods, colours):
        x, y = by_name[method["method"]]["long_tail_items"], method["lif"]["value"]
        spent.scatter(x, y, color=colour)
        spent.annotate(method["method"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    spent.set_xlabel(f"long-tail items in the top {k} (mean)")
    spent.set_ylabel(f"LIF@{k}")
    spent.set_title("What each list spends on the long tail")
    values = [by_name[m["method"]]["lif_at_budget"] for m in methods]
    ranked.bar(range(len(methods)), [v["value"] for v in values], color=colours, capsize=3,
               yerr=[[v["value"] - v["low"] for v in values], [v["high"] - v["value"] for v in values]])
    ranked.set_xticks(range(len(methods)), [m["method"] for m in methods], rotation=60, ha="right", fontsize=7)
    ranked.set_title(f"LIF@{k} at the full method's long-tail budget")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name


def budget_table(report: dict) -> list[str]:
    """The long-tail budget section of report.md (evaluation/tail_budget.py), empty without one."""
    budget = report.get("long_tail_budget")
    rows = {row["method"]: row for row in (budget or {}).get("methods", [])}
    if not rows:
        return []
    k = report["methods"][0]["k"]
    lines = [f"Long tail at an equal budget: LIF@{k} counts only long-tail hits, so a list can win it by "
             f"filling its top {k} with long-tail items, whatever that costs in FHR. Here every method keeps, per "
             f"sample, only its first B long-tail items, B being how many the full method ({budget['reference']}) "
             f"put in that sample's top {k} (a method with fewer keeps all it has). At that budget the figures "
             "compare how well each method ranks the long tail; p is the paired test against the full method.", "",
             f"| method | long-tail items in the top {k} | LIF@{k} | LIF@{k} at the full method's budget | p |",
             "|---|---|---|---|---|"]
    for method in report["methods"]:
        row = rows.get(method["method"])
        if row is None or row["lif_at_budget"] is None:
            continue
        p = row["p_value_vs_reference"]
        lines.append(f"| {method['method']} | {row['long_tail_items']:.1f} | {interval_text(method['lif'])} | "
                     f"{interval_text(row['lif_at_budget'])} | {'–' if p is None else format_p(p).replace('= ', '')} |")
    return lines + [""]


def interval_text(figure: dict | None) -> str:
    return "–" if figure is None else f"{figure['value']:.4f} [{figure['low']:.4f}, {figure['high']:.4f}]"


def metric_table(rows: list[tuple[str, dict]], k: int, first: list[str], label) -> list[str]:
    """Markdown rows of every metric with its interval and the FHR and LIF p-values; `label(key, method)` gives
    the first cells."""
    header = first + ["users / samples"] + [f"{LABELS[m]}@{k}" for m in METRICS] + ["p (FHR)", "p (LIF)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, method in rows:
        tests = [method["fhr_p_value_vs_best_baseline"], method.get("lif_p_value_vs_best_lif_baseline")]
        cells = label(key, method) + [f"{method['users']} / {method['samples']}"] + [interval_text(method[m])
                                                                                 for m in METRICS]
        cells += ["–" if p is None else format_p(p).replace("= ", "") for p in tests]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def overlap_sentence(report: dict) -> str:
    """The split's calendar overlap in words: what a reader must know before trusting the figures."""
    overlap = report["calendar_overlap"]
    share = overlap["training_events_after_median_test_anchor"] or 0.0
    if report["sample_split"] == "global":
        return (f"Samples: global split (calendar cuts shared by all users); {share:.1%} of training events are "
                f"dated after the median test anchor, so no model saw the test period.")
    return (f"Samples: per-user split (the method's protocol: each user's own 70th/80th-percentile cuts). "
            f"{share:.1%} of the training events are dated after the median test anchor "
            f"({overlap['median_test_anchor'][:10] if overlap['median_test_anchor'] else 'none'}): models learn "
            "from other users' behaviour in the test period. `pipeline --split global` gives the leak-free check.")


def markdown(report: dict, plots: list[str]) -> str:
    k = report["methods"][0]["k"] if report["methods"] else 20
    lines = [f"# conrec report: {report['workspace']}", "",
             f"Split: **{report['split']}**. Means over samples with 95% cluster-bootstrap intervals (users "
             f"resampled: one user's samples are not independent); p is a paired sign-flip test of FHR@{k} against "
             f"the best baseline ({report['best_baseline']}) on the same samples, signs flipped per user, and of "
             f"LIF@{k} against the best baseline by LIF ({report.get('best_lif_baseline')}) on the samples with a "
             "long-tail future negative.", ""]
    if report.get("command"):
        lines += ["Made with:", "", f"    {report['command']}", ""]
    lines += [overlap_sentence(report), ""]
    by_name = {method["method"]: method for method in report["methods"]}
    extra = {row["method"] for row in report["reward_variants"]} - {report["full_method"]}
    lines += metric_table([(m["role"], m) for m in report["methods"] if m["method"] not in extra], k,
                          ["method", "what"], lambda role, m: [m["method"], role])
    if report["ablation"]:
        lines += ["", "Ablation (the paper's Table 2): each row adds one step to the row above.", ""]
        lines += metric_table([(row["step"], by_name[row["method"]]) for row in report["ablation"]
                               if row["method"] in by_name], k, ["step", "method"],
                              lambda step, m: [step, m["method"]])
    if report["reward_variants"]:
        lines += ["", "Reward variants (the paper's Table 4), every one GRPO from the same SFT model:", ""]
        lines += metric_table([(row["reward"], by_name[row["method"]]) for row in report["reward_variants"]
                               if row["method"] in by_name], k, ["reward", "method"],
                              lambda reward, m: [reward, m["method"]])
    truth = report.get("true_dislikes")
    if truth:
        lines += ["", f"True latent dislikes: share of each method's top {k} that carries a facet (category, colour, "
                  "style, material) of the user's ground-truth dislike profile. Reference: "
                  f"{truth['observed_future_negatives']:.3f} of the observed future negatives do (the rest is "
                  f"exposure noise and off-putting items), and {truth['catalogue']:.3f} of all catalogue items "
                  "(chance).", "", "| method | share of the top K hitting true dislikes |", "|---|---|"]
        lines += [f"| {m['method']} | {interval_text(m['true_dislike_share'])} |" for m in report["methods"]
                  if m.get("true_dislike_share")]
    definitions = report["definitions"]
    lines += ["", f"LUF: FHR over samples of long-tail users ({definitions['long-tail users']}). LIF: FHR counting "
              f"only long-tail future negatives (items with {definitions['long-tail items']}), over the samples that "
              "have one.", ""]
    lines += budget_table(report)
    forgetting = report.get("forgetting")
    if forgetting and forgetting["forgetting_rate"] is not None:
        lines += [f"Forgetting: item-level alignment accuracy (4 candidates, chance 0.25) {forgetting['alignment_before']:.3f} "
                  f"after SFT, {forgetting['alignment_after']:.3f} after GRPO: "
                  + (f"{forgetting['forgetting_rate']:.1%} lost" if forgetting["forgetting_rate"] >= 0 else
                     f"nothing lost ({-forgetting['forgetting_rate']:.1%} gained)")
                  + " (paper: 13.6% lost for the full method).", ""]
    prior = report.get("prior")
    if prior:
        tried = ", ".join(f"{weight}: {fhr:.3f}" for weight, fhr in prior["fhr"].items())
        lines += [f"Popularity prior ({prior['method']}): the full method's beams and the most disliked unseen "
                  "items, re-ranked by log p(SID) + w · log(share of training negatives). Weight chosen on the "
                  f"validation samples: **w = {prior['weight']}** (validation FHR@{k} by w: {tried}).", ""]
    if report.get("filter_simulation"):
        lines += [f"Filter simulation ({report['filter_checkpoint']}): a candidate met in the future window is "
                  "dropped when its SID vector is within cosine θ of the predicted-dislike set.", "",
                  "| θ | filtered | future negatives caught | future positives wrongly filtered |", "|---|---|---|---|"]
        lines += [f"| {row['theta']:.2f} | {row['filter_rate']:.3f} | {row['negatives_caught']:.3f} | "
                  f"{row['positives_filtered']:.3f} |" for row in report["filter_simulation"]]
        lines.append("")
    lines += [f"![{plot}]({plot})" for plot in plots]
    seconds = ", ".join(f"{stage} {value:.0f} s" for stage, value in report["seconds"].items())
    lines += ["", f"Time per stage: {seconds}. Per-sample metrics: `sample_metrics.parquet`.", ""]
    if report.get("kept_stages"):
        lines[-1:-1] = [f"Kept from an earlier run with the same settings on the same samples (not trained again, "
                        f"so their time here is only the check): {', '.join(report['kept_stages'])}."]
    return "\n".join(lines)
