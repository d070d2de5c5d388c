"""Dashboard: how the loss moves with what a text is like (length, vocabulary, sentiment, the data's own columns)."""

import streamlit as st

from viewer import charts
from viewer.filters import models_where, noun, table
from viewer.session import run_query

SPLITS = ["test", "validation", "train", "all"]

st.title("Dashboard")
st.caption(
    f"Does the loss rise or fall with a text's length, vocabulary or sentiment, or with the data's own columns? "
    f"Bars count the {noun()} in each bin; the red line is the model's mean loss there, with its 95% interval. "
    "The link to this page keeps your choices."
)

# The choices live in the URL, so that a dashboard can be shared as a link.
url = st.query_params
# The loss needs probabilities.
with_loss = models_where("compared", "has_probabilities")
features = run_query("features")
numeric = features[features["kind"] == "numeric"]
titles = dict(features[["feature", "title"]].itertuples(index=False))
with st.sidebar:
    chosen_model = url.get("model")
    model = st.selectbox("Model", with_loss, index=with_loss.index(chosen_model) if chosen_model in with_loss else 0)
    split = st.selectbox("Split", SPLITS, index=SPLITS.index(url.get("split")) if url.get("split") in SPLITS else 0)
    bins = st.slider("Bins", 5, 50, int(url["bins"]) if url.get("bins", "").isdigit() else 20)
chosen = st.multiselect(
    "Features",
    list(numeric["feature"]),
    default=[f for f in url.get_all("feature") if f in titles] or list(numeric.loc[numeric["default"], "feature"]),
    format_func=titles.get,
)
st.query_params.from_dict({"model": model, "split": split, "bins": str(bins), "feature": chosen})

subset = None if split == "all" else split
correlations = run_query("feature_correlations", model=model, subset=split).set_index("feature")
for feature in chosen:
    chart, numbers = st.columns([4, 1])
    histogram = run_query("feature_histogram", model=model, feature=feature, subset=subset, bins=bins)
    chart.altair_chart(charts.feature_vs_loss(histogram, titles[feature]), width="stretch")
    rho = correlations.loc[feature]
    numbers.metric("Rank correlation", f"{rho.spearman:+.3f}", help=f"Spearman, {titles[feature]} against loss")
    numbers.caption(f"95% interval {rho.ci_low:+.3f} to {rho.ci_high:+.3f} (bootstrap, {int(rho.texts):,} {noun()})")

for category in features.loc[features["kind"] == "category", "feature"]:
    st.subheader(f"By {titles[category]}")
    values = run_query("category_loss", model=model, category=category, subset=subset)
    st.altair_chart(charts.category_vs_loss(values, titles[category]), width="stretch")

findings = run_query("seed_findings", subset=split)
if not findings.empty:
    st.subheader("The seed study's five findings, checked")
    st.caption(
        "Each finding holds when the rank correlation's 95% interval lies on its side of zero, is reversed when it "
        "lies on the other side, and shows no clear effect when it contains zero."
    )
    table(
        findings.drop(columns=["finding", "feature", "rank"]),
        column_config={
            "statement": st.column_config.TextColumn("Finding", width="large"),
            "model": "Model",
            "spearman": st.column_config.NumberColumn("Rank correlation", format="%+.3f"),
            "ci_low": st.column_config.NumberColumn("95% from", format="%+.3f"),
            "ci_high": st.column_config.NumberColumn("95% to", format="%+.3f"),
            "verdict": "Verdict",
        },
    )
