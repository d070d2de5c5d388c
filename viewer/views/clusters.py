"""Clusters: groups of texts the model sees alike, and what sets each group apart."""

import streamlit as st

from viewer import charts
from viewer.filters import labels, models_where, noun, show_texts, table
from viewer.pages import TEXT_PAGE
from viewer.scatter import scatter_map
from viewer.session import run_query

TEXTS_SHOWN = 20

st.title("Clusters")
st.caption(
    f"Which groups of {noun()} does the model find hard? k-means on the model's latent space, "
    "highest mean loss first; pick one to see what is in it and the words that set it apart."
)

mapped = models_where("mapped")
if not mapped:
    st.info("No model here has a latent space to cluster: served models and LLMs give only their predictions.")
    st.stop()
model = st.sidebar.selectbox("Model", mapped, key="model")
summary = run_query("cluster_summary", model=model)

table(
    summary,
    column_config={
        "cluster": "Cluster",
        "texts": st.column_config.NumberColumn("Texts", format="%d"),
        "accuracy": st.column_config.NumberColumn("Accuracy", format="%.3f"),
        "mean_loss": st.column_config.NumberColumn("Mean loss", format="%.3f"),
        "mean_oov": st.column_config.NumberColumn("Mean OOV", format="%.1f"),
        "mean_oov_rate": st.column_config.NumberColumn("OOV rate", format="%.3f"),
        "mean_tokens": st.column_config.NumberColumn("Mean length", format="%.0f"),
        "top_label": "Most common label",
        "top_label_share": st.column_config.NumberColumn("Its share", format="%.2f"),
        "share_truncated": st.column_config.NumberColumn("Truncated", format="%.2f"),
    },
)

focus = st.selectbox(
    "Focus on cluster",
    summary["cluster"],
    key="focus",
    format_func=lambda c: f"{c}: {summary.set_index('cluster').loc[c, 'texts']:,} {noun()}",
)
points = run_query(
    "population_map", model=model, split=None, label=None, correct=None, clusters=None, loss_min=0.0, loss_max=1e9
)
left, right = st.columns([3, 2])
codes, palette, legend = charts.map_palette(points["cluster"], "cluster", labels())
with left:
    drawn = scatter_map(
        points.assign(colour=codes),
        color="colour",
        palette=palette,
        legend=legend,
        size=charts.MAP_SIZES["out-of-vocabulary count"],
        tooltip=[("text_id", "id"), "label", ("predicted_label", "prediction"), "loss", "cluster"],
        highlight=legend.index(str(focus)),
        key="cluster_map",
        height=500,
    )
if drawn.webgl is False:
    left.warning("This browser cannot draw WebGL, so the map stays empty; the Population page offers a sample.")
if drawn.opened is not None:
    st.switch_page(TEXT_PAGE.file, query_params={"id": str(drawn.opened)})

words = run_query("cluster_words", model=model, cluster=int(focus))
right.subheader("Words that set it apart")
right.altair_chart(charts.cluster_words(words), width="stretch")
right.caption(f"Share of the cluster's {noun()} that use the word, against the other {noun()}.")

st.subheader(f"Highest-loss {noun()} in cluster {focus}")
show_texts(run_query("cluster_texts", model=model, cluster=int(focus), limit=TEXTS_SHOWN))
