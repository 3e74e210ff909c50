"""Semantic IDs: codes to tokens and back, and the one-to-one item <-> SID lookups (method §3).

A SID is one token per level, `<a_12><b_7><c_201>`, plus `<d_k>` when items share all level codes: k is the
item's rank within that group, so every item has exactly one SID and every SID exactly one item.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

LEVEL_LETTERS = "abcdefgh"  # level 1 -> a, ...; the collision token takes the letter after the last level
TOKEN_PATTERN = re.compile(r"<([a-h])_(\d+)>")


def level_letter(level: int) -> str:
    return LEVEL_LETTERS[level]


def sid_token(level: int, code: int) -> str:
    return f"<{LEVEL_LETTERS[level]}_{int(code)}>"


def sid_token_list(codes: tuple[int, ...] | list[int]) -> list[str]:
    """The tokens of one SID, one per level (and the collision rank)."""
    return [sid_token(level, code) for level, code in enumerate(codes)]


def format_sid(codes: tuple[int, ...] | list[int]) -> str:
    return "".join(sid_token_list(codes))


def parse_sid(sid: str) -> tuple[int, ...]:
    """Codes of a SID string; ValueError when it is not a well-formed SID."""
    tokens = TOKEN_PATTERN.findall(sid)
    if not tokens or "".join(f"<{a}_{b}>" for a, b in tokens) != sid.strip():
        raise ValueError(f"not a semantic ID: {sid!r}")
    letters = "".join(letter for letter, _ in tokens)
    if letters != LEVEL_LETTERS[:len(letters)]:
        raise ValueError(f"SID tokens out of order: {sid!r}")
    return tuple(int(code) for _, code in tokens)


def resolve_collisions(item_ids: list[str], codes: np.ndarray, distances: np.ndarray) -> list[tuple[int, ...]]:
    """Full SID codes per item: level codes, plus a collision rank for items sharing all of them.

    Within a group the item closest to its quantised vector ranks 0; ties fall back to the item id,
    so the result depends only on the codes and distances, not on input order.
    """
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for row, item_codes in enumerate(map(tuple, codes.tolist())):
        groups[item_codes].append(row)
    full: list[tuple[int, ...]] = [()] * len(item_ids)
    for prefix, rows in groups.items():
        if len(rows) == 1:
            full[rows[0]] = prefix
            continue
        for rank, row in enumerate(sorted(rows, key=lambda r: (round(float(distances[r]), 6), item_ids[r]))):
            full[row] = prefix + (rank,)
    return full


@dataclass
class SemanticIds:
    """Lookups between items and SIDs for one codebook."""

    item_ids: list[str]
    codes: list[tuple[int, ...]]  # full codes per item, collision rank included where needed
    levels: int

    def __post_init__(self):
        self.sids = [format_sid(c) for c in self.codes]
        self.item_to_row = {item: row for row, item in enumerate(self.item_ids)}
        self.sid_to_row = {sid: row for row, sid in enumerate(self.sids)}
        if len(self.sid_to_row) != len(self.sids) or len(self.item_to_row) != len(self.item_ids):
            raise ValueError("SIDs are not one-to-one with items")

    def sid(self, item_id: str) -> str:
        return self.sids[self.item_to_row[item_id]]

    def item(self, sid: str) -> str:
        return self.item_ids[self.sid_to_row[sid]]

    def level_codes(self) -> np.ndarray:
        """(items, levels) codes without the collision rank: what SID -> vector reads."""
        return np.array([c[:self.levels] for c in self.codes], dtype=np.int64)

    def with_prefix(self, prefix: str) -> list[str]:
        """Items whose SID starts with the given tokens."""
        return [self.item_ids[row] for row, sid in enumerate(self.sids) if sid.startswith(prefix)]

    @property
    def fourth_token_share(self) -> float:
        return sum(len(c) > self.levels for c in self.codes) / len(self.codes)


def matching_levels(codes: tuple[int, ...], other: tuple[int, ...]) -> int:
    """How many leading SID levels two items share.

    >>> matching_levels((1, 2, 3), (1, 2, 4)), matching_levels((1, 2, 3), (2, 2, 3))
    (2, 0)
    """
    shared = 0
    for mine, theirs in zip(codes, other):
        if mine != theirs:
            break
        shared += 1
    return shared
