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


# A categorical palette for codes: Plotly's Dark24 then Light24, walked with a stride coprime to its length so
# that codes next to each other (which a continuous scale would paint alike) get unrelated colours.
CODE_PALETTE = ("#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#222A2A", "#B68100", "#750D86", "#EB663B",
                "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE", "#862A16", "#A777F1",
                "#620042", "#1616A7", "#DA60CA", "#6C4516", "#0D2A63", "#AF0038", "#FD3216", "#00FE35", "#6A76FC",
                "#FED4C4", "#FE00CE", "#0DF9FF", "#F6F926", "#FF9616", "#479B55", "#EEA6FB", "#DC587D", "#D626FF",
                "#6E899C", "#00B5F7", "#B68E00", "#C9FBE5", "#FF0092", "#22FFA7", "#E3EE9E", "#86CE00", "#BC7196",
                "#7E7DCD", "#FC6955", "#E48F72")
CODE_STRIDE = 11
OTHER_COLOUR = "#e3e3e3"


def code_colours(codes: pd.Series, parent: pd.Series | None = None, parent_code: int | None = None) -> list[str]:
    """One categorical colour per code; with `parent_code`, items under another parent code are light grey.

    >>> code_colours(pd.Series([0, 1, 0]))
    ['#2E91E5', '#FB00D1', '#2E91E5']
    >>> code_colours(pd.Series([0, 1]), parent=pd.Series([5, 6]), parent_code=6)
    ['#e3e3e3', '#FB00D1']
    """
    colours = [CODE_PALETTE[(int(code) * CODE_STRIDE) % len(CODE_PALETTE)] for code in codes]
    if parent_code is None:
        return colours
    return [colour if int(p) == parent_code else OTHER_COLOUR for colour, p in zip(colours, parent)]

