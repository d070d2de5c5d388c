"""Insights: the pipeline's findings about where the models fail, most important first."""

import streamlit as st

from viewer.filters import noun, show_reviews
from viewer.session import run_query

SHOWN = 50

st.title("Insights")
st.caption(
    f"What accounts for the loss? High-loss clusters, feature ranges and categories, likely mislabelled {noun()} and "
    f"duplicates, found by the pipeline and ranked by how much they matter. Select one to see its {noun()}."
)

insights = run_query("insights")
if insights.empty:
    st.info("The pipeline found nothing notable in this database.")
    st.stop()

table = st.dataframe(
    insights.drop(columns=["insight_id"]),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="insight_table",
    column_config={
        "kind": "Kind",
        "model": "Model",
        "title": st.column_config.TextColumn("Finding", width="large"),
        "reviews": st.column_config.NumberColumn("Texts", format="%d"),
        "mean_loss": st.column_config.NumberColumn("Mean loss", format="%.3f"),
        "loss_ratio": st.column_config.NumberColumn("× mean", format="%.1f"),
        "importance": st.column_config.NumberColumn("Importance", format="%.3f",
                                                    help="Share of the loss (or of the reviews) it accounts for"),
    },
)  # fmt: skip
selected = table.selection.rows
if selected:
    st.query_params["insight"] = str(insights["insight_id"].iloc[selected[0]])
chosen = st.query_params.get("insight", str(insights["insight_id"].iloc[0]))
row = insights[insights["insight_id"].astype(str) == chosen]
if row.empty:
    st.error(f"No finding {chosen}. Pick one from the table.")
    st.stop()

st.subheader(row["title"].iloc[0])
reviews = run_query("insight_reviews", insight_id=int(chosen), limit=SHOWN)
st.caption(f"The first {len(reviews)} of {int(row['reviews'].iloc[0]):,} {noun()}.")
show_reviews(reviews.drop(columns=["rank"]))
