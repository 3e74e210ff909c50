"""User inspector: one user's dislikes, what the model predicts they will reject next, and what they did."""

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app import codebook_data, inspector_data
from app.workspace_picker import pick_workspace
from conrec_core.evaluation.method_labels import method_label
from conrec_core.views.user import swing_neighbours_of, user_view

KIND_COLOURS = {"negative": "#d62728", "positive": "#2ca02c"}

st.title("User inspector")
st.caption("Pick a user: their dislikes and likes on a timeline, the model's predicted dislikes for a test sample "
           "beside the negatives they really gave in the next days, and where those items sit on the item map.")
workspace = pick_workspace()
chosen = codebook_data.pick_codebook(workspace)
pairs = inspector_data.predicted_users(workspace)
if chosen is None or pairs.empty:
    st.info("No predictions in this workspace yet: run them on the Checkpoints page (or `python -m conrec_core "
            f"predict --workspace {workspace} --checkpoint NAME`).")
    st.stop()

left, middle, right = st.columns([2, 2, 3])
checkpoint = left.selectbox("Predictions of", sorted(pairs["checkpoint"].unique()), key="inspector_checkpoint",
                            format_func=method_label)
users = sorted(pairs.loc[pairs["checkpoint"] == checkpoint, "user_id"])
best, worst = inspector_data.ranked_users(workspace, checkpoint)
source = middle.radio("Choose from", ["all users", "best FHR", "worst FHR"], horizontal=True, key="inspector_source",
                      index=0 if best.empty else 1, disabled=best.empty, help="best and worst need `evaluate` (or the pipeline) to have scored "
                                                "this checkpoint")
options = {"all users": users, "best FHR": best.get("user_id", []), "worst FHR": worst.get("user_id", [])}[source]
known = set(users)
options = [u for u in options if u in known] or users
user = right.selectbox("User (type to search)", options, key="inspector_user")

view = user_view(workspace, user, checkpoint, codebook=chosen["name"])
history = view.history
if history.empty:
    st.info("This user has no negative or positive events.")
    st.stop()

timeline = px.scatter(history, x="ts", y="kind", color="kind", color_discrete_map=KIND_COLOURS, hover_name="title",
                      category_orders={"kind": ["negative", "neutral", "positive"]},  # the same rows for every user
                      hover_data={"category": True, "split": True, "kind": False, "ts": True},
                      title=f"History of {user}: {int((history.kind == 'negative').sum())} negatives, "
                            f"{int((history.kind == 'positive').sum())} positives")
for index, sample in enumerate(view.samples.itertuples()):  # one label: overlapping windows would stack theirs
    timeline.add_vrect(x0=sample.anchor_ts, x1=sample.window_end, fillcolor="#ff7f0e", opacity=0.12, line_width=0,
                       **({"annotation_text": "future windows (orange)", "annotation_position": "inside top left"}
                          if index == 0 else {}))
timeline.update_traces(marker_size=9, marker_symbol="line-ns-open", marker_line_width=2)
timeline.update_layout(height=260, margin=dict(l=0, r=0, t=40, b=0), showlegend=False, yaxis_title="")
st.plotly_chart(timeline, width="stretch")

if view.samples.empty:
    st.info("This user has no test sample.")
    st.stop()
anchors = {f"{s.anchor_ts:%Y-%m-%d %H:%M} (next negative {s.next_negative})": s.sample_id
           for s in view.samples.itertuples()}
sample_id = anchors[st.selectbox("Test sample", list(anchors), key="inspector_sample")]
predicted = view.predictions[view.predictions["sample_id"] == sample_id]
future = view.future[view.future["sample_id"] == sample_id]

cols = st.columns(4)
k = len(predicted)
cols[0].metric(f"Predicted dislikes (K={k})", k)
cols[1].metric("Future negatives", len(future), help="negatives in the 7-day window from the anchor")
cols[2].metric("Exact hits", int(predicted["exact_hit"].sum()))
cols[3].metric("Near hits (shared SID prefix)", int(((~predicted["exact_hit"]) & (predicted["shared_levels"] > 0)).sum()),
               help="predicted items that share the first SID level(s) with a future negative")

# one above the other: side by side at 1,400 px the hit and log-prob columns were cut off
left = right = st.container()
left.subheader("Predicted dislikes")
left.dataframe(predicted[["rank", "title", "sid", "exact_hit", "shared_levels", "score"]], hide_index=True,
               width="stretch", column_config={
                   "exact_hit": st.column_config.CheckboxColumn("hit"),
                   "shared_levels": st.column_config.ProgressColumn("SID levels shared", min_value=0,
                                                                    max_value=int(predicted["shared_levels"].max() or 3),
                                                                    format="%d"),
                   "score": st.column_config.NumberColumn("log-prob", format="%.2f")})
right.subheader("What they rejected in the next days")
right.dataframe(future[["title", "sid", "predicted", "long_tail_item"]], hide_index=True, width="stretch",
                column_config={"predicted": st.column_config.CheckboxColumn("predicted"),
                               "long_tail_item": st.column_config.CheckboxColumn("long-tail item")})

if not view.metrics.empty:
    st.subheader("This user's metrics, every scored method")
    shown = view.metrics[view.metrics["sample_id"] == sample_id].drop(columns="sample_id")
    shown.insert(0, "name", shown.pop("method"))
    shown.insert(0, "method", shown["name"].map(method_label))
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={"name": st.column_config.TextColumn("name", help="internal name (CLI, files)")})

if not future.empty:
    item = st.selectbox("Swing neighbours of a future negative", future["item_id"].tolist(),
                        format_func=dict(zip(future["item_id"], future["title"])).get, key="inspector_swing_item")
    neighbours = swing_neighbours_of(workspace, item)
    if neighbours is None:
        st.caption("No Swing table in this workspace yet: `python -m conrec_core swing` builds it.")
    elif neighbours.empty:
        st.caption("No Swing neighbours: too few users disliked this item together with another.")
    else:
        st.dataframe(neighbours, hide_index=True, width="stretch")

items = codebook_data.items(workspace, chosen["name"])
if items.x.isna().all():
    st.caption("This codebook has no item map, so the items are not placed on one: the Codebook explorer page "
               "builds it.")
else:
    st.subheader("On the item map")
    layers = [("past negatives", history.loc[history["kind"] == "negative", "item_id"], "#7f7f7f", "circle"),
              ("predicted", predicted["item_id"], "#1f77b4", "diamond"),
              ("future negatives", future["item_id"], "#d62728", "x")]
    figure = go.Figure(go.Scattergl(x=items.x, y=items.y, mode="markers", name="catalogue", hoverinfo="skip",
                                    marker=dict(size=3, color="#dddddd")))
    for name, ids, colour, symbol in layers:
        shown = items[items.item_id.isin(set(ids))]
        figure.add_trace(go.Scattergl(x=shown.x, y=shown.y, mode="markers", name=name, text=shown.title,
                                      hovertemplate="%{text}<extra>" + name + "</extra>",
                                      marker=dict(size=10, color=colour, symbol=symbol)))
    figure.update_layout(height=520, margin=dict(l=0, r=0, t=10, b=0), xaxis_visible=False, yaxis_visible=False)
    st.plotly_chart(figure, width="stretch")
