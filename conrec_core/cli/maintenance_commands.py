"""Commands that look after a workspace: doctor."""

from __future__ import annotations

import argparse
from pathlib import Path

from .progress import print_json


def register(commands) -> dict:
    check = commands.add_parser(
        "doctor", help="check a workspace and its files; repair what is safe",
        description="Check a workspace: tables, codebook and checkpoint files against their fingerprints, job "
                    "records, exports, leftovers of killed processes. Safe repairs (finishing an interrupted "
                    "save, removing files a killed process half-wrote, marking dead jobs failed) are made unless "
                    "--check-only. Exit status 0 when nothing is wrong after repairs, 1 otherwise.")
    check.add_argument("--workspace", type=Path, required=True)
    check.add_argument("--check-only", action="store_true", help="report, change nothing")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    return {"doctor": run_doctor}


def run_doctor(args: argparse.Namespace) -> int:
    from ..maintenance.doctor import PROBLEM, REPAIRED, doctor
    marks = {"ok": "ok      ", REPAIRED: "repaired", PROBLEM: "PROBLEM "}
    findings = doctor(args.workspace, repair=not args.check_only)
    if args.json:
        print_json([f.to_dict() for f in findings])
    else:
        width = max((len(f.part) for f in findings), default=0)
        for finding in findings:
            print(f"{marks[finding.status]}  {finding.part:<{width}}  {finding.message}")
    return 1 if any(f.status == PROBLEM for f in findings) else 0
