"""Compare: what a change fixed and what it broke, between this build and a base build (make all BASE=...), or
between two models of this build."""

import streamlit as st

from viewer import charts
from viewer.filters import noun, show_texts, table
from viewer.session import run_query

SHOWN = 50
GROUPS = 12
METRICS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "f1": "F1", "loss": "loss", "ece": "ECE"}
NUMBER = {"format": "%.3f"}


def interval_columns(format: str = "%+.3f") -> dict:
    """A 95% interval, as every table of the page shows one."""
    return {
        "ci_low": st.column_config.NumberColumn("95% from", format=format),
        "ci_high": st.column_config.NumberColumn("95% to", format=format),
    }


CHANGE = st.column_config.NumberColumn("Change", format="%+.3f")


st.title("Compare")
st.caption(
    "What did the change fix, and what did it break? The overall figure hides the texts a new model gets wrong "
    "that the old one got right."
)

pairs = run_query("comparison")
summary = pairs.iloc[0]
if summary.within:
    st.caption(
        "No base build was given: the models of this build are compared with each other, the first of each pair "
        "as before. To compare with another build: `make all BASE=path/to/reviewlens.duckdb`."
    )
else:
    data = (
        "the same data"
        if summary.base_dataset_sha256 == run_query("meta").set_index("key").loc["dataset_sha256", "value"]
        else f"other data ({summary.base_dataset_file})"
    )
    st.caption(f"Compared with the base `{summary.base_file}`, built {summary.base_built_at} from {data}.")
    st.caption(
        f"Texts matched by {summary.matched_by}: {summary.matched:,} in both, {summary.added:,} added, "
        f"{summary.removed:,} removed, {summary.relabelled:,} relabelled, {summary.changed:,} changed."
    )
st.caption(
    f"Every figure is measured on the {summary.paired_texts:,} paired {noun()}: in the test split of both builds, "
    "with the same label."
)
pairs = pairs[pairs["rank"].notna()]
if pairs.empty:
    st.info("Nothing to compare: this build has one model besides the baseline. Give a base with BASE=.")
    st.stop()

names = [f"{row.base_model} → {row.model}" for row in pairs.itertuples()]
with st.sidebar:
    chosen = st.selectbox("Pair (before → after)", names, key="pair")
row = pairs.iloc[names.index(chosen)]
pair = {"base_model": row.base_model, "model": row.model}
metrics = run_query("comparison_metrics", **pair)
overall = metrics[metrics["class"].isna()].set_index("metric")

columns = st.columns(4)
columns[0].metric("Broken", f"{row.broken:,}", help="right before, wrong after")
columns[0].caption(f"{row.negative_flip_rate:.1%} of {row.texts:,} (95%: {row.nfr_low:.1%} to {row.nfr_high:.1%})")
columns[1].metric("Fixed", f"{row.fixed:,}", help="wrong before, right after")
columns[1].caption(f"{row.positive_flip_rate:.1%} (95%: {row.pfr_low:.1%} to {row.pfr_high:.1%})")
accuracy = overall.loc["accuracy"]
columns[2].metric("Accuracy", f"{accuracy.after:.3f}", delta=f"{accuracy.difference:+.3f}")
columns[2].caption(f"was {accuracy.before:.3f} (95%: {accuracy.ci_low:+.3f} to {accuracy.ci_high:+.3f})")
columns[3].metric("McNemar p", f"{row.mcnemar_p:.3g}", help="McNemar's exact test of broken against fixed")
columns[3].caption("the error rates differ" if row.mcnemar_p < 0.05 else "no difference beyond chance")

shown = metrics.assign(
    figure=[
        METRICS[m] + (f" · {c}" if c == c and c is not None else "")
        for m, c in zip(metrics["metric"], metrics["class"], strict=True)
    ]
)
left, right = st.columns([3, 2])
left.altair_chart(charts.differences(shown[shown["class"].isna()], "figure", "Overall"), width="stretch")
right.caption(
    "Each change with its paired bootstrap 95% interval: the same texts resampled for both models. Dark: the "
    "interval rules out no change. Loss and ECE need probabilities from both models."
)
with st.expander("Every figure, overall and per class"):
    table(
        shown[["figure", "before", "after", "difference", "ci_low", "ci_high"]],
        column_config={
            "figure": "Figure",
            "before": st.column_config.NumberColumn("Before", **NUMBER),
            "after": st.column_config.NumberColumn("After", **NUMBER),
            "difference": CHANGE,
            **interval_columns(),
        },
    )
    st.caption("Per class: accuracy is the share of the class's texts predicted right (its recall).")

