"""The population map's sidebar filters, and the column settings every list of reviews shares."""

from __future__ import annotations

import streamlit as st

from viewer.session import run_query

ANY = "any"


def population_filters() -> dict:
    """Model, split, label, correctness, loss range and clusters, as named query parameters."""
    models = run_query("model_figures")
    models = models[models["kind"] == "neural"]
    loss_max = float(run_query("loss_range").iloc[0].loss_max) + 0.01
    with st.sidebar:
        model = st.selectbox("Model", models["model"], key="model")
        split = st.selectbox("Split", [ANY, "test", "train"], key="split")
        label = st.selectbox("True label", [ANY, "negative", "positive"], key="label")
        outcome = st.selectbox("Prediction", [ANY, "incorrect", "correct"], key="outcome")
        loss_min, loss_max = st.slider("Loss", 0.0, loss_max, (0.0, loss_max), key="loss")
        clusters = st.multiselect(
            "Clusters",
            run_query("cluster_summary", model=model)["cluster"].sort_values(),
            key="clusters",
            placeholder="all clusters",
        )
    return {
        "model": model,
        "split": None if split == ANY else split,
        "label": None if label == ANY else label,
        "correct": None if outcome == ANY else outcome == "correct",
        "loss_min": loss_min,
        "loss_max": loss_max,
        "clusters": [int(c) for c in clusters] or None,
    }


REVIEW_COLUMNS = {
    "review_id": None,
    "link": st.column_config.LinkColumn("Review", display_text=r"samples\?id=(\d+)"),
    "label": "Label",
    "predicted_label": "Predicted",
    "loss": st.column_config.NumberColumn("Loss", format="%.3f"),
    "distance": st.column_config.NumberColumn("Distance", format="%.3f"),
    "cluster": "Cluster",
    "rating": st.column_config.NumberColumn("Rating", format="%d ★"),
    "p_positive": st.column_config.NumberColumn("P(positive)", format="%.3f"),
    "dense_loss": st.column_config.NumberColumn("Dense loss", format="%.3f"),
    "cnn_loss": st.column_config.NumberColumn("CNN loss", format="%.3f"),
    "n_oov": "OOV",
    "snippet": st.column_config.TextColumn("Start of the review", width="large"),
}
