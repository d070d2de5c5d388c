"""Overview: how well each model does, how it trained, and where it errs."""

import streamlit as st

from viewer import charts
from viewer.filters import labels, models_where, side_by_side, table
from viewer.session import build_facts, run_query

SPLIT_SOURCES = {
    "given": "The split into train and test comes from the data.",
    "made": "The data has no split column: a seeded, stratified split held out a share of each class for test.",
}

st.title("Overview")
st.caption("How accurate is each model on the test split, class by class, next to a simple baseline?")

facts = build_facts()
figures = run_query("model_figures")
batches = run_query("training_batches")
confusion = run_query("confusion_matrix", subset="test")
per_class = run_query("class_metrics", subset="test")
classes = labels()

columns = st.columns(len(figures))
for column, row in zip(columns, figures.itertuples(), strict=True):
    seed_delta = (
        None if row.seed_accuracy != row.seed_accuracy else f"{row.test_accuracy - row.seed_accuracy:+.3f} vs seed"
    )
    column.metric(f"{row.model} test accuracy", f"{row.test_accuracy:.3f}", delta=seed_delta)
    loss = f" · test loss {row.test_loss:.3f}" if row.test_loss == row.test_loss else ""
    column.caption(f"macro-F1 {row.test_macro_f1:.3f}{loss} · {row.description}")

seed = figures["seed_accuracy"].notna().any()
# The figures, in the query's order; what a model has is said below the table.
FIGURES = {
    "model": "Model",
    "source": "Source",
    "epochs": "Epochs",
    "test_accuracy": st.column_config.NumberColumn("Test accuracy", format="%.3f"),
    "test_macro_f1": st.column_config.NumberColumn("Test macro-F1", format="%.3f"),
    "test_loss": st.column_config.NumberColumn("Test loss", format="%.3f"),
    "seed_accuracy": st.column_config.NumberColumn("Seed accuracy", format="%.2f"),
    "seed_loss": st.column_config.NumberColumn("Seed loss", format="%.2f"),
    "validation_accuracy": st.column_config.NumberColumn("Validation accuracy", format="%.3f"),
    "validation_loss": st.column_config.NumberColumn("Validation loss", format="%.3f"),
}
shown = [column for column in FIGURES if seed or not column.startswith("seed_")]
table(figures[shown], column_config=FIGURES)
st.caption(
    ("Seed: figures reported by the Tensorleap IMDB study. " if seed else "")
    + "Baseline: TF-IDF with logistic regression. "
    + f"{len(classes)} classes. "
    + SPLIT_SOURCES.get(facts.get("split_source"), "")
)
compared = run_query("comparison").iloc[0]
if not compared.within:
    st.caption(f"Compared with the base `{compared.base_file}`, built {compared.base_built_at}: the Compare page says "
               "what changed.")  # fmt: skip
for row in figures[figures["file"].notna()].itertuples():
    if row.address:
        st.caption(
            f"**{row.model}** is {row.source}, called at `{row.file}` (its settings' checksum `{row.sha256[:16]}…`)"
        )
    else:
        st.caption(f"**{row.model}** was brought in ({row.given_with}=): `{row.file}`, SHA-256 `{row.sha256[:16]}…`")
off_label = figures[figures["off_label"].fillna(0) > 0]
for row in off_label.itertuples():
    st.caption(
        f"**{row.model}** answered something that is no label for {int(row.off_label):,} texts: their "
        "probabilities are the labels' share of its answer's first token, or equal if it gave them none."
    )
if len(off_label):
    with st.expander("Answers that are no label"):
        table(
            run_query("off_label_answers"),
            column_config={
                "model": "Model",
                "text_id": st.column_config.NumberColumn("Text"),
                "answer": "Answer",
                "snippet": "Text (start)",
            },  # fmt: skip
        )
for row in figures[figures["no_attributions"].notna()].itertuples():
    st.caption(f"**{row.model}** has no heat maps: {row.no_attributions}.")
texts = int(run_query("labels")["texts"].sum())
for row in figures[figures["attributed"]].itertuples():
    if row.attributed_texts < texts:
        st.caption(f"**{row.model}** has heat maps for {row.attributed_texts:,} texts: its misclassified test texts "
                   "and a sample (settings attribute_errors, attribute_sample, attribute_all).")  # fmt: skip
