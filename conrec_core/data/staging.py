"""Turn a raw table read from a file into conrec's canonical rows, checking every value on the way.

Each check runs as one SQL pass and reports the first offending row, the offending value and how many
rows share the problem, so a user can fix a file in one go instead of one error at a time.

Events and items share this module (over 300 lines) because they share its checks: quoting, required
columns, key and time types, finite numbers; each message is written in one place and reads the same for both.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field

import duckdb

from ..errors import DataError
from .mapping import EventMapping, ItemMapping
from .tabular import DELIMITER_CANDIDATES, ROW_COLUMN

MAX_SECONDS = 1e11  # about the year 5138: a larger "seconds" value is almost surely milliseconds
# Event times a log may hold: a time outside is a unit or typing error (year 20000, seconds read as ms), and
# would make per-day views span millennia.
EARLIEST, LATEST = "1970-01-01", "2100-01-01"


@dataclass
class EventCounts:
    """What happened to the rows of an event file on their way into the workspace."""

    file: str = ""  # the event file, as named in messages
    rows_read: int = 0
    duplicates_dropped: int = 0  # exact duplicates of an earlier row (same user, item, time, kind, value, reason)
    non_interest_dropped: dict[str, int] = field(default_factory=dict)  # reason -> negatives dropped
    events_kept: int = 0


@dataclass
class ItemCounts:
    rows_read: int = 0
    duplicates_dropped: int = 0
    items_kept: int = 0
    items_without_text: int = 0  # neither title nor text: only ids and vectors can describe them
    vectors: dict[str, int] = field(default_factory=dict)  # vector name -> dimension


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


COLUMNS_LISTED = 20  # a message lists this many of a file's columns, then says how many more


def require_columns(columns: list[str], wanted: list[str], label: str) -> None:
    """Fail with the file's real columns, and a hint, when a mapped column is missing."""
    for name in wanted:
        if name in columns:
            continue
        shown = ", ".join(columns[:COLUMNS_LISTED]) + (f" and {len(columns) - COLUMNS_LISTED:,} more"
                                                       if len(columns) > COLUMNS_LISTED else "")
        message = f"missing column '{name}'; the file has: {shown}"
        lower = {c.lower(): c for c in columns}
        same_text = [c for c in columns if unicodedata.normalize("NFC", c) == unicodedata.normalize("NFC", name)]
        if same_text:
            message += (f" ('{same_text[0]}' looks the same but is written with other Unicode code points "
                        "(normalisation NFC against NFD): retype the name in the mapping, or rename the column)")
        elif name.lower() in lower:
            message += f" (did you mean '{lower[name.lower()]}'? names are case-sensitive)"
        elif len(columns) == 1 and any(d in columns[0] for d in DELIMITER_CANDIDATES):
            message += " (one column only: is the delimiter wrong?)"
        else:
            close = difflib.get_close_matches(name, columns, n=1)
            if close:
                message += f" (did you mean '{close[0]}'?)"
        raise DataError(message, file=label, column=name)


# Column types an id or a category can come in: text, or integers (written the same way in every file). A float id
# reads "1.0" and no longer matches "1" in another file; a struct, list or blob has no one spelling.
KEY_TYPES = ("VARCHAR", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT")


def require_key_types(con, raw_table: str, columns: dict[str, str], label: str) -> None:
    """Fail when a Parquet column meant to hold ids or labels (`columns`: column -> what it holds) has a type
    that would not match the same value elsewhere (CSV columns are all text)."""
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?",
                             [raw_table]).fetchall())
    for column, what in columns.items():
        found = types.get(column)
        if found is not None and found not in KEY_TYPES:
            raise DataError(f"holds {found} values, but {what} must be text or whole numbers (a float reads "
                            f"'1.0' and would not match '1'; a struct, list or blob has no single spelling)",
                            file=label, column=column)


