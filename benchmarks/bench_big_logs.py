"""Big logs on one machine and on Spark: time and peak memory per stage at 1M and 10M negative events.

    python -m benchmarks.bench_big_logs                             # 1M and 10M, DuckDB then Spark
    python -m benchmarks.bench_big_logs --events 1000000 --engines duckdb

The log is `bench_swing`'s: negatives only, users = 5% and items = 2% of the events, activity and popularity on
power laws, 90 days (10M: 500k users, 200k items). Stages, each in a fresh process so its peak resident memory
(DuckDB's included) is its own:
- import: the Parquet log into a new workspace, samples included (DuckDB);
- swing: Swing on the training negatives (DuckDB);
- codebook: the default codebook on the log's items (id-only, so co-occurrence vectors: encoding, RQ-VAE, SIDs
  without collisions, the item map), with each step's seconds;
- samples (spark), swing (spark): the same tables on Spark in local mode, on a copy of the imported workspace.
Spark's peak is the Python driver's only (the JVM's heap is Spark's own setting, spark.driver.memory).
The last line gives each stage's ratio of time and memory from the smallest size to the largest.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks import bench_workspace

MAPPING = {"events": {"user": "user_id", "item": "item_id", "time": "ts", "time_unit": "s",
                      "kind": {"column": "action", "negative": ["dislike"]}}}
# every run imports the log first (DuckDB: the workspace the other stages read)
STAGES = {"duckdb": ("swing", "codebook"), "spark": ("samples-spark", "swing-spark")}


def generate(path: Path, events: int, users: int, items: int) -> None:
    """bench_swing's log as an importable Parquet file."""
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    con.execute(f"""
        COPY (SELECT 'u' || CAST(floor({users} * pow(random(), 2.0)) AS BIGINT) AS user_id,
                     'i' || CAST(floor({items} * pow(random(), 3.0)) AS BIGINT) AS item_id,
                     1704067200 + CAST(random() * 90 * 86400 AS BIGINT) AS ts, 'dislike' AS action
              FROM range({events})) TO ? (FORMAT parquet)""", [str(path)])
    con.close()


def stage(name: str, folder: Path) -> dict:
    """Run one stage in this process; its seconds and peak memory."""
    from conrec_core.data.importer import rebuild_samples
    from conrec_core.data.samples_config import SampleConfig
    from conrec_core.data.workspace import open_workspace
    from conrec_core.rl.swing import build_swing
    from conrec_core.spark.engine import engine_fill

    if name == "import":  # bench_workspace's import stage, on this log
        return bench_workspace.stage("import", folder)
    started = time.perf_counter()
    if name == "codebook":
        result = codebook_stage(folder / "ws.duckdb")
    elif name == "samples-spark":
        with engine_fill(folder / "spark.duckdb", "spark", None, "samples") as fill:
            result = {"samples": sum(rebuild_samples(folder / "spark.duckdb", SampleConfig(), fill).values())}
    else:
        engine, path = ("spark", folder / "spark.duckdb") if name == "swing-spark" else ("duckdb",
                                                                                          folder / "ws.duckdb")
        with engine_fill(path, engine, None, "swing") as fill, open_workspace(path, read_only=False) as con:
            result = build_swing(con, fill=fill)
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def codebook_stage(workspace: Path) -> dict:
    """The default codebook, map included; the seconds each of its steps took (from its progress messages)."""
    from conrec_core.semantic_ids.codebook import build_codebook

    steps: dict[str, float] = {}
    clock = {"step": None, "since": time.perf_counter()}

    def progress(fraction: float, message: str) -> None:
        step, now = message.split(":")[0], time.perf_counter()
        if step != clock["step"]:
            if clock["step"] is not None:
                steps[clock["step"]] = steps.get(clock["step"], 0.0) + now - clock["since"]
            clock.update(step=step, since=now)

    result = build_codebook(workspace, "default", compute_map=True, on_progress=progress)
    return {"items": result.report.items, "steps": {step: round(seconds, 1) for step, seconds in steps.items()},
            "fourth_token_share": result.report.fourth_token_share,
            "reconstruction_cosine": result.report.reconstruction_cosine_mean}


def run_stage(name: str, folder: Path) -> dict:
    output = subprocess.run([sys.executable, "-m", "benchmarks.bench_big_logs", "--stage", name, "--folder",
                             str(folder)], capture_output=True, text=True)
    if output.returncode:
        raise SystemExit(f"{name} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--engines", nargs="+", choices=tuple(STAGES), default=list(STAGES))
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.folder)))
        return
    names = ["import"] + [name for engine in args.engines for name in STAGES[engine]]
    print(f"{'events':>12}{'users':>10}{'items':>10}  {'stage':<15}{'seconds':>9}{'peak MiB':>10}{'samples':>12}"
          f"{'user pairs':>12}")
    results: dict[str, list[dict]] = {name: [] for name in names}
    for events in args.events:
        users, items = events // 20, events // 50
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            generate(folder / "log.parquet", events, users, items)
            (folder / "mapping.json").write_text(json.dumps(MAPPING))
            for name in names:
                if name == "samples-spark":
                    shutil.copy(folder / "ws.duckdb", folder / "spark.duckdb")
                result = run_stage(name, folder)
                results[name].append(result)
                extra = (f"{result['samples']:>12,}{'':>12}" if "samples" in result
                         else f"{'':>12}{result['user_pairs']:>12,}" if "user_pairs" in result
                         else f"  {result['items']:,} items: " + ", ".join(
                             f"{step} {seconds:.0f} s" for step, seconds in result["steps"].items())
                         + f"; reconstruction cosine {result['reconstruction_cosine']:.3f}, "
                           f"{result['fourth_token_share']:.1%} with a 4th token")
                print(f"{events:>12,}{users:>10,}{items:>10,}  {name:<15}{result['seconds']:>9.1f}"
                      f"{result['peak_rss_mib']:>10,.0f}{extra}", flush=True)
    if len(args.events) > 1:
        growth = args.events[-1] / args.events[0]
        print(f"{growth:.0f}x the events: " + "; ".join(
            f"{name} {runs[-1]['seconds'] / runs[0]['seconds']:.1f}x the time, "
            f"{runs[-1]['peak_rss_mib'] / runs[0]['peak_rss_mib']:.1f}x the memory" for name, runs in results.items()))


if __name__ == "__main__":
    main()
