"""Figures that describe a workspace: the numbers the Home page and `info` show."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd

from .workspace import read_meta


@dataclass
class WorkspaceSummary:
    users: int
    items: int
    events: int
    negatives: int
    positives: int
    neutral: int
    negative_share: float  # negatives / events
    first_event: datetime | None
    last_event: datetime | None
    users_with_negatives: int
    items_without_text: int
    item_vectors: dict[str, int] = field(default_factory=dict)  # vector name -> items that have it
    samples: dict[str, int] = field(default_factory=dict)  # split -> samples
    future_window_share: dict[str, float] = field(default_factory=dict)  # split -> share of samples whose
    # future window holds a negative besides the anchor itself
    long_tail_user_share: float | None = None  # share of samples whose user is long-tail
    long_tail_item_share: float | None = None  # share of items that are long-tail
    true_dislike_users: int = 0  # users with a ground-truth dislike profile (synthetic data)

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("first_event", "last_event"):  # stored in UTC: said so
            data[key] = data[key].replace(tzinfo=timezone.utc).isoformat() if data[key] else None
        return data


def summarize(con: duckdb.DuckDBPyConnection) -> WorkspaceSummary:
    row = con.execute("""
        SELECT count(DISTINCT user_id), count(*), count(*) FILTER (WHERE kind = 'negative'),
               count(*) FILTER (WHERE kind = 'positive'), count(*) FILTER (WHERE kind = 'neutral'),
               min(ts), max(ts), count(DISTINCT user_id) FILTER (WHERE kind = 'negative')
        FROM events""").fetchall()[0]
    users, events, negatives, positives, neutral, first, last, users_with_negatives = row
    items, without_text = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE title IS NULL AND text IS NULL) FROM items").fetchall()[0]
    summary = WorkspaceSummary(
        users=users, items=items, events=events, negatives=negatives, positives=positives, neutral=neutral,
        negative_share=negatives / events if events else 0.0, first_event=first, last_event=last,
        users_with_negatives=users_with_negatives, items_without_text=without_text,
        item_vectors=dict(con.execute("SELECT name, count(*) FROM item_vectors GROUP BY name ORDER BY name")
                          .fetchall()))
    if con.execute("SELECT count(*) FROM samples").fetchall()[0][0]:
        for split, count, share in con.execute("""
                SELECT split, count(*), avg(CASE WHEN len(future_negatives) > 1 THEN 1.0 ELSE 0.0 END)
                FROM samples GROUP BY split""").fetchall():
            summary.samples[split] = count
            summary.future_window_share[split] = share
        summary.long_tail_user_share = con.execute(
            "SELECT avg(CASE WHEN long_tail_user THEN 1.0 ELSE 0.0 END) FROM samples").fetchall()[0][0]
        summary.long_tail_item_share = con.execute(
            "SELECT avg(CASE WHEN long_tail_item THEN 1.0 ELSE 0.0 END) FROM item_stats").fetchall()[0][0]
    summary.true_dislike_users = con.execute("SELECT count(DISTINCT user_id) FROM true_dislikes").fetchall()[0][0]
    return summary


def negatives_per_day(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """day, negatives, events: every calendar day between the first and last event, zeros included."""
    return con.execute("""
        WITH days AS (
            SELECT unnest(generate_series(date_trunc('day', min(ts)), date_trunc('day', max(ts)),
                                          INTERVAL 1 DAY)) AS day FROM events),
        counts AS (
            SELECT date_trunc('day', ts) AS day, count(*) FILTER (WHERE kind = 'negative') AS negatives,
                   count(*) AS events
            FROM events GROUP BY 1)
        SELECT d.day, coalesce(c.negatives, 0) AS negatives, coalesce(c.events, 0) AS events
        FROM days d LEFT JOIN counts c USING (day) ORDER BY d.day""").df()


def negatives_per_user(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """user_id, negatives, events: one row per user, users without negatives included."""
    return con.execute("""
        SELECT user_id, count(*) FILTER (WHERE kind = 'negative') AS negatives, count(*) AS events
        FROM events GROUP BY user_id ORDER BY negatives DESC, user_id""").df()


def split_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per split: samples, users, mean context and future sizes, future-window coverage, long-tail users."""
    return con.execute("""
        SELECT split, count(*) AS samples, count(DISTINCT user_id) AS users,
               avg(context_negative_count) AS mean_context_negatives,
               avg(len(future_negatives)) AS mean_future_negatives,
               avg(CASE WHEN len(future_negatives) > 1 THEN 1.0 ELSE 0.0 END) AS share_more_future_negatives,
               avg(CASE WHEN long_tail_user THEN 1.0 ELSE 0.0 END) AS share_long_tail_users
        FROM samples GROUP BY split
        ORDER BY CASE split WHEN 'train' THEN 0 WHEN 'validation' THEN 1 ELSE 2 END""").df()


def negative_reasons(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """reason, negatives: the reasons kept on negative events (empty when the source has none)."""
    return con.execute("""
        SELECT coalesce(reason, '(none)') AS reason, count(*) AS negatives FROM events
        WHERE kind = 'negative' GROUP BY 1 ORDER BY negatives DESC""").df()


def import_report(con: duckdb.DuckDBPyConnection) -> dict | None:
    return read_meta(con, "import_report")


def calendar_overlap(con: duckdb.DuckDBPyConnection) -> dict:
    """How far training runs past the test period in calendar time: the share of training events (before
    their user's validation cut) dated after the median test anchor. The per-user split lets one user's
    training events come after another user's test anchor; the global split keeps this at 0."""
    median, share, events = con.execute("""
        WITH m AS (SELECT median(anchor_ts) AS anchor FROM samples WHERE split = 'test')
        SELECT any_value(m.anchor), avg(CASE WHEN e.ts > m.anchor THEN 1.0 ELSE 0.0 END), count(*)
        FROM events e JOIN user_cuts c USING (user_id), m
        WHERE e.ts < c.validation_cut""").fetchall()[0]
    return {"median_test_anchor": None if median is None else median.isoformat(),
            "training_events": int(events), "training_events_after_median_test_anchor": share}


def training_negative_shares(con: duckdb.DuckDBPyConnection) -> list[tuple[str, float]]:
    """(item, its share of the training part's negatives), most disliked first (ties by item id)."""
    return con.execute("""
        SELECT item_id, train_negatives / sum(train_negatives) OVER () FROM item_stats WHERE train_negatives > 0
        ORDER BY train_negatives DESC, item_id""").fetchall()


def training_negative_counts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Items by negatives in the training part, most disliked first (ties by item id)."""
    return [item for item, _ in training_negative_shares(con)]


def training_dislike_rates(con: duckdb.DuckDBPyConnection, item_ids: list[str]) -> np.ndarray:
    """Each item's smoothed dislike rate in the training part (events before each user's validation cut),
    (negatives + 1) / (events + 2), in the order of `item_ids`: 1/2 for an item nobody met."""
    counts = {item: (negatives, events) for item, negatives, events in con.execute("""
        SELECT e.item_id, count(*) FILTER (WHERE e.kind = 'negative'), count(*)
        FROM events e JOIN user_cuts c USING (user_id) WHERE e.ts < c.validation_cut GROUP BY e.item_id""").fetchall()}
    pairs = np.array([counts.get(item, (0, 0)) for item in item_ids], dtype=np.float64).reshape(-1, 2)
    return (pairs[:, 0] + 1) / (pairs[:, 1] + 2)