def require_time_type(con, raw_table: str, column: str, label: str) -> None:
    """Fail when a Parquet time column holds values with no one reading as a time (blobs, lists, structs)."""
    found = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?",
                             [raw_table]).fetchall()).get(column)
    if found is not None and (found.startswith(("BLOB", "STRUCT", "MAP", "UNION", "BIT")) or "[" in found):
        raise DataError(f"holds {found} values, but times must be numbers, text or timestamps", file=label,
                        column=column)


def _text(column: str) -> str:
    return f"NULLIF(trim(CAST({quote(column)} AS VARCHAR)), '')"


def _time_expression(column: str, unit: str) -> str:
    """The column as a UTC TIMESTAMP, NULL when unreadable or outside [EARLIEST, LATEST)."""
    if unit == "iso":
        parsed = f"CAST(TRY_CAST({quote(column)} AS TIMESTAMPTZ) AS TIMESTAMP)"
    else:
        number = f"TRY_CAST({_text(column)} AS DOUBLE)"
        seconds = number if unit == "s" else f"({number} / 1000.0)"
        parsed = (f"CASE WHEN abs({seconds}) < {MAX_SECONDS} "
                  f"THEN make_timestamp(CAST(round({seconds} * 1e6) AS BIGINT)) END")
    return (f"CASE WHEN {parsed} >= TIMESTAMP '{EARLIEST}' AND {parsed} < TIMESTAMP '{LATEST}' "
            f"THEN {parsed} END")


def _finite_number(column: str) -> str:
    """A column as a finite DOUBLE, NULL for text, NaN and ±inf (NaN >= 4 is true in DuckDB: a NaN rating
    would otherwise import as a like)."""
    number = f"TRY_CAST({_text(column)} AS DOUBLE)"
    return f"CASE WHEN isfinite({number}) THEN {number} END"


def _kind_expression(mapping: EventMapping) -> tuple[str, list]:
    rule = mapping.kind
    if rule.numeric:
        number = _finite_number(rule.column)
        return (f"CASE WHEN {number} IS NULL THEN NULL WHEN {number} <= ? THEN 'negative' "
                f"WHEN {number} >= ? THEN 'positive' ELSE 'neutral' END",
                [rule.negative_max, rule.positive_min if rule.positive_min is not None else float("inf")])
    value = f"lower({_text(rule.column)})"
    lists = [[v.strip().lower() for v in values] for values in (rule.negative, rule.positive, rule.neutral)]
    return (f"CASE WHEN list_contains(?, {value}) THEN 'negative' WHEN list_contains(?, {value}) "
            f"THEN 'positive' WHEN list_contains(?, {value}) THEN 'neutral' END", lists)


