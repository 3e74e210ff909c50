"""The pipeline's report: `report.json` (the typed record of report_record.py: every figure with its interval),
`report.md` with PNG plots, and the per-sample table every figure is computed from."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .baselines import baseline_of
from .primary import holm, per_user_mean, primary_endpoint
from .report_html import write_report_html
from .report_markdown import markdown
from .report_plots import filter_plot, grpo_plot, long_tail_plot, metric_plot
from .report_record import SCHEMA_VERSION, Report, read_report
from .scoring import EXTRA_METRICS, METRICS
from .method_labels import FULL_ROLE, PRIOR_ROLE, REWARD_ROLES, ROLES, SFT_ROLE, VARIANT_ROLES, method_role
from ..lm.checkpoint_paths import checkpoint_dir
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


PLOT_FILES = ("metrics.png", "grpo_validation.png", "filter.png", "long_tail.png")  # in report.md's order


def write_report(workspace, out: Path, config, summary: pd.DataFrame, metrics: pd.DataFrame, names,
                 seconds: dict[str, float], command: str | None = None, probes: dict | None = None,
                 kept: list[str] | None = None) -> Report:
    roles = method_roles(names, config)
    with open_workspace(workspace) as con:
        source = read_meta(con, "source", None)
    sample_config = read_sample_config(workspace)
    definitions = sample_config.definitions()
    with open_workspace(workspace) as con:
        overlap = calendar_overlap(con)
    best = summary["best_baseline"].iloc[0] if "best_baseline" in summary else None
    methods = method_entries(summary, metrics, roles, names.grpo)
    primary = primary_endpoint(metrics, names.grpo, best, roles)
    probes = probes or {}
    # through JSON once, so the record holds plain numbers and lists (as a reader gets it back), never numpy's
    plain = json.loads(json.dumps({
        "config": asdict(config), "calendar_overlap": overlap, "definitions": definitions,
        "methods": methods, "filter_simulation": probes["filter_simulation"].to_dict("records")
        if "filter_simulation" in probes else None, "forgetting": probes.get("forgetting"),
        "true_dislikes": probes.get("true_dislikes"), "prior": probes.get("prior"),
        "long_tail_budget": probes.get("long_tail_budget"), "primary": primary and primary.to_dict(),
        "training": probes.get("training"), "grpo_validation": probes.get("grpo_validation"),
        "long_tail_share": probes.get("long_tail_share")},
        default=_plain, allow_nan=False))
    report = Report.from_dict({
        **plain, "schema_version": SCHEMA_VERSION, "workspace": str(Path(workspace).name), "source": source,
        "split": config.split,
        "best_baseline": best,
        "best_lif_baseline": summary["best_lif_baseline"].iloc[0] if "best_lif_baseline" in summary else None,
        "full_method": names.grpo,
        "ablation": [{"step": step, "method": method} for step, method in ablation_rows(names, config)],
        "reward_variants": [{"reward": reward, "method": method} for reward, method in reward_rows(names, config)],
        "seconds": {k: round(v, 1) for k, v in seconds.items()}, "kept_stages": kept or [], "command": command,
        "sample_split": sample_config.split, "filter_checkpoint": names.grpo_checkpoint,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    metrics.to_parquet(out / "sample_metrics.parquet", index=False)
    metrics_png, grpo_png, filter_png, tail_png = (out / name for name in PLOT_FILES)
    plots = [metric_plot(summary, metrics_png),
             grpo_plot(checkpoint_dir(workspace, names.grpo_checkpoint), grpo_png),
             filter_plot(probes["filter_simulation"], filter_png) if "filter_simulation" in probes else None,
             long_tail_plot(report, tail_png)]
    (out / "report.md").write_text(markdown(report, [p for p in plots if p]))
    write_report_html(out)
    return report


def render_report(folder: Path) -> Report:
    """report.md and report.html written again from FOLDER/report.json and the figures beside it: a report made
    by an earlier version of this code, read the way this one writes it (the record itself is not changed)."""
    folder = Path(folder)
    report = read_report(folder / "report.json")
    (folder / "report.md").write_text(markdown(report, [name for name in PLOT_FILES if (folder / name).is_file()]))
    write_report_html(folder)
    return report


def method_entries(summary: pd.DataFrame, metrics: pd.DataFrame, roles: dict[str, str], full_method: str
                   ) -> list[dict]:
    """Each method's row of the record: every figure with its interval, the paired tests, the FHR test adjusted
    with every other row's (Holm: the family is every row but the best baseline and the primary comparison), and
    the per-user-averaged FHR."""
    methods = []
    for row in summary.to_dict("records"):
        entry = {"method": row["method"], "role": roles.get(row["method"], ROLES.get(baseline_of(row["method"]), "")),
                 "samples": row["samples"], "users": row["users"], "k": row["k"]}
        for metric in METRICS + EXTRA_METRICS:
            entry[metric] = None if missing(row.get(metric)) else {
                "value": row[metric], "low": row[f"{metric}_low"], "high": row[f"{metric}_high"]}
        entry["fhr_p_value_vs_best_baseline"] = None if missing(row.get("fhr_p_value")) else row["fhr_p_value"]
        entry["lif_p_value_vs_best_lif_baseline"] = None if missing(row.get("lif_p_value")) else row["lif_p_value"]
        own = metrics[metrics["method"] == row["method"]]
        entry["fhr_per_user"] = per_user_mean(own["fhr"], own["user_id"]) if len(own) else None
        methods.append(entry)
    family = holm({m["method"]: m["fhr_p_value_vs_best_baseline"] for m in methods if m["method"] != full_method})
    for entry in methods:
        entry["fhr_p_holm"] = family.get(entry["method"])
    return methods


def missing(value) -> bool:
    """None or NaN: a metric without a population (no line-ups, no long-tail users) or no test."""
    return value is None or (isinstance(value, float) and value != value)


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)
