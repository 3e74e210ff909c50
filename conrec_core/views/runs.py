"""Tables of the pipeline runs for the app: one row per run, two runs' figures side by side, and two runs'
samples one by one."""

from __future__ import annotations

import pandas as pd

from ..evaluation.report_record import MethodFigures, Report
from ..experiment.runs import RunRecord


def run_table(runs: list[tuple[RunRecord, Report]]) -> pd.DataFrame:
    """One row per run: when, preset, seed, settings, split and the full method's and best baseline's FHR@K."""
    rows = []
    for record, report in runs:
        full, best = report.method(report.full_method), report.method(report.best_baseline)
        rows.append({"run": record.name, "finished": record.finished_at, "preset": record.preset,
                     "seed": record.seed, "settings": record.settings, "split": report.split,
                     "sample split": report.sample_split, "K": report.k,
                     "full method FHR": full.fhr.value if full and full.fhr else None,
                     "best baseline": best.role if best else None,
                     "best baseline FHR": best.fhr.value if best and best.fhr else None})
    return pd.DataFrame(rows)


def compare_figures(left: Report, right: Report, metric: str = "fhr") -> pd.DataFrame:
    """Methods of two reports side by side (matched by role, since learnt methods' names carry their seed):
    each run's value and interval of `metric`, and the difference."""
    def by_role(report: Report) -> dict[str, MethodFigures]:
        return {row.role or row.method: row for row in report.methods}

    a, b = by_role(left), by_role(right)
    rows = []
    for role in list(a) + [r for r in b if r not in a]:
        cells = {"method": role}
        for side, rows_by_role in (("A", a), ("B", b)):
            row = rows_by_role.get(role)
            figure = row.figure(metric) if row else None
            cells[f"{side}"] = figure.value if figure else None
            cells[f"{side} interval"] = f"[{figure.low:.3f}, {figure.high:.3f}]" if figure else ""
        cells["B − A"] = None if cells["A"] is None or cells["B"] is None else cells["B"] - cells["A"]
        rows.append(cells)
    return pd.DataFrame(rows)


def sample_differences(left: pd.DataFrame, right: pd.DataFrame, method_left: str, method_right: str,
                       metric: str = "fhr") -> pd.DataFrame:
    """Per sample present in both per-sample tables: `metric` of one method in run A and of one in run B, and
    which of them hits. Both runs must have been scored on the same samples (`RunRecord.samples`)."""
    keys = ["sample_id", "user_id"]
    a = left.loc[left["method"] == method_left, keys + [metric]].rename(columns={metric: "A"})
    b = right.loc[right["method"] == method_right, keys + [metric]].rename(columns={metric: "B"})
    both = a.merge(b, on=keys, how="inner")
    both["outcome"] = "both miss"
    both.loc[(both["A"] > 0) & (both["B"] > 0), "outcome"] = "both hit"
    both.loc[(both["A"] > 0) & (both["B"] == 0), "outcome"] = "only A hits"
    both.loc[(both["A"] == 0) & (both["B"] > 0), "outcome"] = "only B hits"
    return both
