"""Codebook explorer: the item map, the SID hierarchy, search, nearest items and collisions.

Each section is a fragment: using one reruns that section only, not the map of every item.
"""

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app import codebook_data
from app.job_panel import job_panel
from app.workspace_picker import pick_workspace
from conrec_core.errors import ConrecError
from conrec_core.jobs.params import MapJob
from conrec_core.jobs.registry import JobRegistry
from conrec_core.data.csv_export import csv_text
from conrec_core.views.codebook import code_colours, fourth_token_items, hierarchy_counts, search_items
from app.plain import as_text

TABLE_COLUMNS = ["item_id", "title", "category", "sid", "reconstruction_cosine"]

st.title("Codebook explorer")
workspace = pick_workspace()
chosen = codebook_data.pick_codebook(workspace)
if chosen is None:
    st.info("This workspace has no codebook yet: train one on the Codebook trainer page.")
    st.stop()
name = chosen["name"]
levels = len(chosen["report"]["utilisation"])
letters = [chr(ord("a") + level) for level in range(levels)]


def map_figure(items, colour_column: str, parent_code: int | None = None) -> go.Figure:
    hover = items.title + "<br>" + items.sid + "<br>" + items.category
    if colour_column == "category":  # a few named groups: one trace each, with a legend
        figure = px.scatter(items, x="x", y="y", color="category", render_mode="webgl", custom_data=["item_id"],
                            hover_name="title", hover_data={"sid": True, "x": False, "y": False})
    else:  # up to 256 codes: categorical colours (a legend of 256 entries helps nobody; the hover names the code)
        parent = items[letters[0]] if parent_code is not None else None
        figure = go.Figure(go.Scattergl(
            x=items.x, y=items.y, mode="markers", customdata=items[["item_id"]].to_numpy(), text=hover,
            hovertemplate="%{text}<extra></extra>",
            marker=dict(color=code_colours(items[colour_column], parent, parent_code))))
    figure.update_traces(marker_size=5, marker_opacity=0.8)
    figure.update_layout(height=560, margin=dict(l=0, r=0, t=10, b=0), dragmode="lasso",
                         xaxis_visible=False, yaxis_visible=False)
    return figure


@st.fragment
def item_map() -> None:
    st.subheader("Item map")
    items = codebook_data.items(workspace, name)
    if items.x.isna().all():
        st.info("This codebook has no item map yet: it was trained without one. Build it here (UMAP of the items' "
                "SID vectors, about a minute for ten thousand items).")
        if st.button("Build the item map", key="map_build"):
            try:
                job = JobRegistry(workspace).submit("map", MapJob(codebook=name))
                st.toast(f"Map job {job.id} is {job.status}.")
            except ConrecError as error:
                st.error(as_text(error))
        job_panel(workspace, "map", "item map")
        return
    options = [f"SID level {level + 1}" for level in range(levels)] + ["category"]
    colour = st.radio("Colour by", options, horizontal=True, key="map_colour")
    colour_column = "category" if colour == "category" else letters[int(colour.split()[-1]) - 1]
    parent_code = None
    if colour_column not in ("category", letters[0]):
        parents = items[letters[0]].value_counts()
        choice = st.selectbox("Within the level-1 code", ["all codes"] + [int(c) for c in parents.index],
                              key="map_parent", format_func=lambda c: c if c == "all codes" else
                              f"<a_{c}> ({parents[c]:,} items)",
                              help="colour only the items under one level-1 code, by their deeper code")
        parent_code = None if choice == "all codes" else int(choice)
    event = st.plotly_chart(map_figure(items, colour_column, parent_code), width="stretch", on_select="rerun",
                            selection_mode=("box", "lasso"), key="item_map")
    picked = {point["customdata"][0] for point in event.selection.points} if event and event.selection else set()
    selected = items[items.item_id.isin(picked)]
    if len(selected):
        st.write(f"**{len(selected):,} items selected**")
        st.dataframe(selected[TABLE_COLUMNS], hide_index=True, width="stretch")
        st.download_button("Download the selection (CSV)", csv_text(selected[TABLE_COLUMNS]),
                           file_name=f"{name}-selection.csv", mime="text/csv")
    else:
        st.caption("Draw a box or a lasso on the map to list and download the items inside it.")


@st.fragment
def hierarchy() -> None:
    st.subheader("SID hierarchy")
    depth = st.slider("Levels shown", 1, min(levels, 3), min(levels, 2), key="hierarchy_depth",
                      help="click a tile to zoom into its prefix; with 256 codes per level, deeper is denser")
    counts = hierarchy_counts(codebook_data.items(workspace, name), depth)
    chart = px.treemap(counts, path=[px.Constant("all items")] + [f"{letter}_token" for letter in letters[:depth]],
                       values="items")
    chart.update_traces(root_color="lightgrey", hovertemplate="%{id}<br>%{value} items<extra></extra>")
    chart.update_layout(height=520, margin=dict(l=0, r=0, t=10, b=0))
    st.plotly_chart(chart, width="stretch")


@st.fragment
def find_items() -> None:
    st.subheader("Find items")
    query = st.text_input("Title contains, or SID prefix such as <a_12><b_7>", key="item_search")
    if query:
        found = search_items(codebook_data.items(workspace, name), query)
        st.write(f"{len(found):,} items" + (" (first 200)" if len(found) == 200 else ""))
        st.dataframe(found[TABLE_COLUMNS], hide_index=True, width="stretch")


@st.fragment
def nearest_items() -> None:
    st.subheader("Nearest items")
    items = codebook_data.items(workspace, name)
    labels = codebook_data.item_labels(workspace, name)
    item = st.selectbox("Item", list(labels), format_func=labels.get, index=None, placeholder="Type to search…",
                        key="nearest_item")
    if item:
        neighbours = codebook_data.index(workspace, name).nearest(item, k=10)
        near = items.set_index("item_id").loc[[n for n, _ in neighbours], ["title", "category", "sid"]]
        near.insert(0, "cosine", [round(score, 3) for _, score in neighbours])
        st.dataframe(near, width="stretch")
        st.caption("Similarity of SID vectors (the sum of the chosen codewords): what rewards and filters use.")
        identical = sum(score >= 0.9995 for _, score in neighbours)
        if identical == len(neighbours):
            st.warning(f"All {identical} neighbours have this item's very SID vector (cosine 1): these items share "
                       "their codes up to the last level, typically items with no text and too few events to tell "
                       "apart. Their ranks above say nothing about which is closer.")


item_map()
hierarchy()
find_items()
nearest_items()

st.subheader("Items that needed a 4th token")
all_items = codebook_data.items(workspace, name)
shared = fourth_token_items(all_items)
st.caption(f"{len(shared):,} items ({len(shared) / len(all_items):.1%}) share all {levels} level codes with "
           "another item; the 4th token ranks them, closest to the shared codeword first.")
st.dataframe(shared[["prefix", "collision_rank", "sid", "title", "category"]], hide_index=True, width="stretch")
