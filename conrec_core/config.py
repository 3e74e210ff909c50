"""One source for every setting: a dataclass field carries its default, help text and bounds, and the CLI, the
app's forms and the JSON records are all made from it.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Example(Settings):
    ...     steps: int = setting(10, "optimiser steps", low=1)
    ...     sizes: tuple[int, ...] = setting((1, 2), "layer widths")
    >>> Example.from_dict({"sizes": [3], "gone": 1})
    Example(steps=10, sizes=(3,))
    >>> Example(steps=0)
    Traceback (most recent call last):
    ...
    conrec_core.errors.ConfigError: steps must be at least 1, not 0
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import MISSING, field, fields, is_dataclass
from datetime import datetime

from .errors import ConfigError


def setting(default, help: str, *, low=None, high=None, above=None, below=None, choices=None,
            cli: bool = True, default_factory=None):
    """A dataclass field with its help text and bounds: `low`/`high` are inclusive, `above`/`below` strict.
    `cli=False` keeps a field out of generated command-line options (nested or internal settings)."""
    metadata = {"help": help, "low": low, "high": high, "above": above, "below": below, "choices": choices,
                "cli": cli}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def bounds_text(spec: dataclasses.Field) -> str:
    """The bounds of a field in words ('at least 1', 'one of cosine, mse'), or ''."""
    meta = spec.metadata
    parts = []
    if meta.get("choices"):
        parts.append("one of " + ", ".join(map(str, meta["choices"])))
    for key, words in (("low", "at least"), ("above", "above"), ("high", "at most"), ("below", "below")):
        if meta.get(key) is not None:
            parts.append(f"{words} {meta[key]}")
    return " and ".join(parts)


def _violates(spec: dataclasses.Field, value) -> bool:
    meta = spec.metadata
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if item is None or isinstance(item, bool):
            continue
        if meta.get("choices") and item not in meta["choices"]:
            return True
        if not isinstance(item, (int, float)):
            continue
        if item != item:  # NaN passes every comparison below
            return True
        if ((meta.get("low") is not None and item < meta["low"])
                or (meta.get("high") is not None and item > meta["high"])
                or (meta.get("above") is not None and item <= meta["above"])
                or (meta.get("below") is not None and item >= meta["below"])):
            return True
    return False


class Settings:
    """Mixin of every config dataclass: bounds checked on creation, JSON round trips that ignore unknown keys."""

    def __post_init__(self):
        for spec in fields(self):
            value = getattr(self, spec.name)
            if _violates(spec, value):
                raise ConfigError(f"{spec.name} must be {bounds_text(spec)}, not {value!r}")

    def to_dict(self) -> dict:
        return {spec.name: _to_json(getattr(self, spec.name)) for spec in fields(self)}

    @classmethod
    def from_dict(cls, data: dict):
        return cls(**known_values(cls, data))


def _to_json(value):
    if is_dataclass(value):
        return value.to_dict() if hasattr(value, "to_dict") else dataclasses.asdict(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def known_values(cls, data: dict) -> dict:
    """The entries of `data` that are fields of `cls` (older or newer records may hold others), converted back
    from JSON: lists to tuples, ISO text to datetimes, dicts to nested settings.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Example:
    ...     sizes: tuple = (1, 2)
    ...     name: str = "x"
    >>> known_values(Example, {"sizes": [3], "name": "y", "gone": 1})
    {'sizes': (3,), 'name': 'y'}
    """
    hints = typing.get_type_hints(cls)
    values = {}
    for spec in fields(cls):
        if spec.name not in data:
            continue
        value, kind = data[spec.name], _plain_type(hints[spec.name])
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict) and is_dataclass(kind):
            value = kind.from_dict(value) if hasattr(kind, "from_dict") else kind(**value)
        elif isinstance(value, str) and kind is datetime:
            value = datetime.fromisoformat(value)
        values[spec.name] = value
    return values


def _plain_type(hint):
    """`int | None` -> int; `tuple[str, ...]` -> tuple; any other hint as it is."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        kept = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return kept[0] if len(kept) == 1 else str
    return typing.get_origin(hint) or hint


def _item_type(hint):
    """The element type of a tuple hint, or the plain type of any other hint."""
    if _plain_type(hint) is tuple:
        args = [arg for arg in typing.get_args(hint) if arg is not Ellipsis]
        return args[0] if args else str
    return _plain_type(hint)


def option_name(field_name: str, prefix: str = "") -> str:
    return "--" + (prefix + field_name).replace("_", "-")


def add_options(parser: argparse.ArgumentParser, cls, *, prefix: str = "", exclude: tuple[str, ...] = (),
                defaults=None, aliases: dict[str, str] | None = None) -> None:
    """Add a `--field-name` option for every command-line field of `cls`, with its help, bounds and default
    (`defaults`, an instance of `cls`, may change what the help shows; the option's own default stays None so
    `config_from_options` can tell a given option from an absent one)."""
    hints = typing.get_type_hints(cls)
    shown = defaults
    for spec in fields(cls):
        if not spec.metadata.get("cli", True) or spec.name in exclude or "help" not in spec.metadata:
            continue
        hint = hints[spec.name]
        default = (getattr(shown, spec.name) if shown is not None
                   else spec.default if spec.default is not MISSING else None)
        limits = bounds_text(spec)
        help_text = spec.metadata["help"] + (f"; {limits}" if limits else "")
        help_text += f" (default {_shown(default)})"
        kwargs = {"dest": prefix + spec.name, "default": None, "help": help_text.replace("%", "%%")}
        kind = _plain_type(hint)
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = _parser_for(_item_type(hint))
            if kind is tuple:
                kwargs["nargs"] = "+"
            if spec.metadata.get("choices"):
                kwargs["choices"] = spec.metadata["choices"]
            kwargs["metavar"] = spec.name.upper()
        names = [option_name(spec.name, prefix)] + ([aliases[spec.name]] if aliases and spec.name in aliases else [])
        parser.add_argument(*names, **kwargs)


def _shown(value) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return "auto" if value is None else str(value)


def _parser_for(kind):
    if kind is datetime:
        return datetime.fromisoformat
    return kind if kind in (int, float, str) else str


def config_from_options(cls, args: argparse.Namespace, *, prefix: str = "", base=None, **overrides):
    """An instance of `cls` from parsed options: `base` (or the defaults) with every option that was given
    and every override replaced."""
    base = base if base is not None else cls()
    changes = {}
    for spec in fields(cls):
        value = getattr(args, prefix + spec.name, None)
        if value is not None:
            changes[spec.name] = tuple(value) if isinstance(value, list) else value
    changes.update(overrides)
    return dataclasses.replace(base, **changes)


def form_fields(cls, *, only: tuple[str, ...] | None = None) -> list[dict]:
    """What a form needs to show each field: name, label, help, type, default and bounds (for the app's pages)."""
    hints = typing.get_type_hints(cls)
    rows = []
    for spec in fields(cls):
        if only is not None and spec.name not in only or "help" not in spec.metadata:
            continue
        meta = spec.metadata
        low = meta.get("low") if meta.get("low") is not None else meta.get("above")
        high = meta.get("high") if meta.get("high") is not None else meta.get("below")
        rows.append({"name": spec.name, "label": spec.name.replace("_", " ").capitalize(), "help": meta["help"],
                     "type": _plain_type(hints[spec.name]),
                     "default": spec.default if spec.default is not MISSING else spec.default_factory(),
                     "low": low, "high": high, "choices": meta.get("choices")})
    return rows
