"""Codebook explorer: the item map, the SID hierarchy, search, nearest items and collisions."""

import plotly.express as px
import streamlit as st

from app import codebook_data
from app.workspace_picker import pick_workspace
from conrec_core.codebook_views import fourth_token_items, hierarchy_counts, search_items

st.title("Codebook explorer")
workspace = pick_workspace()
chosen = codebook_data.pick_codebook(workspace)
if chosen is None:
    st.info("This workspace has no codebook yet: train one on the Codebook trainer page.")
    st.stop()
items = codebook_data.items(workspace, chosen["name"])
levels = len(chosen["report"]["utilisation"])
letters = [chr(ord("a") + level) for level in range(levels)]
table_columns = ["item_id", "title", "category", "sid", "reconstruction_cosine"]

st.subheader("Item map")
colour_options = [f"SID level {level + 1}" for level in range(levels)] + ["category"]
colour = st.radio("Colour by", colour_options, horizontal=True)
colour_column = "category" if colour == "category" else letters[int(colour.split()[-1]) - 1]
if items.x.isna().all():
    st.info("This codebook was trained without a map (--no-map).")
    selected = items.iloc[:0]
else:
    shown = items.assign(colour=items[colour_column].astype(str))
    chart = px.scatter(shown, x="x", y="y", color="colour", render_mode="webgl", custom_data=["item_id"],
                       hover_name="title", hover_data={"sid": True, "category": True, "x": False, "y": False,
                                                       "colour": False})
    chart.update_traces(marker=dict(size=5, opacity=0.8))
    chart.update_layout(height=560, showlegend=colour_column == "category" or items[colour_column].nunique() <= 20,
                        margin=dict(l=0, r=0, t=10, b=0), dragmode="lasso", xaxis_visible=False,
                        yaxis_visible=False)
    event = st.plotly_chart(chart, width="stretch", on_select="rerun", selection_mode=("box", "lasso"),
                            key="item_map")
    picked = {point["customdata"][0] for point in event.selection.points} if event and event.selection else set()
    selected = items[items.item_id.isin(picked)]
if len(selected):
    st.write(f"**{len(selected):,} items selected**")
    st.dataframe(selected[table_columns], hide_index=True, width="stretch")
    st.download_button("Download the selection (CSV)", selected[table_columns].to_csv(index=False),
                       file_name=f"{chosen['name']}-selection.csv", mime="text/csv")
else:
    st.caption("Draw a box or a lasso on the map to list and download the items inside it.")

st.subheader("SID hierarchy")
depth = st.slider("Levels shown", 1, min(levels, 3), min(levels, 2),
                  help="click a tile to zoom into its prefix; with 256 codes per level, deeper is denser")
counts = hierarchy_counts(items, depth)
chart = px.treemap(counts, path=[px.Constant("all items")] + [f"{letter}_token" for letter in letters[:depth]],
                   values="items")
chart.update_traces(root_color="lightgrey", hovertemplate="%{id}<br>%{value} items<extra></extra>")
chart.update_layout(height=520, margin=dict(l=0, r=0, t=10, b=0))
st.plotly_chart(chart, width="stretch")

st.subheader("Find items")
query = st.text_input("Title contains, or SID prefix such as <a_12><b_7>", key="item_search")
found = search_items(items, query)
if query:
    st.write(f"{len(found):,} items" + (" (first 200)" if len(found) == 200 else ""))
    st.dataframe(found[table_columns], hide_index=True, width="stretch")

st.subheader("Nearest items")
labels = dict(zip(items.item_id, items.title + "  " + items.sid))
item = st.selectbox("Item", list(labels), format_func=labels.get, index=None, placeholder="Type to search…",
                    key="nearest_item")
if item:
    neighbours = codebook_data.index(workspace, chosen["name"]).nearest(item, k=10)
    near = items.set_index("item_id").loc[[n for n, _ in neighbours], ["title", "category", "sid"]]
    near.insert(0, "cosine", [round(score, 3) for _, score in neighbours])
    st.dataframe(near, width="stretch")
    st.caption("Similarity of SID vectors (the sum of the chosen codewords): what rewards and filters use.")

st.subheader("Items that needed a 4th token")
shared = fourth_token_items(items)
st.caption(f"{len(shared):,} items ({len(shared) / len(items):.1%}) share all {levels} level codes with "
           "another item; the 4th token ranks them, closest to the shared codeword first.")
st.dataframe(shared[["prefix", "collision_rank", "sid", "title", "category"]], hide_index=True, width="stretch")
