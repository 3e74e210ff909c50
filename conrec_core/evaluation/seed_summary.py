"""Several seeds of the pipeline in one table: each method's figures as mean ± sd over seeds, beside every
seed's own value, interval and paired test.

Methods are matched across seeds by their role (a learnt method's name carries its seed); a method missing from
a seed's report is reported over the seeds that have it, and says how many. The CLI adds a second table: every
learnt method's seeds fused into one ranking (`seed_fusion`), with its interval and paired test.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict

import pandas as pd

from .intervals import format_p
from .method_labels import method_label
from .report_record import Report

# lif_at_budget: LIF@K at the full method's long-tail budget (tail_budget.py), where the seed's report has it
FIGURES = ("fhr", "hr", "lif", "lif_at_budget", "luf", "ndcg", "candidate_accuracy")


def summarise_seeds(reports: dict[int, Report]) -> dict:
    """{"seeds": [...], "k": K, "methods": [{"role", "names", "seeds", figure: {"mean", "sd", "per_seed"}, "p"}]}
    from each seed's report.json (seed -> parsed report), methods in the first report's order."""
    if not reports:
        raise ValueError("no seed reports to summarise")
    seeds = sorted(reports)
    ks = {row.k for report in reports.values() for row in report.methods}
    if len(ks) != 1:
        raise ValueError(f"the seed reports rank at different K ({sorted(ks)}): not comparable")
    roles: dict[str, dict[int, dict]] = {}
    for seed in seeds:
        budget = {row["method"]: row["lif_at_budget"]
                  for row in (reports[seed].long_tail_budget or {}).get("methods", [])}
        for row in reports[seed].methods:
            roles.setdefault(row.role, {})[seed] = {**asdict(row), "lif_at_budget": budget.get(row.method)}
    methods = []
    for role, rows in roles.items():
        entry = {"role": role, "names": {seed: row["method"] for seed, row in rows.items()}, "seeds": len(rows),
                 "p_value_vs_best_baseline": {seed: row.get("fhr_p_value_vs_best_baseline")
                                              for seed, row in rows.items()}}
        for figure in FIGURES:
            per_seed = {seed: row[figure] for seed, row in rows.items() if row.get(figure)}
            values = [cell["value"] for cell in per_seed.values()]
            entry[figure] = {"mean": statistics.fmean(values) if values else None,
                             "sd": statistics.stdev(values) if len(values) > 1 else None,
                             "per_seed": per_seed}
        methods.append(entry)
    return {"seeds": seeds, "k": ks.pop(), "methods": methods,
            "best_baseline": {seed: reports[seed].best_baseline for seed in seeds}}


def markdown(summary: dict) -> str:
    k, seeds = summary["k"], summary["seeds"]
    lines = [f"# {len(seeds)} seeds ({', '.join(map(str, seeds))})", "",
             f"Mean ± sd over seeds; then each seed's FHR@{k} with its 95% cluster-bootstrap interval and the "
             f"p of its paired sign-flip test against that seed's best baseline.", "",
             f"| method | seeds | FHR@{k} | HR@{k} | LIF@{k} | LIF@{k} at the full method's long-tail budget | "
             + " | ".join(f"seed {s}: FHR@{k} (p)" for s in seeds) + " |", "|---" * (5 + len(seeds)) + "|---|"]
    for method in summary["methods"]:
        cells = [method["role"], str(method["seeds"])]
        cells += [_mean_sd(method[figure]) for figure in ("fhr", "hr", "lif", "lif_at_budget")]
        for seed in seeds:
            cell = method["fhr"]["per_seed"].get(seed)
            p = method["p_value_vs_best_baseline"].get(seed)
            cells.append("–" if cell is None else f"{cell['value']:.3f} [{cell['low']:.3f}, {cell['high']:.3f}]"
                         + ("" if p is None else f" (p {format_p(p)})"))
        lines.append("| " + " | ".join(cells) + " |")
    if summary.get("fused"):
        lines += fused_markdown(summary["fused"], k)
    return "\n".join(lines) + "\n"


def fused_records(fused: pd.DataFrame) -> list[dict]:
    """`seed_fusion.fuse_seeds`'s table as JSON-ready rows, each with its label."""
    columns = ["method", "samples", "users"] + [f"{figure}{end}" for figure in ("fhr", "hr", "lif")
                                                 for end in ("", "_low", "_high")]
    records = []
    for row in fused.to_dict("records"):
        record = {column: row.get(column) for column in columns}
        record.update(label=method_label(row["method"]), best_baseline=row.get("best_baseline"),
                      best_lif_baseline=row.get("best_lif_baseline"))
        for test in ("fhr_p_value", "lif_p_value"):
            p = row.get(test)
            record[test] = None if p is None or p != p else float(p)
        records.append(record)
    return records


def fused_markdown(records: list[dict], k: int) -> list[str]:
    best = next((r["best_baseline"] for r in records if r.get("best_baseline")), None)
    best_lif = next((r["best_lif_baseline"] for r in records if r.get("best_lif_baseline")), None)
    lines = ["", "## Seeds fused", "",
             f"Each learnt method's seeds fused into one ranking per sample (reciprocal-rank fusion of their top {k}), "
             "SASRec's as well as the SID models', with 95% cluster-bootstrap intervals"
             + (f" and the p of a paired sign-flip test against the best baseline here ({method_label(best)})"
                if best else "")
             + (f", of LIF@{k} against the best by LIF ({method_label(best_lif)})." if best_lif else "."), "",
             f"| method | samples | FHR@{k} | HR@{k} | LIF@{k} | p (FHR) | p (LIF) |", "|---|---|---|---|---|---|---|"]
    for r in records:
        cells = [r["label"], str(r["samples"])]
        cells += ["–" if r[f] is None or r[f] != r[f] else f"{r[f]:.3f} [{r[f + '_low']:.3f}, {r[f + '_high']:.3f}]"
                  for f in ("fhr", "hr", "lif")]
        cells += ["–" if r.get(test) is None else format_p(r[test]).replace("= ", "")
                  for test in ("fhr_p_value", "lif_p_value")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _mean_sd(figure: dict) -> str:
    if figure["mean"] is None:
        return "–"
    return f"{figure['mean']:.3f}" + ("" if figure["sd"] is None else f" ± {figure['sd']:.3f}")
