"""What the pages share: the open file's models, labels and categories, the population map's sidebar filters,
and the one way to list texts (with a link to each)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.data import imdb
from viewer.pages import TEXT_PAGE
from viewer.session import build_facts, run_query

ANY = "any"


def models_where(*columns: str) -> list[str]:
    """The models for which every one of these boolean columns of the models table is true, in order: compared
    (every one but the baseline), mapped (a latent space: the map, clusters, similar texts), attributed (heat maps),
    tested (behavioural tests), has_probabilities (a loss and a calibration)."""
    models = run_query("model_figures")
    return list(models.loc[models[list(columns)].all(axis=1), "model"])


def why_not(column: str) -> dict[str, str]:
    """Why each model lacks what a no_* column of the models table is about (no_attributions...)."""
    models = run_query("model_figures")
    return dict(models.loc[models[column].notna(), ["model", column]].values)


def labels() -> list[str]:
    """The label set, in the models' output order."""
    return list(run_query("labels")["label"])


def categories() -> dict[str, str]:
    """The category features of the data: name -> title."""
    found = run_query("features")
    return dict(found.loc[found["kind"] == "category", ["feature", "title"]].itertuples(index=False))


def noun() -> str:
    """What the texts are called: reviews for IMDB, texts for anything else."""
    return imdb.noun(build_facts().get("dataset_kind"))


def population_filters() -> dict:
    """Model, split, label, correctness, loss range and clusters, as named query parameters."""
    loss_max = float(run_query("loss_range").iloc[0].loss_max) + 0.01
    with st.sidebar:
        model = st.selectbox("Model", models_where("mapped"), key="model")
        split = st.selectbox("Split", [ANY, "test", "validation", "train"], key="split")
        label = st.selectbox("True label", [ANY, *labels()], key="label")
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


TEXT_COLUMNS = {
    "text_id": None,
    "link": st.column_config.LinkColumn("Text", display_text=rf"{TEXT_PAGE.address}\?id=(\d+)"),
    "split": "Split",
    "subset": "Split",
    "label": "Label",
    "predicted_label": "Predicted",
    "confidence": st.column_config.NumberColumn("Confidence", format="%.3f"),
    "loss": st.column_config.NumberColumn("Loss", format="%.3f"),
    "correct": "Correct",
    "distance": st.column_config.NumberColumn("Distance", format="%.3f"),
    "cluster": "Cluster",
    "first_loss": st.column_config.NumberColumn("First model's loss", format="%.3f"),
    "second_loss": st.column_config.NumberColumn("Second model's loss", format="%.3f"),
    "losses": "Losses",
    "n_oov": "OOV",
    "likely_label": "Likely label",
    "label_quality": st.column_config.NumberColumn("Label quality", format="%.3f"),
    "forgetting": "Forgotten",
    "snippet": st.column_config.TextColumn("Start of the text", width="large"),
}


def side_by_side(items: list, per_row: int = 2):
    """Each item with a column of its own, `per_row` columns to a row."""
    for start in range(0, len(items), per_row):
        row = items[start : start + per_row]
        yield from zip(st.columns(per_row), row, strict=False)


def with_links(frame: pd.DataFrame) -> pd.DataFrame:
    """The texts with a link to each one's page, as the second column."""
    linked = frame.copy()
    linked.insert(1, "link", TEXT_PAGE.address + "?id=" + frame["text_id"].astype(str))
    return linked


def table(frame: pd.DataFrame, where=st, **options):
    """A table as every page draws one: no index, and an empty cell reads "-"; `options` go to st.dataframe."""
    return where.dataframe(frame, **{"hide_index": True, "placeholder": "-", **options})


def show_texts(frame: pd.DataFrame, where=st, **options):
    """A list of texts, each linked to its page; `options` go to st.dataframe (selection, for one)."""
    config = {**TEXT_COLUMNS, **options.pop("column_config", {})}
    return table(with_links(frame), where, column_config=config, **options)
