"""The samples on Spark: the same rows `data/samples.py` builds in DuckDB, for logs past one machine.

Each step is the DuckDB engine's in Spark SQL. Spark has no ASOF join, so "how many of the user's events of a
kind come before time t" is a running count over the user's events and the query times sorted together (a
query sorts before an event at its own time, so it counts the events strictly before it). Sample ids number
the samples by (user, anchor time, anchor event) as DuckDB's do, from per-user offsets, never one global sort.
The quantile cuts follow DuckDB's quantile_disc with a DOUBLE quantile exactly: the value at sorted position
max(1, n - floor(n - n q)).
"""

from __future__ import annotations

from pathlib import Path

from ..data.samples_config import SampleConfig
from .exchange import EVENT_COLUMNS, as_timestamp, export, imported

MICROS_PER_DAY = 86400e6
NO_END_US = 253402214400000000  # TIMESTAMP '9999-12-31', the DuckDB engine's NO_END


def double(value: float) -> str:
    """A float as a Spark DOUBLE literal (a bare 0.7 would be DECIMAL, and round otherwise)."""
    return f"{float(value)!r}D"


def disc_position(count: str, quantile: float) -> str:
    """1-based sorted position quantile_disc(·, quantile) picks among `count` values (DOUBLE quantile)."""
    return f"greatest(1, {count} - floor(CAST({count} AS DOUBLE) - {count} * {double(quantile)}))"


def fill_samples_with_spark(con, config: SampleConfig, spark, folder: Path) -> None:
    """Fill the workspace's (emptied) user_cuts, samples and item_stats from a Spark run over its events."""
    events = export(con, f"SELECT {EVENT_COLUMNS} FROM events", folder / "events.parquet")
    items = export(con, "SELECT item_id FROM items", folder / "items.parquet")
    cuts = None
    if config.validation_cut is not None:
        cuts = con.execute("SELECT epoch_us(CAST(? AS TIMESTAMP)), epoch_us(CAST(? AS TIMESTAMP))",
                           [config.validation_cut, config.test_cut]).fetchall()[0]
    out = folder / "out"
    build_in_spark(spark, events, items, config, out, cuts)
    con.execute(f"INSERT INTO user_cuts SELECT user_id, {as_timestamp('validation_cut')}, "
                f"{as_timestamp('test_cut')} FROM {imported(out / 'user_cuts')}")
    con.execute(f"""
        INSERT INTO samples
        SELECT sample_id, user_id, split, {as_timestamp('anchor_ts')}, anchor_event_id, next_negative,
               recent_negatives, context_negatives, context_positives, context_negative_count,
               context_positive_count, {as_timestamp('window_end')}, future_negatives, future_positives,
               long_tail_user
        FROM {imported(out / 'samples')} ORDER BY sample_id""")
    con.execute(f"INSERT INTO item_stats SELECT item_id, train_negatives, long_tail_item "
                f"FROM {imported(out / 'item_stats')}")