def stage_events(con: duckdb.DuckDBPyConnection, raw_table: str, columns: list[str], mapping: EventMapping,
                 label: str, target: str = "staged_events") -> EventCounts:
    """Create temp table `target(user_id, item_id, ts, kind, value, reason, _row)` from a raw event table."""
    if mapping.kind is None:
        raise DataError("the mapping does not say which column holds the feedback kind", file=label)
    value_column = mapping.value or (mapping.kind.column if mapping.kind.numeric else None)
    reason_column = mapping.reason.column if mapping.reason else None
    wanted = [mapping.user, mapping.item, mapping.time, mapping.kind.column]
    wanted += [c for c in (value_column, reason_column) if c]
    require_columns(columns, wanted, label)
    keys = {mapping.user: "user ids", mapping.item: "item ids"}
    if not mapping.kind.numeric:
        keys[mapping.kind.column] = "feedback kinds"
    if reason_column:
        keys[reason_column] = "reasons"
    require_key_types(con, raw_table, keys, label)
    require_time_type(con, raw_table, mapping.time, label)

    kind_sql, kind_params = _kind_expression(mapping)
    value_sql = _finite_number(value_column) if value_column else "CAST(NULL AS DOUBLE)"
    raw_value_sql = _text(value_column) if value_column else "NULL"
    reason_sql = f"lower({_text(reason_column)})" if reason_column else "CAST(NULL AS VARCHAR)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE parsed_events AS
        SELECT {ROW_COLUMN},
               {_text(mapping.user)} AS user_id,
               {_text(mapping.item)} AS item_id,
               {_text(mapping.time)} AS raw_time,
               {_time_expression(mapping.time, mapping.time_unit)} AS ts,
               {_text(mapping.kind.column)} AS raw_kind,
               {kind_sql} AS kind,
               {raw_value_sql} AS raw_value,
               {value_sql} AS value,
               {reason_sql} AS reason
        FROM {quote(raw_table)}""", kind_params)

    _check_events(con, mapping, value_column, label)
    if mapping.reason and mapping.reason.keep:
        _check_reasons(con, mapping, label)

    counts = EventCounts(file=label, rows_read=_scalar(con, "SELECT count(*) FROM parsed_events"))
    drop = [r.strip().lower() for r in mapping.reason.drop] if mapping.reason else []
    for reason, count in con.execute(
            "SELECT reason, count(*) FROM parsed_events WHERE kind = 'negative' AND list_contains(?, reason) "
            "GROUP BY reason ORDER BY reason", [drop]).fetchall():
        counts.non_interest_dropped[reason] = count
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {quote(target)} AS
        SELECT user_id, item_id, ts, kind, value, reason, min({ROW_COLUMN}) AS {ROW_COLUMN}
        FROM parsed_events
        WHERE NOT (kind = 'negative' AND coalesce(list_contains(?, reason), false))
        GROUP BY ALL""", [drop])
    con.execute("DROP TABLE parsed_events")
    counts.events_kept = _scalar(con, f"SELECT count(*) FROM {quote(target)}")
    counts.duplicates_dropped = counts.rows_read - sum(counts.non_interest_dropped.values()) - counts.events_kept
    return counts


def _check_events(con, mapping: EventMapping, value_column: str | None, label: str) -> None:
    checks = [
        ("user_id IS NULL", "user_id", mapping.user, lambda raw: "the user id is empty"),
        ("item_id IS NULL", "item_id", mapping.item, lambda raw: "the item id is empty"),
        # the head check finds NUL bytes in the first 64 KiB only; an id holding one would be stored as given
        ("contains(user_id, chr(0))", "user_id", mapping.user, lambda raw: "the user id holds a NUL byte"),
        ("contains(item_id, chr(0))", "item_id", mapping.item, lambda raw: "the item id holds a NUL byte"),
        ("ts IS NULL", "raw_time", mapping.time, lambda raw: _time_problem(raw, mapping.time_unit)),
        ("kind IS NULL", "raw_kind", mapping.kind.column, lambda raw: _kind_problem(raw, mapping)),
    ]
    if value_column:
        checks.append(("raw_value IS NOT NULL AND value IS NULL", "raw_value", value_column,
                       lambda raw: f"{raw!r} is not a finite number"))
    select = ", ".join(
        f"min({ROW_COLUMN}) FILTER (WHERE {cond}), arg_min({raw}, {ROW_COLUMN}) FILTER (WHERE {cond}), "
        f"count(*) FILTER (WHERE {cond})" for cond, raw, _, _ in checks)
    result = con.execute(f"SELECT {select} FROM parsed_events").fetchall()[0]
    for index, (_, _, column, describe) in enumerate(checks):
        row, raw, count = result[3 * index: 3 * index + 3]
        if row is not None:
            more = f" ({count} rows like this)" if count > 1 else ""
            raise DataError(describe(raw) + more, file=label, column=column, row=row)


def _time_problem(raw: str | None, unit: str) -> str:
    if raw is None:
        return "the time is empty"
    names = {"s": "seconds since the epoch", "ms": "milliseconds since the epoch", "iso": "an ISO-8601 time"}
    message = f"cannot read {raw!r} as {names[unit]} from {EARLIEST[:4]} to {int(LATEST[:4]) - 1}"
    try:
        number = float(raw)
    except ValueError:
        number = None
    if unit == "s" and number is not None and MAX_SECONDS <= abs(number) < MAX_SECONDS * 1000:
        message += " (it looks like milliseconds: set \"time_unit\": \"ms\")"
    elif unit != "iso" and number is None and any(ch in raw for ch in "-:/"):
        message += " (it looks like a date: set \"time_unit\": \"iso\")"
    return message


