"""Stored prediction sets: each method's ranked items per sample in the workspace's `predictions` table."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from ..data.workspace import RESULT_LOCK_TIMEOUT, open_workspace


def write_predictions(workspace, checkpoint: str, sample_ids: list[int], records: list[tuple]) -> None:
    frame = pd.DataFrame(records, columns=["sample_id", "user_id", "anchor_ts", "rank", "sid", "item_id", "score"])
    frame.insert(0, "checkpoint", checkpoint)
    frame["created_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
    with open_workspace(workspace, read_only=False, lock_timeout=RESULT_LOCK_TIMEOUT) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM predictions WHERE checkpoint = ? AND list_contains(?, sample_id)",
                    [checkpoint, sample_ids])
        con.register("new_predictions", frame)
        con.execute("INSERT INTO predictions SELECT checkpoint, sample_id, user_id, anchor_ts, rank, sid, item_id, "
                    "score, created_at FROM new_predictions")
        con.execute("COMMIT")


def read_predictions(workspace, checkpoint: str) -> pd.DataFrame:
    with open_workspace(workspace) as con:
        return con.execute("""
            SELECT p.*, i.title FROM predictions p LEFT JOIN items i USING (item_id)
            WHERE p.checkpoint = ? ORDER BY p.sample_id, p.rank""", [checkpoint]).df()