def build_in_spark(spark, events: str, items: str, config: SampleConfig, out: Path,
                   cuts: tuple[int, int] | None = None) -> None:
    """Write user_cuts, samples and item_stats as Parquet folders under `out` (times in microseconds)."""
    spark.read.parquet(events).createOrReplaceTempView("events")
    spark.read.parquet(items).createOrReplaceTempView("items")
    user_cuts(spark, config, cuts).cache().createOrReplaceTempView("user_cuts")
    for view, kind in (("neg", "negative"), ("pos", "positive")):
        spark.sql(f"""
            SELECT user_id, item_id, ts, event_id,
                   row_number() OVER (PARTITION BY user_id ORDER BY ts, event_id) AS position,
                   rank() OVER (PARTITION BY user_id ORDER BY ts) - 1 AS before
            FROM events WHERE kind = '{kind}'""").cache().createOrReplaceTempView(view)
    anchors(spark, config).cache().createOrReplaceTempView("anchors")
    bounds(spark).cache().createOrReplaceTempView("bounds")
    limit = config.context_limit
    for view, source, before, until in (("negative_slices", "neg", "negatives_before", "negatives_until_end"),
                                        ("positive_slices", "pos", "positives_before", "positives_until_end")):
        parts = {"context": (f"greatest({before} - {limit}, 0) + 1", before), "future": (f"{before} + 1", until)}
        positions = " UNION ALL ".join(
            f"SELECT sample_id, user_id, '{part}' AS part, "
            f"explode(CASE WHEN {lo} <= {hi} THEN sequence({lo}, {hi}) ELSE CAST(array() AS ARRAY<BIGINT>) END) "
            f"AS position FROM bounds" for part, (lo, hi) in parts.items())
        spark.sql(f"""
            SELECT s.sample_id, s.part,
                   transform(sort_array(collect_list(struct(s.position, e.item_id))), x -> x.item_id) AS items
            FROM ({positions}) s JOIN {source} e ON e.user_id = s.user_id AND e.position = s.position
            GROUP BY s.sample_id, s.part""").createOrReplaceTempView(view)
    empty = "CAST(array() AS ARRAY<STRING>)"
    spark.sql(f"""
        SELECT b.sample_id, b.user_id, b.split, b.anchor_ts, b.anchor_event_id, b.next_negative,
               CASE WHEN b.recent > 0 THEN slice(nc.items, -b.recent, b.recent) ELSE {empty} END
                   AS recent_negatives,
               coalesce(nc.items, {empty}) AS context_negatives, coalesce(pc.items, {empty}) AS context_positives,
               CAST(b.negatives_before AS INT) AS context_negative_count,
               CAST(b.positives_before AS INT) AS context_positive_count, b.window_end,
               nf.items AS future_negatives, coalesce(pf.items, {empty}) AS future_positives,
               b.negatives_before < {config.long_tail_user_negatives} AS long_tail_user
        FROM (SELECT *, least(negatives_before - recent_before, {limit}) AS recent FROM bounds) b
        LEFT JOIN negative_slices nc ON nc.sample_id = b.sample_id AND nc.part = 'context'
        JOIN negative_slices nf ON nf.sample_id = b.sample_id AND nf.part = 'future'
        LEFT JOIN positive_slices pc ON pc.sample_id = b.sample_id AND pc.part = 'context'
        LEFT JOIN positive_slices pf ON pf.sample_id = b.sample_id AND pf.part = 'future'
    """).write.parquet(str(out / "samples"))
    spark.table("user_cuts").write.parquet(str(out / "user_cuts"))
    spark.sql(f"""
        SELECT i.item_id, CAST(coalesce(t.negatives, 0) AS INT) AS train_negatives,
               coalesce(t.negatives, 0) < {config.long_tail_item_negatives} AS long_tail_item
        FROM items i LEFT JOIN (
            SELECT e.item_id, count(*) AS negatives FROM events e JOIN user_cuts c USING (user_id)
            WHERE e.kind = 'negative' AND e.ts < c.validation_cut GROUP BY e.item_id) t USING (item_id)
    """).write.parquet(str(out / "item_stats"))


def user_cuts(spark, config: SampleConfig, cuts: tuple[int, int] | None):
    if config.split == "per_user":
        return spark.sql(f"""
            SELECT user_id,
                   max(CASE WHEN spot = {disc_position('n', config.validation_quantile)} THEN ts END)
                       AS validation_cut,
                   max(CASE WHEN spot = {disc_position('n', config.test_quantile)} THEN ts END) AS test_cut
            FROM (SELECT user_id, ts, row_number() OVER (PARTITION BY user_id ORDER BY ts) AS spot,
                         count(*) OVER (PARTITION BY user_id) AS n FROM events)
            GROUP BY user_id""")
    if cuts is None:
        count = spark.table("events").count()
        cuts = tuple(spark.sql(f"SELECT ts FROM events ORDER BY ts LIMIT 1 OFFSET "
                               f"{spark.sql(f'SELECT {disc_position(str(count), q)}').first()[0] - 1}").first()[0]
                     for q in (config.validation_quantile, config.test_quantile))
    return spark.sql(f"SELECT DISTINCT user_id, CAST({cuts[0]} AS BIGINT) AS validation_cut, "
                     f"CAST({cuts[1]} AS BIGINT) AS test_cut FROM events")


