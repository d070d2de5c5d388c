"""Integrated gradients of one model for every text: how much each token pushes toward each class.

    python -m pipeline attributions --model cnn --weights build/models/cnn.keras --texts build/texts.parquet \
        --tokens build/tokens.npz --predictions build/predictions/cnn.parquet --out build/attributions/cnn.parquet

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
from pipeline.models import classifier, outputs


def chosen_rows(predictions: Path, subset: np.ndarray, settings: dict, seed: int) -> np.ndarray | None:
    """The texts to attribute for a model whose attributions are too slow for all (a transformer's settings say
    it): its misclassified test texts, highest loss first, up to attribute_errors, and a seeded sample of
    attribute_sample others; in text_id order. None: every text."""
    if "attribute_all" not in settings or settings["attribute_all"]:
        return None
    found = artifacts.read_predictions(predictions)
    wrong = np.flatnonzero(~found["correct"].to_numpy() & (subset == "test"))
    wrong = wrong[np.argsort(-found["loss"].to_numpy()[wrong], kind="stable")][: settings["attribute_errors"]]
    others = np.setdiff1d(np.arange(len(found)), wrong)
    sample = np.random.default_rng(seed).choice(
        others, size=min(settings["attribute_sample"], len(others)), replace=False
    )
    return np.sort(np.concatenate([wrong, sample]))


def main() -> None:
    p = classifier.parser(__doc__)
    p.add_argument("--predictions", required=True, type=Path, help="the model's predictions, to choose texts by")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config, spec, corpus, model = classifier.opened(args)
    if model.no_attributions:
        # The model is analysed without them; the database and the pages say why.
        outputs.write_no_attributions(corpus, args.out)
        return
    rows = chosen_rows(args.predictions, corpus.tokens.subset, spec.settings, config["seed"])
    outputs.write_attributions(model, corpus, config["attributions"], args.out, rows)
