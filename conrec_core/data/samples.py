"""Samples (user, anchor) with context, next negative and future windows, built in SQL (method §2).

Every per-sample list is a run of consecutive positions in the user's negative (or positive) sequence
ordered by (ts, event_id). The run's bounds are counts of events before a time, found with ASOF joins;
the runs are then expanded position by position and joined back to the events. The work is the size of
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
import pandas as pd

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
# The per-sample lists are built a range of samples at a time, each range with at most about this many list
# entries: DuckDB's list aggregation holds its groups in memory (it does not spill), and a 10M-negative log's
# lists in one go needed ~10 GiB.
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


def fill_in_duckdb(con, config: SampleConfig) -> None:
    _user_cuts(con, config)
    _ordered_events(con)
    _anchors(con, config)
    _insert_samples(con, config)
    _item_stats(con, config)
    for table in ("neg", "pos", "anchors", "bounds"):
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
                   n.before AS negatives_before,
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


def _count_before(alias: str, events: str, time_column: str) -> str:
    return (f"ASOF LEFT JOIN {events} {alias} ON {alias}.user_id = a.user_id "
            f"AND a.{time_column} > {alias}.ts")


def _insert_samples(con, config: SampleConfig) -> None:
    # Slice bounds as positions in the user's negative / positive sequence (1-based, inclusive).
    limit = config.context_limit
    con.execute(f"""
        CREATE TEMP TABLE bounds AS
        SELECT row_number() OVER (ORDER BY a.user_id, a.anchor_ts, a.anchor_event_id) AS sample_id, a.*,
               coalesce(recent.upto, 0) AS recent_before, neg_end.upto AS negatives_until_end,
               coalesce(pos_t.upto, 0) AS positives_before, coalesce(pos_end.upto, 0) AS positives_until_end,
               neg_start.offset AS negative_offset, pos_start.offset AS positive_offset
        FROM anchors a
        JOIN (SELECT user_id, min(g) - 1 AS offset FROM neg GROUP BY user_id) neg_start USING (user_id)
        LEFT JOIN (SELECT user_id, min(g) - 1 AS offset FROM pos GROUP BY user_id) pos_start USING (user_id)
        {_count_before("recent", "neg", "recent_start")}
        {_count_before("neg_end", "neg", "window_end")}
        {_count_before("pos_t", "pos", "anchor_ts")}
        {_count_before("pos_end", "pos", "window_end")}""")
    entries, samples = con.execute(f"""
        SELECT coalesce(sum(least(negatives_before, {limit}) + negatives_until_end - negatives_before
                            + least(positives_before, {limit}) + positives_until_end - positives_before), 0),
               count(*)
        FROM bounds""").fetchall()[0]
    chunks = max(1, -(-int(entries) // ENTRIES_PER_CHUNK))
    for chunk in range(chunks):  # contiguous sample ids, so the table is written in sample order
        _insert_sample_range(con, config, chunk * samples // chunks, (chunk + 1) * samples // chunks)


def _insert_sample_range(con, config: SampleConfig, first: int, last: int) -> None:
    """The samples with first < sample_id <= last, in one statement: their lists are never stored twice."""
    limit = config.context_limit
    in_range = f"sample_id > {int(first)} AND sample_id <= {int(last)}"

    def positions(source: str, lo: str, hi: str) -> str:
        # one row per (sample, position): the work is the size of the output, never sample x history
        offset = {"neg": "negative_offset", "pos": "positive_offset"}[source]
        return f"""(SELECT s.sample_id, list(e.item_id ORDER BY s.g) AS items
                    FROM (SELECT sample_id, unnest(range({offset} + {lo}, {offset} + {hi} + 1)) AS g
                          FROM bounds WHERE {in_range}) s
                    JOIN {source} e USING (g)
                    GROUP BY s.sample_id)"""

    con.execute(f"""
        INSERT INTO samples
        SELECT b.sample_id, b.user_id, b.split, b.anchor_ts, b.anchor_event_id, b.next_negative,
               list_slice(coalesce(nc.items, []),
                          len(coalesce(nc.items, [])) - least(b.negatives_before - b.recent_before, {limit}) + 1,
                          len(coalesce(nc.items, []))) AS recent_negatives,
               coalesce(nc.items, []) AS context_negatives,
               coalesce(pc.items, []) AS context_positives,
               b.negatives_before, b.positives_before, b.window_end,
               nf.items AS future_negatives,
               coalesce(pf.items, []) AS future_positives,
               b.negatives_before < ? AS long_tail_user
        FROM bounds b
        LEFT JOIN {positions("neg", f"greatest(negatives_before - {limit}, 0) + 1", "negatives_before")} nc
             USING (sample_id)
        JOIN {positions("neg", "negatives_before + 1", "negatives_until_end")} nf USING (sample_id)
        LEFT JOIN {positions("pos", f"greatest(positives_before - {limit}, 0) + 1", "positives_before")} pc
             USING (sample_id)
        LEFT JOIN {positions("pos", "positives_before + 1", "positives_until_end")} pf USING (sample_id)
        WHERE b.{in_range}
        ORDER BY b.sample_id""", [config.long_tail_user_negatives])


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
    return hashlib.sha256((json.dumps(config.to_dict(), sort_keys=True) + digest.hexdigest()).encode()).hexdigest()


def samples_fingerprint(workspace) -> str | None:
    """The fingerprint of the workspace's current samples (None before any were built)."""
    with open_workspace(workspace) as con:
        return read_meta(con, "samples_fingerprint")


def require_samples(workspace, recorded: str | None, what: str) -> None:
    """Refuse an artefact (`what`) fitted on samples other than the workspace's current ones."""
    if recorded != samples_fingerprint(workspace):
        raise StaleArtifact(f"{what} was fitted on other samples than the workspace's current ones (they were "
                            "rebuilt since, with other settings or data): train it again")
