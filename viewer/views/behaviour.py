"""Behaviour: does a model break on small changes that should not matter, or ignore changes that should?"""

import streamlit as st

from viewer import charts, markup
from viewer.filters import noun, table
from viewer.pages import TEXT_PAGE
from viewer.session import run_query

SHOWN = 20
KINDS = {
    "invariance": "the predicted class should not change",
    "direction": "the class's probability should not move the wrong way",
    "template": "made-up texts with a known label",
}

st.title("Behaviour")
st.caption(
    f"Behavioural tests in the manner of CheckList: {noun()} of the test split changed in small ways, and short "
    "made-up texts with a known label. Does a model break on changes that should not matter, or ignore those "
    "that should?"
)

summary = run_query("behaviour_summary")
figures = run_query("model_figures")
models = list(figures["model"])
run = summary[summary["model"].notna()]
if run.empty:
    st.info("No behavioural test could run on this data.")
    st.stop()

st.altair_chart(charts.failure_rates(summary, models), width="stretch")
table(
    run.drop(columns=["applicable", "reason", "test_rank", "model_rank", "source"]),
    column_config={
        "test": "Test",
        "kind": "Kind",
        "model": "Model",
        "cases": st.column_config.NumberColumn("Cases", format="%d"),
        "failures": st.column_config.NumberColumn("Failed", format="%d"),
        "failure_rate": st.column_config.NumberColumn("Failure rate", format="percent"),
        "ci_low": st.column_config.NumberColumn("95% from", format="percent"),
        "ci_high": st.column_config.NumberColumn("95% to", format="percent"),
        "skipped": st.column_config.NumberColumn("Skipped", format="%d", help=f"{noun()} the test could not change"),
        "description": st.column_config.TextColumn("What it does", width="large"),
    },
)
st.caption(
    " · ".join(f"{kind}: {meaning}" for kind, meaning in KINDS.items())
    + f". Skipped: sampled {noun()} the test could not change (no name, no number), not counted as passes."
)
tests = summary.drop_duplicates("test")
for row in tests[~tests["applicable"]].itertuples():
    st.caption(f"Not run: **{row.test}**, {row.reason}")
for row in tests[tests["applicable"] & tests["model"].isna()].itertuples():
    st.caption(f"No cases: **{row.test}** could change none of the sampled {noun()}.")
for row in figures[figures["no_behaviour"].notna()].itertuples():
    st.caption(f"Not available for **{row.model}**: {row.no_behaviour}.")

st.subheader("Failing cases")
left, right = st.columns(2)
# The test with the most failures first, so the page opens on something to read.
failing = run.groupby("test", sort=False)["failures"].sum()
test = left.selectbox("Test", list(failing.index), index=int(failing.to_numpy().argmax()), key="behaviour_test")
model = right.selectbox("Model", [m for m in models if m in set(run["model"])], key="behaviour_model")
failures = run_query("behaviour_failures", test=test, model=model, limit=SHOWN)
if failures.empty:
    st.success(f"{model} fails no case of {test}.")
    st.stop()
total = int(failures["matching"].iloc[0])
shown = f"; the {SHOWN} with the largest change are shown." if total > SHOWN else "."
st.caption(f"{model} fails {total:,} cases of {test}{shown} Changed words are marked.")
for case in failures.itertuples():
    before_html, after_html = markup.marked_change(case.before, case.after)
    if case.before is None:
        st.markdown(
            f"**Case {case.case_id}** · should be {case.watched}; {model} says {case.predicted_after} "
            f"(P({case.watched}) {case.probability_after:.3f})"
        )
        st.html(f"<div>{after_html}</div>")
    else:
        link = f"[{noun()[:-1]} {case.text_id}]({TEXT_PAGE.address}?id={case.text_id})"
        st.markdown(
            f"**Case {case.case_id}** · {link} · predicted {case.predicted_before} → {case.predicted_after} · "
            f"P({case.watched}) {case.probability_before:.3f} → {case.probability_after:.3f}"
        )
        old, new = st.columns(2)
        old.html(f"<div><small>before</small><br>{before_html}</div>")
        new.html(f"<div><small>after</small><br>{after_html}</div>")
