"""The --engine options the data-parallel commands (samples, swing) share."""

from __future__ import annotations

import argparse

from ..spark.engine import ENGINES
from ..spark.session import SparkOptions


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine (README: Big logs)")
    group.add_argument("--engine", choices=ENGINES, default="duckdb",
                       help="duckdb: in this process, the default up to tens of millions of events; spark: on "
                            "Apache Spark (pip install -r requirements-spark.txt), local or a cluster")
    group.add_argument("--spark-master", metavar="URL",
                       help="the cluster's master (spark://host:7077, yarn, k8s://..., local[4]); default: "
                            "Spark's own settings (spark-defaults.conf, PYSPARK_SUBMIT_ARGS), else local[*]")
    group.add_argument("--spark-exchange", metavar="DIR",
                       help="a folder this machine and the cluster both reach, for the Parquet files the "
                            "engines trade (default: beside the workspace, enough in local mode)")


def engine_options(args: argparse.Namespace) -> tuple[str, SparkOptions]:
    return args.engine, SparkOptions(master=args.spark_master, exchange=args.spark_exchange)
