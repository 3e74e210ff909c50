"""Read one CSV or Parquet file into a DuckDB table, turning reader failures into DataErrors.

CSV files are read as text (`all_varchar`) so that every later check can name the row that failed
instead of DuckDB guessing a type from a sample and failing somewhere in the middle of the file.
The dialect is decided here, not by DuckDB's sniffer: the sniffer gives up on a file with one ragged
row, and then we could not say which row it was.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import DataError

CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".data", ".item", ".dat"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
DELIMITER_CANDIDATES = ",\t;|"
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1",
             "iso-8859-1": "latin-1", "utf-16": "utf-16"}
ROW_COLUMN = "_row"  # 1-based data row number (header not counted), added to every table read here
# Longest line read (DuckDB's own default). Checked before DuckDB reads the file: past it DuckDB drops a final
# line without a word, and a gzip with one huge line would cost memory in proportion to the line.
MAX_LINE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class CsvOptions:
    """How to read a delimited text file; None means "detect it"."""

    delimiter: str | None = None  # one of , \t ; | when detected
    encoding: str = "utf-8"  # utf-8, latin-1 or utf-16 (what DuckDB reads natively)
    header: bool = True  # False for headerless files such as MovieLens u.data
    column_names: tuple[str, ...] | None = None  # names for a headerless file, in order
    quote: str = '"'  # '' for files whose text may start with a bare quote (MovieLens u.item)


def check_input_file(path: Path, label: str) -> Path:
    """Resolve a user-supplied path and check it is a readable regular file of a known kind."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise DataError("file not found", file=label)
    if not resolved.is_file():
        raise DataError("is not a regular file", file=label)
    if resolved.stat().st_size == 0:
        raise DataError("the file is empty", file=label)
    return resolved


def file_kind(path: Path) -> str:
    """'parquet' or 'csv', from the suffix (a .gz suffix is looked through) or the Parquet magic bytes."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in PARQUET_SUFFIXES:
        return "parquet"
    with open(path, "rb") as handle:
        if handle.read(4) == b"PAR1":
            return "parquet"
    return "csv"


def read_table(con: duckdb.DuckDBPyConnection, path: Path | str, table: str, *, label: str | None = None,
               csv_options: CsvOptions = CsvOptions()) -> list[str]:
    """Create temp table `table` from the file, with a `_row` column; return the file's column names."""
    label = label or str(path)
    resolved = check_input_file(Path(path), label)
    if file_kind(resolved) == "parquet":
        columns = _read_parquet(con, resolved, table, label)
    else:
        columns = _read_csv(con, resolved, table, label, csv_options)
    count = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
    if count == 0:
        raise DataError("the file has a header but no data rows", file=label)
    return columns


def _read_parquet(con, path: Path, table: str, label: str) -> list[str]:
    try:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" AS SELECT * FROM read_parquet(?)', [str(path)])
    except duckdb.Error as error:
        raise DataError(f"cannot read as Parquet: {_first_line(error)}", file=label) from None
    columns = [row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()]
    _refuse_reserved(columns, label)
    con.execute(f'ALTER TABLE "{table}" ADD COLUMN {ROW_COLUMN} BIGINT')
    con.execute(f'UPDATE "{table}" SET {ROW_COLUMN} = rowid + 1')
    return columns


def _refuse_reserved(columns: list[str], label: str) -> None:
    """Column names are case-insensitive in the database: '_ROW' would collide with the row-number column."""
    clash = next((c for c in columns if c.lower() == ROW_COLUMN), None)
    if clash is not None:
        raise DataError(f"a column may not be named '{clash}' (reserved for row numbers; names ignore case)",
                        file=label, column=clash)


def _read_csv(con, path: Path, table: str, label: str, options: CsvOptions) -> list[str]:
    encoding = ENCODINGS.get(options.encoding.lower())
    if encoding is None:
        raise DataError(f"unsupported encoding '{options.encoding}'; use one of utf-8, latin-1, utf-16",
                        file=label)
    first_lines = _head_text(path, encoding, label)
    _check_line_lengths(path, label)
    if options.delimiter is not None and len(options.delimiter) != 1:
        raise DataError(f"the delimiter must be one character, not {options.delimiter!r}", file=label)
    delimiter = options.delimiter or _detect_delimiter(first_lines)
    first_fields = _split_line(first_lines.splitlines()[0], delimiter, options.quote)
    if options.header:
        names = [name.strip() for name in first_fields]
    else:
        names = list(options.column_names or [])
        width = len(first_fields)
        if len(names) != width:
            raise DataError(f"expected {len(names)} fields per line, found {width} on line 1", file=label)
    _check_column_names(names, label)
    _refuse_reserved(names, label)
    columns = {name: "VARCHAR" for name in names}
    try:
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{table}" AS SELECT * FROM read_csv(?, auto_detect=false, '
            "columns=?, delim=?, quote=?, escape=?, header=?, strict_mode=true, encoding=?, max_line_size=?)",
            [str(path), columns, delimiter, options.quote, options.quote, options.header, encoding,
             MAX_LINE_BYTES + 1])
    except duckdb.Error as error:
        raise _csv_error(error, label, encoding) from None
    con.execute(f'ALTER TABLE "{table}" ADD COLUMN {ROW_COLUMN} BIGINT')
    con.execute(f'UPDATE "{table}" SET {ROW_COLUMN} = rowid + 1')
    return names


