"""Which engine runs a data-parallel stage: DuckDB in the workspace's process (the default), or Spark."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from .session import SparkOptions

ENGINES = ("duckdb", "spark")


@contextlib.contextmanager
def engine_fill(workspace: Path, engine: str, options: SparkOptions | None, stage: str) -> Iterator[Callable | None]:
    """The `fill` a stage's build takes (`build_samples`, `build_swing`): None for DuckDB's own SQL; for Spark,
    its fill bound to a session and an exchange folder that last while the context is open."""
    if engine == "duckdb":
        yield None
        return
    from .exchange import exchange_folder
    from .samples import fill_samples_with_spark
    from .session import spark_session
    from .swing import fill_swing_with_spark

    fills = {"samples": fill_samples_with_spark, "swing": fill_swing_with_spark}
    options = options or SparkOptions()
    with spark_session(options, stage) as spark, exchange_folder(workspace, options.exchange) as folder:
        try:
            yield partial(fills[stage], spark=spark, folder=folder)
        finally:  # a session another caller started lives on: leave it none of this stage's views or caches
            for table in spark.catalog.listTables():
                if table.isTemporary:
                    spark.catalog.dropTempView(table.name)
            spark.catalog.clearCache()
