"""Insights: the pipeline's findings about where the models fail, most important first, and the slices where
each model errs most."""

import streamlit as st

from viewer.filters import noun, show_texts, table
from viewer.session import run_query

SHOWN = 50

st.title("Insights")
st.caption(
    f"What accounts for the loss? High-loss clusters, feature ranges, categories and slices, likely mislabelled "
    f"{noun()} and duplicates, found by the pipeline and ranked by how much they matter. Select one to see its "
    f"{noun()}."
)

insights = run_query("insights")
if insights.empty:
    st.info("The pipeline found nothing notable in this database.")
else:
    listed = table(
        insights.drop(columns=["insight_id"]),
        on_select="rerun",
        selection_mode="single-row",
        key="insight_table",
        column_config={
            "kind": "Kind",
            "model": "Model",
            "title": st.column_config.TextColumn("Finding", width="large"),
            "texts": st.column_config.NumberColumn("Texts", format="%d"),
            "mean_loss": st.column_config.NumberColumn("Mean loss", format="%.3f"),
            "loss_ratio": st.column_config.NumberColumn("× mean", format="%.1f"),
            "importance": st.column_config.NumberColumn("Importance", format="%.3f",
                                                        help="Share of the loss (or of the texts) it accounts for"),
        },
    )  # fmt: skip
    selected = listed.selection.rows
    if selected:
        st.query_params["insight"] = str(insights["insight_id"].iloc[selected[0]])
    chosen = st.query_params.get("insight", str(insights["insight_id"].iloc[0]))
    row = insights[insights["insight_id"].astype(str) == chosen]
    if row.empty:
        st.error(f"No finding {chosen}. Pick one from the table.")
    else:
        st.subheader(row["title"].iloc[0])
        texts = run_query("insight_texts", insight_id=int(chosen), limit=SHOWN)
        st.caption(f"The first {len(texts)} of {int(row['texts'].iloc[0]):,} {noun()}.")
        show_texts(texts.drop(columns=["rank"]))

st.subheader("Slices")
st.caption(
    f"Simply described groups of test {noun()} where a model errs far more often than overall: up to three facts "
    "(a quartile of a feature, a category, a negation word or none, a frequent word), ranked by errors beyond the "
    f"model's own rate. Unlike a cluster, a slice holds every {noun()[:-1]} that has its facts."
)
models = list(run_query("model_figures")["model"])
model = st.selectbox("Model", models, key="slice_model")
found = run_query("slices", model=model)
if found.empty:
    st.info(f"No slice where {model} errs well above its own rate.")
    st.stop()
listed = table(
    found.drop(columns=["slice", "level"]),
    on_select="rerun",
    selection_mode="single-row",
    key="slice_table",
    column_config={
        "description": st.column_config.TextColumn("Texts with", width="large"),
        "size": st.column_config.NumberColumn("Texts", format="%d"),
        "errors": st.column_config.NumberColumn("Wrong", format="%d"),
        "error_rate": st.column_config.NumberColumn("Error rate", format="percent"),
        "ci_low": st.column_config.NumberColumn("95% from", format="percent"),
        "ci_high": st.column_config.NumberColumn("95% to", format="percent"),
        "times_model": st.column_config.NumberColumn("× model's rate", format="%.1f"),
        "mean_loss": st.column_config.NumberColumn("Mean loss", format="%.3f"),
        "score": st.column_config.NumberColumn("Excess errors", format="%.1f"),
    },
)
picked = listed.selection.rows
chosen_slice = found.iloc[picked[0] if picked else 0]
members = run_query("slice_texts", model=model, slice=int(chosen_slice["slice"]), limit=SHOWN)
st.caption(
    f"{noun().capitalize()} with {chosen_slice['description']}: the {len(members)} with the highest loss of "
    f"{int(chosen_slice['size']):,}."
)
show_texts(members)
