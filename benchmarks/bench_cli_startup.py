"""How long a CLI call that does no work takes: `--help`, and a one-line error.

    python -m benchmarks.bench_cli_startup

The CLI loads a command's libraries (pandas, torch, transformers) only when that command runs. The eager
figure times the same calls in a process that first imports what the command modules loaded before they were
lazy (importer, baselines, doctor, transformers), so the ratio is what the lazy imports save, measured here and
now. Each call is a fresh process, as a user's is.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .timing import timed

REPO = Path(__file__).resolve().parents[1]
EAGER_IMPORTS = ("import conrec_core.data.importer, conrec_core.data.synthetic, conrec_core.data.stats, "
                 "conrec_core.evaluation.baselines, conrec_core.maintenance.doctor, transformers; ")
CALLS = {"--help": ["--help"], "an error": ["info", "--workspace", "/nonexistent/ws.duckdb"]}


def run_cli(args: list[str], eager: bool) -> None:
    code = (EAGER_IMPORTS if eager else "") + f"from conrec_core.cli import main; main({args!r})"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, check=False)


def main() -> None:
    run_cli(["--help"], eager=True)  # warm the file cache for both
    print(f"{'call':<10} {'lazy s':>8} {'eager s':>8} {'eager / lazy':>13}")
    for name, args in CALLS.items():
        started = time.perf_counter()
        lazy = timed(lambda: run_cli(args, eager=False), repeats=3)
        eager = timed(lambda: run_cli(args, eager=True), repeats=3)
        print(f"{name:<10} {lazy:8.2f} {eager:8.2f} {eager / lazy:12.1f}x   ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