def _head_text(path: Path, encoding: str, label: str, size: int = 65536) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(size)
            # the header is read whole however wide it is (a file of 10,000 columns), up to the longest line allowed
            while len(raw) >= size and b"\n" not in raw and len(raw) <= MAX_LINE_BYTES:
                more = handle.read(size)
                if not more:
                    break
                raw += more
                size = len(raw)
    except (OSError, EOFError) as error:
        raise DataError(f"cannot read the file: {error}", file=label) from None
    if b"\x00" in raw and encoding != "utf-16":
        raise DataError("looks binary, not CSV text (NUL bytes found); is it a Parquet or compressed file "
                        "with the wrong name?", file=label)
    if encoding == "utf-8" and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    # A read cut in the middle of a multi-byte character is not an encoding error: drop the tail.
    text = raw.decode(encoding, errors="ignore") if len(raw) == size else None
    if text is None:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            raise DataError(f"line {line} is not valid {encoding} text; set the encoding "
                            "(for example \"encoding\": \"latin-1\")", file=label) from None
    if not text.strip():
        raise DataError("the file is empty", file=label)
    return text


def _check_line_lengths(path: Path, label: str, limit: int = MAX_LINE_BYTES, chunk: int = 1 << 20) -> None:
    """Refuse a file with a line over `limit` bytes, reading it in chunks (constant memory, gzip too)."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    line, current = 1, 0  # the line being read and its length so far
    try:
        with opener(path, "rb") as handle:
            while block := handle.read(chunk):
                parts = block.split(b"\n")
                lengths = [current + len(parts[0])] + [len(p) for p in parts[1:]]
                longest = max(range(len(lengths)), key=lengths.__getitem__)
                if lengths[longest] > limit:
                    raise DataError(f"line {line + longest} is longer than {limit // (1024 * 1024)} MiB; conrec "
                                    "reads lines up to that length (is this a log with one record per line?)",
                                    file=label)
                line += len(parts) - 1
                current = lengths[-1]
    except (OSError, EOFError) as error:
        raise DataError(f"cannot read the file: {error}", file=label) from None


def _split_line(line: str, delimiter: str, quote: str) -> list[str]:
    quoting = {"quotechar": quote} if quote else {"quoting": csv.QUOTE_NONE}
    return next(csv.reader(io.StringIO(line), delimiter=delimiter, **quoting), [])


def _detect_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITER_CANDIDATES).delimiter
    except csv.Error:
        header = lines[0]
        counts = {d: header.count(d) for d in DELIMITER_CANDIDATES}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else ","


def _check_column_names(names: list[str], label: str) -> None:
    if not names or all(not name for name in names):
        raise DataError("the header line is empty", file=label)
    seen = set()
    for name in names:
        if not name:
            raise DataError("the header has an empty column name", file=label)
        if name in seen:
            raise DataError(f"the header names column '{name}' twice", file=label)
        seen.add(name)


def _csv_error(error: duckdb.Error, label: str, encoding: str) -> DataError:
    text = str(error)
    match = re.search(r"CSV Error on Line: (\d+)", text)
    line = f"line {match.group(1)}: " if match else ""
    if "Invalid unicode" in text:
        return DataError(f"{line}not valid {encoding} text; set the encoding (for example "
                         "\"encoding\": \"latin-1\")", file=label)
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if columns:
        return DataError(f"{line}expected {columns.group(1)} fields, found {columns.group(2)} "
                         "(a stray delimiter or an unclosed quote?)", file=label)
    if "quote" in text.lower() and "unterminated" in text.lower():
        return DataError(f"{line}a quoted value is never closed", file=label)
    return DataError(f"{line}cannot read as CSV: {_first_line(error)}", file=label)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
