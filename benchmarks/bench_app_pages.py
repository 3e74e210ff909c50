"""Server-side time of each interaction on the Import and Pipeline pages, caches warm, through Streamlit's AppTest.

    python -m benchmarks.bench_app_pages --log FILE.csv [--workspace W.duckdb]

--log: an event log the import page opens by path (e.g. ../shared/data/ml-latest-small/ratings.csv, 100k rows).
--workspace: a workspace with at least two finished pipeline runs (the Pipeline page's job, or
`kinds.pipeline`); its folder is used as CONREC_WORKSPACES. Browser rendering is not included. Each line gives
the median of 5 and its ratio to the page's first (cold) run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.timing import timed

REPO = Path(__file__).resolve().parents[1]



def widget(app, kind: str, key: str):
    return next(w for w in getattr(app, kind) if w.key == key)


def import_page(log: Path) -> list[tuple[str, float]]:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO / "pages" / "import_log.py"), default_timeout=300)
    app.session_state["import_how"] = "A file or MovieLens folder on this machine"
    app.session_state["import_path"] = str(log)
    started = time.perf_counter()
    app.run()
    rows = [("first run (file read, every row checked)", time.perf_counter() - started),
            ("rerun", timed(lambda: app.run()))]
    units = widget(app, "selectbox", "import_time_unit")
    original = units.value
    other = "ms" if original != "ms" else "s"
    rows.append(("time unit changed and back", timed(
        lambda: (widget(app, "selectbox", "import_time_unit").set_value(other).run(),
                 widget(app, "selectbox", "import_time_unit").set_value(original).run())) / 2))
    rows.append(("workspace name typed", timed(lambda: widget(app, "text_input", "import_name").input("bench").run())))
    assert not app.exception, [e.message for e in app.exception]
    return rows


def pipeline_page(workspace: Path) -> list[tuple[str, float]]:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO / "pages" / "pipeline.py"), default_timeout=300)
    app.session_state["workspace_choice"] = f"Workspace: {workspace.stem}"
    started = time.perf_counter()
    app.run()
    rows = [("first run (runs and reports read)", time.perf_counter() - started),
            ("rerun", timed(lambda: app.run()))]
    names = widget(app, "selectbox", "pipeline_run").options
    rows.append(("figure switched", timed(lambda: app.radio(key="pipeline_figure").set_value("hr").run())))
    runs = [option.rsplit("(", 1)[1].rstrip(")") for option in names]
    if len(runs) > 1:
        rows.append(("run A changed (sample by sample)", timed(
            lambda: app.selectbox(key="pipeline_compare_a").set_value(runs[-1]).run())))
    assert not app.exception, [e.message for e in app.exception]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--workspace", type=Path)
    args = parser.parse_args()
    folder = args.workspace.resolve().parent if args.workspace else Path(tempfile.mkdtemp(prefix="bench-pages-"))
    os.environ["CONREC_WORKSPACES"] = str(folder)
    pages = [("Import a log", import_page(args.log.resolve()))]
    if args.workspace:
        pages.append(("Pipeline and reports", pipeline_page(args.workspace.resolve())))
    for title, rows in pages:
        print(f"{title}: server time per interaction, median of 5 (seconds; ratio to the first run)")
        for label, seconds in rows:
            print(f"  {label:<44}{seconds:>8.3f}{seconds / rows[0][1]:>8.2f}")


if __name__ == "__main__":
    main()