def _kind_problem(raw: str | None, mapping: EventMapping) -> str:
    rule = mapping.kind
    if raw is None:
        return "the feedback kind is empty"
    if rule.numeric:
        return f"{raw!r} is not a finite number (the kind comes from thresholds on this column)"
    known = ", ".join(repr(v) for v in rule.negative + rule.positive + rule.neutral)
    return (f"unknown value {raw!r}; the mapping knows {known}: list it under negative, positive or neutral")


def _check_reasons(con, mapping: EventMapping, label: str) -> None:
    known = [r.strip().lower() for r in mapping.reason.keep + mapping.reason.drop]
    row = con.execute(
        f"SELECT {ROW_COLUMN}, reason, count(*) OVER () FROM parsed_events WHERE kind = 'negative' "
        f"AND reason IS NOT NULL AND NOT list_contains(?, reason) ORDER BY {ROW_COLUMN} LIMIT 1",
        [known]).fetchall()
    if row:
        line, reason, count = row[0]
        more = f" ({count} rows like this)" if count > 1 else ""
        raise DataError(f"unknown reason {reason!r}; list it under 'keep' or 'drop' in the mapping{more}",
                        file=label, column=mapping.reason.column, row=line)


def stage_items(con: duckdb.DuckDBPyConnection, raw_table: str, columns: list[str], mapping: ItemMapping,
                label: str) -> ItemCounts:
    """Create temp tables staged_items(item_id, title, text, category) and staged_item_vectors."""
    wanted = [mapping.id] + [c for c in (mapping.title, mapping.category) if c] + list(mapping.text)
    wanted += list(mapping.vectors.values())
    require_columns(columns, wanted, label)
    require_key_types(con, raw_table, {mapping.id: "item ids"}, label)
    if len(mapping.text) == 1:
        text_sql = _text(mapping.text[0])
    elif mapping.text:
        parts = ", ".join(f"CASE WHEN {_text(c)} IS NOT NULL THEN '{c.replace(chr(39), '')}: ' || {_text(c)} END"
                          for c in mapping.text)
        text_sql = f"NULLIF(concat_ws(chr(10), {parts}), '')"
    else:
        text_sql = "CAST(NULL AS VARCHAR)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE parsed_items AS
        SELECT {ROW_COLUMN}, {_text(mapping.id)} AS item_id,
               {_text(mapping.title) if mapping.title else 'CAST(NULL AS VARCHAR)'} AS title,
               {text_sql} AS text,
               {_text(mapping.category) if mapping.category else 'CAST(NULL AS VARCHAR)'} AS category
        FROM {quote(raw_table)}""")
    empty = con.execute(f"SELECT min({ROW_COLUMN}), count(*) FROM parsed_items WHERE item_id IS NULL").fetchall()[0]
    if empty[0] is not None:
        more = f" ({empty[1]} rows like this)" if empty[1] > 1 else ""
        raise DataError("the item id is empty" + more, file=label, column=mapping.id, row=empty[0])
    conflict = con.execute(f"""
        SELECT item_id, list({ROW_COLUMN} ORDER BY {ROW_COLUMN})[1:2] FROM (
            SELECT item_id, title, text, category, min({ROW_COLUMN}) AS {ROW_COLUMN} FROM parsed_items GROUP BY ALL)
        GROUP BY item_id HAVING count(*) > 1 ORDER BY min({ROW_COLUMN}) LIMIT 1""").fetchall()
    if conflict:
        item, rows = conflict[0]
        raise DataError(f"item {item!r} appears again on row {rows[1]} with different values",
                        file=label, column=mapping.id, row=rows[0])
    counts = ItemCounts(rows_read=_scalar(con, "SELECT count(*) FROM parsed_items"))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE staged_items AS
        SELECT item_id, any_value(title) AS title, any_value(text) AS text, any_value(category) AS category,
               min({ROW_COLUMN}) AS {ROW_COLUMN}
        FROM parsed_items GROUP BY item_id""")
    counts.items_kept = _scalar(con, "SELECT count(*) FROM staged_items")
    counts.duplicates_dropped = counts.rows_read - counts.items_kept
    counts.items_without_text = _scalar(con, "SELECT count(*) FROM staged_items WHERE title IS NULL AND text IS NULL")
    con.execute("DROP TABLE parsed_items")
    con.execute("CREATE OR REPLACE TEMP TABLE staged_item_vectors "
                "(item_id VARCHAR, name VARCHAR, vector FLOAT[])")
    for name, column in mapping.vectors.items():
        counts.vectors[name] = _stage_vector(con, raw_table, mapping, name, column, label)
    return counts


