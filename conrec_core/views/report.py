"""A pipeline report (report.json) as the pipeline page shows it: the methods table, the paired tests in words,
and the data of its figures."""

from __future__ import annotations

import pandas as pd

from ..evaluation.baselines import baseline_of
from ..evaluation.intervals import format_p
from ..evaluation.method_labels import method_label
from ..evaluation.report_record import Report

FIGURES = (("fhr", "FHR"), ("hr", "HR"), ("lif", "LIF"), ("luf", "LUF"), ("ndcg", "NDCG"),
           ("candidate_accuracy", "CandAcc"))
SIGNIFICANCE = 0.05


def methods_frame(report: Report) -> pd.DataFrame:
    """One row per method: label, internal name, users, samples, and each figure's value, low and high."""
    rows = []
    for method in report.methods:
        row = {"method": method.role or method_label(method.method), "name": method.method,
               "baseline": baseline_of(method.method) is not None, "users": method.users,
               "samples": method.samples, "k": method.k, "p": method.fhr_p_value_vs_best_baseline,
               "p_lif": method.lif_p_value_vs_best_lif_baseline}
        for figure, _ in FIGURES:
            cell = method.figure(figure)
            row[figure], row[f"{figure}_low"], row[f"{figure}_high"] = ((cell.value, cell.low, cell.high) if cell
                                                                        else (None, None, None))
        rows.append(row)
    return pd.DataFrame(rows)


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The methods table as text cells: "value [low, high]" per figure, p against the best baseline (and of LIF
    against the best baseline by LIF, where the report has it)."""
    k = int(frame["k"].iloc[0]) if len(frame) else 20
    shown = frame[["method", "users", "samples"]].copy()
    for figure, label in FIGURES:
        if frame[figure].notna().any():
            shown[f"{label}@{k}"] = [None if value is None or value != value else f"{value:.3f} [{low:.3f}, {high:.3f}]"
                                     for value, low, high in zip(frame[figure], frame[f"{figure}_low"],
                                                                 frame[f"{figure}_high"])]
    def p_cells(column: str) -> list[str]:
        return ["" if p is None or p != p else format_p(p) for p in frame[column]]

    shown["p (FHR vs best baseline)"] = p_cells("p")
    if frame["p_lif"].notna().any():
        shown["p (LIF vs best by LIF)"] = p_cells("p_lif")
    shown["name"] = frame["name"]
    return shown


def paired_tests_in_words(report: Report) -> list[str]:
    """A sentence per SID model: its FHR@K against the best baseline's, the paired test, and what it means."""
    frame = methods_frame(report)
    if frame.empty or report.best_baseline is None:
        return []
    best = frame[frame["name"] == report.best_baseline]
    if best.empty:
        return []
    best = best.iloc[0]
    k = int(best["k"])
    sentences = []
    for row in frame[~frame["baseline"]].itertuples():
        if row.p is None or row.p != row.p or row.fhr is None:
            continue
        direction = "above" if row.fhr > best.fhr else "below" if row.fhr < best.fhr else "equal to"
        verdict = ("a difference this large is unlikely by chance" if row.p < SIGNIFICANCE
                   else "the difference is within what chance gives")
        sentences.append(f"{row.method}: FHR@{k} {row.fhr:.3f}, {direction} {best.method} ({best.fhr:.3f}); "
                         f"paired test over {row.users:,} users, p {format_p(row.p)}: {verdict}.")
    return sentences


def headline(report: Report) -> dict | None:
    """The primary endpoint as the page's headline: both FHR@K figures, the difference and the ratio with their
    intervals, and the verdict in words; no ratio when there are too few hits to compare (evaluation/primary.py).
    None without a primary endpoint (a report of an older layout)."""
    primary = report.primary
    if not primary:
        return None
    frame = methods_frame(report)
    labels = dict(zip(frame["name"], frame["method"]))
    comparable = primary["comparable"]
    return {"k": primary["k"], "full": primary["full"], "best": primary["best"],
            "best_label": labels.get(primary["best_baseline"], primary["best_baseline"]),
            "difference": primary["difference"] if comparable else None,
            "ratio": primary["ratio"] if comparable else None, "p": primary["p_value"], "verdict": primary["verdict"],
            "full_per_user": primary["full_per_user"], "best_per_user": primary["best_per_user"]}


def filter_curve(report: Report) -> pd.DataFrame:
    """The filter simulation: per threshold θ, the share of future negatives and of positives filtered."""
    return pd.DataFrame(report.filter_simulation or [])


def long_tail_budget(report: Report) -> pd.DataFrame:
    """Per method (in the report's order): long-tail items in its top K, LIF@K, and LIF@K at the full method's
    long-tail budget with its interval and the paired p against the full method (evaluation/tail_budget.py).
    Empty for a report without the section (no long-tail future negative)."""
    rows = {row["method"]: row for row in (report.long_tail_budget or {}).get("methods", [])}
    frame = methods_frame(report)
    records = []
    for method in frame.itertuples():
        row = rows.get(method.name)
        if row is None or row["lif_at_budget"] is None:
            continue
        budget = row["lif_at_budget"]
        records.append({"method": method.method, "name": method.name, "baseline": method.baseline,
                        "long_tail_items": row["long_tail_items"], "lif": method.lif,
                        "lif_at_budget": budget["value"], "low": budget["low"], "high": budget["high"],
                        "p": row["p_value_vs_reference"]})
    return pd.DataFrame(records)
