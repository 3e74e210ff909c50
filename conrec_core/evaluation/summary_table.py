"""The short results table the README quotes, made from a report.json, so the README cannot drift from the
reports: `python -m conrec_core.evaluation.summary_table reports/NAME/report.json` prints it, and
tests/test_readme.py checks every quoted table against its report."""

from __future__ import annotations

import sys
from pathlib import Path

from .intervals import format_p
from .report_record import Interval, Report, read_report

COLUMNS = (("fhr", "FHR"), ("hr", "HR"), ("lif", "LIF"), ("candidate_accuracy", "CandAcc"))


def _value(figure: Interval | None, interval: bool = False) -> str:
    if figure is None:
        return "–"
    text = f"{figure.value:.3f}"
    return text + f" [{figure.low:.3f}, {figure.high:.3f}]" if interval else text


def readme_table(report: Report) -> str:
    """Every method of the report's main table: what it is, users / samples, FHR@K with its interval, HR, LIF,
    candidate accuracy and the paired p of FHR against the best baseline."""
    k = report.k or 20
    extra = {row["method"] for row in report.reward_variants} - {report.full_method}
    lines = ["| method | users / samples | " + " | ".join(f"{label}@{k}" for _, label in COLUMNS)
             + f" | p (FHR vs {report.best_baseline}) |",
             "|---|---|" + "---|" * len(COLUMNS) + "---|"]
    for method in report.methods:
        if method.method in extra:
            continue
        name = method.role or method.method
        if method.method == report.full_method:
            name = f"**{name}**"
        p = method.fhr_p_value_vs_best_baseline
        cells = [name, f"{method.users} / {method.samples}"]
        cells += [_value(method.figure(metric), interval=metric == "fhr") for metric, _ in COLUMNS]
        cells.append("–" if p is None else format_p(p).replace("= ", ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(readme_table(read_report(Path(sys.argv[1]))))
