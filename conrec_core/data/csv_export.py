"""CSV for people who open it in a spreadsheet: a list in a cell as JSON (one line, quotes and all), and no cell
a spreadsheet would run as a formula. Every CSV the CLI or the app hands out is written here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) get
    a leading apostrophe, the usual CSV-injection guard; numbers are left alone.

    >>> spreadsheet_safe(pd.DataFrame({"t": ["=1+1", "ok", "@SUM(A1)"], "n": [-1, 2, 3]}))["t"].tolist()
    ["'=1+1", 'ok', "'@SUM(A1)"]
    """
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = [f"'{v}" if isinstance(v, str) and v[:1] in FORMULA_STARTS else v for v in safe[column]]
    return safe


def json_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells holding a list, tuple or array become JSON text (numpy's printout wraps long arrays over lines).

    >>> json_lists(pd.DataFrame({"ranked": [np.array(["a", "b"]), ["c"]], "n": [1, 2]}))["ranked"].tolist()
    ['["a", "b"]', '["c"]']
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object and out[column].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            out[column] = [json.dumps(_plain(v)) if isinstance(v, (list, tuple, np.ndarray)) else v
                           for v in out[column]]
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as spreadsheet-safe CSV text with lists as JSON."""
    return spreadsheet_safe(json_lists(frame)).to_csv(index=False)


def _plain(values) -> list:
    return [value.item() if isinstance(value, np.generic) else value for value in list(values)]
