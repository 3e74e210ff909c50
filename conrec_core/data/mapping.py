"""How the columns of an arbitrary event log (and its item file) map onto conrec's tables.

A mapping is a small JSON file, for example (every key is documented on its dataclass field):

    {
      "events": {"user": "user_id", "item": "item_id", "time": "ts", "time_unit": "s",
                 "kind": {"column": "action", "negative": ["not_interested"],
                          "positive": ["click", "purchase"], "neutral": ["impression"]},
                 "reason": {"column": "reason", "keep": ["this_item", "category"],
                            "drop": ["already_bought"]}},
      "items": {"path": "items.csv", "id": "item_id", "title": "title", "text": ["description"],
                "category": "category", "vectors": {"image": "image_vector"}}
    }

Star ratings map through thresholds instead of value lists:
`"kind": {"column": "rating", "negative_max": 2.0, "positive_min": 4.0}`.
"""

from __future__ import annotations

import math
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import DataError

# auto: a folder holding ratings.csv or u.data is MovieLens, anything else a table read with a mapping
FORMATS = ("auto", "movielens", "table")
TIME_UNITS = ("s", "ms", "iso")


@dataclass(frozen=True)
class KindRule:
    """Turns a column into kind ∈ {negative, positive, neutral}: by listed values or by numeric thresholds."""

    column: str
    negative: tuple[str, ...] = ()  # values meaning explicit negative feedback ("not_interested", "dislike")
    positive: tuple[str, ...] = ()  # values meaning positive feedback (click, purchase, like)
    neutral: tuple[str, ...] = ()  # values that are neither (impression); any other value is an error
    negative_max: float | None = None  # numeric mode: value <= this is negative (MovieLens default 2.0)
    positive_min: float | None = None  # numeric mode: value >= this is positive (MovieLens default 4.0)

    @property
    def numeric(self) -> bool:
        return self.negative_max is not None or self.positive_min is not None


@dataclass(frozen=True)
class ReasonRule:
    """Which negative-feedback reasons express a dislike of the item (kept) and which do not (dropped)."""

    column: str
    keep: tuple[str, ...] = ()  # e.g. this_item, category, shop, image; when set, unlisted reasons are errors
    drop: tuple[str, ...] = ()  # e.g. already_bought, clickbait_price, counterfeit: not a taste signal


@dataclass(frozen=True)
class EventMapping:
    """Columns of the event file."""

    user: str = "user_id"
    item: str = "item_id"
    time: str = "ts"
    time_unit: str = "s"  # s or ms since the Unix epoch (UTC), or iso for ISO-8601 text
    kind: KindRule | None = None  # required: which events are negative / positive / neutral
    value: str | None = None  # optional numeric column kept as events.value (defaults to a numeric kind column)
    reason: ReasonRule | None = None  # optional reason column for negative feedback
    delimiter: str | None = None  # CSV only; detected when absent
    encoding: str = "utf-8"  # CSV only: utf-8, latin-1 or utf-16


@dataclass(frozen=True)
class ItemMapping:
    """Columns of the optional item file; every column but the id is optional."""

    path: Path | None = None  # resolved against the mapping file's folder
    id: str = "item_id"
    title: str | None = None
    text: tuple[str, ...] = ()  # free-text columns, joined into items.text
    category: str | None = None
    vectors: dict[str, str] = field(default_factory=dict)  # vector name -> column (a list, or numbers in text)
    delimiter: str | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True)
class ImportMapping:
    events: EventMapping
    items: ItemMapping | None = None
    unknown_items: str = "error"  # "error": events must point at items in the item file; "add": add id-only items
    true_dislikes: Path | None = None  # optional ground-truth profile table (user_id, facet, value, weight)


def load_mapping(path: Path | str) -> ImportMapping:
    """Read and validate a mapping JSON file; relative paths inside it are relative to its folder."""
    path = Path(path)
    label = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))  # a BOM, as data files may have one
    except RecursionError:
        raise DataError("nested too deeply to be a mapping", file=label) from None
    except FileNotFoundError:
        raise DataError("mapping file not found", file=label) from None
    except IsADirectoryError:
        raise DataError("is a folder; give the mapping JSON file", file=label) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"not valid JSON: {error}", file=label) from None
    return parse_mapping(raw, base_dir=path.resolve().parent, label=label)


def parse_mapping(raw: Any, *, base_dir: Path, label: str = "mapping") -> ImportMapping:
    section = _Section(raw, label)
    events = _parse_events(section.child("events", required=True))
    items_section = section.child("items")
    items = _parse_items(items_section, base_dir) if items_section else None
    unknown_items = section.string("unknown_items", default="error")
    if unknown_items not in ("error", "add"):
        section.fail(f"'unknown_items' must be \"error\" or \"add\", not {unknown_items!r}")
    dislikes = section.string("true_dislikes")
    section.finish({"events", "items", "unknown_items", "true_dislikes"})
    return ImportMapping(events=events, items=items, unknown_items=unknown_items,
                         true_dislikes=_resolve(dislikes, base_dir) if dislikes else None)


