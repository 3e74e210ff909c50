"""Swing on the negative graph (method §6), in DuckDB over co-occurring pairs only.

    s(i, j) = Σ_{u, v ∈ U_i ∩ U_j, u ≠ v}  w_u · w_v / (α + |I_u ∩ I_v|),   w_u = |I_u|^-p

U_i are the users who disliked item i in the training part, I_u the items user u disliked there. The
work follows the graph, never all item pairs: user pairs come from items they share, and only pairs
sharing at least two items can add to any s(i, j) (both i and j lie in I_u ∩ I_v), so the rest are
dropped before item pairs are formed. Each unordered user pair adds its weight twice (u, v and v, u).
A pair (i, j) with c common users collects exactly c(c-1)/2 unordered user pairs, which gives c.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import duckdb
import pandas as pd

from ..errors import ConrecError
from .swing_config import SwingConfig
from ..data.schema import recreate_table
from ..data.workspace import open_workspace, read_meta, write_meta

TEMP_TABLES = ("swing_ui", "swing_weights", "swing_user_pairs", "swing_pair_items", "swing_scores")


def ensure_swing(workspace) -> bool:
    """Build the Swing neighbours with the default settings unless the workspace has them; True when built."""
    with open_workspace(workspace) as con:
        if swing_built(con):
            return False
    with open_workspace(workspace, read_only=False) as con:
        if not swing_built(con):  # another process may have built it meanwhile
            build_swing(con)
    return True


def swing_built(con) -> bool:
    """Whether Swing was built on this workspace's current samples (its table may be empty on a tiny log)."""
    info = swing_info(con)
    return info is not None and info.get("samples_fingerprint") == read_meta(con, "samples_fingerprint")


