"""The dislike list for production: for each user, the K items a checkpoint finds them most likely to reject
next, given every event up to a moment, as a long-form Parquet file (user, rank, item, score).

Unlike `predict`, which scores the evaluation samples' anchors, this reads each user's log as it stands at
`as_of` (by default the end of the log): the prompt holds their latest negatives (and positives, for a checkpoint
whose prompt shows them), and no item they already met is returned, under the workspace's own rule.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from ..data.samples import Sample, read_sample_config
from ..data.workspace import open_workspace
from ..errors import ConrecError
from ..lm.checkpoints import checkpoint_dir, load_checkpoint, read_training
from ..lm.config import SFTConfig
from ..lm.prompts import stage_prompt
from ..data.streams import streams_as_of
from ..semantic_ids.store import load_codebook
from .decoding_config import DecodingConfig
from .item_trie import seen_rows
from .predict import DecodingRun, cold_start

SCORE_COLUMNS = ("user", "rank", "item", "score")
SCORE_SCHEMA = pa.schema([("user", pa.string()), ("rank", pa.int64()), ("item", pa.string()),
                          ("score", pa.float64())])


@dataclass
class ScoreRun:
    out: Path
    users: int
    rows: int
    as_of: datetime
    seconds: float  # decoding and writing, not loading the checkpoint

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict:
        return {"out": str(self.out), "users": self.users, "rows": self.rows, "as_of": self.as_of.isoformat(),
                "seconds": round(self.seconds, 2), "users_per_second": round(self.users_per_second, 1)}


SCORE_CHUNK_USERS = 20_000  # users read, ranked and written at a time: memory stays flat on millions of users


def score_moment(workspace, as_of: datetime | None = None) -> datetime:
    """`as_of` in UTC, naive as the workspace stores times; by default the last event's time."""
    if as_of is not None:
        return as_of.astimezone(timezone.utc).replace(tzinfo=None)
    with open_workspace(workspace) as con:
        end = con.execute("SELECT max(ts) FROM events").fetchall()[0][0]
    if end is None:
        raise ConrecError("the workspace holds no events")
    return end


def in_shard(user: str, shard: tuple[int, int]) -> bool:
    """Whether `user` falls in shard (index, count): a hash of the id, the same on every machine and run.

    >>> sorted(sum(in_shard(f"user-{i}", (index, 3)) for i in range(300)) for index in range(3))
    [94, 99, 107]
    """
    index, count = shard
    return int.from_bytes(hashlib.blake2b(user.encode(), digest_size=8).digest(), "big") % count == index


def users_to_score(workspace, moment: datetime, users: list[str] | None = None,
                   shard: tuple[int, int] | None = None) -> list[str]:
    """The users with an event by `moment` (of `users` only, when given; of one shard, when given), sorted. A
    listed user the workspace does not hold is an error."""
    with open_workspace(workspace) as con:
        if users is not None:
            con.execute("CREATE TEMP TABLE wanted AS SELECT DISTINCT unnest(?::VARCHAR[]) AS user_id", [users])
            missing = [u for (u,) in con.execute("SELECT user_id FROM wanted ANTI JOIN (SELECT DISTINCT user_id "
                                                 "FROM events) USING (user_id) ORDER BY user_id LIMIT 6").fetchall()]
            if missing:
                raise ConrecError(f"no such user(s) in the workspace: {', '.join(missing[:5])}"
                                  + (" and more" if len(missing) > 5 else ""))
        where = "AND user_id IN (SELECT user_id FROM wanted)" if users is not None else ""
        chosen = [u for (u,) in con.execute(f"SELECT DISTINCT user_id FROM events WHERE ts <= ? {where} "
                                            "ORDER BY user_id", [moment]).fetchall()]
    return [u for u in chosen if in_shard(u, shard)] if shard else chosen


def user_states(workspace, as_of: datetime | None = None, users: list[str] | None = None
                ) -> tuple[datetime, list[Sample], list[tuple[str, ...]]]:
    """Each user's log up to `as_of` as a Sample (no target, no future) and the items they have met, with the
    moment used. Users with no event by then are left out; a listed user the workspace does not hold is an
    error."""
    moment = score_moment(workspace, as_of)
    return states_of(workspace, moment, users_to_score(workspace, moment, users))


def states_of(workspace, moment: datetime, chosen: list[str]
              ) -> tuple[datetime, list[Sample], list[tuple[str, ...]]]:
    """`user_states` of users already chosen (`users_to_score`) at `moment` (UTC, naive)."""
    config = read_sample_config(workspace)
    kinds = ["negative", "positive"] + (["neutral"] if config.exclude_seen == "all_events" else [])
    with open_workspace(workspace) as con:
        con.execute("CREATE TEMP TABLE wanted AS SELECT unnest(?::VARCHAR[]) AS user_id", [chosen])
        rows = con.execute("""
            SELECT user_id,
                   coalesce(list(item_id ORDER BY ts, event_id) FILTER (WHERE kind = 'negative'), []),
                   coalesce(list(item_id ORDER BY ts, event_id) FILTER (WHERE kind = 'negative' AND ts > ?), []),
                   coalesce(list(item_id ORDER BY ts, event_id) FILTER (WHERE kind = 'positive'), []),
                   coalesce(list(DISTINCT item_id) FILTER (WHERE list_contains(?, kind)), [])
            FROM events WHERE ts <= ? AND user_id IN (SELECT user_id FROM wanted)
            GROUP BY user_id ORDER BY user_id""",
                           [moment - timedelta(days=config.recent_days), kinds, moment]).fetchall()
    limit = config.context_limit
    states, seen = [], []
    for index, (user, negatives, recent, positives, met) in enumerate(rows):
        states.append(Sample(sample_id=index, user_id=user, split="score", anchor_ts=moment, next_negative="",
                             recent_negatives=tuple(recent[-limit:]), context_negatives=tuple(negatives[-limit:]),
                             context_positives=tuple(positives[-limit:]), future_negatives=(), future_positives=(),
                             long_tail_user=len(negatives) < config.long_tail_user_negatives))
        seen.append(tuple(negatives[-limit:]) + tuple(positives[-limit:]) if config.exclude_seen == "context"
                    else tuple(met))
    return moment.replace(tzinfo=timezone.utc), states, seen


