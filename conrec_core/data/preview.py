"""An event file read once into memory, to draft and check its column mapping before importing it.

The import page builds its form from this: the header, the first rows, each column's commonest values, a guess
at which column is which and at the time unit. `check` runs the importer's own staging on the file, so a
mapping that passes here fails the import only on what staging does not see (item references, samples).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import pandas as pd

from .mapping import EventMapping
from .staging import EventCounts, quote, stage_events
from .tabular import ROW_COLUMN, CsvOptions, read_table

# Column names (lower case, without _ - and spaces) that usually hold each role, best first.
ROLE_NAMES = {
    "user": ("userid", "user", "uid", "customerid", "customer", "visitorid", "member", "account"),
    "item": ("itemid", "item", "movieid", "productid", "product", "iid", "sku", "articleid", "video", "song"),
    "time": ("ts", "timestamp", "time", "datetime", "eventtime", "createdat", "date", "when"),
    "kind": ("action", "event", "eventtype", "feedback", "kind", "type", "interaction", "rating", "label",
             "signal"),
    "reason": ("reason", "dislikereason", "why", "feedbackreason"),
}
ITEM_ROLE_NAMES = {
    "id": ("itemid", "item", "movieid", "productid", "product", "id", "sku", "articleid"),
    "title": ("title", "name", "itemname", "productname", "headline"),
    "category": ("category", "genres", "genre", "categories", "section", "department"),
}
# Words in a feedback value that say which kind it is; a value matching none is left for the user to place.
KIND_WORDS = {
    "negative": ("dislike", "notinterested", "hide", "hidden", "negative", "thumbsdown", "downvote", "skip",
                 "reject", "block", "report", "unlike", "remove", "dismiss"),
    "positive": ("click", "like", "purchase", "buy", "order", "cart", "favourite", "favorite", "positive",
                 "thumbsup", "upvote", "play", "watch", "save", "share"),
    "neutral": ("view", "impression", "show", "seen", "exposure", "display"),
}
# Beyond these, epoch numbers are taken for milliseconds (year 2286 in seconds, 1973 in milliseconds).
SECONDS_MAX = 10_000_000_000


@dataclass(frozen=True)
class ColumnValues:
    """A column's commonest values with their row counts, and how many distinct values it has in all."""
    values: tuple[tuple[str, int], ...]
    distinct: int
    numeric_share: float  # share of non-empty cells that read as a finite number


