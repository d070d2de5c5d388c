"""What a model's attributions are, and which texts get them: integrated gradients, how much each token pushes
toward each class. The predict step computes them with the predictions, in the same pass over the texts.

The target for class c is its centred logit, logit(c) minus the mean of all logits, taken with respect to
the embedding output, from the all-zero embedding of the text's tokens (the baseline) to the text's own. With
two classes it is half the margin logit(positive) - logit(negative), and a token's score toward one class is
minus its score toward the other. The centred logits of all classes sum to zero and integrated gradients are
linear in the target, so the scores toward class 0 are minus the sum of the others': only classes 1 to n-1 are
computed and stored. Scores sum to target(text) - target(baseline) (completeness).

Each model computes them through the one model interface (pipeline/models/classifier.py): the path integral with the
midpoint rule over `steps` points for a Keras model (pipeline/models/keras_classifier.py); exactly for the dense
architecture, which averages a function of each token alone, and for the linear baseline (pipeline/models/baseline.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline import artifacts


def of_every_text(settings: dict) -> bool:
    """Whether a model's attributions cover every text: all but a transformer's, whose settings choose a set."""
    return settings.get("attribute_all", True)


def chosen_rows(predictions: Path, subset: np.ndarray, settings: dict, seed: int) -> np.ndarray:
    """The texts to attribute for a model whose attributions are too slow for all (a transformer's settings say
    it): its misclassified test texts, highest loss first, up to attribute_errors, and a seeded sample of
    attribute_sample others; in text_id order."""
    found = artifacts.read_predictions(predictions)
    wrong = np.flatnonzero(~found["correct"].to_numpy() & (subset == "test"))
    wrong = wrong[np.argsort(-found["loss"].to_numpy()[wrong], kind="stable")][: settings["attribute_errors"]]
    others = np.setdiff1d(np.arange(len(found)), wrong)
    sample = np.random.default_rng(seed).choice(
        others, size=min(settings["attribute_sample"], len(others)), replace=False
    )
    return np.sort(np.concatenate([wrong, sample]))
