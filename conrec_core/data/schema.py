"""Every table a workspace holds, in one place, with the schema version and the migrations between versions.

A new workspace gets every table at once (empty until a stage fills it), so readers ask whether a table has
rows, never whether it exists. A workspace written by an older conrec is migrated when it is opened.
"""

from __future__ import annotations

from typing import Callable

import duckdb

SCHEMA_VERSION = 4

TABLES = {
    # the imported data (data/importer.py)
    "items": """
        CREATE TABLE IF NOT EXISTS items (
            item_id  VARCHAR PRIMARY KEY,
            title    VARCHAR,            -- NULL for id-only logs
            text     VARCHAR,            -- other text fields, joined
            category VARCHAR)""",
    "item_tags": """
        CREATE TABLE IF NOT EXISTS item_tags (  -- users' free-text tags, dated: item text uses only those before the
            item_id VARCHAR NOT NULL,           -- tagging user's validation cut (semantic_ids/encoder.py)
            user_id VARCHAR NOT NULL,
            ts      TIMESTAMP NOT NULL,
            tag     VARCHAR NOT NULL)""",
    "item_vectors": """
        CREATE TABLE IF NOT EXISTS item_vectors (  -- optional side vectors (image, ...), one row per item and name
            item_id VARCHAR NOT NULL,
            name    VARCHAR NOT NULL,
            vector  FLOAT[] NOT NULL)""",
    "events": """
        CREATE TABLE IF NOT EXISTS events (
            event_id BIGINT NOT NULL,    -- order of (user_id, ts, row in the source file): breaks timestamp ties
            user_id  VARCHAR NOT NULL,
            item_id  VARCHAR NOT NULL,
            ts       TIMESTAMP NOT NULL, -- UTC
            kind     VARCHAR NOT NULL CHECK (kind IN ('negative', 'positive', 'neutral')),
            value    DOUBLE,             -- rating or other numeric signal, when the source has one
            reason   VARCHAR)            -- why the user gave negative feedback, when the source says""",
    "meta": "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value JSON NOT NULL)",
    "true_dislikes": """
        CREATE TABLE IF NOT EXISTS true_dislikes (  -- a synthetic world's latent profiles, when it ships them
            user_id VARCHAR NOT NULL, facet VARCHAR NOT NULL, value VARCHAR, weight DOUBLE NOT NULL)""",
    # the samples (data/samples.py), rebuilt together
    "user_cuts": """
        CREATE TABLE IF NOT EXISTS user_cuts (
            user_id VARCHAR PRIMARY KEY, validation_cut TIMESTAMP, test_cut TIMESTAMP)""",
    "samples": """
        CREATE TABLE IF NOT EXISTS samples (
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
            future_negatives        VARCHAR[] NOT NULL,   -- negatives in [t, window_end), the anchor first
            future_positives        VARCHAR[] NOT NULL,   -- positives in [t, window_end)
            long_tail_user          BOOLEAN NOT NULL)""",
    "item_stats": """
        CREATE TABLE IF NOT EXISTS item_stats (
            item_id VARCHAR PRIMARY KEY, train_negatives INTEGER NOT NULL, long_tail_item BOOLEAN NOT NULL)""",
    # semantic IDs (semantic_ids/)
    "text_embedding_cache": """
        CREATE TABLE IF NOT EXISTS text_embedding_cache (
            text_hash VARCHAR PRIMARY KEY,  -- sha256 of model name and text
            vector    FLOAT[384] NOT NULL)""",
    "codebooks": """
        CREATE TABLE IF NOT EXISTS codebooks (
            name VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
            items INTEGER NOT NULL, config JSON NOT NULL, report JSON NOT NULL)""",
    "item_sids": """
        CREATE TABLE IF NOT EXISTS item_sids (
            codebook VARCHAR NOT NULL, item_id VARCHAR NOT NULL,
            codes INTEGER[] NOT NULL,   -- level codes, then the collision rank when the item needed one
            sid VARCHAR NOT NULL,       -- <a_12><b_7><c_201>[<d_0>]
            vector FLOAT[] NOT NULL,    -- SID -> vector: the sum of the chosen codewords
            reconstruction_cosine FLOAT NOT NULL,  -- cosine of the decoded SID to the item's input vector
            PRIMARY KEY (codebook, item_id), UNIQUE (codebook, sid))""",
    "item_map": """
        CREATE TABLE IF NOT EXISTS item_map (
            codebook VARCHAR NOT NULL, item_id VARCHAR NOT NULL, x FLOAT NOT NULL, y FLOAT NOT NULL,
            PRIMARY KEY (codebook, item_id))""",
    # GRPO's collaborative signal (rl/swing.py)
    "swing_neighbours": """
        CREATE TABLE IF NOT EXISTS swing_neighbours (
            item_id      VARCHAR NOT NULL,
            neighbour_id VARCHAR NOT NULL,
            rank         INTEGER NOT NULL,   -- 1 = most similar
            score        DOUBLE NOT NULL,    -- s(item, neighbour)
            common_users INTEGER NOT NULL,   -- users who disliked both in the training part
            PRIMARY KEY (item_id, rank))""",
    # what methods predicted and how they scored (decoding/predict.py, evaluation/scoring.py)
    "predictions": """
        CREATE TABLE IF NOT EXISTS predictions (
            checkpoint VARCHAR NOT NULL, sample_id BIGINT NOT NULL, user_id VARCHAR NOT NULL,
            anchor_ts TIMESTAMP NOT NULL, rank INTEGER NOT NULL,  -- 1 = most likely
            sid VARCHAR NOT NULL, item_id VARCHAR NOT NULL, score DOUBLE NOT NULL,  -- summed log-probability
            created_at TIMESTAMP NOT NULL, PRIMARY KEY (checkpoint, sample_id, rank))""",
    "sample_metrics": """
        CREATE TABLE IF NOT EXISTS sample_metrics (
            method VARCHAR NOT NULL, split VARCHAR NOT NULL, sample_id BIGINT NOT NULL, user_id VARCHAR NOT NULL,
            k INTEGER NOT NULL,
            hr DOUBLE NOT NULL,          -- next negative in the top K
            fhr DOUBLE NOT NULL,         -- any future-window negative in the top K
            ndcg DOUBLE NOT NULL,        -- future negatives as relevant items
            lif DOUBLE,                  -- FHR on long-tail future negatives; NULL when the window has none
            candidate_accuracy DOUBLE,   -- the next negative picked out of a 20-item line-up; NULL without one
            invalid_rate DOUBLE,         -- share of the K outputs that were not a valid, new item
            long_tail_user BOOLEAN NOT NULL,
            true_dislike_share DOUBLE,   -- share of the top K carrying a facet the user truly dislikes; NULL
                                         -- without a latent profile (only synthetic worlds have one)
            ranked VARCHAR[],            -- the top K item ids, best first (what seed fusion reads); NULL in rows
                                         -- scored before version 3
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (method, split, sample_id))""",
}


