"""The dislike list for production: for each user, the K items a checkpoint finds them most likely to reject
next, given every event up to a moment, as a long-form Parquet file (user, rank, item, score).

Unlike `predict`, which scores the evaluation samples' anchors, this reads each user's log as it stands at
`as_of` (by default the end of the log): the prompt holds their latest negatives (and positives, for a checkpoint
whose prompt shows them), and no item they already met is returned, under the workspace's own rule.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

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


def user_states(workspace, as_of: datetime | None = None, users: list[str] | None = None
                ) -> tuple[datetime, list[Sample], list[tuple[str, ...]]]:
    """Each user's log up to `as_of` as a Sample (no target, no future) and the items they have met, with the
    moment used. Users with no event by then are left out; a listed user the workspace does not hold is an
    error."""
    config = read_sample_config(workspace)
    kinds = ["negative", "positive"] + (["neutral"] if config.exclude_seen == "all_events" else [])
    with open_workspace(workspace) as con:
        end = con.execute("SELECT max(ts) FROM events").fetchall()[0][0]
        if end is None:
            raise ConrecError("the workspace holds no events")
        moment = as_of.astimezone(timezone.utc).replace(tzinfo=None) if as_of else end
        if users is not None:
            con.execute("CREATE TEMP TABLE wanted AS SELECT DISTINCT unnest(?::VARCHAR[]) AS user_id", [users])
            missing = [u for (u,) in con.execute("SELECT user_id FROM wanted ANTI JOIN (SELECT DISTINCT user_id "
                                                 "FROM events) USING (user_id) ORDER BY user_id LIMIT 6").fetchall()]
            if missing:
                raise ConrecError(f"no such user(s) in the workspace: {', '.join(missing[:5])}"
                                  + (" and more" if len(missing) > 5 else ""))
        where = "AND user_id IN (SELECT user_id FROM wanted)" if users is not None else ""
        rows = con.execute(f"""
            SELECT user_id,
                   coalesce(list(item_id ORDER BY ts, event_id) FILTER (WHERE kind = 'negative'), []),
                   coalesce(list(item_id ORDER BY ts, event_id) FILTER (WHERE kind = 'negative' AND ts > ?), []),
                   coalesce(list(item_id ORDER BY ts, event_id) FILTER (WHERE kind = 'positive'), []),
                   coalesce(list(DISTINCT item_id) FILTER (WHERE list_contains(?, kind)), [])
            FROM events WHERE ts <= ? {where}
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
                users: list[str] | None = None, config: DecodingConfig = DecodingConfig(),
                load_in_4bit: bool = False,
                on_progress: Callable[[float, str], None] | None = None) -> ScoreRun:
    """Write each user's `top_k` most likely next rejections by `checkpoint` to the Parquet file `out`
    (replaced whole, never half-written)."""
    out = Path(out)
    if out.suffix != ".parquet":
        raise ConrecError(f"{out}: the score file is Parquet; name it FILE.parquet")
    if not out.parent.is_dir():
        raise ConrecError(f"{out.parent} is not a folder")
    progress = on_progress or (lambda fraction, message: None)
    config = replace(config, returns=top_k, beams=max(config.beams, top_k), prior_weight=0.0)
    folder = checkpoint_dir(workspace, checkpoint)
    training = read_training(folder)
    codebook = load_codebook(workspace, training.get("codebook", "default"))
    progress(0.0, "reading each user's log")
    moment, states, seen = user_states(workspace, as_of, users)
    if not states:
        raise ConrecError(f"no user has an event by {moment:%Y-%m-%d %H:%M} UTC")
    progress(0.0, "loading the checkpoint")
    backbone, training = load_checkpoint(folder, codebook=codebook, load_in_4bit=load_in_4bit)
    sft = SFTConfig.from_dict(training.get("sft", {}))
    kind = training.get("prompt", "negatives")
    positive_items = training.get("grpo", {}).get("positive_items")
    streams = streams_as_of(workspace, [state.user_id for state in states], moment, sft.stream_events) \
        if sft.stream_prompts else [None] * len(states)
    prompts = [stage_prompt(codebook, kind, state, sft, positive_items, stream)
               for state, stream in zip(states, streams)]
    excluded = [seen_rows(codebook, items) for items in seen]
    run = DecodingRun(codebook, backbone, sft, states, prompts, excluded)
    clock = time.perf_counter()

    def ranked(fraction: float, message: str) -> None:
        elapsed = time.perf_counter() - clock
        progress(fraction, f"{message} ({fraction * len(states) / elapsed if elapsed else 0:,.0f} users/s)")

    decoded = run.rank(workspace, config, ranked, unit="users")
    cold = [i for i, state in enumerate(states) if len(state.context_negatives) < max(config.cold_negatives, 1)]
    if cold:  # a user with no negative yet: nothing for the model to read, the most disliked items instead
        decoded = cold_start(workspace, codebook, decoded, cold, excluded, top_k)
    item_ids = codebook.sids.item_ids
    table = pd.DataFrame.from_records(
        [(state.user_id, rank, item_ids[row], float(score))
         for state, result in zip(states, decoded)
         for rank, (row, score) in enumerate(zip(result.rows, result.scores), start=1)],
        columns=list(SCORE_COLUMNS))
    partial = out.with_name(f".{out.name}.partial")
    table.to_parquet(partial, index=False)
    os.replace(partial, out)
    return ScoreRun(out, len(states), len(table), moment, time.perf_counter() - clock)
