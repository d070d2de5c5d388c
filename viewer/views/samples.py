"""Samples: every text with each model's verdict; open one to read it and compare the models."""

import streamlit as st

from viewer import charts, markup
from viewer.filters import ANY, categories, labels, models_where, noun, show_texts, side_by_side, table, why_not
from viewer.session import run_query

LIMIT = 500
NEIGHBOURS = 10
NGRAMS = 3  # strongest n-grams of each size and direction
NOTABLE = 0.2  # a sign flip counts when either model gives the word at least this relative push
COMPARED = 25

st.title("Samples")
st.caption(f"Which {noun()} does a model get wrong, and how badly? Sorted by loss, highest first.")

figures = run_query("model_figures")
loss_range = run_query("loss_range").iloc[0]
classes = labels()
category_titles = categories()

with st.sidebar:
    model = st.selectbox("Model", figures["model"], key="model")
    subset = st.selectbox(
        "Split",
        [ANY, "test", "validation", "train"],
        key="subset",
        help="train is the part of the train split the models were fitted on.",
    )
    outcome = st.selectbox("Prediction", [ANY, "incorrect", "correct"], key="outcome")
    label = st.selectbox("True label", [ANY, *classes], key="label")
    predicted = st.selectbox("Predicted label", [ANY, *classes], key="predicted")
    loss_min, loss_max = st.slider(
        "Loss", 0.0, float(loss_range.loss_max) + 0.01, (0.0, float(loss_range.loss_max) + 0.01), key="loss"
    )
    category = category_value = None
    if category_titles:
        category = st.selectbox(
            "Category", [ANY, *category_titles], key="category", format_func=lambda c: category_titles.get(c, c)
        )
        if category != ANY:
            values = run_query("category_loss", model=model, category=category, subset=None)["value"]
            category_value = st.selectbox("Value", values, key="category_value")
        else:
            category = None

samples = run_query(
    "samples",
    model=model,
    subset=None if subset == ANY else subset,
    label=None if label == ANY else label,
    predicted_label=None if predicted == ANY else predicted,
    correct=None if outcome == ANY else outcome == "correct",
    loss_min=loss_min,
    loss_max=loss_max,
    category=category,
    category_value=category_value,
    limit=LIMIT,
)
matching = int(samples["matching"].iloc[0]) if len(samples) else 0
st.write(
    f"{matching:,} {noun()} match" + (f"; the {LIMIT} with the highest loss are listed." if matching > LIMIT else ".")
)

listed = show_texts(
    samples.drop(columns=["matching"]),
    on_select="rerun",
    selection_mode="single-row",
    key="table",
    column_config={"text_id": st.column_config.NumberColumn("Id", format="%d"), "link": None},
)

selected = listed.selection.rows
if selected:
    st.query_params["id"] = str(samples["text_id"].iloc[selected[0]])

text_id = st.query_params.get("id")
if text_id is None:
    st.info("Select a row to read the text and compare the models.")
    st.stop()

opened = run_query("text", text_id=int(text_id)) if text_id.isdigit() else None
if opened is None or opened.empty:
    st.error(f"No text with id {text_id}. Pick one from the table.")
    st.stop()
opened = opened.iloc[0]

predictions = run_query("text_predictions", text_id=int(text_id))
verdicts = predictions.drop_duplicates("model").set_index("model")
compared = models_where("compared")
attributed, unattributed = models_where("attributed"), why_not("no_attributions")
# A transformer's attributions are computed for a chosen set of texts: the others say so.
covered = set(verdicts.index[verdicts["attributed"]])
for model in [model for model in attributed if model not in covered]:
    counts = figures.set_index("model").loc[model, "attributed_texts"]
    unattributed[model] = (
        f"its attributions are computed for {counts:,} texts (its misclassified test texts and a sample), not this "
        f"one; set attribute_all = true under [{model}] in your CONFIG file, or raise attribute_errors or "
        "attribute_sample, and run make all again"
    )
attributed = [model for model in attributed if model in covered]