def create_tables(con: duckdb.DuckDBPyConnection, names=None) -> None:
    """Create the named tables (all by default) where they are missing."""
    for name in (TABLES if names is None else names):
        con.execute(TABLES[name])


def recreate_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a table and create it empty again (a stage that rebuilds it whole)."""
    con.execute(f"DROP TABLE IF EXISTS {name}")
    con.execute(TABLES[name])


def _from_1(con: duckdb.DuckDBPyConnection) -> None:
    """Version 1 created most tables lazily, and sample_metrics without its three later columns."""
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'sample_metrics'").fetchall()[0][0]:
        for column in ("candidate_accuracy", "invalid_rate", "true_dislike_share"):
            con.execute(f"ALTER TABLE sample_metrics ADD COLUMN IF NOT EXISTS {column} DOUBLE")
    create_tables(con)


def _from_2(con: duckdb.DuckDBPyConnection) -> None:
    """Version 2 kept each method's metrics per sample but not the ranking they were computed from."""
    con.execute("ALTER TABLE sample_metrics ADD COLUMN IF NOT EXISTS ranked VARCHAR[]")


def _from_3(con: duckdb.DuckDBPyConnection) -> None:
    """Version 3 joined MovieLens tags of any date into item text; version 4 keeps them dated apart. A workspace
    imported before keeps its text as it was: import it again for tags that respect the cut."""
    create_tables(con, ["item_tags"])


MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {1: _from_1, 2: _from_2, 3: _from_3}  # from version N to N + 1


def migrate(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Bring a workspace from `version` to SCHEMA_VERSION, one step at a time, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](con)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