def _parse_events(section: "_Section") -> EventMapping:
    defaults = EventMapping()
    time_unit = section.string("time_unit", default=defaults.time_unit)
    if time_unit not in TIME_UNITS:
        section.fail(f"'time_unit' must be one of {', '.join(TIME_UNITS)}, not {time_unit!r}")
    kind_section = section.child("kind", required=True)
    kind = KindRule(column=kind_section.string("column", required=True),
                    negative=kind_section.strings("negative"), positive=kind_section.strings("positive"),
                    neutral=kind_section.strings("neutral"),
                    negative_max=kind_section.number("negative_max"),
                    positive_min=kind_section.number("positive_min"))
    kind_section.finish({f.name for f in fields(KindRule)})
    if kind.numeric and (kind.negative or kind.positive or kind.neutral):
        kind_section.fail("use either value lists (negative/positive/neutral) or thresholds "
                          "(negative_max/positive_min), not both")
    if not kind.numeric and not kind.negative:
        kind_section.fail("list the values meaning negative feedback under 'negative' "
                          "(or give 'negative_max' for ratings)")
    placed: dict[str, str] = {}
    for kind_name, values in (("negative", kind.negative), ("positive", kind.positive), ("neutral", kind.neutral)):
        for value in values:
            key = value.strip().lower()  # the importer matches values trimmed and case-folded
            if key in placed and placed[key] != kind_name:
                kind_section.fail(f"the value {value!r} is listed as both {placed[key]} and {kind_name} (values "
                                  "match trimmed and regardless of case): list it under one kind")
            placed[key] = kind_name
    if kind.negative_max is not None and kind.positive_min is not None and kind.negative_max >= kind.positive_min:
        kind_section.fail("'negative_max' must be below 'positive_min'")
    reason_section = section.child("reason")
    reason = None
    if reason_section:
        reason = ReasonRule(column=reason_section.string("column", required=True),
                            keep=reason_section.strings("keep"), drop=reason_section.strings("drop"))
        reason_section.finish({f.name for f in fields(ReasonRule)})
    mapping = EventMapping(
        user=section.string("user", default=defaults.user), item=section.string("item", default=defaults.item),
        time=section.string("time", default=defaults.time), time_unit=time_unit, kind=kind,
        value=section.string("value"), reason=reason, delimiter=section.string("delimiter"),
        encoding=section.string("encoding", default=defaults.encoding))
    section.finish({f.name for f in fields(EventMapping)})
    roles = {"user": mapping.user, "item": mapping.item, "time": mapping.time}
    for first, second in (("user", "item"), ("user", "time"), ("item", "time")):
        if roles[first] == roles[second]:
            section.fail(f"the column {roles[first]!r} is mapped as both {first} and {second}: each needs its own")
    return mapping


def _parse_items(section: "_Section", base_dir: Path) -> ItemMapping:
    path = section.string("path", required=True)
    vectors = section.child("vectors")
    vector_columns = {name: vectors.string(name, required=True) for name in vectors.keys()} if vectors else {}
    mapping = ItemMapping(path=_resolve(path, base_dir), id=section.string("id", default="item_id"),
                          title=section.string("title"), text=section.strings("text"),
                          category=section.string("category"), vectors=vector_columns,
                          delimiter=section.string("delimiter"),
                          encoding=section.string("encoding", default="utf-8"))
    section.finish({f.name for f in fields(ItemMapping)})
    return mapping


def _resolve(path_text: str, base_dir: Path) -> Path:
    path = Path(path_text).expanduser()
    return path if path.is_absolute() else (base_dir / path)


class _Section:
    """A JSON object being read, that reports its problems with the key path they are at."""

    def __init__(self, raw: Any, file: str, where: str = ""):
        self.raw, self.file, self.where = raw, file, where
        if not isinstance(raw, dict):
            self.fail("expected a JSON object")

    def fail(self, message: str):
        raise DataError(f"in '{self.where}': {message}" if self.where else message, file=self.file)

    def keys(self):
        return list(self.raw)

    def child(self, key: str, required: bool = False) -> "_Section | None":
        if key not in self.raw:
            if required:
                self.fail(f"missing required key '{key}'")
            return None
        return _Section(self.raw[key], self.file, f"{self.where}.{key}" if self.where else key)

    def string(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.raw.get(key, default)
        if value is None:
            if required:
                self.fail(f"missing required key '{key}'")
            return None
        if not isinstance(value, str) or not value:
            self.fail(f"'{key}' must be a non-empty string")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            self.fail(f"'{key}' must be a list of values")
        return tuple(str(v) for v in value)

    def number(self, key: str) -> float | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(f"'{key}' must be a finite number, not {value!r}")
        return float(value)

    def finish(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.raw) - allowed)
        if unknown:
            self.fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def mapping_to_dict(mapping: ImportMapping) -> dict:
    """The JSON form of a mapping, the inverse of `parse_mapping` (paths written absolute); defaults and empty
    lists are left out so the file reads like one written by hand."""
    def compact(values: dict) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in values.items() if value not in (None, (), [], {})}

    events = mapping.events
    kind = events.kind
    raw = {"events": compact({
        "user": events.user, "item": events.item, "time": events.time, "time_unit": events.time_unit,
        "kind": kind and compact({"column": kind.column, "negative": kind.negative, "positive": kind.positive,
                                  "neutral": kind.neutral, "negative_max": kind.negative_max,
                                  "positive_min": kind.positive_min}),
        "value": events.value,
        "reason": events.reason and compact({"column": events.reason.column, "keep": events.reason.keep,
                                             "drop": events.reason.drop}),
        "delimiter": events.delimiter,
        "encoding": None if events.encoding == EventMapping.encoding else events.encoding})}
    if mapping.items is not None:
        items = mapping.items
        raw["items"] = compact({"path": str(items.path) if items.path else None, "id": items.id,
                                "title": items.title, "text": items.text, "category": items.category,
                                "vectors": dict(items.vectors), "delimiter": items.delimiter,
                                "encoding": None if items.encoding == ItemMapping.encoding else items.encoding})
    if mapping.unknown_items != ImportMapping.unknown_items:
        raw["unknown_items"] = mapping.unknown_items
    if mapping.true_dislikes is not None:
        raw["true_dislikes"] = str(mapping.true_dislikes)
    return raw
