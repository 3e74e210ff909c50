"""report.md: the report's record in words and tables, beside its plots."""

from __future__ import annotations

from .intervals import format_p
from .report_record import Interval, MethodFigures, Report
from .report_warnings import report_warnings
from .scoring import LABELS, METRICS


def budget_table(report: Report) -> list[str]:
    """The long-tail budget section of report.md (evaluation/tail_budget.py), empty without one."""
    budget = report.long_tail_budget
    rows = {row["method"]: row for row in (budget or {}).get("methods", [])}
    if not rows:
        return []
    k = report.k
    lines = [f"Long tail at an equal budget: LIF@{k} counts only long-tail hits, so a list can win it by "
             f"filling its top {k} with long-tail items, whatever that costs in FHR. Here every method keeps, per "
             f"sample, only its first B long-tail items, B being how many the full method ({budget['reference']}) "
             f"put in that sample's top {k} (a method with fewer keeps all it has). At that budget the figures "
             "compare how well each method ranks the long tail; p is the paired test against the full method.", "",
             f"| method | long-tail items in the top {k} | LIF@{k} | LIF@{k} at the full method's budget | p |",
             "|---|---|---|---|---|"]
    for method in report.methods:
        row = rows.get(method.method)
        if row is None or row["lif_at_budget"] is None:
            continue
        p = row["p_value_vs_reference"]
        lines.append(f"| {method.method} | {row['long_tail_items']:.1f} | {interval_text(method.lif)} | "
                     f"{interval_text(Interval.of(row['lif_at_budget']))} | {'–' if p is None else format_p(p).replace('= ', '')} |")
    return lines + [""]


def training_table(report: Report) -> list[str]:
    """Where each learnt method's training stopped: a figure from a model still improving is no fair figure."""
    if not report.training:
        return []
    lines = ["Where training stopped: steps run, the check whose weights were kept, and the most steps allowed "
             "(the SASRec baselines stop once validation FHR@20 has not improved for their patience).", "",
             "| method | steps run | kept check | most steps | its validation FHR@20 |", "|---|---|---|---|---|"]
    for method, stop in report.training.items():
        fhr = stop.get("best_validation_fhr")
        lines.append(f"| {method} | {stop.get('steps')} | {stop.get('best_step') or 'the last'} | {stop.get('cap')} "
                     f"| {'–' if fhr is None else f'{fhr:.3f}'} |")
    return lines + [""]


def interval_text(figure: Interval | None) -> str:
    return "–" if figure is None else f"{figure.value:.4f} [{figure.low:.4f}, {figure.high:.4f}]"


def primary_section(report: Report) -> list[str]:
    """The primary endpoint in words, first: the difference and ratio with their intervals, the paired test, the
    per-user figures and the verdict (evaluation/primary.py has the rule)."""
    primary = report.primary
    if not primary:
        return []
    k = primary["k"]
    lines = ["## Primary endpoint", "",
             f"The full method ({primary['full_method']}) against the best baseline ({primary['best_baseline']}), "
             f"FHR@{k} on the {primary['samples']:,} samples of {primary['users']:,} users both scored: "
             f"{primary['full']:.3f} against {primary['best']:.3f}; per user {primary['full_per_user']:.3f} against "
             f"{primary['best_per_user']:.3f}; samples hit {primary['full_hits']:,} against {primary['best_hits']:,}."]
    difference, ratio = primary["difference"], primary["ratio"]
    if primary["comparable"]:
        lines[-1] += (f" Difference {difference['value']:+.3f} [{difference['low']:+.3f}, {difference['high']:+.3f}]"
                      + (f", ratio {ratio['value']:.2f} [{ratio['low']:.2f}, {ratio['high']:.2f}]" if ratio else "")
                      + f" (95% intervals, users resampled); paired test p {format_p(primary['p_value'])[2:]}.")
    return lines + ["", f"**{primary['verdict'][0].upper() + primary['verdict'][1:]}.**", ""]


def warnings_section(report: Report) -> list[str]:
    """Each degenerate stage in one sentence, before the tables (evaluation/report_warnings.py has the rules)."""
    found = report_warnings(report)
    return ["## Read with care", ""] + [f"- {warning}" for warning in found] + [""] if found else []