st.divider()
st.subheader(f"Text {opened.text_id}")
features = run_query("features")
extra = [
    f"{title} {opened[name]}"
    for name, title in features.loc[features["source"] == "data", ["feature", "title"]].itertuples(index=False)
    if name in opened.index
]
st.caption(
    " · ".join(
        [f"{opened.split} split ({opened.subset})", f"label **{opened.label}**", *extra]
        + [f"{opened.n_tokens} tokens, {opened.n_oov} out of vocabulary"]
        + (["truncated"] if opened.truncated else [])
        + ([f"id {opened.source_id}"] if opened.source_id else [])
    )
)
columns = st.columns(len(verdicts) + 1)
for column, row in zip(columns, verdicts.reset_index().itertuples(), strict=False):
    p_true = predictions[(predictions["model"] == row.model) & (predictions["label"] == opened.label)]["probability"]
    if p_true.isna().all():  # predicted classes alone
        column.metric(f"{row.model}: predicted", row.predicted_label, help="the model gives its predicted class alone")
        column.caption("right" if row.correct else "wrong")
        continue
    column.metric(f"{row.model}: P({opened.label})", f"{p_true.iloc[0]:.3f}", help="the probability of the true label")
    column.caption(f"predicted {row.predicted_label} · loss {row.loss:.3f}" + ("" if row.correct else " · wrong"))
with_loss = [model for model in compared if verdicts.loc[model, "loss"] == verdicts.loc[model, "loss"]]
if len(with_loss) >= 2:
    first_loss, second_loss = verdicts.loc[with_loss[0], "loss"], verdicts.loc[with_loss[1], "loss"]
    # A percentage of a near-zero loss means nothing: below 0.01 only the difference is shown.
    columns[-1].metric(
        f"Loss, {with_loss[0]} to {with_loss[1]}",
        f"{(second_loss - first_loss) / first_loss:+.0%}" if first_loss >= 0.01 else f"{second_loss - first_loss:+.3f}",
        delta=f"{second_loss - first_loss:+.3f}",
        delta_color="inverse",
    )
with st.expander("Every class's probability"):
    table(
        predictions.pivot(index="label", columns="model", values="probability")
        .loc[classes, list(verdicts.index)]
        .reset_index(),
        column_config={m: st.column_config.NumberColumn(m, format="%.3f") for m in verdicts.index},
    )

quality = run_query("text_label_quality", text_id=int(text_id))
if not quality.empty:
    row = quality.iloc[0]
    verdict = f"likely mislabelled: maybe **{row.likely_label}**" if row.flagged else "the label looks right"
    evidence = (
        "two simple models cross-validated and the models' early epochs"
        if row.evidence == "training"
        else "the final models"
    )
    st.caption(f"Label quality **{row.label_quality:.2f}** from {evidence}: {verdict}.")
curves = run_query("text_dynamics", text_id=int(text_id))
if not curves.empty:
    st.markdown("#### Over training")
    places = quality.dropna(subset=["model"])
    st.caption(
        " · ".join(
            f"{place.model}: {place.region}, confidence {place.confidence:.2f}, variability {place.variability:.2f}, "
            f"forgotten {place.forgetting} time{'' if place.forgetting == 1 else 's'}"
            for place in places.itertuples()
        )
    )
    recorded = [model for model in verdicts.index if model in set(curves["model"])]
    st.altair_chart(charts.text_curve(curves, opened.label, recorded), width="stretch")

st.markdown("#### What each model read into it")
# Two classes mirror each other; with more, the true class and the one the first model predicted.
first_prediction = verdicts.loc[(compared or list(verdicts.index))[0], "predicted_label"]
default = [opened.label] if len(classes) == 2 else list(dict.fromkeys([opened.label, first_prediction]))
chosen = st.multiselect("Toward the class", classes, default=default, key="toward")
st.caption(
    "How much each word pushed the model toward the class (green) or away from it (red); darker is stronger, "
    "relative to the model's strongest word in this text. Grey words were cut off: the model never saw them. By "
    "integrated gradients, unless said below; the baseline's are exact: each word's share of its TF-IDF terms."
)
called = figures[figures["model"].isin(attributed) & figures["calls_per_text"].notna()]
for row in called.itertuples():
    how = (
        "each word left out in turn (each phrase, in a long text); a word's score is how much the target falls "
        "without it"
        if row.heat_maps == "occlusion"
        else "halves of the text left out, then halves of those; the scores add up to the whole text's push"
    )
    st.caption(f"**{row.model}** is called, not differentiated: {row.heat_maps}, {how}. About "
               f"{row.calls_per_text:.0f} model calls a text.")  # fmt: skip