def build_swing(con: duckdb.DuckDBPyConnection, config: SwingConfig = SwingConfig(),
                fill: Callable | None = None) -> dict:
    """(Re)build `swing_neighbours` from the training negatives; return counts for the report. `fill`
    (con, config) fills the emptied table and returns the graph's counts (negatives, user_pairs): DuckDB's SQL
    below unless another engine's is given (`spark/swing.py`)."""
    if not con.execute("SELECT count(*) FROM user_cuts").fetchall()[0][0]:
        raise ConrecError("the workspace has no samples (user_cuts): rebuild them before Swing")
    con.execute("BEGIN TRANSACTION")
    try:
        recreate_table(con, "swing_neighbours")
        counts = (fill or fill_in_duckdb)(con, config)
        counts.update({
            "items_with_neighbours": con.execute(
                "SELECT count(DISTINCT item_id) FROM swing_neighbours").fetchall()[0][0],
            "neighbour_rows": con.execute("SELECT count(*) FROM swing_neighbours").fetchall()[0][0],
        })
        write_meta(con, "swing", {"config": config.to_dict(), **counts,
                                  "samples_fingerprint": read_meta(con, "samples_fingerprint"),
                                  "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def fill_in_duckdb(con, config: SwingConfig) -> dict:
    _training_graph(con, config)
    _user_pairs(con, config)
    _item_pairs(con, config)
    con.execute("""
        INSERT INTO swing_neighbours
        SELECT a.item_id, b.item_id, s.rank, s.score, s.common_users
        FROM swing_scores s JOIN swing_items a ON a.i = s.i JOIN swing_items b ON b.i = s.j
        ORDER BY a.item_id, s.rank""")
    counts = {"negatives": con.execute("SELECT count(*) FROM swing_ui").fetchall()[0][0],
              "user_pairs": con.execute("SELECT count(*) FROM swing_user_pairs").fetchall()[0][0]}
    for table in TEMP_TABLES + ("swing_items",):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return counts


def _training_graph(con, config: SwingConfig) -> None:
    """Distinct (user, item) training negatives as small integers, capped per user and per item."""
    con.execute("""
        CREATE TEMP TABLE swing_capped AS
        WITH negatives AS (
            SELECT e.user_id, e.item_id, max(e.ts) AS ts FROM events e JOIN user_cuts c USING (user_id)
            WHERE e.kind = 'negative' AND e.ts < c.validation_cut GROUP BY e.user_id, e.item_id),
        per_user AS (
            SELECT * FROM negatives
            QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY ts DESC, item_id) <= ?)
        SELECT user_id, item_id FROM per_user
        QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY ts DESC, user_id) <= ?""",
                [config.max_items_per_user, config.max_users_per_item])
    con.execute("""CREATE TEMP TABLE swing_items AS
                   SELECT item_id, CAST(row_number() OVER (ORDER BY item_id) AS INTEGER) AS i
                   FROM (SELECT DISTINCT item_id FROM swing_capped)""")
    con.execute("""CREATE TEMP TABLE swing_ui AS
                   SELECT CAST(dense_rank() OVER (ORDER BY c.user_id) AS INTEGER) AS u, s.i
                   FROM swing_capped c JOIN swing_items s USING (item_id)""")
    con.execute("DROP TABLE swing_capped")
    con.execute("CREATE TEMP TABLE swing_weights AS SELECT u, pow(count(*), -?) AS w FROM swing_ui GROUP BY u",
                [config.activity_power])


# Users' shared-item counts come from a sparse product of the user x item matrix with its transpose, a block of
# users at a time: the candidate pairs (one per item two users share) of a log's popular items run to hundreds of
# millions, and a SQL join and hash aggregation over them took minutes and ~11 GiB on 10M negatives. A block
# holds at most this many candidates (~12 bytes each), so memory stays bounded whatever the skew.
CANDIDATES_PER_BLOCK = 20_000_000  # docs/decisions.md#big-logs


def _user_pairs(con, config: SwingConfig) -> None:
    """User pairs sharing two or more items, with their weight w_u w_v / (α + |I_u ∩ I_v|)."""
    shared = _shared_counts(con)
    con.register("swing_shared_frame", shared)
    con.execute("""
        CREATE TEMP TABLE swing_user_pairs AS
        SELECT row_number() OVER () AS pair, p.u, p.v, wu.w * wv.w / (? + p.shared) AS weight
        FROM swing_shared_frame p JOIN swing_weights wu ON wu.u = p.u JOIN swing_weights wv ON wv.u = p.v""",
                [config.alpha])
    con.unregister("swing_shared_frame")
    con.execute("""
        CREATE TEMP TABLE swing_pair_items AS
        SELECT p.pair, p.weight, a.i
        FROM swing_user_pairs p JOIN swing_ui a ON a.u = p.u JOIN swing_ui b ON b.u = p.v AND b.i = a.i""")


def _shared_counts(con) -> pd.DataFrame:
    """(u, v, shared): every user pair u < v of `swing_ui` sharing two or more items."""
    import numpy as np
    from scipy.sparse import csr_matrix

    graph = con.execute("SELECT u - 1 AS u, i - 1 AS i FROM swing_ui").fetchnumpy()
    users, items = graph["u"].astype(np.int64), graph["i"].astype(np.int64)
    if not len(users):
        return pd.DataFrame({"u": np.array([], np.int32), "v": np.array([], np.int32),
                             "shared": np.array([], np.int64)})
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    matrix = csr_matrix((np.ones(len(users), np.int32), (users, items)), shape=shape)
    transposed = matrix.T.tocsr()
    # candidates of users 0 .. u-1: each user's share is the sum of its items' user counts
    before = np.concatenate([[0], np.cumsum(matrix @ np.diff(transposed.indptr))])
    parts, start = [], 0
    while start < shape[0]:
        stop = max(start + 1, int(np.searchsorted(before, before[start] + CANDIDATES_PER_BLOCK, "right")) - 1)
        block = (matrix[start:stop] @ transposed).tocoo()
        rows = block.row.astype(np.int64) + start
        keep = (block.data >= 2) & (block.col > rows)
        parts.append((rows[keep], block.col[keep], block.data[keep]))
        start = stop
    u, v, count = (np.concatenate(column) for column in zip(*parts))
    return pd.DataFrame({"u": (u + 1).astype(np.int32), "v": (v + 1).astype(np.int32),
                         "shared": count.astype(np.int64)})


def _item_pairs(con, config: SwingConfig) -> None:
    least_pairs = config.min_common_users * (config.min_common_users - 1) // 2
    con.execute("""
        CREATE TEMP TABLE swing_scores AS
        WITH pairs AS (
            SELECT x.i, y.i AS j, 2 * sum(x.weight) AS score, count(*) AS user_pairs
            FROM swing_pair_items x JOIN swing_pair_items y ON x.pair = y.pair AND x.i < y.i
            GROUP BY x.i, y.i HAVING count(*) >= ?),
        -- scores are parallel float sums whose last bits vary between runs: keep 9 decimals, so equal
        -- scores always break their tie by item, and a rebuild gives the same table
        both_ways AS (SELECT i, j, round(score, 9) AS score, user_pairs FROM pairs
                      UNION ALL SELECT j, i, round(score, 9), user_pairs FROM pairs)
        SELECT i, j, score,
               CAST(round((1 + sqrt(1 + 8 * user_pairs)) / 2) AS INTEGER) AS common_users,
               CAST(row_number() OVER (PARTITION BY i ORDER BY score DESC, j) AS INTEGER) AS rank
        FROM both_ways QUALIFY rank <= ?""", [least_pairs, config.top_k])


def read_neighbours(con, top_k: int | None = None) -> dict[str, list[str]]:
    """item -> its Swing neighbours, most similar first (empty when Swing was never built)."""
    rows = con.execute("SELECT item_id, list(neighbour_id ORDER BY rank) FROM swing_neighbours "
                       "WHERE rank <= ? GROUP BY item_id", [top_k or 2**31 - 1]).fetchall()
    return dict(rows)


def read_neighbours_with_scores(con) -> dict[str, list[tuple[str, float]]]:
    """item -> [(neighbour, Swing score)], most similar first (empty when Swing was never built)."""
    rows = con.execute("SELECT item_id, list(neighbour_id ORDER BY rank), list(score ORDER BY rank) "
                       "FROM swing_neighbours GROUP BY item_id").fetchall()
    return {item: list(zip(near, scores)) for item, near, scores in rows}


def swing_table(con, item_id: str) -> pd.DataFrame:
    """One item's neighbours with titles, for pages and reports."""
    return con.execute("""SELECT s.rank, s.neighbour_id, i.title, s.score, s.common_users
                          FROM swing_neighbours s LEFT JOIN items i ON i.item_id = s.neighbour_id
                          WHERE s.item_id = ? ORDER BY s.rank""", [item_id]).df()


def swing_info(con) -> dict | None:
    return read_meta(con, "swing")