def metric_table(rows: list[tuple[str, MethodFigures]], k: int, first: list[str], label) -> list[str]:
    """Markdown rows of every metric with its interval, the per-user-averaged FHR, and the FHR (raw and Holm) and
    LIF p-values; `label(key, method)` gives the first cells."""
    header = (first + ["users / samples"] + [f"{LABELS[m]}@{k}" for m in METRICS] + [f"FHR@{k} per user"]
              + ["p (FHR)", "p (FHR, Holm)", "p (LIF)"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, method in rows:
        tests = [method.fhr_p_value_vs_best_baseline, method.fhr_p_holm, method.lif_p_value_vs_best_lif_baseline]
        cells = label(key, method) + [f"{method.users} / {method.samples}"] + [interval_text(method.figure(m))
                                                                               for m in METRICS]
        cells.append("–" if method.fhr_per_user is None else f"{method.fhr_per_user:.4f}")
        cells += ["–" if p is None else format_p(p).replace("= ", "") for p in tests]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def overlap_sentence(report: Report) -> str:
    """The split's calendar overlap in words: what a reader must know before trusting the figures."""
    overlap = report.calendar_overlap
    share = overlap["training_events_after_median_test_anchor"] or 0.0
    if report.sample_split == "global":
        return (f"Samples: global split (calendar cuts shared by all users); {share:.1%} of training events are "
                f"dated after the median test anchor, so no model saw the test period.")
    return (f"Samples: per-user split (the method's protocol: each user's own 70th/80th-percentile cuts). "
            f"{share:.1%} of the training events are dated after the median test anchor "
            f"({overlap['median_test_anchor'][:10] if overlap['median_test_anchor'] else 'none'}): models learn "
            "from other users' behaviour in the test period. `pipeline --split global` gives the leak-free check.")


def markdown(report: Report, plots: list[str]) -> str:
    k = report.k or 20
    lines = [f"# conrec report: {report.workspace}", "",
             f"Split: **{report.split}**. Means over samples with 95% cluster-bootstrap intervals (users "
             f"resampled: one user's samples are not independent); p is a paired sign-flip test of FHR@{k} against "
             f"the best baseline ({report.best_baseline}) on the same samples, signs flipped per user, and of "
             f"LIF@{k} against the best baseline by LIF ({report.best_lif_baseline}) on the samples with a "
             "long-tail future negative.", ""]
    if report.command:
        lines += ["Made with:", "", f"    {report.command}", ""]
    lines += [overlap_sentence(report), ""]
    lines += primary_section(report)
    lines += warnings_section(report)
    by_name = {method.method: method for method in report.methods}
    extra = {row["method"] for row in report.reward_variants} - {report.full_method}
    lines += metric_table([(m.role, m) for m in report.methods if m.method not in extra], k,
                          ["method", "what"], lambda role, m: [m.method, role])
    if report.ablation:
        lines += ["", "Ablation (the paper's Table 2): each row adds one step to the row above.", ""]
        lines += metric_table([(row["step"], by_name[row["method"]]) for row in report.ablation
                               if row["method"] in by_name], k, ["step", "method"],
                              lambda step, m: [step, m.method])
    if report.reward_variants:
        lines += ["", "Reward variants (the paper's Table 4), every one GRPO from the same SFT model:", ""]
        lines += metric_table([(row["reward"], by_name[row["method"]]) for row in report.reward_variants
                               if row["method"] in by_name], k, ["reward", "method"],
                              lambda reward, m: [reward, m.method])
    truth = report.true_dislikes
    if truth:
        lines += ["", f"True latent dislikes: share of each method's top {k} that carries a facet (category, colour, "
                  "style, material) of the user's ground-truth dislike profile. Reference: "
                  f"{truth['observed_future_negatives']:.3f} of the observed future negatives do (the rest is "
                  f"exposure noise and off-putting items), and {truth['catalogue']:.3f} of all catalogue items "
                  "(chance).", "", "| method | share of the top K hitting true dislikes |", "|---|---|"]
        lines += [f"| {m.method} | {interval_text(m.true_dislike_share)} |" for m in report.methods
                  if m.true_dislike_share]
    definitions = report.definitions
    lines += ["", f"LUF: FHR over samples of long-tail users ({definitions['long-tail users']}). LIF: FHR counting "
              f"only long-tail future negatives (items with {definitions['long-tail items']}), over the samples that "
              "have one.", ""]
    lines += budget_table(report)
    lines += training_table(report)
    forgetting = report.forgetting
    if forgetting and forgetting["forgetting_rate"] is not None:
        lines += [f"Forgetting: item-level alignment accuracy (4 candidates, chance 0.25) {forgetting['alignment_before']:.3f} "
                  f"after SFT, {forgetting['alignment_after']:.3f} after GRPO: "
                  + (f"{forgetting['forgetting_rate']:.1%} lost" if forgetting["forgetting_rate"] >= 0 else
                     f"nothing lost ({-forgetting['forgetting_rate']:.1%} gained)")
                  + " (paper: 13.6% lost for the full method).", ""]
    prior = report.prior
    if prior:
        tried = ", ".join(f"{weight}: {fhr:.3f}" for weight, fhr in prior["fhr"].items())
        lines += [f"Popularity prior ({prior['method']}): the full method's beams and the most disliked unseen "
                  "items, re-ranked by log p(SID) + w · log(share of training negatives). Weight chosen on the "
                  f"validation samples: **w = {prior['weight']}** (validation FHR@{k} by w: {tried}).", ""]
    if report.filter_simulation:
        lines += [f"Filter simulation ({report.filter_checkpoint}): a candidate met in the future window is "
                  "dropped when its SID vector is within cosine θ of the predicted-dislike set.", "",
                  "| θ | filtered | future negatives caught | future positives wrongly filtered |", "|---|---|---|---|"]
        lines += [f"| {row['theta']:.2f} | {row['filter_rate']:.3f} | {row['negatives_caught']:.3f} | "
                  f"{row['positives_filtered']:.3f} |" for row in report.filter_simulation]
        lines.append("")
    lines += [f"![{plot}]({plot})" for plot in plots]
    seconds = ", ".join(f"{stage} {value:.0f} s" for stage, value in report.seconds.items())
    lines += ["", f"Time per stage: {seconds}. Per-sample metrics: `sample_metrics.parquet`.", ""]
    if report.kept_stages:
        lines[-1:-1] = [f"Kept from an earlier run with the same settings on the same samples (not trained or "
                        f"scored again, so their time here is only the check): {', '.join(report.kept_stages)}."]
    return "\n".join(lines)
