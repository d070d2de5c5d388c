"""Per-review results of one model, the same columns for the neural models and the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

EPSILON = 1e-7  # as Keras clips probabilities in its cross-entropy


def prediction_table(model: str, review_id: np.ndarray, label: np.ndarray, p_positive: np.ndarray) -> pd.DataFrame:
    p_positive = np.asarray(p_positive, dtype=np.float64)
    p_true = np.where(label == 1, p_positive, 1.0 - p_positive)
    predicted = (p_positive >= 0.5).astype(np.int8)
    return pd.DataFrame(
        {
            "review_id": review_id.astype(np.int32),
            "model": model,
            "p_positive": p_positive.astype(np.float32),
            "predicted_label": np.where(predicted == 1, "positive", "negative"),
            "loss": (-np.log(np.clip(p_true, EPSILON, 1.0))).astype(np.float32),
            "confidence": np.maximum(p_positive, 1.0 - p_positive).astype(np.float32),
            "correct": predicted == label,
        }
    )