for model, why in unattributed.items():
    st.info(f"{model} has no heat maps: {why}.")


def away_title(label: str) -> str:
    """Away from one of two classes is toward the other."""
    return f"toward {classes[1 - classes.index(label)]}" if len(classes) == 2 else f"away from {label}"


st.html(f"<style>{markup.HEAT_CSS}</style>")
for toward in chosen:
    heat = run_query("text_heatmap", text_id=int(text_id), label=toward)
    for column, model in side_by_side(attributed):
        tokens = heat[heat["model"] == model]
        column.markdown(f"**{model}** · toward {toward}")
        column.html(markup.heat_map(tokens, "toward"))
        column.markdown(f"**{model}** · {away_title(toward)}")
        column.html(markup.heat_map(tokens, "away"))

focus = chosen[0] if chosen else opened.label
flipped = run_query("text_flips", text_id=int(text_id))


def loss(value: float) -> str:
    return f" · loss {value:.3f}" if value == value else ""


if not flipped.empty:
    st.markdown(f"#### Before and after · toward {focus}")
    st.caption("The Compare page's pairs under which this text flipped: the model before on the left, after on the "
               "right.")  # fmt: skip
    heat = run_query("text_heatmap", text_id=int(text_id), label=focus)
    for flip in flipped.itertuples():
        before, after = st.columns(2)
        side = "the base's " if not flip.within else ""
        before.markdown(f"**{side}{flip.base_model}** said {flip.predicted_before}{loss(flip.loss_before)}")
        after.markdown(f"**{flip.model}** says {flip.predicted_after}{loss(flip.loss_after)} · {flip.direction}")
        sides = {flip.model: after}
        if flip.within:
            sides[flip.base_model] = before
        for model, column in sides.items():
            tokens = heat[heat["model"] == model]
            column.html(markup.heat_map(tokens, "toward") if len(tokens) else "<p>No heat map.</p>")
        if not flip.within:
            tokens = run_query("flip_heatmap", text_id=int(text_id), base_model=flip.base_model, label=focus)
            kept = "<p>No heat map kept: the base model has none, or the text is not among its worst flips.</p>"
            before.html(markup.heat_map(tokens, "toward") if len(tokens) else kept)

st.markdown(f"#### Strongest words and phrases toward {focus}")
ngrams = run_query("text_ngrams", text_id=int(text_id), top=NGRAMS, label=focus)
for column, model in side_by_side(attributed):
    column.markdown(f"**{model}**")
    column.altair_chart(charts.ngram_bars(ngrams[ngrams["model"] == model], focus), width="content")

differing = [model for model in compared if model in attributed]
if len(differing) >= 2:
    st.markdown("#### Where the models disagree")
    first, second = differing[0], differing[1]
    comparison = run_query(
        "model_comparison", text_id=int(text_id), notable=NOTABLE, label=focus, first=first, second=second
    )
    flipped = comparison[comparison["flipped"]]
    st.caption(
        f"{len(flipped)} words push the other way under {second} than under {first} "
        f"(red lines); the {min(COMPARED, len(comparison))} largest changes are shown."
    )
    st.altair_chart(
        charts.model_change(comparison.head(COMPARED), first, second, focus, list(figures["model"])), width="stretch"
    )

cases = run_query("text_cases", text_id=int(text_id))
if not cases.empty:
    st.markdown("#### Behavioural tests on this text")
    table(
        cases.drop(columns=["case_id", "test_rank", "model_rank"]),
        column_config={
            "test": "Test",
            "kind": "Kind",
            "model": "Model",
            "predicted_before": "Predicted before",
            "predicted_after": "Predicted after",
            "failed": "Failed",
            "after": st.column_config.TextColumn("Changed text", width="large"),
        },
    )
    st.caption("The text changed in small ways; the Behaviour page explains each test.")

with st.expander("Raw text"):
    st.text(opened.display_text)

mapped = models_where("mapped")
if mapped:
    st.subheader(f"Similar {noun()}")
    space = st.radio("In the latent space of", mapped, horizontal=True, key="space")
    show_texts(run_query("similar_texts", model=space, text_id=int(text_id), k=NEIGHBOURS + 1).iloc[1:])
    st.caption("The nearest texts by Euclidean distance between latent vectors: the ones the model sees as most alike.")
