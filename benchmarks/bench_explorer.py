"""Server-side time of each Codebook explorer interaction, caches warm, through Streamlit's AppTest.

    python -m benchmarks.bench_explorer --workspaces DIR [--dataset movielens-small]

DIR must hold the sample workspace with a trained codebook (`python -m conrec_core codebook`); set it as
CONREC_WORKSPACES would be for the app. Browser rendering is not included.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmarks.timing import timed

REPO = Path(__file__).resolve().parents[1]



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspaces", type=Path, required=True)
    parser.add_argument("--dataset", default="movielens-small")
    args = parser.parse_args()
    os.environ["CONREC_WORKSPACES"] = str(args.workspaces)
    from streamlit.testing.v1 import AppTest

    from conrec_core.shipped.sample_data import SAMPLES

    app = AppTest.from_file(str(REPO / "pages" / "codebook_explorer.py"), default_timeout=300)
    app.session_state["workspace_choice"] = SAMPLES[args.dataset].title
    started = time.perf_counter()
    app.run()
    cold = time.perf_counter() - started
    rows = [("first run (caches cold)", cold),
            ("rerun", timed(lambda: app.run())),
            ("colour by category", timed(lambda: app.radio(key="map_colour").set_value("category").run())),
            ("colour by level 2", timed(lambda: app.radio(key="map_colour").set_value("SID level 2").run())),
            ("hierarchy 3 levels", timed(lambda: app.slider(key="hierarchy_depth").set_value(3).run())),
            ("search 'love'", timed(lambda: app.text_input(key="item_search").set_value("love").run()))]
    frame = app.dataframe[0].value
    if len(frame):
        item = frame.item_id.iloc[0]
        rows.append(("nearest items", timed(lambda: app.selectbox(key="nearest_item").set_value(item).run())))
    assert not app.exception, app.exception
    print(f"Codebook explorer on {args.dataset}: server time per interaction, median of 5 (seconds)")
    for label, seconds in rows:
        print(f"  {label:<28}{seconds:>8.3f}")


if __name__ == "__main__":
    main()
