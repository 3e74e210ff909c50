"""Form inputs made from a config's field metadata: the same help, bounds and defaults as the CLI."""

from __future__ import annotations

from conrec_core.config import form_fields


def settings_inputs(cls, columns, names: tuple[str, ...], key_prefix: str, labels: dict[str, str] | None = None,
                    values=None) -> dict:
    """One input per named field of `cls`, spread over `columns` in turn; returns {field: value}. `values`, an
    instance of `cls`, overrides the defaults shown."""
    specs = {spec["name"]: spec for spec in form_fields(cls, only=names)}
    chosen = {}
    for index, name in enumerate(names):
        spec = specs[name]
        column = columns[index % len(columns)]
        label = (labels or {}).get(name, spec["label"])
        default = getattr(values, name) if values is not None else spec["default"]
        key = f"{key_prefix}_{name}"
        if spec["choices"] and spec["type"] is not tuple:
            options = list(spec["choices"])
            chosen[name] = column.selectbox(label, options, index=options.index(default), help=spec["help"], key=key)
        elif spec["type"] is bool:
            chosen[name] = column.checkbox(label, value=bool(default), help=spec["help"], key=key)
        elif spec["type"] in (int, float):
            kind = spec["type"]
            low = None if spec["low"] is None else kind(spec["low"])
            high = None if spec["high"] is None else kind(spec["high"])
            shown = None if default is None else kind(default)
            extra = {"format": "%g"} if kind is float else {"step": 1}
            chosen[name] = column.number_input(label, min_value=low, max_value=high, value=shown, key=key,
                                               help=spec["help"] + (" (empty: auto)" if default is None else ""),
                                               **extra)
        else:
            chosen[name] = column.text_input(label, value="" if default is None else str(default), help=spec["help"],
                                             key=key)
    return chosen


def field_help(cls, name: str) -> str:
    """A config field's help text, for an input the generic form cannot make (a field of two types)."""
    return cls.__dataclass_fields__[name].metadata["help"]
