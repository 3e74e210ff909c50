"""Samples (user, anchor) with context, next negative and future windows, built in SQL (method §2).

Every per-sample list is a run of consecutive positions in the user's negative (or positive) sequence
ordered by (ts, event_id). The run's bounds are counts of events before a time, found with ASOF joins;
each list is then a slice of one array holding every user's items one after another. The work is the size of
the output, never samples x history (a heavy user with thousands of events would make that quadratic).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import StaleArtifact
from .samples_config import SampleConfig
from .schema import recreate_table
from .workspace import open_workspace, read_meta, write_meta

SAMPLE_TABLES = ("samples", "user_cuts", "item_stats")
# What was computed from an earlier set of samples: sample ids are renumbered on every build, so these could
# attach to other (user, anchor) pairs; a build empties them. (Checkpoints and codebooks record the samples'
# fingerprint instead, and the stages that use them refuse a stale one.)
DERIVED_TABLES = ("swing_neighbours", "predictions", "sample_metrics")

NO_END = "TIMESTAMP '9999-12-31'"
# The per-sample lists are cut a range of samples at a time, each range with at most about this many list
# entries: a range's Arrow arrays (the entries' indices, 8 bytes each while cut) live in this process outside
# DuckDB's memory limit.
ENTRIES_PER_CHUNK = 20_000_000  # docs/decisions.md#big-logs
FINGERPRINT_BATCH = 100_000


def build_samples(con: duckdb.DuckDBPyConnection, config: SampleConfig = SampleConfig(),
                  fill: Callable | None = None) -> dict[str, int]:
    """(Re)build samples, user_cuts and item_stats in the workspace; return sample counts per split. `fill`
    (con, config) fills the three emptied tables: DuckDB's SQL below unless another engine's is given
    (`spark/samples.py`), so the bookkeeping around them is one and the same."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in SAMPLE_TABLES:
            recreate_table(con, table)
        (fill or fill_in_duckdb)(con, config)
        if config.evaluation_users is not None:
            _keep_evaluation_users(con, config.evaluation_users)
        for table in DERIVED_TABLES:
            con.execute(f"DELETE FROM {table}")
        con.execute("DELETE FROM meta WHERE key = 'swing'")
        write_meta(con, "sample_config", config.to_dict())
        write_meta(con, "samples_fingerprint", _fingerprint(con, config))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return dict(con.execute("SELECT split, count(*) FROM samples GROUP BY split").fetchall())


def _keep_evaluation_users(con, users: int) -> None:
    """Validation and test samples of `users` users only, the first by the MD5 of their id."""
    con.execute("""
        DELETE FROM samples WHERE split <> 'train' AND user_id NOT IN (
            SELECT user_id FROM (SELECT DISTINCT user_id FROM samples WHERE split <> 'train')
            ORDER BY md5(user_id), user_id LIMIT ?)""", [users])


