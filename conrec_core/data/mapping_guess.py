"""A first mapping for an event file, from its column names and its values: the import page's form starts from
it and `import FILE --guess` prints it.

Names alone mislead on real logs (`video_id` names no known item column, `date` beside `time_ms` is a time), so
every role is also checked against the column's values: the time is the column whose values read as epoch
numbers (their unit from their size) before ISO text, a two-valued feedback column maps by listed values
(never star thresholds), and no column serves two roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .preview import ROLE_NAMES, ColumnValues, EventFilePreview, guess_kinds, looks_like_ratings

# Epoch numbers a log can plausibly hold: 2000-01-01 to 2100-01-01, in seconds; milliseconds are 1000 times that.
EPOCH_SECONDS = (946_684_800, 4_102_444_800)
# Words in a column name that say it names an item (beyond ROLE_NAMES' exact names).
ITEM_WORDS = ("item", "movie", "product", "video", "song", "track", "article", "sku", "post", "doc", "content",
              "book", "photo", "ad", "offer", "listing", "show", "episode", "game", "app")
USER_WORDS = ("user", "uid", "customer", "visitor", "member", "account", "viewer", "player", "client")
TIME_WORDS = ("ts", "time", "timestamp", "datetime", "epoch", "created", "when", "date")
# A two-valued feedback column: values that read as "yes" (the event is what the column's name says).
TRUE_VALUES = ("1", "1.0", "true", "yes", "y", "t")
NEGATIVE_NAME_WORDS = ("dislike", "negative", "hate", "hide", "hidden", "notinterested", "reject", "block",
                       "thumbsdown", "downvote", "skip")
# Columns beyond these many are not read for their values when guessing by content (a 10,000-column file).
PROFILED_COLUMNS = 100
# When this share of events or more is one kind, the mapping probably misreads the feedback column.
ONE_KIND_SHARE = 0.95


@dataclass(frozen=True)
class MappingGuess:
    """The "events" section of a mapping (as its JSON holds it; a role left None could not be guessed), and what
    the guess was unsure of, in words for the person who checks it."""

    events: dict
    notes: tuple[str, ...]


def guess_event_mapping(file: EventFilePreview) -> MappingGuess:
    notes: list[str] = []
    profiles = _Profiles(file)
    taken: set[str] = set()

    time_column, unit = _guess_time(file, profiles, notes)
    taken |= {time_column} - {None}
    kind_column = _by_name(file.columns, ROLE_NAMES["kind"], (), taken) or _few_valued(profiles, taken)
    taken |= {kind_column} - {None}
    user = _by_name(file.columns, ROLE_NAMES["user"], USER_WORDS, taken)
    taken |= {user} - {None}
    item = _by_name(file.columns, ROLE_NAMES["item"], ITEM_WORDS, taken)
    if item is None:  # the identifier-like column with the most distinct values that no other role holds
        item = _most_distinct(profiles, taken)
        if item is not None:
            notes.append(f"No column is named like an item; {item!r} (the most distinct values left) is taken.")
    taken |= {item} - {None}
    if user is None:
        user = _most_distinct(profiles, taken)
        if user is not None:
            notes.append(f"No column is named like a user; {user!r} is taken.")
    for role, column in (("user", user), ("item", item), ("time", time_column), ("feedback", kind_column)):
        if column is None:
            notes.append(f"No column could be guessed for the {role}: choose it.")
    reason = _by_name([c for c in file.columns if c not in {user, item, time_column, kind_column}],
                      ROLE_NAMES["reason"], (), set())
    events = {"user": user, "item": item, "time": time_column, "time_unit": unit,
              "kind": guess_kind_rule(kind_column, profiles[kind_column], notes) if kind_column else None}
    if reason:
        events["reason"] = {"column": reason, "drop": []}
    return MappingGuess(events, tuple(notes))


def guess_kind_rule(column: str, values: ColumnValues, notes: list[str] | None = None) -> dict:
    """The "kind" section for `column`: thresholds for a star scale, listed values otherwise (a two-valued
    column always by listed values, its rarer value the negative one unless its name or words say otherwise)."""
    notes = notes if notes is not None else []
    listed = [value for value, _ in values.values]
    if values.distinct == 2:
        return _two_valued(column, values, notes)
    if looks_like_ratings(values):
        numbers = sorted(float(value) for value in listed if _number(value) is not None)
        low, high = numbers[0], numbers[-1]
        negative_max, positive_min = ((2.0, 4.0) if high <= 5 else
                                      (round(low + (high - low) * 0.3), round(low + (high - low) * 0.7)))
        notes.append(f"{column!r} reads as a rating from {low:g} to {high:g}: at or below {negative_max:g} is "
                     f"negative, at or above {positive_min:g} positive.")
        return {"column": column, "negative_max": float(negative_max), "positive_min": float(positive_min)}
    guessed = guess_kinds(listed)
    unplaced = [value for value in listed if not any(value in placed for placed in guessed.values())]
    if unplaced:
        notes.append(f"{len(unplaced)} value(s) of {column!r} say no kind ({', '.join(map(repr, unplaced[:5]))}): "
                     "place them, or the import refuses their rows.")
    return {"column": column, **{kind: values_of for kind, values_of in guessed.items() if values_of}}


def one_kind_warning(kinds: dict[str, int]) -> str | None:
    """A warning when `ONE_KIND_SHARE` or more of the kept events are one kind: the feedback column or its values
    are probably misread (a log with a dislike button has more than dislikes)."""
    total = sum(kinds.values())
    if not total:
        return None
    kind, count = max(kinds.items(), key=lambda pair: pair[1])
    if count / total < ONE_KIND_SHARE:
        return None
    return (f"{count / total:.0%} of the events are {kind}: check the feedback column and which of its values "
            "mean a dislike.")


def _two_valued(column: str, values: ColumnValues, notes: list[str]) -> dict:
    (common, _), (rare, rare_count) = values.values[0], values.values[1]
    words = guess_kinds([common, rare])
    if words["negative"] and (words["positive"] or words["neutral"]):
        return {"column": column, **{kind: placed for kind, placed in words.items() if placed}}
    key = _key(column)
    if any(word in key for word in NEGATIVE_NAME_WORDS) and {common.lower(), rare.lower()} & set(TRUE_VALUES):
        negative = common if common.lower() in TRUE_VALUES else rare
        notes.append(f"{column!r} is named like negative feedback: {negative!r} is negative, the other value "
                     "positive.")
    else:
        negative = rare
        total = sum(count for _, count in values.values)
        notes.append(f"{column!r} has two values; the rarer, {rare!r} ({rare_count / total:.0%} of rows), is taken "
                     "for negative feedback and the other for positive: check.")
    positive = common if negative == rare else rare
    return {"column": column, "negative": [negative], "positive": [positive]}


class _Profiles(dict):
    """column -> its ColumnValues, read when first asked for."""

    def __init__(self, file: EventFilePreview):
        super().__init__()
        self.file = file

    def __missing__(self, column: str) -> ColumnValues:
        self[column] = self.file.values(column)
        return self[column]

    def first(self) -> list[str]:
        return self.file.columns[:PROFILED_COLUMNS]


def _guess_time(file: EventFilePreview, profiles: _Profiles, notes: list[str]) -> tuple[str | None, str]:
    """The time column: epoch numbers first (named like a time first), then ISO text with a time of day, then
    dates; its unit from the size of its values. Columns named like an id are never the time."""
    named = [column for column in file.columns if _named(column, TIME_WORDS)]
    epochs, texts = [], []
    for column in dict.fromkeys(named + profiles.first()):
        if _named(column, ("id",) + USER_WORDS + ITEM_WORDS):
            continue
        profile = profiles[column]
        if profile.numeric_share >= 0.5:  # a few bad cells are the importer's to report, beside the column
            unit = file.guess_time_unit(column)
            span = file.time_range(column, unit)
            if span and EPOCH_SECONDS[0] <= span[0].timestamp() and span[1].timestamp() <= EPOCH_SECONDS[1]:
                epochs.append((not _named(column, TIME_WORDS), -profile.distinct, column, unit))
        elif file.guess_time_unit(column) == "iso" and file.time_range(column, "iso"):
            has_clock = any(re.search(r"\d[T ]\d{1,2}:\d{2}", value) for value, _ in profile.values)
            texts.append((not has_clock, not _named(column, TIME_WORDS), -profile.distinct, column))
    if epochs:
        *_, column, unit = min(epochs)
        if texts:
            notes.append(f"The time is read from {column!r} ({'milliseconds' if unit == 'ms' else 'seconds'} since "
                         f"1970); {', '.join(repr(t[-1]) for t in sorted(texts))} hold(s) dates too.")
        return column, unit
    if texts:
        column = min(texts)[-1]
        if min(texts)[0]:
            notes.append(f"The time {column!r} has no time of day: events of one day keep their file order.")
        return column, "iso"
    return None, "s"


def _by_name(columns: list[str], names: tuple[str, ...], words: tuple[str, ...], taken: set[str]) -> str | None:
    """An exact known name first (in `names` order), then a column whose name holds one of `words` as a word."""
    free = [column for column in columns if column not in taken]
    exact = [(names.index(_key(column)), column) for column in free if _key(column) in names]
    if exact:
        return min(exact)[1]
    worded = [column for column in free if _named(column, words)]
    return worded[0] if worded else None


def _few_valued(profiles: _Profiles, taken: set[str]) -> str | None:
    candidates = [(profiles[column].distinct, column) for column in profiles.first()
                  if column not in taken and 2 <= profiles[column].distinct <= 20]
    return min(candidates)[1] if candidates else None


def _most_distinct(profiles: _Profiles, taken: set[str]) -> str | None:
    candidates = [(-profiles[column].distinct, column) for column in profiles.first()
                  if column not in taken and profiles[column].distinct > 20]
    return min(candidates)[1] if candidates else None


def _named(column: str, words: tuple[str, ...]) -> bool:
    """Whether a word of the column's name (split at _ - spaces, digits and camelCase) is one of `words`."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    return any(part in words for part in re.split(r"[\s_\-.\d]+", spaced.lower()) if part)


def _key(column: str) -> str:
    return re.sub(r"[\s_\-]", "", column.lower())


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None



def guess_and_check(file: EventFilePreview) -> tuple[MappingGuess, dict[str, int] | None]:
    """The guess, and the events per kind the importer's own staging keeps under it (None when a role is
    missing or staging refuses it: the notes then say why), with the one-kind warning among the notes."""
    from ..errors import ConrecError
    from .mapping import parse_mapping

    guess = guess_event_mapping(file)
    if any(guess.events[role] is None for role in ("user", "item", "time", "kind")):
        return guess, None
    try:
        _, kinds = file.check(parse_mapping({"events": guess.events}, base_dir=Path(".")).events)
    except ConrecError as error:
        return MappingGuess(guess.events, guess.notes + (f"The importer refuses this mapping: {error}",)), None
    warning = one_kind_warning(kinds)
    return (MappingGuess(guess.events, guess.notes + (warning,)) if warning else guess), kinds