for row in figures[figures["no_behaviour"].notna()].itertuples():
    st.caption(f"**{row.model}** has no behavioural tests: {row.no_behaviour}.")
for row in figures[figures["no_probabilities"].notna()].itertuples():
    st.caption(f"**{row.model}** has no probabilities ({row.no_probabilities}): no loss and no calibration.")

st.subheader("Each class (test split)")
table(
    per_class.pivot(index="label", columns="model", values="f1").loc[classes, list(figures["model"])].reset_index(),
    column_config={
        "label": "Class",
        **{m: st.column_config.NumberColumn(f"{m} F1", format="%.3f") for m in figures["model"]},
    },
)
with st.expander("Precision and recall"):
    table(
        per_class.drop(columns=["label_index", "rank"]),
        column_config={
            "model": "Model",
            "label": "Class",
            "support": st.column_config.NumberColumn("Texts", format="%d"),
            "precision": st.column_config.NumberColumn("Precision", format="%.3f"),
            "recall": st.column_config.NumberColumn("Recall", format="%.3f"),
            "f1": st.column_config.NumberColumn("F1", format="%.3f"),
        },
    )

st.subheader("Calibration (test split)")
st.caption(
    "Can the confidence be trusted? In each confidence bin, the share of texts that are right should equal the "
    "mean confidence (the diagonal). Temperature scaling, fitted on the validation hold-out, changes no "
    "prediction, only the confidence."
)
TOP_LABEL = "the predicted class"
# Per class for up to 10 classes (the calibration table has them).
of = st.selectbox("Probability of", [TOP_LABEL] + (classes if len(classes) <= 10 else []), key="calibration_of")
label = None if of == TOP_LABEL else of
calibration = run_query("calibration", subset="test", label=label)
reliability = run_query("reliability", subset="test", label=label)
table(
    calibration.drop(columns=["rank"]),
    column_config={
        "model": "Model",
        "temperature": st.column_config.NumberColumn("Temperature", format="%.2f"),
        "ece": st.column_config.NumberColumn("ECE", format="%.3f"),
        "ece_low": st.column_config.NumberColumn("ECE 95% from", format="%.3f"),
        "ece_high": st.column_config.NumberColumn("ECE 95% to", format="%.3f"),
        "scaled_ece": st.column_config.NumberColumn("ECE scaled", format="%.3f"),
        "scaled_ece_low": st.column_config.NumberColumn("scaled 95% from", format="%.3f"),
        "scaled_ece_high": st.column_config.NumberColumn("scaled 95% to", format="%.3f"),
        "mce": st.column_config.NumberColumn("MCE", format="%.3f"),
        "scaled_mce": st.column_config.NumberColumn("MCE scaled", format="%.3f"),
        "brier": st.column_config.NumberColumn("Brier", format="%.3f"),
        "scaled_brier": st.column_config.NumberColumn("Brier scaled", format="%.3f"),
        "log_loss": st.column_config.NumberColumn("Log loss", format="%.3f"),
        "scaled_log_loss": st.column_config.NumberColumn("Log loss scaled", format="%.3f"),
        "texts": st.column_config.NumberColumn("Texts", format="%d"),
    },
)
st.caption(
    "ECE: expected calibration error, the mean gap between confidence and accuracy over the bins (0 is perfect), "
    "with its 95% bootstrap interval. MCE: the largest gap of any bin. Temperature above 1: the model was "
    "overconfident. The calibrated probabilities are in `predictions.calibrated`."
)
for column, model in side_by_side(models_where("has_probabilities"), per_row=3):
    # Total height: the Streamlit theme draws the axes and legend larger than the spec assumes.
    column.altair_chart(charts.reliability_diagram(reliability, model), height=360)

st.subheader("Training curves")
trained = [model for model in models_where("compared") if model in set(batches["model"])]
if trained:
    left, right = st.columns(2)
    left.altair_chart(charts.training_curve(batches, "loss", trained), width="stretch")
    right.altair_chart(charts.training_curve(batches, "accuracy", trained), width="stretch")
    st.caption("Faint: each batch. Bold: moving mean over 25 batches.")
else:
    st.caption("No model was trained here: every one was brought in.")

st.subheader("Confusion matrices (test split)")
for column, model in zip(st.columns(len(figures)), figures["model"], strict=True):
    column.altair_chart(charts.confusion_matrix(confusion, model, classes))
