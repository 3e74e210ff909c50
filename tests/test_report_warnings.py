"""The report's warnings: each degenerate stage is named before the tables, and a sound report gets none."""

from dataclasses import replace

from conrec_core.evaluation.report_markdown import markdown
from conrec_core.evaluation.report_record import read_report
from conrec_core.evaluation.report_warnings import ALIGNMENT_CHANCE, report_warnings
from conrec_core.lm.prompts import CANDIDATES

from conftest import REPO

SHIPPED = REPO / "reports" / "movielens-small" / "seed-0" / "report.json"


def test_a_sound_report_has_no_warning():
    report = read_report(SHIPPED)
    sound = replace(report, forgetting={**report.forgetting, "alignment_after": 0.41},
                    grpo_validation=[0.15, 0.16, 0.155], long_tail_share=0.3)
    assert report_warnings(sound) == []
    assert "Read with care" not in markdown(replace(sound, grpo_validation=[0.15, 0.16]), [])


def test_each_degenerate_stage_gets_its_sentence_in_the_report():
    report = read_report(SHIPPED)
    assert ALIGNMENT_CHANCE == 1 / CANDIDATES
    zero = replace(report.methods[0], fhr=replace(report.methods[0].fhr, value=0.0))
    broken = replace(report, forgetting={**report.forgetting, "alignment_after": 0.252},
                     grpo_validation=[0.0, 0.0, 0.0, 0.0], long_tail_share=1.0,
                     methods=[zero] + report.methods[1:])
    warnings = report_warnings(broken)
    assert len(warnings) == 4
    assert warnings[0].startswith("Item-level alignment is at chance: the full method picks the disliked item "
                                  "among four candidates 0.252 of the time")
    assert warnings[1] == ("GRPO's validation FHR@20 read 0.000 at every one of its 4 checks (no hit at all): GRPO "
                           "changed nothing measurable, and the full method is its warm-up's model.")
    assert warnings[2].startswith("100% of the future negatives are long-tail items")
    assert warnings[3] == "baseline: most-disliked items hits no sample (FHR@20 0 on 364 samples)."
    text = markdown(broken, [])
    assert text.index("## Read with care") < text.index("| method |")
    assert all(f"- {warning}" in text for warning in warnings)
