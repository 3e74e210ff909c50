"""Samples (user, anchor) with context, next negative and future windows, built in SQL (method §2).

Every per-sample list is a slice of one per-user list ordered by (ts, event_id); the slice bounds are
counts of events before a time, found with ASOF joins. That keeps the work linear in the number of events
and samples instead of joining every sample to every event of its user.
"""

from __future__ import annotations

import duckdb

from .samples_config import SampleConfig
from .workspace import write_meta

SAMPLE_TABLES = ("samples", "user_cuts", "item_stats")

SAMPLES_SCHEMA = """
CREATE TABLE user_cuts (user_id VARCHAR PRIMARY KEY, validation_cut TIMESTAMP, test_cut TIMESTAMP);
CREATE TABLE samples (
    sample_id               BIGINT PRIMARY KEY,
    user_id                 VARCHAR NOT NULL,
    split                   VARCHAR NOT NULL CHECK (split IN ('train', 'validation', 'test')),
    anchor_ts               TIMESTAMP NOT NULL,   -- t: time of the anchoring negative
    anchor_event_id         BIGINT NOT NULL,
    next_negative           VARCHAR NOT NULL,     -- target of HR@K
    recent_negatives        VARCHAR[] NOT NULL,   -- negatives in [t - recent_days, t), oldest first, last N
    context_negatives       VARCHAR[] NOT NULL,   -- negatives before t, last N
    context_positives       VARCHAR[] NOT NULL,   -- positives before t, last N
    context_negative_count  INTEGER NOT NULL,     -- all negatives before t (before truncation)
    context_positive_count  INTEGER NOT NULL,
    window_end              TIMESTAMP NOT NULL,   -- min(t + window, start of the next part)
    future_negatives        VARCHAR[] NOT NULL,   -- negatives in [t, window_end), the anchor first: FHR@K target
    future_positives        VARCHAR[] NOT NULL,   -- positives in [t, window_end)
    long_tail_user          BOOLEAN NOT NULL
);
CREATE TABLE item_stats (item_id VARCHAR PRIMARY KEY, train_negatives INTEGER NOT NULL,
                         long_tail_item BOOLEAN NOT NULL);
"""

NO_END = "TIMESTAMP '9999-12-31'"


def build_samples(con: duckdb.DuckDBPyConnection, config: SampleConfig = SampleConfig()) -> dict[str, int]:
    """(Re)build samples, user_cuts and item_stats in the workspace; return sample counts per split."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in SAMPLE_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(SAMPLES_SCHEMA)
        _user_cuts(con, config)
        _ordered_events(con)
        _anchors(con, config)
        _insert_samples(con, config)
        _item_stats(con, config)
        for table in ("neg", "pos", "user_negatives", "user_positives", "anchors"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        write_meta(con, "sample_config", config.to_dict())
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return dict(con.execute("SELECT split, count(*) FROM samples GROUP BY split").fetchall())


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
    # upto = number of the user's events of this kind with ts <= this ts (ties counted together), so an
    # ASOF match on "latest event before X" gives the count of events before X.
    for table, kind in (("neg", "negative"), ("pos", "positive")):
        con.execute(f"""
            CREATE TEMP TABLE {table} AS
            SELECT user_id, item_id, ts, event_id,
                   rank() OVER (PARTITION BY user_id ORDER BY ts) - 1 AS before,
                   count(*) OVER (PARTITION BY user_id ORDER BY ts
                                  RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
            FROM events WHERE kind = '{kind}'""")
    con.execute("CREATE TEMP TABLE user_negatives AS SELECT user_id, list(item_id ORDER BY ts, event_id) AS items "
                "FROM neg GROUP BY user_id")
    con.execute("CREATE TEMP TABLE user_positives AS SELECT user_id, list(item_id ORDER BY ts, event_id) AS items "
                "FROM pos GROUP BY user_id")


def _anchors(con, config: SampleConfig) -> None:
    # Per-user split: every training negative anchors a sample, but only the first negative of the
    # validation and of the test part does; the global split anchors every negative.
    first_only = "split = 'train' OR row_number() OVER (PARTITION BY user_id, split ORDER BY anchor_ts, anchor_event_id) = 1"
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
        {"QUALIFY " + first_only if config.split == "per_user" else ""}""",
                [round(config.window_days * 86400e6), round(config.recent_days * 86400e6)])


def _count_before(alias: str, events: str, time_column: str) -> str:
    return (f"ASOF LEFT JOIN {events} {alias} ON {alias}.user_id = a.user_id "
            f"AND a.{time_column} > {alias}.ts")


def _insert_samples(con, config: SampleConfig) -> None:
    limit = config.context_limit
    con.execute(f"""
        INSERT INTO samples
        SELECT row_number() OVER (ORDER BY a.user_id, a.anchor_ts, a.anchor_event_id) AS sample_id,
               a.user_id, a.split, a.anchor_ts, a.anchor_event_id, a.next_negative,
               list_slice(un.items, greatest(a.negatives_before - {limit}, coalesce(recent.upto, 0)) + 1,
                          a.negatives_before) AS recent_negatives,
               list_slice(un.items, greatest(a.negatives_before - {limit}, 0) + 1,
                          a.negatives_before) AS context_negatives,
               coalesce(list_slice(up.items, greatest(coalesce(pos_t.upto, 0) - {limit}, 0) + 1,
                                   coalesce(pos_t.upto, 0)), []) AS context_positives,
               a.negatives_before, coalesce(pos_t.upto, 0),
               a.window_end,
               list_slice(un.items, a.negatives_before + 1, neg_end.upto) AS future_negatives,
               coalesce(list_slice(up.items, coalesce(pos_t.upto, 0) + 1, coalesce(pos_end.upto, 0)), [])
                   AS future_positives,
               a.negatives_before < ? AS long_tail_user
        FROM anchors a
        JOIN user_negatives un USING (user_id)
        LEFT JOIN user_positives up USING (user_id)
        {_count_before("recent", "neg", "recent_start")}
        {_count_before("neg_end", "neg", "window_end")}
        {_count_before("pos_t", "pos", "anchor_ts")}
        {_count_before("pos_end", "pos", "window_end")}
        ORDER BY sample_id""", [config.long_tail_user_negatives])


def _item_stats(con, config: SampleConfig) -> None:
    con.execute("""
        INSERT INTO item_stats
        SELECT i.item_id, coalesce(t.negatives, 0), coalesce(t.negatives, 0) < ?
        FROM items i LEFT JOIN (
            SELECT e.item_id, count(*) AS negatives FROM events e JOIN user_cuts c USING (user_id)
            WHERE e.kind = 'negative' AND e.ts < c.validation_cut GROUP BY e.item_id) t USING (item_id)""",
                [config.long_tail_item_negatives])
