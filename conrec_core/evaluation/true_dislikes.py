"""How often predictions hit a user's true latent dislikes, where a dataset ships them (the synthetic world's
`true_dislikes` table: user_id, facet, value, weight).

Observed negatives mix taste with exposure noise (what the feed happened to show, a misclick), so a method can
score FHR by learning the noise. This measure asks instead whether a predicted item carries a facet the user
truly dislikes: facet `category` matches the item's category exactly; any other facet (colour, style,
material) matches when its value occurs as whole words in the item's title or text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from ..data.workspace import open_workspace


@dataclass
class TrueDislikes:
    profiles: dict[str, list[tuple[str, str]]]  # user -> (facet, lower-case value)
    categories: dict[str, str]  # item -> lower-case category
    words: dict[str, str]  # item -> " title and text words " in lower case, padded for whole-word search

    def matches(self, user: str, item: str) -> bool | None:
        """Whether the item carries one of the user's disliked facets; None for a user without a profile."""
        profile = self.profiles.get(user)
        if profile is None:
            return None
        for facet, value in profile:
            if facet == "category":
                if self.categories.get(item) == value:
                    return True
            elif f" {value} " in self.words.get(item, ""):
                return True
        return False

    def share(self, user: str, items: list[str]) -> float | None:
        """Share of `items` that match the user's profile (None without a profile or without items).

        >>> truth = TrueDislikes({"u": [("category", "toys"), ("color", "neon green")]},
        ...                      {"a": "toys", "b": "books", "c": "books"},
        ...                      {"a": " a ", "b": " neon green book ", "c": " green book "})
        >>> truth.share("u", ["a", "b", "c", "d"])
        0.5
        >>> truth.share("nobody", ["a"]) is None
        True
        """
        if not items or user not in self.profiles:
            return None
        return sum(bool(self.matches(user, item)) for item in items) / len(items)


def load_true_dislikes(workspace) -> TrueDislikes | None:
    """The workspace's latent dislike profiles, or None when it has none (real logs)."""
    with open_workspace(workspace) as con:
        rows = con.execute("SELECT user_id, facet, value FROM true_dislikes WHERE value IS NOT NULL").fetchall()
        if not rows:
            return None
        items = con.execute("SELECT item_id, category, concat_ws(' ', title, text) FROM items").fetchall()
    profiles: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for user, facet, value in rows:
        profiles[user].append((facet.strip().lower(), normalise(value)))
    return TrueDislikes(dict(profiles), {item: normalise(category or "") for item, category, _ in items},
                        {item: f" {normalise(text or '')} " for item, _, text in items})


def reference_shares(truth: TrueDislikes, samples) -> dict[str, float | None]:
    """What a method's share is measured against: the share among the users' observed future negatives
    (how much of the label is taste rather than exposure noise) and among all catalogue items (chance)."""
    observed = [truth.share(u, list(f)) for u, f in zip(samples["user_id"], samples["future_negatives"])]
    catalogue = list(truth.categories)
    chance = [truth.share(u, catalogue) for u in dict.fromkeys(samples["user_id"])]
    return {"observed_future_negatives": _mean(observed), "catalogue": _mean(chance)}


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def normalise(text: str) -> str:
    """Lower case, runs of non-word characters to one space.

    >>> normalise("Beige plastic, VINTAGE-style.")
    'beige plastic vintage style'
    """
    return " ".join(re.split(r"\W+", text.lower())).strip()
