"""MovieLens in its two published layouts, mapped onto conrec's tables.

- ml-latest / ml-25m style: ratings.csv, movies.csv, optional tags.csv (UTF-8, with headers).
- ml-100k style: u.data (tab-separated user, item, rating, time) and u.item (pipe-separated, latin-1,
  title plus 19 genre flags), optional u.genre naming the flags.
A rating at or below `negative_max` is negative feedback, at or above `positive_min` positive.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..errors import DataError
from .mapping import EventMapping, ItemMapping, KindRule
from .movielens_config import MovieLensConfig
from .staging import EventCounts, ItemCounts, require_columns, stage_events, stage_items
from .tabular import CsvOptions, read_table

ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
                 "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
                 "Thriller", "War", "Western")


def detect_layout(directory: Path) -> str | None:
    """'latest', '100k', or None when the folder holds neither layout."""
    if (directory / "ratings.csv").is_file():
        return "latest"
    if (directory / "u.data").is_file():
        return "100k"
    return None


def stage_movielens(con: duckdb.DuckDBPyConnection, directory: Path,
                    config: MovieLensConfig = MovieLensConfig()) -> tuple[EventCounts, ItemCounts]:
    layout = detect_layout(directory)
    if layout is None:
        raise DataError("not a MovieLens folder: expected ratings.csv (ml-latest) or u.data (ml-100k)",
                        file=str(directory))
    kind = KindRule(column="rating", negative_max=config.negative_max, positive_min=config.positive_min)
    if layout == "latest":
        events = _stage_latest_ratings(con, directory, kind)
        items = _stage_latest_movies(con, directory)
    else:
        events = _stage_100k_ratings(con, directory, kind)
        items = _stage_100k_movies(con, directory)
    return events, items


def _stage_latest_ratings(con, directory: Path, kind: KindRule) -> EventCounts:
    path = directory / "ratings.csv"
    columns = read_table(con, path, "raw_events", label=str(path))
    mapping = EventMapping(user="userId", item="movieId", time="timestamp", time_unit="s", kind=kind)
    return stage_events(con, "raw_events", columns, mapping, str(path))


def _stage_latest_movies(con, directory: Path) -> ItemCounts:
    path = directory / "movies.csv"
    require_columns(read_table(con, path, "raw_movies", label=str(path)), ["movieId", "title", "genres"], str(path))
    _stage_tags(con, directory / "tags.csv")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ml_items AS
        SELECT m._row, m.movieId, m.title,
               CASE WHEN m.genres = '(no genres listed)' THEN NULL ELSE split_part(m.genres, '|', 1) END
                   AS category,
               CASE WHEN m.genres = '(no genres listed)' THEN NULL ELSE replace(m.genres, '|', ', ') END
                   AS genres
        FROM raw_movies m""")
    mapping = ItemMapping(id="movieId", title="title", text=("genres",), category="category")
    return stage_items(con, "ml_items", ["_row", "movieId", "title", "category", "genres"], mapping, str(path))


def _stage_tags(con, path: Path) -> None:
    """tags.csv's tags with who gave them and when (staged_item_tags): a tag can describe a film only from before
    its user's validation cut, which the samples decide later (semantic_ids/encoder.py::item_texts)."""
    if not path.is_file():
        return
    require_columns(read_table(con, path, "raw_tags", label=str(path)), ["userId", "movieId", "tag", "timestamp"],
                    str(path))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE staged_item_tags AS
        SELECT trim(CAST(movieId AS VARCHAR)) AS item_id, trim(CAST(userId AS VARCHAR)) AS user_id,
               to_timestamp(CAST(timestamp AS BIGINT))::TIMESTAMP AS ts, lower(trim(CAST(tag AS VARCHAR))) AS tag
        FROM raw_tags
        WHERE NULLIF(trim(CAST(tag AS VARCHAR)), '') IS NOT NULL AND try_cast(timestamp AS BIGINT) IS NOT NULL""")


def _stage_100k_ratings(con, directory: Path, kind: KindRule) -> EventCounts:
    path = directory / "u.data"
    options = CsvOptions(delimiter="\t", header=False, column_names=("user", "item", "rating", "timestamp"))
    columns = read_table(con, path, "raw_events", label=str(path), csv_options=options)
    mapping = EventMapping(user="user", item="item", time="timestamp", time_unit="s", kind=kind)
    return stage_events(con, "raw_events", columns, mapping, str(path))


def _stage_100k_movies(con, directory: Path) -> ItemCounts:
    path = directory / "u.item"
    genres = _100k_genre_names(directory)
    names = ("movie_id", "title", "release_date", "video_release_date", "imdb_url") + tuple(
        f"genre_{i}" for i in range(len(genres)))
    options = CsvOptions(delimiter="|", header=False, column_names=names, encoding="latin-1", quote="")
    read_table(con, path, "raw_movies", label=str(path), csv_options=options)
    flags = ", ".join(f"CASE WHEN trim(genre_{i}) = '1' THEN ? END" for i in range(len(genres)))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ml_items AS
        SELECT _row, movie_id, title,
               list_filter([{flags}], lambda g: g IS NOT NULL AND g <> 'unknown') AS genre_list
        FROM raw_movies""", list(genres))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ml_items AS
        SELECT _row, movie_id, title, genre_list[1] AS category,
               CASE WHEN len(genre_list) > 0 THEN 'genres: ' || array_to_string(genre_list, ', ') END AS genres
        FROM ml_items""")
    mapping = ItemMapping(id="movie_id", title="title", text=("genres",), category="category")
    return stage_items(con, "ml_items", ["_row", "movie_id", "title", "category", "genres"], mapping, str(path))


def _100k_genre_names(directory: Path) -> tuple[str, ...]:
    path = directory / "u.genre"
    if not path.is_file():
        return ML100K_GENRES
    pairs = []
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.strip():
            name, _, index = line.rpartition("|")
            if not index.strip().isdigit():
                raise DataError(f"expected 'name|index' lines, found {line!r}", file=str(path))
            pairs.append((int(index), name))
    return tuple(name for _, name in sorted(pairs))
