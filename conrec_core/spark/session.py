"""A Spark session for the data-parallel stages: local mode on this machine, a cluster through `master` or
Spark's own settings (spark-defaults.conf, PYSPARK_SUBMIT_ARGS, SPARK_HOME), which pyspark reads itself."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConrecError

INSTALL = "pip install -r requirements-spark.txt"


@dataclass(frozen=True)
class SparkOptions:
    """Where the Spark engine runs and where it trades files with the workspace."""

    master: str | None = None  # spark://host:7077, yarn, local[4], ...; None: Spark's own settings, else local[*]
    exchange: str | None = None  # a folder the cluster's executors can read and write; None: beside the workspace
    shuffle_partitions: int | None = None  # None: twice the local cores in local mode, Spark's setting otherwise
    local_memory: str = "4g"  # the driver's JVM (in local mode the executor too): Spark's 1g fails to broadcast
    # a join of the 1M-negative benchmark log


def require_spark() -> None:
    """Refuse in one line where pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConrecError(f"--engine spark needs pyspark: {INSTALL}") from None
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise ConrecError("--engine spark needs Java 17 or later (java on the PATH or JAVA_HOME): Spark runs on the "
                          "JVM; the duckdb engine needs neither")


@contextlib.contextmanager
def spark_session(options: SparkOptions, app: str) -> Iterator:
    """A session with conrec's fixed settings: UTC, no UI, ANSI arithmetic off (integer maths as DuckDB's).
    Stopped on leaving when this call started it."""
    require_spark()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(f"conrec {app}")
    if options.master:  # else Spark's own settings choose, and without any pyspark runs local[*]
        builder = builder.master(options.master)
    logging = f"-Dlog4j2.configurationFile={(Path(__file__).parent / 'log4j2.properties').as_uri()}"
    builder = (builder.config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false").config("spark.sql.ansi.enabled", "false")
               .config("spark.driver.extraJavaOptions", logging)
               .config("spark.driver.memory", options.local_memory))  # read only where this call starts the JVM
    started = SparkSession.getActiveSession() is None
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    local = session.sparkContext.master.startswith("local")
    partitions = options.shuffle_partitions or (2 * (os.cpu_count() or 1) if local else None)
    if partitions:
        session.conf.set("spark.sql.shuffle.partitions", str(partitions))
    try:
        yield session
    except Exception as error:
        if type(error).__module__.split(".")[0] not in ("py4j", "pyspark"):
            raise
        lines = [line.strip(" :") for line in str(error).splitlines() if line.strip()]
        cause = next((line for line in lines if "Exception:" in line), lines[0] if lines else type(error).__name__)
        raise ConrecError(f"Spark failed in {app}: {cause[:400]}") from error
    finally:
        if started:
            session.stop()
