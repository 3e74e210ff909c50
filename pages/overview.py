"""Workspace overview: what is in the dataset, and how much negative feedback it holds."""

import plotly.express as px
import streamlit as st

from app.workspace_picker import pick_workspace, workspace_overview
from conrec_core.views.import_report import import_report_rows

NEGATIVE = "#c0392b"

st.title("conrec: what will this user reject next?")
st.caption("conrec learns each user's negative preferences from explicit negative feedback "
           "(\"not interested\", hide, dislike, low ratings) and predicts the items they will reject.")

path = pick_workspace()
data = workspace_overview(path)
summary = data["summary"]

cols = st.columns(5)
cols[0].metric("Users", f"{summary.users:,}")
cols[1].metric("Items", f"{summary.items:,}")
cols[2].metric("Events", f"{summary.events:,}")
cols[3].metric("Negative share", f"{summary.negative_share:.1%}", help="negative events / all events")
cols[4].metric("Negatives", f"{summary.negatives:,}")
first, last = summary.first_event, summary.last_event
st.caption(f"From **{first:%Y-%m-%d}** to **{last:%Y-%m-%d}** · {summary.positives:,} positive and "
           f"{summary.neutral:,} neutral events · {summary.users_with_negatives:,} users gave negative feedback · "
           f"{summary.items_without_text:,} items without text"
           + (f" · side vectors: {', '.join(f'{k} ({v:,} items)' for k, v in summary.item_vectors.items())}"
              if summary.item_vectors else ""))

left, right = st.columns(2)
with left:
    st.subheader("Negatives per day")
    per_day = data["per_day"]
    chart = px.bar(per_day, x="day", y="negatives", hover_data=["events"], color_discrete_sequence=[NEGATIVE])
    chart.update_layout(margin=dict(l=0, r=0, t=10, b=0), height=320, bargap=0)
    st.plotly_chart(chart, width="stretch")
with right:
    st.subheader("Negatives per user")
    per_user = data["per_user"]
    chart = px.histogram(per_user, x="negatives", nbins=60, log_y=True, color_discrete_sequence=[NEGATIVE],
                         labels={"negatives": "negative events of a user"})
    chart.update_layout(margin=dict(l=0, r=0, t=10, b=0), height=320, yaxis_title="users (log scale)",
                        yaxis_dtick=1)
    st.plotly_chart(chart, width="stretch")
    median = per_user["negatives"].median()
    st.caption(f"Median {median:g} negatives per user; {int((per_user['negatives'] == 0).sum()):,} users have none.")

st.subheader("Samples")
st.caption("One sample per (user, anchor negative): context before the anchor, the next negative, and the "
           "negatives and positives in the future window.")
if data["splits"].empty:
    st.info("This workspace has no samples yet: run `python -m conrec_core samples --workspace …`.")
else:
    st.dataframe(data["splits"], hide_index=True, width="stretch", column_config={
        "mean_context_negatives": st.column_config.NumberColumn("mean context negatives", format="%.1f"),
        "mean_future_negatives": st.column_config.NumberColumn("mean future negatives", format="%.2f"),
        "share_more_future_negatives": st.column_config.ProgressColumn(
            "future window holds more negatives", format="percent", min_value=0, max_value=1),
        "share_long_tail_users": st.column_config.ProgressColumn(
            "long-tail users", format="percent", min_value=0, max_value=1)})
    if summary.long_tail_item_share is not None:
        st.caption(f"Long-tail items (fewer negatives in training than the threshold): "
                   f"{summary.long_tail_item_share:.1%} of the catalogue.")

reasons = data["reasons"]
if len(reasons) > 1 or (len(reasons) == 1 and reasons["reason"].iloc[0] != "(none)"):
    st.subheader("Why users said no")
    chart = px.bar(reasons, x="negatives", y="reason", orientation="h", color_discrete_sequence=[NEGATIVE])
    chart.update_layout(margin=dict(l=0, r=0, t=10, b=0), height=60 + 30 * len(reasons))
    st.plotly_chart(chart, width="stretch")

report = data["report"]
if report:
    with st.expander("Import report"):
        st.dataframe(import_report_rows(report), hide_index=True, width="stretch")
