"""Import a source (MovieLens folder, or any CSV/Parquet event log with a mapping) into a new workspace."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import ConrecError, DataError
from .mapping import FORMATS, ImportMapping, load_mapping
from .movielens import MovieLensConfig, detect_layout, stage_movielens
from .samples import build_samples
from .samples_config import SampleConfig
from .staging import EventCounts, ItemCounts, require_columns, stage_events, stage_items
from .tabular import CsvOptions, read_table
from .workspace import new_workspace, open_workspace, write_meta

IMPORT_STEPS = 5
TRUE_DISLIKE_COLUMNS = ("user_id", "facet", "value", "weight")


@dataclass
class ImportReport:
    source: str
    format: str
    events: EventCounts
    items: ItemCounts | None
    id_only_items_added: int = 0  # items referenced by events but absent from the item file ("add" mode)
    true_dislike_rows: int = 0
    samples: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def import_source(source: Path | str, workspace: Path | str, *, format: str = "auto",
                  mapping: ImportMapping | Path | str | None = None,
                  movielens: MovieLensConfig = MovieLensConfig(), sample_config: SampleConfig = SampleConfig(),
                  on_step: Callable[[str], None] = lambda step: None) -> ImportReport:
    """Build a workspace from `source`; the existing workspace at that path is replaced only on success."""
    started = time.perf_counter()
    source = Path(source).expanduser()
    if format not in FORMATS:
        raise ConrecError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if not source.exists():
        raise DataError("file or folder not found", file=str(source))
    if format == "auto":
        format = "movielens" if source.is_dir() and detect_layout(source) else "table"
    if isinstance(mapping, (str, Path)):
        mapping = load_mapping(mapping)
    if format == "table" and mapping is None:
        raise ConrecError("a table import needs a column mapping (--mapping FILE.json); "
                          "see `python -m conrec_core import --help`")
    if format == "table" and source.is_dir():
        raise DataError("is a folder; give the event file itself (or --format movielens)", file=str(source))

    with new_workspace(workspace) as con:
        on_step("reading events and items")
        if format == "movielens":
            events, items = stage_movielens(con, source, movielens)
            unknown_items = "error"
        else:
            events, items = _stage_table(con, source, mapping)
            unknown_items = mapping.unknown_items
        report = ImportReport(source=str(source), format=format, events=events, items=items)
        if events.events_kept == 0:
            raise DataError("no events left to import (every row was dropped as a duplicate or for its reason)",
                            file=str(source))
        if not con.execute("SELECT count(*) FROM staged_events WHERE kind = 'negative'").fetchall()[0][0]:
            raise DataError(f"none of the {events.events_kept:,} events is negative feedback, and negatives are what "
                            "conrec learns from: check the values the mapping lists under 'negative' (or its "
                            "'negative_max')", file=str(source))
        on_step("checking item references")
        report.id_only_items_added = _resolve_items(con, events.file, unknown_items, has_item_file=items is not None)
        on_step("writing the workspace")
        _write_tables(con)
        if format == "table" and mapping.true_dislikes is not None:
            report.true_dislike_rows = _import_true_dislikes(con, mapping.true_dislikes)
        on_step("building samples")
        report.samples = build_samples(con, sample_config)
        report.seconds = round(time.perf_counter() - started, 3)
        write_meta(con, "source", {"path": str(source.resolve()), "format": format,
                                   "movielens": asdict(movielens) if format == "movielens" else None})
        write_meta(con, "import_report", report.to_dict())
        on_step("saving")
    return report


def _stage_table(con, source: Path, mapping: ImportMapping) -> tuple[EventCounts, ItemCounts | None]:
    options = CsvOptions(delimiter=mapping.events.delimiter, encoding=mapping.events.encoding)
    columns = read_table(con, source, "raw_events", label=str(source), csv_options=options)
    events = stage_events(con, "raw_events", columns, mapping.events, str(source))
    con.execute("DROP TABLE raw_events")
    if mapping.items is None:
        return events, None
    item_options = CsvOptions(delimiter=mapping.items.delimiter, encoding=mapping.items.encoding)
    item_columns = read_table(con, mapping.items.path, "raw_items", label=str(mapping.items.path),
                              csv_options=item_options)
    items = stage_items(con, "raw_items", item_columns, mapping.items, str(mapping.items.path))
    return events, items


def _resolve_items(con, source_label: str, unknown_items: str, has_item_file: bool) -> int:
    if not has_item_file:
        con.execute("CREATE OR REPLACE TEMP TABLE staged_items AS SELECT DISTINCT item_id, "
                    "CAST(NULL AS VARCHAR) AS title, CAST(NULL AS VARCHAR) AS text, "
                    "CAST(NULL AS VARCHAR) AS category, 0 AS _row FROM staged_events")
        con.execute("CREATE OR REPLACE TEMP TABLE staged_item_vectors "
                    "(item_id VARCHAR, name VARCHAR, vector FLOAT[])")
        return 0
    unknown = con.execute("""
        SELECT min(e._row), arg_min(e.item_id, e._row), count(*), count(DISTINCT e.item_id)
        FROM staged_events e ANTI JOIN staged_items i USING (item_id)""").fetchall()[0]
    if unknown[2] == 0:
        return 0
    if unknown_items == "error":
        raise DataError(f"item {unknown[1]!r} is not in the item file ({unknown[2]} events point at "
                        f"{unknown[3]} unknown items; set \"unknown_items\": \"add\" to keep them as id-only items)",
                        file=source_label, row=unknown[0])
    con.execute("""
        INSERT INTO staged_items SELECT DISTINCT e.item_id, NULL, NULL, NULL, 0
        FROM staged_events e ANTI JOIN staged_items i USING (item_id)""")
    return unknown[3]


def _write_tables(con) -> None:
    con.execute("INSERT INTO items SELECT item_id, title, text, category FROM staged_items ORDER BY _row, item_id")
    con.execute("INSERT INTO item_vectors SELECT item_id, name, vector FROM staged_item_vectors")
    con.execute("""
        INSERT INTO events
        SELECT row_number() OVER (ORDER BY user_id, ts, _row, kind), user_id, item_id, ts, kind, value, reason
        FROM staged_events ORDER BY 1""")
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'staged_item_tags'").fetchall()[0][0]:
        con.execute("""INSERT INTO item_tags SELECT t.item_id, t.user_id, t.ts, t.tag FROM staged_item_tags t
                       SEMI JOIN items i ON i.item_id = t.item_id ORDER BY t.item_id, t.ts, t.user_id""")
    for table in ("staged_events", "staged_items", "staged_item_vectors", "staged_item_tags"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _import_true_dislikes(con, path: Path) -> int:
    label = str(path)
    columns = read_table(con, path, "raw_dislikes", label=label)
    require_columns(columns, list(TRUE_DISLIKE_COLUMNS), label)
    bad = con.execute("SELECT min(_row) FROM raw_dislikes "
                      "WHERE NOT coalesce(isfinite(TRY_CAST(weight AS DOUBLE)), false) "
                      "OR NULLIF(trim(user_id), '') IS NULL OR NULLIF(trim(facet), '') IS NULL").fetchall()[0][0]
    if bad is not None:
        raise DataError("needs a user_id, a facet and a finite numeric weight", file=label, row=bad)
    con.execute("""
        INSERT INTO true_dislikes
        SELECT trim(CAST(user_id AS VARCHAR)) AS user_id, trim(CAST(facet AS VARCHAR)) AS facet,
               trim(CAST(value AS VARCHAR)) AS value, CAST(weight AS DOUBLE) AS weight
        FROM raw_dislikes ORDER BY _row""")
    return con.execute("SELECT count(*) FROM true_dislikes").fetchall()[0][0]


def rebuild_samples(workspace: Path | str, config: SampleConfig, fill: Callable | None = None) -> dict[str, int]:
    """Rebuild only the samples of an existing workspace with other settings; `fill` as `build_samples` takes it
    (another engine's, `spark/engine.py::engine_fill`)."""
    with open_workspace(workspace, read_only=False) as con:
        return build_samples(con, config, fill)
