"""Progress bars on stderr for long commands (conrec's own; third-party bars are silenced)."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(desc: str):
    """A percentage bar and the `on_progress(fraction, message)` callback that drives it."""
    bar = tqdm(total=100, desc=desc, unit="%", file=sys.stderr, disable=None,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def progress(fraction: float, message: str) -> None:
        bar.set_description(message[:60])
        bar.update(int(fraction * 100) - bar.n)
    return bar, progress


def print_json(data) -> None:
    import json
    print(json.dumps(data, indent=2, default=str))
