"""The Spark engine writes the tables the DuckDB engine writes (`--engine spark` on samples and swing): on a small
log full of the cases that tell two implementations apart, every row equal, Swing's scores to 1e-9 and the
samples' fingerprint the same, so every later stage reads them unchanged. Marked `spark` (its own line in
.ci/run): Spark in local mode takes under two minutes."""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest

from conrec_core.cli import main
from conrec_core.data.importer import rebuild_samples
from conrec_core.data.samples_config import SampleConfig
from conrec_core.data.workspace import new_workspace, open_workspace
from conrec_core.rl.swing import build_swing
from conrec_core.rl.swing_config import SwingConfig
from conrec_core.spark.engine import engine_fill
from conrec_core.spark.session import SparkOptions

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark", reason="the Spark engine's extra is not installed: pip install -r "
                                      "requirements-spark.txt")
if not shutil.which("java"):
    pytest.skip("Spark needs Java 17 or later on the PATH", allow_module_level=True)

SAMPLE_TABLES = ("user_cuts", "samples", "item_stats")
LOCAL = SparkOptions(master="local[2]", shuffle_partitions=2)


@pytest.fixture(scope="module")
def spark():
    """One session for the module: each engine run reuses it instead of starting a JVM of its own."""
    from conrec_core.spark.session import spark_session

    with spark_session(LOCAL, "tests") as session:
        yield session


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """300 users, 120 items (20 never met), events of every kind on an hourly clock, so many share a timestamp
    and the event id breaks the tie; some users have exactly 10 events, where a DOUBLE quantile and an exact one
    pick different cuts; some have no positive and some a single event."""
    path = tmp_path_factory.mktemp("spark") / "log.duckdb"
    with new_workspace(path) as con:
        con.execute("SELECT setseed(0.17)")
        con.execute("""
            INSERT INTO items SELECT 'i' || lpad(CAST(n AS VARCHAR), 3, '0'), NULL, NULL, NULL FROM range(120) t(n)""")
        con.execute("""
            CREATE TEMP TABLE drawn AS
            SELECT 'u' || CAST(u AS VARCHAR) AS user_id,
                   'i' || lpad(CAST(CAST(floor(100 * pow(random(), 1.5)) AS BIGINT) AS VARCHAR), 3, '0') AS item_id,
                   TIMESTAMP '2024-01-01' + to_hours(CAST(floor(random() * 24 * 60) AS BIGINT)) AS ts,
                   CASE WHEN u % 7 = 0 THEN 'negative'
                        ELSE ['negative', 'negative', 'positive', 'neutral'][1 + CAST(floor(random() * 4) AS INT)]
                   END AS kind
            FROM range(300) users(u), range(CASE WHEN u % 5 = 0 THEN 10 WHEN u % 11 = 0 THEN 1
                                                 ELSE 12 + u % 40 END) e(n)""")
        con.execute("""
            INSERT INTO events
            SELECT row_number() OVER (ORDER BY user_id, ts, item_id, kind), user_id, item_id, ts, kind, NULL, NULL
            FROM drawn""")
    return path


def copies(log, tmp_path, config: SampleConfig) -> dict:
    """Two copies of the log, each with its samples built by one engine."""
    paths = {}
    for engine in ("duckdb", "spark"):
        paths[engine] = tmp_path / f"{engine}.duckdb"
        shutil.copy(log, paths[engine])
        with engine_fill(paths[engine], engine, LOCAL, "samples") as fill:
            rebuild_samples(paths[engine], config, fill)
    return paths


def rows(path, table: str, order: str):
    with open_workspace(path) as con:
        return con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def fingerprint(path) -> str:
    with open_workspace(path) as con:
        return con.execute("SELECT value FROM meta WHERE key = 'samples_fingerprint'").fetchall()[0][0]


def assert_same_samples(paths: dict) -> None:
    for table, order in (("user_cuts", "user_id"), ("samples", "sample_id"), ("item_stats", "item_id")):
        duckdb_rows, spark_rows = rows(paths["duckdb"], table, order), rows(paths["spark"], table, order)
        assert duckdb_rows and spark_rows == duckdb_rows, table
    assert fingerprint(paths["spark"]) == fingerprint(paths["duckdb"])


@pytest.mark.parametrize("config", [
    SampleConfig(),
    SampleConfig(validation_anchors=3, context_limit=5, window_days=2.5, recent_days=0.5),
    SampleConfig(split="global", validation_quantile=0.65, test_quantile=0.85),
    SampleConfig(split="global", validation_cut=datetime(2024, 2, 10), test_cut=datetime(2024, 2, 20)),
], ids=["per_user", "per_user_settings", "global", "global_calendar"])
def test_both_engines_build_the_same_samples(spark, log, tmp_path, config):
    paths = copies(log, tmp_path, config)
    assert_same_samples(paths)
    with open_workspace(paths["spark"]) as con:  # the log's hard cases are there, so the equality means something
        splits = dict(con.execute("SELECT split, count(*) FROM samples GROUP BY split").fetchall())
        assert set(splits) == {"train", "validation", "test"}
        assert con.execute("SELECT count(*) FROM samples WHERE len(context_positives) = 0 "
                           "AND context_negative_count > 0").fetchall()[0][0]
        assert con.execute("SELECT count(*) FROM samples WHERE len(future_negatives) > 1").fetchall()[0][0]


def test_both_engines_build_the_same_swing(spark, log, tmp_path):
    paths = copies(log, tmp_path, SampleConfig())
    config = SwingConfig(max_items_per_user=12, max_users_per_item=40, top_k=8)  # the caps bind on this log
    counts = {}
    for engine, path in paths.items():
        with engine_fill(path, engine, LOCAL, "swing") as fill, open_workspace(path, read_only=False) as con:
            counts[engine] = build_swing(con, config, fill)
    assert counts["spark"] == counts["duckdb"] and counts["duckdb"]["neighbour_rows"] > 100
    order = "item_id, rank"
    duckdb_rows, spark_rows = rows(paths["duckdb"], "swing_neighbours", order), rows(paths["spark"],
                                                                                      "swing_neighbours", order)
    assert [row[:3] + row[4:] for row in spark_rows] == [row[:3] + row[4:] for row in duckdb_rows]
    assert max(abs(s[3] - d[3]) for s, d in zip(spark_rows, duckdb_rows)) <= 1e-9
    # the run's files were traded beside the workspace, and nothing is left there
    exchange = paths["spark"].parent / "spark.files" / "spark"
    assert exchange.is_dir() and not list(exchange.iterdir())


def test_the_command_line_runs_spark_and_says_what_it_built(spark, log, tmp_path, capsys):
    path = tmp_path / "cli.duckdb"
    shutil.copy(log, path)
    assert main(["samples", "--workspace", str(path), "--engine", "spark", "--spark-master", "local[2]"]) == 0
    assert "samples: test" in capsys.readouterr().out
    assert main(["swing", "--workspace", str(path), "--engine", "spark"]) == 0
    assert "training negatives" in capsys.readouterr().out