def _stage_vector(con, raw_table: str, mapping: ItemMapping, name: str, column: str, label: str) -> int:
    column_type = con.execute(f"SELECT typeof({quote(column)}) FROM {quote(raw_table)} LIMIT 1").fetchall()[0][0]
    if column_type.endswith("]"):  # a LIST or ARRAY column (Parquet)
        vector_sql = f"TRY_CAST({quote(column)} AS FLOAT[])"
    else:  # numbers in text: "0.1 0.2", "0.1,0.2" or "[0.1, 0.2]"
        cleaned = f"trim(regexp_replace(trim(CAST({quote(column)} AS VARCHAR), '[] '), '[,;\\s]+', ' ', 'g'))"
        vector_sql = f"TRY_CAST(string_split({cleaned}, ' ') AS FLOAT[])"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE parsed_vectors AS
        SELECT {ROW_COLUMN}, {_text(mapping.id)} AS item_id, {quote(column)} IS NULL AS missing,
               {vector_sql} AS vector
        FROM {quote(raw_table)}""")
    bad = con.execute(f"""
        SELECT {ROW_COLUMN}, CASE WHEN not_numbers THEN 'is not a list of numbers'
                                  ELSE 'contains NaN or infinity' END
        FROM (SELECT *, vector IS NULL OR len(vector) = 0 OR list_count(vector) < len(vector) AS not_numbers
              FROM parsed_vectors)
        WHERE NOT missing AND (not_numbers OR len(list_filter(vector, lambda x: isnan(x) OR isinf(x))) > 0)
        ORDER BY {ROW_COLUMN} LIMIT 1""").fetchall()
    if bad:
        raise DataError(f"the {name} vector {bad[0][1]}", file=label, column=column, row=bad[0][0])
    dims = con.execute(f"SELECT len(vector) AS d, min({ROW_COLUMN}) FROM parsed_vectors WHERE NOT missing "
                       "GROUP BY d ORDER BY count(*) DESC, d").fetchall()
    if not dims:
        raise DataError(f"the {name} vector column is empty on every row", file=label, column=column)
    if len(dims) > 1:
        raise DataError(f"the {name} vector has {dims[1][0]} numbers here but {dims[0][0]} on most rows",
                        file=label, column=column, row=dims[1][1])
    conflict = con.execute(f"""
        SELECT item_id, list({ROW_COLUMN} ORDER BY {ROW_COLUMN})[1:2] FROM (
            SELECT item_id, vector, min({ROW_COLUMN}) AS {ROW_COLUMN} FROM parsed_vectors WHERE NOT missing
            GROUP BY ALL)
        GROUP BY item_id HAVING count(*) > 1 ORDER BY min({ROW_COLUMN}) LIMIT 1""").fetchall()
    if conflict:  # which of the two is right cannot be guessed
        item, rows = conflict[0]
        raise DataError(f"item {item!r} appears again on row {rows[1]} with a different {name} vector",
                        file=label, column=column, row=rows[0])
    con.execute("""
        INSERT INTO staged_item_vectors
        SELECT item_id, ?, any_value(vector) FROM parsed_vectors WHERE NOT missing GROUP BY item_id""", [name])
    con.execute("DROP TABLE parsed_vectors")
    return dims[0][0]


def _scalar(con, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]
