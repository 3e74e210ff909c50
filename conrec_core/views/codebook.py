"""Tables the codebook pages show: items with their SIDs and map position, hierarchy counts, search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..semantic_ids.sids import LEVEL_LETTERS
from ..data.workspace import open_workspace


def codebook_items(workspace: Path | str, name: str) -> pd.DataFrame:
    """One row per item: id, title, category, sid, code per level (a, b, c, ...), collision rank, x, y,
    reconstruction cosine and the SID vector."""
    with open_workspace(workspace) as con:
        frame = con.execute("""
            SELECT s.item_id, coalesce(i.title, '(no title) ' || s.item_id) AS title,
                   coalesce(i.category, '(none)') AS category, s.sid, s.codes, m.x, m.y,
                   s.reconstruction_cosine, s.vector
            FROM item_sids s JOIN items i USING (item_id)
            LEFT JOIN item_map m ON m.codebook = s.codebook AND m.item_id = s.item_id
            WHERE s.codebook = ? ORDER BY s.item_id""", [name]).df()
        levels = con.execute("SELECT CAST(json_extract(config, '$.levels') AS INTEGER) FROM codebooks "
                             "WHERE name = ?", [name]).fetchall()[0][0]
    codes = np.array([list(c)[:levels] for c in frame.codes])
    for level in range(levels):
        frame[LEVEL_LETTERS[level]] = codes[:, level]
    frame["collision_rank"] = [c[levels] if len(c) > levels else None for c in frame.codes]
    return frame.drop(columns="codes")


def hierarchy_counts(items: pd.DataFrame, depth: int = 3) -> pd.DataFrame:
    """Items per SID prefix down to `depth` levels, as labelled path columns for a sunburst or treemap."""
    letters = [LEVEL_LETTERS[level] for level in range(depth) if LEVEL_LETTERS[level] in items]
    counts = items.groupby(letters).size().reset_index(name="items")
    for letter in letters:
        counts[f"{letter}_token"] = "<" + letter + "_" + counts[letter].astype(str) + ">"
    return counts


def search_items(items: pd.DataFrame, query: str, limit: int = 200) -> pd.DataFrame:
    """Items whose title contains the query (any case), or whose SID starts with it when it starts with '<'."""
    query = query.strip()
    if not query:
        return items.iloc[:0]
    if query.startswith("<"):
        found = items[items.sid.str.startswith(query)]
    else:
        found = items[items.title.str.contains(query, case=False, regex=False)]
    return found.head(limit)


def fourth_token_items(items: pd.DataFrame) -> pd.DataFrame:
    """Items that share all level codes with another item, grouped by their shared prefix."""
    shared = items[items.collision_rank.notna()].copy()
    shared["prefix"] = shared.sid.str.replace(r"<[a-h]_\d+>$", "", regex=True)
    return shared.sort_values(["prefix", "collision_rank"])
