"""Per-text results of one model, the same columns for every model: neural, baseline or brought."""

from __future__ import annotations

import numpy as np
import pandas as pd

EPSILON = 1e-7  # as Keras clips probabilities in its cross-entropy


def prediction_table(
    model: str, text_id: np.ndarray, label: np.ndarray, probabilities: np.ndarray, labels: list[str]
) -> pd.DataFrame:
    """Every class's probability, the predicted class, the loss (cross-entropy of the true class), the
    confidence (probability of the predicted class) and whether it is right."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    p_true = probabilities[np.arange(len(label)), label]
    return pd.DataFrame(
        {
            "text_id": text_id.astype(np.int32),
            "model": model,
            "probabilities": list(probabilities.astype(np.float32)),
            "predicted_label": np.asarray(labels, dtype=object)[predicted],
            "loss": (-np.log(np.clip(p_true, EPSILON, 1.0))).astype(np.float32),
            "confidence": probabilities.max(axis=1).astype(np.float32),
            "correct": predicted == label,
        }
    )


def label_table(
    model: str, text_id: np.ndarray, label: np.ndarray, predicted: np.ndarray, labels: list[str]
) -> pd.DataFrame:
    """The same columns for a model that gives its predicted class alone (predictions made elsewhere): no
    probabilities, so no loss and no confidence."""
    return pd.DataFrame(
        {
            "text_id": text_id.astype(np.int32),
            "model": model,
            "probabilities": pd.Series([None] * len(text_id), dtype=object),
            "predicted_label": np.asarray(labels, dtype=object)[predicted],
            "loss": pd.Series(np.nan, index=range(len(text_id)), dtype=np.float32),
            "confidence": pd.Series(np.nan, index=range(len(text_id)), dtype=np.float32),
            "correct": predicted == label,
        }
    )
