"""The quick pipeline end to end on a generated log of mixed events: its time and peak memory.

    python -m benchmarks.bench_big_pipeline                      # 10M events, 100k users, 200k items (~20 min)
    python -m benchmarks.bench_big_pipeline --events 1000000 --users 10000 --items 20000

The log is `bench_workspace`'s (power-law activity and popularity, 90 days, 8% negatives, the rest clicks, buys
and views; id-only items). It is imported with `--evaluation-users` (default 5,000: every user's training samples,
the validation and test samples of 5,000), then `pipeline --quick` runs on it. Import and pipeline each run as a
command in a fresh process; prints each one's wall time and peak resident memory, the pipeline's last progress
line for each stage (seconds since it started) and the seconds of each stage as its report.json records them.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .bench_workspace import MAPPING, generate


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run a conrec command in a fresh process; its wall seconds, its peak resident memory in GiB, its output."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "benchmarks.bench_big_pipeline", "--command", *command],
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"{command[0]} failed:\n{result.stderr[-3000:]}")
    peak = float(re.findall(r"peak_rss_gib=([0-9.]+)", result.stdout)[-1])
    return seconds, peak, result.stdout + result.stderr


def run_command(command: list[str]) -> None:
    """The `--command` child: the conrec command in this process, then this process's peak memory."""
    from conrec_core.cli import main as conrec

    code = conrec(command)
    print(f"peak_rss_gib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20:.2f}")
    sys.exit(code)


def stage_lines(output: str) -> list[str]:
    """The progress bar's last line for each stage: 'stage: message (seconds)'."""
    last: dict[str, str] = {}
    for line in re.split(r"[\r\n]+", output):
        found = re.match(r"pipeline:\s+\d+% ([^:]+): (.*)", line.strip())
        if found:
            last[found.group(1)] = f"{found.group(1)}: {found.group(2)}"
    return list(last.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--evaluation-users", type=int, default=5_000)
    parser.add_argument("--command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.command:
        run_command(args.command)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder / "log.parquet", args.events, args.users, args.items)
        (folder / "mapping.json").write_text(json.dumps(MAPPING))
        workspace = folder / "ws.duckdb"
        imported, import_peak, output = timed(["import", str(folder / "log.parquet"), "--workspace", str(workspace),
                                               "--mapping", str(folder / "mapping.json"),
                                               "--evaluation-users", str(args.evaluation_users)])
        print(f"{args.events:,} events, {args.users:,} users, {args.items:,} items")
        print(f"import with samples: {imported:.0f} s, peak {import_peak:.1f} GiB; "
              + "; ".join(line.strip() for line in output.splitlines() if "samples:" in line))
        ran, pipeline_peak, output = timed(["pipeline", "--workspace", str(workspace), "--quick",
                                            "--out", str(folder / "report")])
        print(f"pipeline --quick: {ran:.0f} s ({ran / 60:.1f} min), peak {pipeline_peak:.1f} GiB")
        for line in stage_lines(output):
            print(f"  {line}")
        seconds = json.loads((folder / "report" / "seed-0" / "report.json").read_text())["seconds"]
        stages = ", ".join(f"{name} {value:.0f}" for name, value in seconds.items())
        print(f"  seconds per stage (report.json): {stages}; the report and the process's start "
              f"{ran - sum(seconds.values()):.0f}")
        print(f"end to end (import and pipeline): {(imported + ran) / 60:.1f} min")


if __name__ == "__main__":
    main()