def score_users(workspace, checkpoint: str, out: Path | str, *, top_k: int = 20, as_of: datetime | None = None,
                users: list[str] | None = None, shard: tuple[int, int] | None = None,
                config: DecodingConfig = DecodingConfig(), load_in_4bit: bool = False,
                on_progress: Callable[[float, str], None] | None = None) -> ScoreRun:
    """Write each user's `top_k` most likely next rejections by `checkpoint` to the Parquet file `out`
    (replaced whole, never half-written), `SCORE_CHUNK_USERS` users at a time. `shard` (index, count): only the
    users of that shard (`in_shard`), so that machines (or processes) can share a log's users."""
    out = Path(out)
    if out.suffix != ".parquet":
        raise ConrecError(f"{out}: the score file is Parquet; name it FILE.parquet")
    if not out.parent.is_dir():
        raise ConrecError(f"{out.parent} is not a folder")
    if shard is not None and not 0 <= shard[0] < shard[1]:
        raise ConrecError(f"shard {shard[0]} of {shard[1]}: the index runs from 0 to {shard[1] - 1}")
    progress = on_progress or (lambda fraction, message: None)
    config = replace(config, returns=top_k, beams=max(config.beams, top_k), prior_weight=0.0)
    folder = checkpoint_dir(workspace, checkpoint)
    training = read_training(folder)
    codebook = load_codebook(workspace, training.get("codebook", "default"))
    progress(0.0, "listing the users")
    moment = score_moment(workspace, as_of)
    chosen = users_to_score(workspace, moment, users, shard)
    if not chosen:
        raise ConrecError(f"no user has an event by {moment:%Y-%m-%d %H:%M} UTC"
                          + (f" in shard {shard[0]} of {shard[1]}" if shard else ""))
    progress(0.0, "loading the checkpoint")
    backbone, training = load_checkpoint(folder, codebook=codebook, load_in_4bit=load_in_4bit)
    sft = SFTConfig.from_dict(training.get("sft", {}))
    run = DecodingRun(codebook, backbone, sft, [], [], [])
    run = replace(run, built_trie=run.trie)  # one trie for every chunk
    clock, rows = time.perf_counter(), 0
    partial = out.with_name(f".{out.name}.partial")
    try:
        with pq.ParquetWriter(partial, SCORE_SCHEMA) as writer:
            for start in range(0, len(chosen), SCORE_CHUNK_USERS):
                chunk = chosen[start:start + SCORE_CHUNK_USERS]

                def ranked(fraction: float, message: str) -> None:
                    done = start + fraction * len(chunk)
                    elapsed = time.perf_counter() - clock
                    progress(done / len(chosen), f"ranked {done:,.0f} of {len(chosen):,} users "
                                                 f"({done / elapsed if elapsed else 0:,.0f} users/s)")

                table = score_chunk(workspace, run, training, moment, chunk, config, top_k, ranked)
                writer.write_table(table)
                rows += table.num_rows
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return ScoreRun(out, len(chosen), rows, moment.replace(tzinfo=timezone.utc), time.perf_counter() - clock)


def score_chunk(workspace, run: DecodingRun, training: dict, moment: datetime, users: list[str],
                config: DecodingConfig, top_k: int, on_progress: Callable[[float, str], None]) -> pa.Table:
    """One chunk of users' rows of the score file."""
    moment, states, seen = states_of(workspace, moment, users)  # listed and checked once, before the chunks
    codebook, sft = run.codebook, run.sft
    kind = training.get("prompt", "negatives")
    positive_items = training.get("grpo", {}).get("positive_items")
    streams = streams_as_of(workspace, [state.user_id for state in states], moment, sft.stream_events) \
        if sft.stream_prompts else [None] * len(states)
    prompts = [stage_prompt(codebook, kind, state, sft, positive_items, stream)
               for state, stream in zip(states, streams)]
    excluded = [seen_rows(codebook, items) for items in seen]
    chunk_run = replace(run, samples=states, prompts=prompts, excluded=excluded)
    decoded = chunk_run.rank(workspace, config, on_progress, unit="users")
    cold = [i for i, state in enumerate(states) if len(state.context_negatives) < max(config.cold_negatives, 1)]
    if cold:  # a user with no negative yet: nothing for the model to read, the most disliked items instead
        decoded = cold_start(workspace, codebook, decoded, cold, excluded, top_k)
    item_ids = codebook.sids.item_ids
    columns = {name: [] for name in SCORE_COLUMNS}
    for state, result in zip(states, decoded):
        columns["user"] += [state.user_id] * len(result.rows)
        columns["rank"] += range(1, len(result.rows) + 1)
        columns["item"] += [item_ids[row] for row in result.rows]
        columns["score"] += map(float, result.scores)
    return pa.table(columns, schema=SCORE_SCHEMA)