def fill_in_duckdb(con, config: SampleConfig) -> None:
    _user_cuts(con, config)
    _ordered_events(con)
    _anchors(con, config)
    _insert_samples(con, config)
    _item_stats(con, config)
    for table in ("neg", "pos", "keyed_neg", "keyed_pos", "anchors", "anchored", "bounds"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _user_cuts(con, config: SampleConfig) -> None:
    if config.split == "per_user":
        con.execute("""
            INSERT INTO user_cuts
            SELECT user_id, quantile_disc(ts, ?), quantile_disc(ts, ?) FROM events GROUP BY user_id""",
                    [config.validation_quantile, config.test_quantile])
        return
    if config.validation_cut is not None:
        cuts = [config.validation_cut, config.test_cut]
    else:
        cuts = list(con.execute("SELECT quantile_disc(ts, ?), quantile_disc(ts, ?) FROM events",
                                [config.validation_quantile, config.test_quantile]).fetchall()[0])
    con.execute("INSERT INTO user_cuts SELECT DISTINCT user_id, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) "
                "FROM events", cuts)


def _ordered_events(con) -> None:
    # position = 1-based place in the user's sequence of this kind, ordered by (ts, event_id);
    # g = place in all users' sequences one after another, so a user's positions lo..hi are the rows
    # offset + lo .. offset + hi, joined on one integer (offset: the g before the user's first);
    # upto = number of the user's events of this kind with ts <= this ts (ties counted together), so an
    # ASOF match on "latest event before X" gives the count of events before X.
    for table, kind in (("neg", "negative"), ("pos", "positive")):
        con.execute(f"""
            CREATE TEMP TABLE {table} AS
            SELECT user_id, item_id, ts, event_id,
                   row_number() OVER (ORDER BY user_id, ts, event_id) AS g,
                   row_number() OVER (PARTITION BY user_id ORDER BY ts, event_id) AS position,
                   rank() OVER (PARTITION BY user_id ORDER BY ts) - 1 AS before,
                   count(*) OVER (PARTITION BY user_id ORDER BY ts
                                  RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
            FROM events WHERE kind = '{kind}'""")


def _anchors(con, config: SampleConfig) -> None:
    con.execute(f"""
        CREATE TEMP TABLE anchors AS
        SELECT * FROM (
            SELECT n.user_id, n.item_id AS next_negative, n.ts AS anchor_ts, n.event_id AS anchor_event_id,
                   n.before AS negatives_before, n.g, n.g - n.position AS negative_offset,
                   CASE WHEN n.ts < c.validation_cut THEN 'train'
                        WHEN n.ts < c.test_cut THEN 'validation' ELSE 'test' END AS split,
                   least(n.ts + to_microseconds(CAST(? AS BIGINT)),
                         CASE WHEN n.ts < c.validation_cut THEN c.validation_cut
                              WHEN n.ts < c.test_cut THEN c.test_cut ELSE {NO_END} END) AS window_end,
                   n.ts - to_microseconds(CAST(? AS BIGINT)) AS recent_start
            FROM neg n JOIN user_cuts c USING (user_id))
        {"WINDOW part AS (PARTITION BY user_id, split ORDER BY anchor_ts, anchor_event_id) "
         "QUALIFY " + _per_user_anchor(config.validation_anchors) if config.split == "per_user" else ""}""",
                [round(config.window_days * 86400e6), round(config.recent_days * 86400e6)])


def _per_user_anchor(validation_anchors: int) -> str:
    """The per-user split's rule as SQL over the window `part`: every training negative anchors a sample; of
    the test part only the first; of the validation part at most `validation_anchors`, at evenly spread ranks
    round(j (n - 1) / (cap - 1)), j = 0 .. cap - 1 (a rank is one of them when it is the spot nearest to it)."""
    rank, cap = "(row_number() OVER part - 1)", validation_anchors
    count = "count(*) OVER (PARTITION BY user_id, split)"  # `part` is ordered, so its count would be a running one
    nearest_spot = f"round({rank} * {cap - 1} / ({count} - 1))"
    spread = (f"{count} <= {cap} OR {rank} = round({nearest_spot} * ({count} - 1) / {cap - 1})"
              if cap > 1 else f"{rank} = 0")
    return f"split = 'train' OR (split = 'validation' AND ({spread})) OR {rank} = 0"


def _insert_samples(con, config: SampleConfig) -> None:
    # Slice bounds as positions in the user's negative / positive sequence (1-based, inclusive), counted with
    # ASOF joins. A user's negative offset (the g before their first negative) is unique, so it keys the user as
    # an integer; each count joins (sample, key, time) alone and is joined back on sample_id. Measured on a
    # 10M-negative log: four ASOF joins chained over whole rows keyed by user_id took 22 s, these 9.
    con.execute("""
        CREATE TEMP TABLE keyed_neg AS SELECT g - position AS user_key, ts, upto FROM neg;
        CREATE TEMP TABLE keyed_pos AS
        SELECT k.user_key, p.ts, p.upto, p.g FROM pos p
        JOIN (SELECT user_id, g - 1 AS user_key FROM neg WHERE position = 1) k USING (user_id);
        CREATE TEMP TABLE anchored AS
        SELECT row_number() OVER (ORDER BY a.g) AS sample_id, a.* EXCLUDE (g), pos_start.offset AS positive_offset
        FROM anchors a  -- g orders the anchors by (user_id, anchor_ts, anchor_event_id), as sample ids go
        LEFT JOIN (SELECT user_key, min(g) - 1 AS offset FROM keyed_pos GROUP BY user_key) pos_start
             ON pos_start.user_key = a.negative_offset""")

    def count_before(events: str, time_column: str) -> str:
        """For each sample: the user's events of the kind with ts before the sample's `time_column`."""
        return f"""(SELECT a.sample_id, coalesce(e.upto, 0) AS upto
                    FROM (SELECT sample_id, negative_offset AS user_key, {time_column} FROM anchored) a
                    ASOF LEFT JOIN {events} e ON e.user_key = a.user_key AND a.{time_column} > e.ts)"""

    con.execute(f"""
        CREATE TEMP TABLE bounds AS
        SELECT a.*, recent.upto AS recent_before, neg_end.upto AS negatives_until_end,
               pos_t.upto AS positives_before, pos_end.upto AS positives_until_end
        FROM anchored a
        JOIN {count_before("keyed_neg", "recent_start")} recent USING (sample_id)
        JOIN {count_before("keyed_neg", "window_end")} neg_end USING (sample_id)
        JOIN {count_before("keyed_pos", "anchor_ts")} pos_t USING (sample_id)
        JOIN {count_before("keyed_pos", "window_end")} pos_end USING (sample_id)""")
    limit = config.context_limit
    entries, samples = con.execute(f"""
        SELECT coalesce(sum(least(negatives_before, {limit}) + negatives_until_end - negatives_before
                            + least(positives_before, {limit}) + positives_until_end - positives_before), 0),
               count(*)
        FROM bounds""").fetchall()[0]
    # dictionary-encoded: cutting the lists then moves integers, not strings
    items = {table: con.sql(f"SELECT item_id FROM {table} ORDER BY g").to_arrow_table().column(0)
             .combine_chunks().dictionary_encode() for table in ("neg", "pos")}
    chunks = max(1, -(-int(entries) // ENTRIES_PER_CHUNK))
    for chunk in range(chunks):  # contiguous sample ids, so the table is written in sample order
        _insert_sample_range(con, config, items, chunk * samples // chunks, (chunk + 1) * samples // chunks)


# Each list column: (source, first position, last position), positions 1-based and inclusive in the user's
# sequence of that kind; the user's offset turns them into places in `items`.
LIST_BOUNDS = {
    "recent_negatives": ("neg", "negatives_before - least(negatives_before - recent_before, {limit}) + 1",
                         "negatives_before"),
    "context_negatives": ("neg", "greatest(negatives_before - {limit}, 0) + 1", "negatives_before"),
    "context_positives": ("pos", "greatest(positives_before - {limit}, 0) + 1", "positives_before"),
    "future_negatives": ("neg", "negatives_before + 1", "negatives_until_end"),
    "future_positives": ("pos", "positives_before + 1", "positives_until_end"),
}
OFFSETS = {"neg": "negative_offset", "pos": "coalesce(positive_offset, 0)"}


def _insert_sample_range(con, config: SampleConfig, items: dict[str, pa.Array], first: int, last: int) -> None:
    """The samples with first < sample_id <= last, their lists cut out of `items` (every user's items of a kind
    one after another, in g order) with Arrow: a join per list entry and an ordered aggregation cost 9 s per
    million samples on a 10M-negative log, and a list value shared by every row is copied into each."""
    rows = con.sql(
        "SELECT sample_id, user_id, split, anchor_ts, anchor_event_id, next_negative, "
        "negatives_before AS context_negative_count, positives_before AS context_positive_count, window_end, "
        "negatives_before < $long_tail AS long_tail_user, " + ", ".join(
            f"{OFFSETS[source]} + {lo.format(limit=config.context_limit)} AS {name}_first, "
            f"{OFFSETS[source]} + {hi} AS {name}_last" for name, (source, lo, hi) in LIST_BOUNDS.items())
        + " FROM bounds WHERE sample_id > $first AND sample_id <= $last ORDER BY sample_id",
        params={"long_tail": config.long_tail_user_negatives, "first": first, "last": last}).to_arrow_table()
    lists = {name: _slices(items[source], rows[f"{name}_first"].to_numpy(), rows[f"{name}_last"].to_numpy())
             for name, (source, _, _) in LIST_BOUNDS.items()}
    # a relation, not a registered table: DuckDB would hold a registered table's buffers until the transaction ends
    con.from_arrow(pa.table({name: lists[name] if name in lists else rows[name]
                             for name in con.table("samples").columns})).insert_into("samples")


def _slices(values: pa.Array, first: np.ndarray, last: np.ndarray) -> pa.ListArray:
    """values[first - 1 .. last - 1] for each row (1-based, inclusive; empty where last < first)."""
    lengths = np.maximum(np.asarray(last, dtype=np.int64) - np.asarray(first, dtype=np.int64) + 1, 0)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    indices = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(first - 1 - starts, lengths)
    return pa.ListArray.from_arrays(pa.array(np.concatenate([[0], ends]), pa.int32()), values.take(indices))


def _item_stats(con, config: SampleConfig) -> None:
    con.execute("""
        INSERT INTO item_stats
        SELECT i.item_id, coalesce(t.negatives, 0), coalesce(t.negatives, 0) < ?
        FROM items i LEFT JOIN (
            SELECT e.item_id, count(*) AS negatives FROM events e JOIN user_cuts c USING (user_id)
            WHERE e.kind = 'negative' AND e.ts < c.validation_cut GROUP BY e.item_id) t USING (item_id)""",
                [config.long_tail_item_negatives])


def read_sample_config(workspace) -> SampleConfig:
    """The settings the workspace's samples were built with (the defaults for a workspace without samples)."""
    with open_workspace(workspace) as con:
        stored = read_meta(con, "sample_config", {})
    if stored and "validation_anchors" not in stored:  # built before the setting: one validation sample per user
        stored = {**stored, "validation_anchors": 1}
    return SampleConfig.from_dict(stored)


@dataclass(frozen=True)
class Sample:
    """One (user, anchor) sample as every stage reads it; the lists are oldest first."""

    sample_id: int
    user_id: str
    split: str
    anchor_ts: datetime
    next_negative: str  # the negative at the anchor: HR@K's target
    recent_negatives: tuple[str, ...]  # negatives in the last recent_days before the anchor
    context_negatives: tuple[str, ...]  # the most recent negatives before the anchor
    context_positives: tuple[str, ...]
    future_negatives: tuple[str, ...]  # negatives in the future window, the anchor's first: FHR@K's target
    future_positives: tuple[str, ...]
    long_tail_user: bool


SAMPLE_COLUMNS = tuple(Sample.__dataclass_fields__)
LIST_COLUMNS = ("recent_negatives", "context_negatives", "context_positives", "future_negatives", "future_positives")


def long_tail_items(workspace) -> set[str]:
    """The items the samples call long-tail: fewer training negatives than `SampleConfig.long_tail_item_negatives`
    (counted before each user's validation cut, so no evaluation event decides it)."""
    with open_workspace(workspace) as con:
        return {item for (item,) in con.execute("SELECT item_id FROM item_stats WHERE long_tail_item").fetchall()}


def read_samples(workspace, split: str | None = None, users: list[str] | None = None) -> pd.DataFrame:
    """The samples of a split (all splits when None), of the given users only when `users` is set, in sample
    order: the one place samples are read."""
    where, params = [], []
    if split is not None:
        where.append("split = ?")
        params.append(split)
    if users:
        where.append("list_contains(?, user_id)")
        params.append([str(u) for u in users])
    query = (f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM samples"
             + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY sample_id")
    with open_workspace(workspace) as con:
        return con.execute(query, params).df()


def as_samples(frame: pd.DataFrame) -> list[Sample]:
    """Rows of `read_samples` as Sample values (lists as tuples)."""
    return [Sample(**{**row, **{name: tuple(row[name]) for name in LIST_COLUMNS}})
            for row in frame[list(SAMPLE_COLUMNS)].to_dict("records")]


def users_first(user_ids: Sequence[str]) -> list[int]:
    """Positions of samples (given by their users, in sample order) reordered so that every leading slice
    covers as many users as it can: each user's first sample, then each user's second, and so on. A check on
    the first N validation samples then weighs users alike rather than favouring heavy users."""
    turns: Counter = Counter()
    keyed = []
    for position, user in enumerate(user_ids):
        keyed.append((turns[user], position))
        turns[user] += 1
    return [position for _, position in sorted(keyed)]


def seen_items(workspace, sample_ids) -> dict[int, tuple[str, ...]]:
    """For each sample: the items every method's candidates exclude, by the rule the samples were built with
    (`SampleConfig.exclude_seen`). The one place the rule lives; events count in (ts, event_id) order, so an
    event at the anchor's time but before it in the log is earlier."""
    rule = read_sample_config(workspace).exclude_seen
    ids = [int(i) for i in sample_ids]
    with open_workspace(workspace) as con:
        con.execute("CREATE TEMP TABLE wanted AS SELECT unnest(?::BIGINT[]) AS sample_id", [ids])
        if rule == "context":
            rows = con.execute("""
                SELECT s.sample_id, list_distinct(list_concat(s.context_negatives, s.context_positives))
                FROM samples s JOIN wanted USING (sample_id)""").fetchall()
        else:
            kinds = ["negative", "positive"] + (["neutral"] if rule == "all_events" else [])
            rows = con.execute("""
                SELECT s.sample_id, list(DISTINCT e.item_id ORDER BY e.item_id)
                FROM samples s JOIN wanted USING (sample_id)
                JOIN events e ON e.user_id = s.user_id
                     AND (e.ts < s.anchor_ts OR (e.ts = s.anchor_ts AND e.event_id < s.anchor_event_id))
                WHERE list_contains(?, e.kind)
                GROUP BY s.sample_id""", [kinds]).fetchall()
    seen = {sample_id: tuple(items) for sample_id, items in rows}
    return {sample_id: seen.get(sample_id, ()) for sample_id in ids}


def _fingerprint(con: duckdb.DuckDBPyConnection, config: SampleConfig) -> str:
    """A hash of the sample settings and of every sample's identity: what fitted artefacts record. The md5 of
    the samples' identities joined by ',' in sample order, fed a batch of rows at a time (the one string of a
    big log's samples would be gigabytes)."""
    rows = con.execute("""
        SELECT concat_ws('|', sample_id, user_id, anchor_event_id, split, next_negative, c.validation_cut,
                         c.test_cut)
        FROM samples JOIN user_cuts c USING (user_id) ORDER BY sample_id""")
    digest, separator = hashlib.md5(), ""
    while batch := rows.fetchmany(FINGERPRINT_BATCH):
        digest.update((separator + ",".join(row for (row,) in batch)).encode())
        separator = ","
    settings = config.to_dict()
    if settings["evaluation_users"] is None:  # as before the setting existed: those fingerprints stand
        del settings["evaluation_users"]
    return hashlib.sha256((json.dumps(settings, sort_keys=True) + digest.hexdigest()).encode()).hexdigest()


def samples_fingerprint(workspace) -> str | None:
    """The fingerprint of the workspace's current samples (None before any were built)."""
    with open_workspace(workspace) as con:
        return read_meta(con, "samples_fingerprint")


def require_samples(workspace, recorded: str | None, what: str) -> None:
    """Refuse an artefact (`what`) fitted on samples other than the workspace's current ones."""
    if recorded != samples_fingerprint(workspace):
        raise StaleArtifact(f"{what} was fitted on other samples than the workspace's current ones (they were "
                            "rebuilt since, with other settings or data): train it again")
