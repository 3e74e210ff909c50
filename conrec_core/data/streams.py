"""Each user's whole stream of events, every kind, oldest first: what a stream SID model reads (SFT task
`event_stream`, lm/prompts.py). A sample's stream is its user's events strictly before its anchor in (ts, event_id)
order, the order the samples themselves are cut in (data/samples.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from .workspace import open_workspace

Event = tuple[str, str]  # (item, kind)


@dataclass(frozen=True)
class UserStream:
    micros: np.ndarray  # int64 microseconds since the epoch, ascending
    event_ids: np.ndarray  # int64, ascending within equal times
    items: list[str]
    kinds: list[str]

    def position(self, ts: datetime, event_id: int | None = None, at_or_before: bool = False) -> int:
        """How many events come before (ts, event_id); with no event id, before ts (at or before it with
        `at_or_before`)."""
        if getattr(ts, "tzinfo", None) is not None:  # stored times are naive UTC
            ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
        moment = np.datetime64(ts, "us").astype(np.int64)
        low = int(np.searchsorted(self.micros, moment, side="left"))
        high = int(np.searchsorted(self.micros, moment, side="right"))
        if event_id is None:
            return high if at_or_before else low
        return low + int(np.searchsorted(self.event_ids[low:high], event_id, side="left"))

    def before(self, ts: datetime, event_id: int | None = None, limit: int | None = None,
               at_or_before: bool = False) -> list[Event]:
        """The last `limit` events (all with None) that `position` counts."""
        end = self.position(ts, event_id, at_or_before)
        start = 0 if limit is None else max(0, end - limit)
        return list(zip(self.items[start:end], self.kinds[start:end]))


EMPTY = UserStream(np.array([], np.int64), np.array([], np.int64), [], [])


def read_streams(workspace, users: list[str] | None = None) -> dict[str, UserStream]:
    """Every user's stream (of `users` only, when given)."""
    where, params = "", []
    if users is not None:
        where, params = "WHERE list_contains(?, user_id)", [[str(u) for u in users]]
    with open_workspace(workspace) as con:
        frame = con.execute(f"SELECT user_id, item_id, epoch_us(ts) AS micros, event_id, kind FROM events {where} "
                            "ORDER BY user_id, ts, event_id", params).df()
    user_ids = frame["user_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, user_ids[1:] != user_ids[:-1]]) if len(frame) else np.array([], int)
    ends = np.r_[starts[1:], len(frame)]
    micros, event_ids = frame["micros"].to_numpy(np.int64), frame["event_id"].to_numpy(np.int64)
    items, kinds = frame["item_id"].tolist(), frame["kind"].tolist()
    return {user_ids[a]: UserStream(micros[a:b], event_ids[a:b], items[a:b], kinds[a:b])
            for a, b in zip(starts, ends)}


def read_anchor_events(workspace, sample_ids: list[int] | None = None) -> dict[int, int]:
    """Each sample's anchor event id (of `sample_ids` only, when given)."""
    where, params = ("WHERE list_contains(?, sample_id)", [[int(i) for i in sample_ids]]) \
        if sample_ids is not None else ("", [])
    with open_workspace(workspace) as con:
        return dict(con.execute(f"SELECT sample_id, anchor_event_id FROM samples {where}", params).fetchall())


def before_anchor(streams: dict[str, UserStream], anchors: dict[int, int], sample, limit: int) -> list[Event]:
    """The last `limit` events of the sample's user before its anchor."""
    return streams.get(sample.user_id, EMPTY).before(sample.anchor_ts, anchors[int(sample.sample_id)], limit)


def sample_streams(workspace, samples, limit: int) -> list[list[Event]]:
    """The last `limit` events before each sample's anchor (rows of `read_samples`, or Sample values)."""
    anchors = read_anchor_events(workspace, [s.sample_id for s in samples])
    streams = read_streams(workspace, sorted({s.user_id for s in samples}))
    return [before_anchor(streams, anchors, s, limit) for s in samples]


def streams_as_of(workspace, users: list[str], moment: datetime, limit: int) -> list[list[Event]]:
    """The last `limit` events of each user at or before `moment` (what `score` reads)."""
    streams = read_streams(workspace, users)
    return [streams.get(user, EMPTY).before(moment, limit=limit, at_or_before=True) for user in users]
