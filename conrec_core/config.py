"""Reading a dataclass config back from JSON: the fields it knows, with JSON lists turned back into tuples."""

from __future__ import annotations

from dataclasses import fields


def known_values(cls, data: dict) -> dict:
    """The entries of `data` that are fields of `cls` (older or newer records may hold others), with lists
    converted to tuples for fields whose default is a tuple.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Example:
    ...     sizes: tuple = (1, 2)
    ...     name: str = "x"
    >>> known_values(Example, {"sizes": [3], "name": "y", "gone": 1})
    {'sizes': (3,), 'name': 'y'}
    """
    names = {f.name for f in fields(cls)}
    tuples = {f.name for f in fields(cls) if isinstance(f.default, tuple)}
    return {key: tuple(value) if key in tuples and isinstance(value, list) else value
            for key, value in data.items() if key in names}
