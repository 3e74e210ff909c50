"""The quick preset the way the app runs it (a background job) against the way the CLI does (in process), on a
video-app log with a 0/1 dislike label.

    python -m benchmarks.bench_app_quick [--events 100000] [--stages]

Writes the log as tab-separated text, imports it with the guessed mapping (`import --guess`'s), then runs the quick
pipeline twice on copies of the workspace: in this process, as `pipeline --quick` does, and as a pipeline job of
the app's job runner. Prints each wall time (the job's from submission to its record's end) and the ratio, with
--stages each run's stage times, and how the time-left estimate the app shows (jobs/registry.py::time_estimate,
from the progress bar) held: the total it predicted at a quarter, half and three quarters of the CLI run's bar
against the total it took. Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def video_log(path: Path, events: int, seed: int = 0) -> Path:
    """user_id, video_id, time_ms, label (1: disliked, about 12%), date, hour; power-law users and videos."""
    rng = np.random.default_rng(seed)
    users = np.minimum(rng.zipf(1.6, events), 5_000)
    videos = np.minimum(rng.zipf(1.3, events), 20_000)
    ms = 1_650_000_000_000 + np.sort(rng.integers(0, 60 * 86_400_000, events))
    labels = (rng.random(events) < 0.12).astype(int)
    with path.open("w") as out:
        out.write("user_id\tvideo_id\ttime_ms\tlabel\tdate\thour\n")
        for user, video, stamp, label in zip(users, videos, ms, labels):
            moment = datetime.fromtimestamp(stamp / 1000, timezone.utc)
            out.write(f"{user}\t{video}\t{stamp}\t{label}\t{moment:%Y-%m-%d}\t{moment.hour}\n")
    return path


def estimates(bar: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(share of the bar, the total time the estimate predicted then) at the first report past a quarter, a half
    and three quarters: elapsed / fraction, as time_estimate extrapolates."""
    found = []
    for share in (0.25, 0.5, 0.75):
        first = next(((elapsed, fraction) for elapsed, fraction in bar if fraction >= share), None)
        if first:
            found.append((first[1], first[0] / first[1]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--stages", action="store_true", help="print each run's stage times")
    args = parser.parse_args()

    from conrec_core.data.importer import import_source
    from conrec_core.data.mapping import parse_mapping
    from conrec_core.data.mapping_guess import guess_event_mapping
    from conrec_core.data.preview import EventFilePreview
    from conrec_core.experiment.runs import list_runs
    from conrec_core.experiment.seeds import run_seeds
    from conrec_core.experiment.spec import resolve
    from conrec_core.jobs.params import PipelineJob
    from conrec_core.jobs.registry import JobRegistry

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        log = video_log(folder / "video.tsv", args.events)
        preview = EventFilePreview(log)
        mapping_file = folder / "mapping.json"
        import json
        events = guess_event_mapping(preview).events
        preview.close()
        parse_mapping({"events": events}, base_dir=folder)  # the guess must be a working mapping
        mapping_file.write_text(json.dumps({"events": events}))
        source = folder / "source.duckdb"
        import_source(log, source, mapping=mapping_file)
        spec = resolve("quick")
        timings, bar = {}, []
        for way in ("cli", "app"):
            workspace = folder / way / "ws.duckdb"
            workspace.parent.mkdir()
            shutil.copy(source, workspace)
            clock = time.perf_counter()
            if way == "cli":
                run_seeds(workspace, spec, [0], preset="quick",
                          on_progress=lambda fraction, message: bar.append((time.perf_counter() - clock, fraction)))
            else:
                registry = JobRegistry(workspace)
                job = registry.submit("pipeline", PipelineJob(preset="quick", seeds=(0,), spec=spec))
                finished = registry.wait(job.id, timeout=3600)
                if finished.status != "done":
                    raise SystemExit(f"the app's job {finished.status}: {finished.error}")
            timings[way] = time.perf_counter() - clock
            if args.stages:
                _, report = list_runs(workspace)[0]
                print(f"{way} stages: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.seconds.items()))
    print("time-left estimate on the CLI run: " + ", ".join(
        f"at {share:.0%} of the bar predicted {total:.0f} s" for share, total in estimates(bar))
          + f"; it took {timings['cli']:.0f} s")
    print(f"quick pipeline on {args.events:,} events: CLI way {timings['cli']:.1f} s, app way {timings['app']:.1f} s, "
          f"app / CLI {timings['app'] / timings['cli']:.2f}")


if __name__ == "__main__":
    main()
