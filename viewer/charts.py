"""Every chart the viewer draws, as functions from a query result to an Altair chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

MODEL_COLORS = alt.Scale(domain=["dense", "cnn", "baseline"], range=["#4c78a8", "#f58518", "#9d9d9d"])
LABEL_COLORS = alt.Scale(domain=["negative", "positive"], range=["#e45756", "#54a24b"])


def training_curve(batches: pd.DataFrame, metric: str, window: int = 25) -> alt.LayerChart:
    """`metric` (loss or accuracy) of every batch, faint, under its moving average; one colour per model."""
    base = alt.Chart(batches, title=f"Training {metric} per batch").encode(
        x=alt.X("step:Q", title="batch"),
        color=alt.Color("model:N", scale=MODEL_COLORS),
    )
    raw = base.mark_line(opacity=0.25, strokeWidth=1).encode(y=alt.Y(f"{metric}:Q", title=metric))
    smooth = (
        base.transform_window(smooth=f"mean({metric})", frame=[-window + 1, 0], groupby=["model"])
        .mark_line(strokeWidth=2)
        .encode(
            y="smooth:Q",
            tooltip=["model", "epoch", "batch", alt.Tooltip("smooth:Q", format=".3f", title=f"{metric}, moving mean")],
        )
    )
    return raw + smooth


def confusion_matrix(counts: pd.DataFrame, model: str) -> alt.LayerChart:
    """True label by predicted label for one model, counts written in the cells."""
    base = alt.Chart(counts[counts["model"] == model], title=model).encode(
        x=alt.X("predicted_label:N", title="predicted"),
        y=alt.Y("label:N", title="true label"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("reviews:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["label", "predicted_label", alt.Tooltip("reviews:Q", format=",")],
    )
    text = base.mark_text(fontSize=16).encode(
        text=alt.Text("reviews:Q", format=","),
        color=alt.condition(alt.datum.reviews > counts["reviews"].max() / 2, alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(width=220, height=180)


def probability_bars(predictions: pd.DataFrame) -> alt.Chart:
    """Each model's probability of positive for one review, with the 0.5 decision line."""
    bars = (
        alt.Chart(predictions)
        .mark_bar()
        .encode(
            x=alt.X("p_positive:Q", title="probability of positive", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("model:N", title=None, sort=None),
            color=alt.Color("model:N", scale=MODEL_COLORS, legend=None),
            tooltip=["model", alt.Tooltip("p_positive:Q", format=".3f"), alt.Tooltip("loss:Q", format=".3f")],
        )
    )
    threshold = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return (bars + threshold).properties(height=40 * len(predictions))
