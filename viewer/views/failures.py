"""Failures: each model's worst mistakes, and which texts one model gets right and another wrong."""

import streamlit as st

from viewer import charts
from viewer.filters import models_where, noun, show_texts, side_by_side
from viewer.session import run_query

SHOWN = 15
SIDE_BY_SIDE = 2  # the most common mistakes, each in a column

st.title("Failures")
st.caption(
    "Where does each model fail worst, and where do the models part ways? "
    "Open a text to see which words misled the model."
)

compared = models_where("compared")
with st.sidebar:
    model = st.selectbox("Model", compared, key="model")
    subset = st.selectbox("Split", ["test", "validation", "train"], key="subset")

# The mistakes by true and predicted label: with two classes, the false positives and the false negatives.
confusions = run_query("confusions", model=model, subset=subset)
if confusions.empty:
    st.success(f"{model} gets every {noun()[:-1]} of the {subset} split right.")
pairs = [f"{row.label} read as {row.predicted_label}" for row in confusions.itertuples()]
shown = st.multiselect("Mistakes", pairs, default=pairs[:SIDE_BY_SIDE], key="mistakes")
for column, pair in side_by_side(shown, SIDE_BY_SIDE):
    row = confusions.iloc[pairs.index(pair)]
    column.subheader(f"{row.label.capitalize()} {noun()} read as {row.predicted_label}")
    loss = f", mean loss {row.mean_loss:.3f}; the highest losses first" if row.mean_loss == row.mean_loss else ""
    column.caption(f"{row.texts:,} {noun()}{loss}.")
    failures = run_query(
        "failures", model=model, subset=subset, label=row.label, predicted_label=row.predicted_label, limit=SHOWN
    )
    show_texts(failures, column)

st.subheader("Which model gets it right")
if len(compared) < 2:
    st.info("This needs two models besides the baseline; the database has one.")
    st.stop()
left, right = st.columns(2)
first = left.selectbox("First model", compared, index=0, key="first")
second = right.selectbox("Second model", [m for m in compared if m != first], index=0, key="second")
# The pair in the models' order, as model_agreement holds it.
first, second = sorted((first, second), key=compared.index)
cohorts = run_query("cohorts", subset=subset, first=first, second=second)
left, right = st.columns([2, 3])
left.altair_chart(charts.cohort_bars(cohorts), width="stretch")
cohort = right.segmented_control("Cohort", cohorts["cohort"], default=f"{first} only", key=f"cohort-{first}-{second}")
if cohort:
    examples = run_query("cohort_examples", subset=subset, cohort=cohort, first=first, second=second, limit=SHOWN)
    show_texts(
        examples,
        right,
        column_config={
            "first_loss": st.column_config.NumberColumn(f"{first} loss", format="%.3f"),
            "second_loss": st.column_config.NumberColumn(f"{second} loss", format="%.3f"),
        },
    )
    right.caption("Sorted by how far the two models' losses are apart; for 'neither', by their sum.")
