"""Import and sample-building throughput and peak memory on a generated event log.

    python -m benchmarks.bench_workspace               # 10M events (about a minute or two on 2 cores)
    python -m benchmarks.bench_workspace --events 1000000

Each stage runs in a fresh process so its peak resident memory (which includes DuckDB's) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

MAPPING = {"events": {"user": "user_id", "item": "item_id", "time": "ts", "time_unit": "s",
                      "kind": {"column": "action", "negative": ["dislike"], "positive": ["click", "buy"],
                               "neutral": ["view"]}}}


def generate(path: Path, events: int, users: int, items: int) -> None:
    """A skewed log: activity and popularity follow power laws, 90 days, about 8% negatives."""
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    con.execute(f"""
        COPY (
            SELECT 'u' || CAST(floor({users} * pow(random(), 2.0)) AS BIGINT) AS user_id,
                   'i' || CAST(floor({items} * pow(random(), 3.0)) AS BIGINT) AS item_id,
                   1700000000 + CAST(random() * 90 * 86400 AS BIGINT) AS ts,
                   CASE WHEN r < 0.08 THEN 'dislike' WHEN r < 0.30 THEN 'click' WHEN r < 0.33 THEN 'buy'
                        ELSE 'view' END AS action
            FROM (SELECT random() AS r FROM range({events}))
        ) TO ? (FORMAT parquet)""", [str(path)])
    con.close()


def stage(name: str, folder: Path) -> dict:
    """Run one stage in this process and return its timing and peak memory."""
    from conrec_core.data.importer import import_source, rebuild_samples
    from conrec_core.data.samples_config import SampleConfig
    started = time.perf_counter()
    if name == "import":
        report = import_source(folder / "log.parquet", folder / "ws.duckdb", mapping=folder / "mapping.json",
                               sample_config=SampleConfig())
        result = {"rows": report.events.rows_read, "samples": sum(report.samples.values())}
    else:
        split = name.removeprefix("samples-")
        counts = rebuild_samples(folder / "ws.duckdb", SampleConfig(split=split))
        result = {"samples": sum(counts.values())}
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.folder)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        generate(folder / "log.parquet", args.events, args.users, args.items)
        (folder / "mapping.json").write_text(json.dumps(MAPPING))
        print(f"generated {args.events:,} events for {args.users:,} users and {args.items:,} items "
              f"in {time.perf_counter() - started:.1f} s")
        print(f"{'stage':<18}{'seconds':>9}{'rows/s':>14}{'samples':>12}{'samples/s':>12}{'peak MiB':>10}")
        for name in ("import", "samples-per_user", "samples-global"):
            output = subprocess.run([sys.executable, "-m", "benchmarks.bench_workspace", "--stage", name,
                                     "--folder", str(folder)], capture_output=True, text=True, check=True)
            result = json.loads(output.stdout.strip().splitlines()[-1])
            rows = f"{args.events / result['seconds']:>14,.0f}"
            print(f"{name:<18}{result['seconds']:>9.1f}{rows}{result['samples']:>12,}"
                  f"{result['samples'] / result['seconds']:>12,.0f}{result['peak_rss_mib']:>10,.0f}")
        print("import = read, check, deduplicate, write and build the default (per-user) samples; "
              "rows/s counts input events")


if __name__ == "__main__":
    main()
