"""Several models' stored predictions fused into one prediction set by reciprocal-rank fusion.

Seeds of the same settings disagree more on MovieLens small than most modelling changes move FHR@20, and their
errors differ: fusing the top 20 of three seeds of one SFT model beat every one of them on validation.
Fusion needs no model in memory, only what `predict` stored, so the members can be
any prediction sets decoded with one codebook on one split (seeds, decodings, SFT and GRPO checkpoints).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..data.samples import long_tail_items
from ..data.workspace import check_name, open_workspace
from ..errors import ConrecError
from ..metrics import future_hit_rate, hit_rate, mean
from ..lm.checkpoint_paths import checkpoint_dir
from .prediction_store import write_predictions
from .tail_quota import (MEMBERS, calibrated_quota, members_quota, valid_tail_calibration, valid_tail_quota,
                         with_tail_quota)

# Cormack, Clarke and Büttcher (SIGIR 2009): with 60 a member's first and twentieth items weigh 1/61 and 1/80,
# so an item two members rank anywhere in their top 20 outranks one that a single member ranks first.
RRF_K = 60


@dataclass(frozen=True)
class EnsembleRun:
    name: str
    members: tuple[str, ...]
    samples: int
    hr: float | None  # HR@K over the fused samples
    fhr: float | None  # FHR@K
    k: int
    tail_quota: int | str = 0  # long-tail items each fused top K holds at least: a number, or MEMBERS (lm/tail_quota)
    tail_calibration: float = 0.0  # and at least this share of the user's earlier long-tail share (lm/tail_quota)

    def to_dict(self) -> dict:
        return {**self.__dict__, "members": list(self.members)}


def fuse_ranks(rankings: list[list[str]], k: int, rrf_k: int = RRF_K) -> list[tuple[str, float]]:
    """The top `k` items of several best-first rankings by their summed 1 / (rrf_k + rank), rank from 1; ties go
    to the item met first, reading the rankings rank by rank."""
    scores: dict[str, float] = {}
    order: dict[str, int] = {}
    for rank in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking):
                item = ranking[rank]
                scores[item] = scores.get(item, 0.0) + 1.0 / (rrf_k + rank + 1)
                order.setdefault(item, len(order))
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))[:k]


def ensemble_predictions(workspace, members: list[str], name: str, split: str = "test",
                         k: int = 20, tail_quota: int | str = 0, tail_calibration: float = 0.0) -> EnsembleRun:
    """Fuse the members' stored predictions for every `split` sample they all cover and store the result as
    prediction set `name`, which `evaluate` then scores like any other. With `tail_quota` each sample's top `k`
    holds at least that many long-tail items, taken from the fused ranking below `k`; with `MEMBERS`, as many as
    the members' top `k` held on average (`decoding/tail_quota.py`). With `tail_calibration` (0 to 1) the quota is at least
    that share of the long-tail share among the user's earlier negatives (`calibrated_quota`)."""
    check_name(name, "prediction set")
    if k < 1:
        raise ConrecError(f"an ensemble keeps at least 1 item per sample, not {k}")
    if not valid_tail_quota(tail_quota, k):
        raise ConrecError(f"the long-tail quota is {MEMBERS!r} or between 0 and the {k} items kept, not "
                          f"{tail_quota!r}")
    if not valid_tail_calibration(tail_calibration):
        raise ConrecError(f"the long-tail calibration is a strength from 0 to 1, not {tail_calibration!r}")
    members = list(dict.fromkeys(members))
    if len(members) < 2:
        raise ConrecError("an ensemble needs at least two prediction sets")
    if name in members:
        raise ConrecError(f"the ensemble's name {name!r} is one of its members: choose another")
    if checkpoint_dir(workspace, name).exists():  # its own predictions would be replaced by the ensemble's
        raise ConrecError(f"{name!r} is a checkpoint of this workspace: give the ensemble another name")
    with open_workspace(workspace) as con:
        rows = con.execute("""
            SELECT p.checkpoint, p.sample_id, p.user_id, p.anchor_ts, p.rank, p.sid, p.item_id,
                   s.next_negative, s.future_negatives, s.context_negatives
            FROM predictions p JOIN samples s USING (sample_id)
            WHERE s.split = ? AND list_contains(?, p.checkpoint)
            ORDER BY p.sample_id, p.checkpoint, p.rank""", [split, members]).fetchall()
    ranked: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    sids: dict[str, str] = {}
    samples: dict[int, tuple] = {}
    for member, sample_id, user_id, anchor, _, sid, item, next_negative, future, history in rows:
        ranked[sample_id][member].append(item)
        if sids.setdefault(item, sid) != sid:
            raise ConrecError(f"item {item!r} has SID {sids[item]} in one member and {sid} in another: the members "
                              f"were decoded with different codebooks, so their SIDs cannot share one set")
        samples[sample_id] = (user_id, anchor, next_negative, future, history)
    missing = [m for m in members if not any(m in by_member for by_member in ranked.values())]
    if missing:
        raise ConrecError(f"no {split} predictions stored for {', '.join(map(repr, missing))}: run predict "
                          f"--split {split} for them first")
    partial = sorted(s for s, by_member in ranked.items() if len(by_member) < len(members))
    if partial:
        raise ConrecError(f"{len(partial):,} {split} samples (e.g. {partial[0]}) lack predictions of some members: "
                          f"predict every member for the same samples")
    long_tail = long_tail_items(workspace) if tail_quota or tail_calibration else set()
    records, hr, fhr = [], [], []
    for sample_id in sorted(ranked):
        user_id, anchor, next_negative, future, history = samples[sample_id]
        rankings = [ranked[sample_id][m] for m in members]
        scores = dict(fuse_ranks(rankings, sum(map(len, rankings))))
        quota = members_quota(rankings, k, long_tail) if tail_quota == MEMBERS else tail_quota
        quota = max(quota, calibrated_quota(history, k, long_tail, tail_calibration))
        items = with_tail_quota(list(scores), k, long_tail, quota)
        hr.append(hit_rate(items, next_negative, k))
        fhr.append(future_hit_rate(items, list(future), k))
        records += [(sample_id, user_id, anchor, rank, sids[item], item, scores[item])
                    for rank, item in enumerate(items, start=1)]
    write_predictions(workspace, name, sorted(ranked), records)
    return EnsembleRun(name, tuple(members), len(ranked), mean(hr), mean(fhr), k, tail_quota, tail_calibration)
