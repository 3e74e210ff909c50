"""What a report must say before its figures are read: each stage that degenerated, in one sentence.

A report whose alignment sits at chance, whose GRPO never moved validation, whose every future negative counts
as long-tail or whose method hits nothing still prints a full table; these sentences stop a reader from taking
its rows at face value. report.md and the Pipeline page show the same list.
"""

from __future__ import annotations

from .method_labels import method_label
from .report_record import Report

ALIGNMENT_CHANCE = 0.25  # one disliked item among four candidates (lm/prompts.py CANDIDATES)
CHANCE_MARGIN = 0.03  # alignment accuracy within this of chance is at chance on a few hundred samples
LONG_TAIL_SHARE = 0.9  # above this share of long-tail future negatives, LIF@K is FHR@K under another name


def report_warnings(report: Report) -> list[str]:
    k = report.k or 20
    warnings = []
    forgetting = report.forgetting or {}
    after = forgetting.get("alignment_after")
    if after is not None and after <= ALIGNMENT_CHANCE + CHANCE_MARGIN:
        warnings.append(f"Item-level alignment is at chance: the full method picks the disliked item among four "
                        f"candidates {after:.3f} of the time, against {ALIGNMENT_CHANCE:.2f} by guessing; the SID "
                        "model has not learnt to tell this user's dislikes from their likes.")
    checks = report.grpo_validation or []
    if len(checks) >= 2 and max(checks) - min(checks) < 1e-12:
        warnings.append(f"GRPO's validation FHR@{k} read {checks[0]:.3f} at every one of its {len(checks)} checks"
                        + (" (no hit at all)" if checks[0] == 0 else "")
                        + ": GRPO changed nothing measurable, and the full method is its warm-up's model.")
    if report.long_tail_share is not None and report.long_tail_share >= LONG_TAIL_SHARE:
        definition = report.definitions.get("long-tail items", "few negatives in the training part")
        warnings.append(f"{report.long_tail_share:.0%} of the future negatives are long-tail items ({definition}): "
                        f"LIF@{k} is nearly FHR@{k} here and says nothing about the long tail.")
    for method in report.methods:
        if method.samples and method.fhr is not None and method.fhr.value == 0:
            warnings.append(f"{method_label(method.method)} hits no sample (FHR@{k} 0 on "
                            f"{method.samples:,} samples).")
    return warnings
