"""Failures: each model's worst mistakes, and which reviews one model gets right and the other wrong."""

import streamlit as st

from viewer import charts
from viewer.filters import REVIEW_COLUMNS
from viewer.session import run_query

SHOWN = 15

st.title("Failures")
st.caption(
    "Where does each model fail worst, and where do the two models part ways? "
    "Open a review to see which words misled the model."
)

models = run_query("model_figures")
with st.sidebar:
    model = st.selectbox("Model", models.loc[models["kind"] == "neural", "model"], key="model")
    subset = st.selectbox("Split", ["test", "validation", "train"], key="subset")

left, right = st.columns(2)
for column, predicted, title in (
    (left, "positive", "False positives: negative reviews read as positive"),
    (right, "negative", "False negatives: positive reviews read as negative"),
):
    column.subheader(title)
    column.dataframe(
        run_query("failures", model=model, subset=subset, predicted_label=predicted, limit=SHOWN),
        hide_index=True,
        column_config=REVIEW_COLUMNS,
    )

st.subheader("Which model gets it right")
cohorts = run_query("cohorts", subset=subset)
left, right = st.columns([2, 3])
left.altair_chart(charts.cohort_bars(cohorts), width="stretch")
cohort = right.segmented_control("Cohort", cohorts["cohort"], default="dense only", key="cohort")
if cohort:
    right.dataframe(
        run_query("cohort_examples", subset=subset, cohort=cohort, limit=SHOWN),
        hide_index=True,
        column_config=REVIEW_COLUMNS,
    )
    right.caption("Sorted by how far the two models' losses are apart; for 'neither', by their sum.")
