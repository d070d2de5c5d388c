"""Overview: how well each model does, how it trained, and where it errs."""

import streamlit as st

from viewer import charts
from viewer.session import run_query

st.title("Overview")
st.caption("How accurate is each model on the test split, next to the study it reproduces and a simple baseline?")

figures = run_query("model_figures")
batches = run_query("training_batches")
confusion = run_query("confusion_matrix", subset="test")

columns = st.columns(len(figures))
for column, row in zip(columns, figures.itertuples(), strict=True):
    seed_delta = (
        None if row.seed_accuracy != row.seed_accuracy else f"{row.test_accuracy - row.seed_accuracy:+.3f} vs seed"
    )
    column.metric(f"{row.model} test accuracy", f"{row.test_accuracy:.3f}", delta=seed_delta)
    column.caption(f"test loss {row.test_loss:.3f} · {row.description}")

st.dataframe(
    figures.drop(columns=["kind", "description"]),
    hide_index=True,
    column_config={
        "model": "Model",
        "epochs": "Epochs",
        "test_accuracy": st.column_config.NumberColumn("Test accuracy", format="%.3f"),
        "test_loss": st.column_config.NumberColumn("Test loss", format="%.3f"),
        "seed_accuracy": st.column_config.NumberColumn("Seed accuracy", format="%.2f"),
        "seed_loss": st.column_config.NumberColumn("Seed loss", format="%.2f"),
        "validation_accuracy": st.column_config.NumberColumn("Validation accuracy", format="%.3f"),
        "validation_loss": st.column_config.NumberColumn("Validation loss", format="%.3f"),
    },
)
st.caption("Seed: figures reported by the Tensorleap IMDB study. Baseline: TF-IDF with logistic regression.")

st.subheader("Training curves")
left, right = st.columns(2)
left.altair_chart(charts.training_curve(batches, "loss"), width="stretch")
right.altair_chart(charts.training_curve(batches, "accuracy"), width="stretch")
st.caption("Faint: each batch. Bold: moving mean over 25 batches.")

st.subheader("Confusion matrices (test split)")
for column, model in zip(st.columns(len(figures)), figures["model"], strict=True):
    column.altair_chart(charts.confusion_matrix(confusion, model))
