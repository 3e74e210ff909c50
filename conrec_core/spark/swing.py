"""Swing on Spark: the same neighbours `rl/swing.py` builds in DuckDB, for logs past one machine.

The steps are the DuckDB engine's (capped training graph, user pairs sharing two or more items, item pairs
over those users' shared items), users and items numbered in id order as DuckDB numbers them, so pairs are
ordered and ranks tie-broken the same way. Scores keep 9 decimals as DuckDB's do.
"""

from __future__ import annotations

from pathlib import Path

from ..rl.swing_config import SwingConfig
from .exchange import EVENT_COLUMNS, export, imported
from .samples import double


def fill_swing_with_spark(con, config: SwingConfig, spark, folder: Path) -> dict:
    """Fill the workspace's (emptied) swing_neighbours from a Spark run over its events and user cuts;
    returns the graph's counts."""
    events = export(con, f"SELECT {EVENT_COLUMNS} FROM events WHERE kind = 'negative'", folder / "events.parquet")
    cuts = export(con, "SELECT user_id, epoch_us(validation_cut) AS validation_cut FROM user_cuts",
                  folder / "user_cuts.parquet")
    out = folder / "swing"
    counts = swing_in_spark(spark, events, cuts, config, out)
    con.execute(f"""
        INSERT INTO swing_neighbours
        SELECT item_id, neighbour_id, rank, score, common_users FROM {imported(out)} ORDER BY item_id, rank""")
    return counts


def swing_in_spark(spark, events: str, cuts: str, config: SwingConfig, out: Path) -> dict:
    """Write swing_neighbours' rows as a Parquet folder `out`; returns the graph's counts."""
    spark.read.parquet(events).createOrReplaceTempView("events")
    spark.read.parquet(cuts).createOrReplaceTempView("user_cuts")
    spark.sql(f"""
        SELECT user_id, item_id FROM (
            SELECT *, row_number() OVER (PARTITION BY item_id ORDER BY ts DESC, user_id) AS item_turn FROM (
                SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY ts DESC, item_id) AS user_turn FROM (
                    SELECT e.user_id, e.item_id, max(e.ts) AS ts FROM events e JOIN user_cuts c USING (user_id)
                    WHERE e.kind = 'negative' AND e.ts < c.validation_cut GROUP BY e.user_id, e.item_id))
            WHERE user_turn <= {config.max_items_per_user})
        WHERE item_turn <= {config.max_users_per_item}""").createOrReplaceTempView("swing_capped")
    # users and items numbered in id order, as DuckDB's are: the joins below compare and hash integers
    for view, column in (("swing_users", "user_id"), ("swing_items", "item_id")):
        spark.sql(f"SELECT {column}, CAST(row_number() OVER (ORDER BY {column}) AS INT) AS n "
                  f"FROM (SELECT DISTINCT {column} FROM swing_capped)").cache().createOrReplaceTempView(view)
    spark.sql("""
        SELECT su.n AS u, si.n AS i FROM swing_capped c
        JOIN swing_users su USING (user_id) JOIN swing_items si USING (item_id)""") \
        .cache().createOrReplaceTempView("swing_ui")
    spark.sql(f"SELECT u, pow(count(*), -{double(config.activity_power)}) AS w FROM swing_ui GROUP BY u") \
        .createOrReplaceTempView("swing_weights")
    spark.sql(f"""
        SELECT p.u, p.v, wu.w * wv.w / ({double(config.alpha)} + p.shared) AS weight
        FROM (SELECT a.u, b.u AS v, count(*) AS shared
              FROM swing_ui a JOIN swing_ui b ON a.i = b.i AND a.u < b.u
              GROUP BY a.u, b.u HAVING count(*) >= 2) p
        JOIN swing_weights wu ON wu.u = p.u JOIN swing_weights wv ON wv.u = p.v""") \
        .cache().createOrReplaceTempView("swing_user_pairs")
    spark.sql("""
        SELECT p.u, p.v, p.weight, a.i
        FROM swing_user_pairs p JOIN swing_ui a ON a.u = p.u JOIN swing_ui b ON b.u = p.v AND b.i = a.i""") \
        .createOrReplaceTempView("swing_pair_items")
    least_pairs = config.min_common_users * (config.min_common_users - 1) // 2
    spark.sql(f"""
        WITH pairs AS (
            SELECT x.i, y.i AS j, 2 * sum(x.weight) AS score, count(*) AS user_pairs
            FROM swing_pair_items x JOIN swing_pair_items y ON x.u = y.u AND x.v = y.v AND x.i < y.i
            GROUP BY x.i, y.i HAVING count(*) >= {least_pairs}),
        both_ways AS (SELECT i, j, round(score, 9) AS score, user_pairs FROM pairs
                      UNION ALL SELECT j, i, round(score, 9), user_pairs FROM pairs),
        ranked AS (
            SELECT i, j, score, CAST(round((1 + sqrt(1 + 8 * user_pairs)) / 2) AS INT) AS common_users,
                   CAST(row_number() OVER (PARTITION BY i ORDER BY score DESC, j) AS INT) AS rank
            FROM both_ways)
        SELECT a.item_id, b.item_id AS neighbour_id, r.rank, r.score, r.common_users
        FROM ranked r JOIN swing_items a ON a.n = r.i JOIN swing_items b ON b.n = r.j
        WHERE r.rank <= {config.top_k}""").write.parquet(str(out))
    counts = {"negatives": spark.table("swing_ui").count(), "user_pairs": spark.table("swing_user_pairs").count()}
    return counts