class EventFilePreview:
    """The whole file as text columns in an in-memory DuckDB; read errors are the importer's own messages."""

    def __init__(self, path, *, delimiter: str | None = None, encoding: str = "utf-8", label: str | None = None):
        self.path = path
        self.label = label or str(path)
        self.options = CsvOptions(delimiter=delimiter, encoding=encoding)
        self._con = duckdb.connect()
        self._lock = threading.Lock()  # the app shares one preview between its sessions' threads
        self.columns = read_table(self._con, path, "raw_events", label=self.label, csv_options=self.options)
        self.rows = self._con.execute("SELECT count(*) FROM raw_events").fetchall()[0][0]

    def close(self) -> None:
        self._con.close()

    def head(self, rows: int = 10) -> pd.DataFrame:
        with self._lock:
            return self._con.execute(f"SELECT * EXCLUDE ({ROW_COLUMN}) FROM raw_events ORDER BY {ROW_COLUMN} "
                                     "LIMIT ?", [rows]).df()

    def values(self, column: str, limit: int = 40) -> ColumnValues:
        """The `limit` commonest non-empty values of `column`, commonest first."""
        self._require(column)
        text = f"trim(CAST({quote(column)} AS VARCHAR))"
        top = self._rows(f"""
            SELECT {text} AS value, count(*) AS n FROM raw_events WHERE {text} <> ''
            GROUP BY ALL ORDER BY n DESC, value LIMIT ?""", [limit])
        distinct, numeric = self._rows(f"""
            SELECT count(DISTINCT {text}) FILTER (WHERE {text} <> ''),
                   avg(CASE WHEN isfinite(TRY_CAST({text} AS DOUBLE)) THEN 1.0 ELSE 0.0 END)
                       FILTER (WHERE {text} <> '')
            FROM raw_events""")[0]
        return ColumnValues(tuple((str(v), int(n)) for v, n in top), int(distinct or 0), float(numeric or 0.0))

    def guess_time_unit(self, column: str) -> str:
        """s or ms when the column holds epoch numbers (by their size), iso otherwise."""
        self._require(column)
        text = f"trim(CAST({quote(column)} AS VARCHAR))"
        numbers, median = self._rows(f"""
            SELECT avg(CASE WHEN TRY_CAST({text} AS DOUBLE) IS NOT NULL THEN 1.0 ELSE 0.0 END),
                   median(abs(TRY_CAST({text} AS DOUBLE)))
            FROM raw_events WHERE {text} <> ''""")[0]
        if numbers is None or numbers < 0.5:
            return "iso"
        return "ms" if median is not None and median >= SECONDS_MAX else "s"

    def time_range(self, column: str, unit: str) -> tuple[datetime, datetime] | None:
        """The first and last time the column holds, read with `unit`; None when no cell reads, or when read
        this way they fall outside the years a date can hold (milliseconds read as seconds)."""
        self._require(column)
        text = f"trim(CAST({quote(column)} AS VARCHAR))"
        if unit == "iso":  # as epoch seconds, so that no out-of-range timestamp reaches Python
            expression = f"epoch(TRY_CAST({text} AS TIMESTAMP))"
        else:
            divisor = 1000.0 if unit == "ms" else 1.0
            expression = f"TRY_CAST({text} AS DOUBLE) / {divisor}"
        low, high = self._rows(f"SELECT min(t), max(t) FROM (SELECT TRY({expression}) AS t FROM raw_events) "
                               "WHERE isfinite(t)")[0]
        if low is None:
            return None
        try:
            return (datetime.fromtimestamp(float(low), tz=timezone.utc),
                    datetime.fromtimestamp(float(high), tz=timezone.utc))
        except (OverflowError, OSError, ValueError):  # beyond year 9999 (or before year 1)
            return None

    def check(self, mapping: EventMapping) -> tuple[EventCounts, dict[str, int]]:
        """Stage the events with `mapping` exactly as the importer does: its counts and the events per kind
        (negative, positive, neutral) it would keep, or its DataError."""
        with self._lock:
            try:
                counts = stage_events(self._con, "raw_events", self.columns, mapping, self.label,
                                      target="checked_events")
                kinds = dict(self._con.execute("SELECT kind, count(*) FROM checked_events GROUP BY kind").fetchall())
            finally:
                self._con.execute("DROP TABLE IF EXISTS checked_events")
                self._con.execute("DROP TABLE IF EXISTS parsed_events")  # left behind when a check fails
        return counts, kinds

    def _rows(self, sql: str, params=None) -> list[tuple]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def _require(self, column: str) -> None:
        if column not in self.columns:
            raise KeyError(f"no column {column!r} in {self.label}")


def guess_roles(columns: list[str], roles: dict[str, tuple[str, ...]] = ROLE_NAMES) -> dict[str, str | None]:
    """role -> the column that most likely holds it (of an event file by default; ITEM_ROLE_NAMES for an item
    file), each column used once."""
    keys = {column: re.sub(r"[\s_\-]", "", column.lower()) for column in columns}
    chosen: dict[str, str | None] = {}
    for role, names in roles.items():
        taken = set(chosen.values())
        candidates = [(names.index(key), column) for column, key in keys.items()
                      if key in names and column not in taken]
        chosen[role] = min(candidates)[1] if candidates else None
    return chosen


def guess_kinds(values: list[str]) -> dict[str, list[str]]:
    """kind -> the values whose words say it ("not_interested" is negative before "interested" could count)."""
    guessed: dict[str, list[str]] = {kind: [] for kind in KIND_WORDS}
    for value in values:
        key = re.sub(r"[\s_\-]", "", value.lower())
        for kind, words in KIND_WORDS.items():  # negative words first: "unlike" and "dislike" contain "like"
            if any(word in key for word in words):
                guessed[kind].append(value)
                break
    return guessed


def looks_like_ratings(values: ColumnValues) -> bool:
    """A numeric column with few distinct values (stars, scores) maps by thresholds rather than value lists."""
    return values.numeric_share > 0.99 and 1 < values.distinct <= 20
