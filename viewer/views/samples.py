"""Samples: every review with each model's verdict; open one to read it and compare the models."""

import streamlit as st

from viewer import charts
from viewer.filters import ANY, REVIEW_COLUMNS
from viewer.session import run_query

LIMIT = 500
NEIGHBOURS = 10
NGRAMS = 3  # strongest n-grams of each size and direction
NOTABLE = 0.2  # a sign flip counts when either model gives the word at least this relative push
COMPARED = 25

st.title("Samples")
st.caption("Which reviews does a model get wrong, and how badly? Sorted by loss, highest first.")

figures = run_query("model_figures")
loss_range = run_query("loss_range").iloc[0]

with st.sidebar:
    model = st.selectbox("Model", figures["model"], key="model")
    subset = st.selectbox(
        "Split",
        [ANY, "test", "validation", "train"],
        key="subset",
        help="train is the part of the train split the models were fitted on.",
    )
    outcome = st.selectbox("Prediction", [ANY, "incorrect", "correct"], key="outcome")
    label = st.selectbox("True label", [ANY, "negative", "positive"], key="label")
    loss_min, loss_max = st.slider(
        "Loss", 0.0, float(loss_range.loss_max) + 0.01, (0.0, float(loss_range.loss_max) + 0.01), key="loss"
    )

samples = run_query(
    "samples",
    model=model,
    subset=None if subset == ANY else subset,
    label=None if label == ANY else label,
    correct=None if outcome == ANY else outcome == "correct",
    loss_min=loss_min,
    loss_max=loss_max,
    limit=LIMIT,
)
matching = int(samples["matching"].iloc[0]) if len(samples) else 0
st.write(
    f"{matching:,} reviews match" + (f"; the {LIMIT} with the highest loss are listed." if matching > LIMIT else ".")
)

table = st.dataframe(
    samples.drop(columns=["matching"]),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="table",
    column_config={
        "review_id": st.column_config.NumberColumn("Id", format="%d"),
        "subset": "Split",
        "label": "Label",
        "rating": st.column_config.NumberColumn("Rating", format="%d ★"),
        "predicted_label": "Predicted",
        "p_positive": st.column_config.ProgressColumn("P(positive)", min_value=0.0, max_value=1.0, format="%.2f"),
        "loss": st.column_config.NumberColumn("Loss", format="%.3f"),
        "correct": "Correct",
        "snippet": st.column_config.TextColumn("Review", width="large"),
    },
)

selected = table.selection.rows
if selected:
    st.query_params["id"] = str(samples["review_id"].iloc[selected[0]])

review_id = st.query_params.get("id")
if review_id is None:
    st.info("Select a row to read the review and compare the models.")
    st.stop()

review = run_query("review", review_id=int(review_id)) if review_id.isdigit() else None
if review is None or review.empty:
    st.error(f"No review with id {review_id}. Pick one from the table.")
    st.stop()
review = review.iloc[0]

predictions = run_query("review_predictions", review_id=int(review_id))
by_model = predictions.set_index("model")

st.divider()
st.subheader(f"Review {review.review_id}")
st.caption(
    f"{review.split} split ({review.subset}) · label **{review.label}** · rating {review.rating}/10 · "
    f"{review.n_tokens} tokens, {review.n_oov} out of vocabulary" + (" · truncated" if review.truncated else "")
)
columns = st.columns(len(predictions) + 1)
for column, row in zip(columns, predictions.itertuples(), strict=False):
    column.metric(f"{row.model}: P(positive)", f"{row.p_positive:.3f}", help=f"predicted {row.predicted_label}")
    column.caption(f"loss {row.loss:.3f}" + ("" if row.correct else " · wrong"))
dense_loss, cnn_loss = by_model.loc["dense", "loss"], by_model.loc["cnn", "loss"]
# A percentage of a near-zero loss means nothing: below 0.01 only the difference is shown.
columns[-1].metric(
    "Loss, dense to CNN",
    f"{(cnn_loss - dense_loss) / dense_loss:+.0%}" if dense_loss >= 0.01 else f"{cnn_loss - dense_loss:+.3f}",
    delta=f"{cnn_loss - dense_loss:+.3f}",
    delta_color="inverse",
)

st.markdown("#### What each model read into it")
st.caption(
    "Integrated gradients: how much each word pushed the model toward each label; darker is stronger, "
    "relative to the model's strongest word in this review. Grey words were cut off: the models never saw them."
)
heat = run_query("review_heatmap", review_id=int(review_id), width=charts.HEAT_MAP_WIDTH)
for column, model in zip(st.columns(2), ("dense", "cnn"), strict=True):
    tokens = heat[heat["model"] == model]
    column.markdown(f"**{model}** · toward positive")
    column.altair_chart(charts.heat_map(tokens, "positive", charts.HEAT_MAP_WIDTH), width="content")
    column.markdown(f"**{model}** · toward negative")
    column.altair_chart(charts.heat_map(tokens, "negative", charts.HEAT_MAP_WIDTH), width="content")

st.markdown("#### Strongest words and phrases")
ngrams = run_query("review_ngrams", review_id=int(review_id), top=NGRAMS)
for column, model in zip(st.columns(2), ("dense", "cnn"), strict=True):
    column.markdown(f"**{model}**")
    column.altair_chart(charts.ngram_bars(ngrams[ngrams["model"] == model]), width="content")

st.markdown("#### Where the models disagree")
comparison = run_query("model_comparison", review_id=int(review_id), notable=NOTABLE)
flipped = comparison[comparison["flipped"]]
st.caption(
    f"{len(flipped)} words push the other way under the CNN than under the dense model "
    f"(red lines); the {min(COMPARED, len(comparison))} largest changes are shown."
)
st.altair_chart(charts.model_change(comparison.head(COMPARED)), width="stretch")

with st.expander("Raw text"):
    st.text(review.display_text)

st.subheader("Similar reviews")
neural = figures.loc[figures["kind"] == "neural", "model"]
space = st.radio("In the latent space of", neural, horizontal=True, key="space")
st.dataframe(
    run_query("similar_reviews", model=space, review_id=int(review_id), k=NEIGHBOURS + 1).iloc[1:],
    hide_index=True,
    column_config=REVIEW_COLUMNS,
)
st.caption("The nearest reviews by Euclidean distance between latent vectors: the ones the model sees as most alike.")