st.subheader(f"The {noun()} that flipped")
direction = st.segmented_control("Direction", ["broken", "fixed"], default="broken", key="direction") or "broken"
flipped = run_query("flips", **pair, direction=direction, limit=SHOWN)
count = int(flipped["matching"].iloc[0]) if len(flipped) else 0
st.caption(
    f"{count:,} {direction}; the {min(count, SHOWN)} worst are listed "
    + ("(highest loss after first)." if direction == "broken" else "(highest loss before first).")
    + " Open one to see both models' predictions and heat maps side by side."
)
show_texts(
    flipped.drop(columns=["matching"]),
    column_config={
        "predicted_before": f"{row.base_model} said",
        "predicted_after": f"{row.model} says",
        "loss_before": st.column_config.NumberColumn("Loss before", **NUMBER),
        "loss_after": st.column_config.NumberColumn("Loss after", **NUMBER),
    },
)

st.subheader("Where it regressed")
slices = run_query("comparison_slices", **pair)
if slices.empty:
    st.caption("No slice holds more broken texts than the overall rate predicts.")
else:
    st.caption(
        f"Slices of the texts {row.base_model} got right where the most broke ({slices['overall_rate'].iloc[0]:.1%} "
        "overall): the same facts as the Insights page's slices."
    )
    table(
        slices.drop(columns=["predicates", "overall_rate"]),
        column_config={
            "slice": None,
            "description": st.column_config.TextColumn("Slice", width="large"),
            "size": "Texts",
            "broken": "Broken",
            "broken_rate": st.column_config.NumberColumn("Broken share", format="%.3f"),
            **interval_columns("%.3f"),
        },
    )
groups = run_query("comparison_groups", **pair, limit=GROUPS)
if not groups.empty:
    left, right = st.columns([3, 2])
    left.altair_chart(
        charts.differences(
            groups.rename(columns={"error_before": "before", "error_after": "after"}),
            "group",
            "Error rate: the groups that gained or lost most errors",
        ),
        width="stretch",
    )
    right.caption(
        f"Clusters of {row.model}'s map and each category value: the change in error rate on the paired "
        f"{noun()} in it, with its paired bootstrap interval."
    )

st.subheader("What else changed")
behaviour = run_query("comparison_behaviour", **pair)
if behaviour.empty:
    st.caption("Behavioural tests need a model that can be run on both sides.")
else:
    st.markdown("**Behavioural tests**: the share of each test's cases failed")
    table(
        behaviour,
        column_config={
            "test": "Test",
            "cases_before": "Cases before",
            "cases_after": "Cases after",
            "failure_rate_before": st.column_config.NumberColumn("Failed before", **NUMBER),
            "failure_rate_after": st.column_config.NumberColumn("Failed after", **NUMBER),
            "difference": CHANGE,
            **interval_columns(),
        },
    )
if "ece" in overall.index:
    ece = overall.loc["ece"]
    st.markdown(
        f"**Calibration**: expected calibration error {ece.before:.3f} before, {ece.after:.3f} after "
        f"({ece.difference:+.3f}, 95% {ece.ci_low:+.3f} to {ece.ci_high:+.3f}); per class in the table above."
    )
else:
    st.caption("Calibration needs probabilities from both models.")
if not summary.within:
    mislabelled = run_query("comparison_mislabelled")
    st.markdown(
        f"**Likely mislabelled**: {(mislabelled['status'] == 'appeared').sum():,} appeared, "
        f"{(mislabelled['status'] == 'went away').sum():,} went away"
    )
    if not mislabelled.empty:
        show_texts(mislabelled, column_config={"status": "Status"})
    shift = run_query("comparison_features")
    if shift.empty:
        st.caption("Both builds read the same data file: no feature moved.")
    else:
        st.markdown("**How the data moved**: each feature's distribution in the base's data against this build's")
        table(
            shift,
            column_config={
                "title": "Feature",
                "kind": "Kind",
                "test": "Test",
                "statistic": st.column_config.NumberColumn("Statistic", format="%.3f"),
                "p_value": st.column_config.NumberColumn("p", format="%.2g"),
                "effect": "Effect",
                "effect_size": st.column_config.NumberColumn("Size", format="%+.3f"),
                "before": st.column_config.NumberColumn("Mean before", format="%.3g"),
                "after": st.column_config.NumberColumn("Mean after", format="%.3g"),
            },
        )