def anchors(spark, config: SampleConfig):
    """Every negative with its split, window end and recent-context start; the per-user split keeps the
    samples `data/samples.py::_per_user_anchor` keeps."""
    window, recent = round(config.window_days * MICROS_PER_DAY), round(config.recent_days * MICROS_PER_DAY)
    every = spark.sql(f"""
        SELECT n.user_id, n.item_id AS next_negative, n.ts AS anchor_ts, n.event_id AS anchor_event_id,
               n.before AS negatives_before,
               CASE WHEN n.ts < c.validation_cut THEN 'train'
                    WHEN n.ts < c.test_cut THEN 'validation' ELSE 'test' END AS split,
               least(n.ts + {window}, CASE WHEN n.ts < c.validation_cut THEN c.validation_cut
                                           WHEN n.ts < c.test_cut THEN c.test_cut ELSE {NO_END_US} END)
                   AS window_end,
               n.ts - {recent} AS recent_start
        FROM neg n JOIN user_cuts c USING (user_id)""")
    if config.split != "per_user":
        return every
    every.createOrReplaceTempView("every_anchor")
    cap = config.validation_anchors
    spread = (f"n <= {cap} OR spot = round(round(spot * {cap - 1} / (n - 1)) * (n - 1) / {cap - 1})"
              if cap > 1 else "spot = 0")
    return spark.sql(f"""
        SELECT user_id, next_negative, anchor_ts, anchor_event_id, negatives_before, split, window_end,
               recent_start
        FROM (SELECT *, row_number() OVER (PARTITION BY user_id, split ORDER BY anchor_ts, anchor_event_id) - 1
                            AS spot,
                     count(*) OVER (PARTITION BY user_id, split) AS n
              FROM every_anchor)
        WHERE split = 'train' OR (split = 'validation' AND ({spread})) OR spot = 0""")


def events_before(spark, source: str, times: dict[str, str]):
    """Per anchor (user, anchor event): for each name in `times`, how many of the user's `source` events come
    strictly before the anchor's time in that column."""
    queries = " UNION ALL ".join(f"SELECT user_id, {column} AS t, 0 AS is_event, anchor_event_id, '{name}' AS name "
                                 f"FROM anchors" for name, column in times.items())
    pivot = ", ".join(f"max(CASE WHEN name = '{name}' THEN count END) AS {name}" for name in times)
    return spark.sql(f"""
        SELECT user_id, anchor_event_id, {pivot}
        FROM (SELECT *, sum(is_event) OVER (PARTITION BY user_id ORDER BY t, is_event
                                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS count
              FROM (SELECT user_id, ts AS t, 1 AS is_event, CAST(NULL AS BIGINT) AS anchor_event_id,
                           CAST(NULL AS STRING) AS name FROM {source}
                    UNION ALL {queries}))
        WHERE is_event = 0
        GROUP BY user_id, anchor_event_id""")


def bounds(spark):
    """The anchors with their sample ids and the counts that bound each list's positions."""
    events_before(spark, "neg", {"recent_before": "recent_start", "negatives_until_end": "window_end"}) \
        .createOrReplaceTempView("negatives_counted")
    events_before(spark, "pos", {"positives_before": "anchor_ts", "positives_until_end": "window_end"}) \
        .createOrReplaceTempView("positives_counted")
    spark.sql("""
        SELECT user_id, coalesce(sum(n) OVER (ORDER BY user_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                   AS offset
        FROM (SELECT user_id, count(*) AS n FROM anchors GROUP BY user_id)""").createOrReplaceTempView("offsets")
    return spark.sql("""
        SELECT o.offset + row_number() OVER (PARTITION BY a.user_id ORDER BY a.anchor_ts, a.anchor_event_id)
                   AS sample_id,
               a.*, n.recent_before, n.negatives_until_end, coalesce(p.positives_before, 0) AS positives_before,
               coalesce(p.positives_until_end, 0) AS positives_until_end
        FROM anchors a JOIN offsets o USING (user_id)
        JOIN negatives_counted n USING (user_id, anchor_event_id)
        JOIN positives_counted p USING (user_id, anchor_event_id)""")
