"""Progress bars on stderr for long commands (conrec's own; third-party bars are silenced)."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


def progress_bar(desc: str):
    """A percentage bar and the `on_progress(fraction, message)` callback that drives it.

    Where stderr is not a terminal (a log file, a job, CI) tqdm draws nothing, so the callback writes a plain
    line instead each time the stage (a message's text before its first colon) changes or another tenth of
    the work is done: an hour-long run redirected to a file still says where it is."""
    bar = tqdm(total=100, desc=desc, unit="%", file=sys.stderr, disable=None,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
    if bar.disable:
        return bar, _line_progress(desc)

    def progress(fraction: float, message: str) -> None:
        bar.set_description(message[:60])
        bar.update(int(fraction * 100) - bar.n)
    return bar, progress


def _line_progress(desc: str):
    started, last = time.monotonic(), {"stage": None, "tenth": -1}

    def progress(fraction: float, message: str) -> None:
        stage = message.split(":", 1)[0] if ":" in message else None
        tenth = int(fraction * 10)
        if stage == last["stage"] and tenth <= last["tenth"]:
            return
        last.update(stage=stage, tenth=tenth)
        print(f"{desc}: {fraction:4.0%} {message[:100]} ({time.monotonic() - started:.0f} s)", file=sys.stderr,
              flush=True)
    return progress


def print_json(data) -> None:
    import json
    print(json.dumps(data, indent=2, default=str))
