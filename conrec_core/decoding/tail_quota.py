"""A quota of long-tail items in a fused ranking: its top K holds at least as many items few users rejected as
its members' top K held, on average.

Fused SID models rank first what several members agree on, and members agree most on popular items, so fusion
lowers the share of long-tail items (LIF@20) that each member had. The quota takes them back from the items the
fusion ranked below K: it replaces the lowest-ranked popular items of the top K by the best-ranked long-tail items
below it, until the top K holds the quota (or the ranking has no more). A list that already holds enough is left
as it is. The default quota, `MEMBERS`, is each sample's own: the members' mean number of long-tail items in their
top K, rounded down, so the fusion keeps the long-tail share its members predicted and sets no number of its own.
A fixed number is, in its simplest form, the re-ranking against popularity bias of Abdollahpouri et al. (FLAIRS
2019). `docs/decisions.md#long-tail-quota` has what each costs.

A calibration strength raises a sample's quota towards its user's own share of long-tail items among their earlier
negatives (`calibrated_quota`): Steck's calibrated recommendations (RecSys 2018), with long-tail and popular as the
two categories. The members predict much the same share for every user; users differ, and those who rejected
long-tail items before mostly go on doing so. `docs/decisions.md#long-tail-calibration` has what it bought.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

MEMBERS = "members"  # the quota of each sample: its members' mean long-tail count in their top K, rounded down


def valid_tail_quota(quota: object, k: int) -> bool:
    """Whether `quota` is `MEMBERS` or a whole number from 0 to `k` (the items a list keeps).

    >>> valid_tail_quota(MEMBERS, 20), valid_tail_quota(20, 20), valid_tail_quota(21, 20), valid_tail_quota("4", 20)
    (True, True, False, False)
    """
    return quota == MEMBERS or (isinstance(quota, int) and 0 <= quota <= k)


def valid_tail_calibration(strength: object) -> bool:
    """Whether `strength` is a number from 0 to 1 (a share of the user's own long-tail share).

    >>> [valid_tail_calibration(strength) for strength in (0.5, 0, 1.5, "0.5")]
    [True, True, False, False]
    """
    return isinstance(strength, (int, float)) and 0.0 <= strength <= 1.0


def members_quota(rankings: Sequence[Sequence[str]], k: int, long_tail: Collection[str]) -> int:
    """The members' mean number of long-tail items in their top `k`, rounded down.

    >>> members_quota([["t1", "a", "t2"], ["a", "b", "t1"]], 2, {"t1", "t2"})
    0
    >>> members_quota([["t1", "a", "t2"], ["t3", "t1", "b"]], 2, {"t1", "t2", "t3"})
    1
    """
    if not rankings:
        return 0
    return sum(sum(item in long_tail for item in ranking[:k]) for ranking in rankings) // len(rankings)


def calibrated_quota(history: Sequence[str], k: int, long_tail: Collection[str], strength: float) -> int:
    """`strength` times the long-tail share of `history` (a user's earlier negatives) of `k` items, rounded; 0
    without history.

    >>> calibrated_quota(["t1", "a", "t2", "b"], 20, {"t1", "t2"}, 0.5), calibrated_quota([], 20, {"t1"}, 1.0)
    (5, 0)
    """
    if not valid_tail_calibration(strength):
        raise ValueError(f"a calibration strength is between 0 and 1, not {strength!r}")
    if not history:
        return 0
    return round(strength * k * sum(item in long_tail for item in history) / len(history))


def with_tail_quota(ranked: Sequence[str], k: int, long_tail: Collection[str], quota: int) -> list[str]:
    """The top `k` of best-first `ranked`, holding at least `quota` long-tail items where `ranked` has them; the
    items kept stay in their order, the long-tail items taken in come last in theirs.

    >>> with_tail_quota(["a", "b", "c", "t1", "t2"], 3, {"t1", "t2"}, 2)
    ['a', 't1', 't2']
    >>> with_tail_quota(["t1", "a", "b", "t2"], 2, {"t1", "t2"}, 1)
    ['t1', 'a']
    """
    if quota < 0 or quota > k:
        raise ValueError(f"a long-tail quota is between 0 and K ({k}), not {quota}")
    top, below = list(ranked[:k]), ranked[k:]
    missing = quota - sum(item in long_tail for item in top)
    taken = [item for item in below if item in long_tail][:max(missing, 0)]
    if not taken:
        return top
    dropped = set([item for item in reversed(top) if item not in long_tail][:len(taken)])
    return [item for item in top if item not in dropped] + taken


def parse_tail_quota(text: str) -> int | str:
    """A quota as the command line gives it: `members` or a whole number."""
    if text == MEMBERS:
        return MEMBERS
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"a long-tail quota is {MEMBERS!r} or a whole number, not {text!r}") from None
