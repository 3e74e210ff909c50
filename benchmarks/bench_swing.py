"""Swing on the negative graph: time and peak memory on generated logs of negative events.

    python -m benchmarks.bench_swing                    # 1M and 10M negative events
    python -m benchmarks.bench_swing --events 1000000

Each size builds a workspace of negatives only (activity and popularity follow power laws, 90 days,
one calendar cut at day 72 so 80% of events are training negatives), then runs `build_swing` in a fresh
process so its peak resident memory (DuckDB's included) is its own.
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


def generate(path: Path, events: int, users: int, items: int) -> None:
    from conrec_core.data.workspace import new_workspace

    with new_workspace(path) as con:
        con.execute("SELECT setseed(0.42)")
        con.execute(f"""
            INSERT INTO events
            SELECT row_number() OVER () AS event_id,
                   'u' || CAST(floor({users} * pow(random(), 2.0)) AS BIGINT) AS user_id,
                   'i' || CAST(floor({items} * pow(random(), 3.0)) AS BIGINT) AS item_id,
                   TIMESTAMP '2024-01-01' + to_seconds(CAST(random() * 90 * 86400 AS BIGINT)) AS ts,
                   'negative', NULL, NULL
            FROM range({events})""")
        con.execute("INSERT INTO user_cuts SELECT DISTINCT user_id, TIMESTAMP '2024-03-13' AS validation_cut, "
                    "TIMESTAMP '2024-03-22' AS test_cut FROM events")


def run(path: Path) -> dict:
    from conrec_core.rl.swing import build_swing
    from conrec_core.data.workspace import open_workspace

    started = time.perf_counter()
    with open_workspace(path, read_only=False) as con:
        counts = build_swing(con)
    counts["seconds"] = time.perf_counter() - started
    counts["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--users-per-event", type=float, default=0.05, help="users = events x this")
    parser.add_argument("--items-per-event", type=float, default=0.02, help="items = events x this")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(args.run)))
        return
    print(f"{'events':>12}{'users':>10}{'items':>10}{'seconds':>9}{'events/s':>12}{'user pairs':>12}"
          f"{'items w/ nb':>12}{'peak MiB':>10}")
    results = []
    for events in args.events:
        users, items = int(events * args.users_per_event), int(events * args.items_per_event)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ws.duckdb"
            generate(path, events, users, items)
            output = subprocess.run([sys.executable, "-m", "benchmarks.bench_swing", "--run", str(path)],
                                    capture_output=True, text=True, check=True)
        result = json.loads(output.stdout.strip().splitlines()[-1])
        results.append((events, result))
        print(f"{events:>12,}{users:>10,}{items:>10,}{result['seconds']:>9.1f}{events / result['seconds']:>12,.0f}"
              f"{result['user_pairs']:>12,}{result['items_with_neighbours']:>12,}{result['peak_rss_mib']:>10,.0f}")
    if len(results) > 1:
        (small, first), (large, last) = results[0], results[-1]
        print(f"{large / small:.0f}x the events took {last['seconds'] / first['seconds']:.1f}x the time and "
              f"{last['peak_rss_mib'] / first['peak_rss_mib']:.1f}x the peak memory")


if __name__ == "__main__":
    main()
