"""Run every model on the behavioural test cases (pipeline/per_text/behaviour/cases.py) and say which cases each fails.

    python -m pipeline verdicts --models dense cnn baseline --weights build/models/dense.keras ... \
        --predictions build/predictions/dense.parquet ... --texts build/texts.parquet \
        --tokens build/tokens.npz --cases build/behaviour/cases.parquet --out build/behaviour/dense.parquet ...

One process for all models: the changed texts are encoded once, and TensorFlow starts once. Only the changed
texts are predicted: a case's text before the change is a text of the data, whose
probabilities the model's predictions already hold. A case fails when
- invariance: the predicted class changes;
- direction: the probability of the case's class moves against the expectation by more than the tolerance;
- template: the predicted class is not the case's label.
A model that gives its class alone (an LLM without log-probabilities) has probability 1 for its class and 0 for the
others, so its direction cases fail when the class turns the wrong way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import artifacts, cli, parts, registry
from pipeline.config import load_config
from pipeline.models import outputs
from pipeline.models.classifier import Classifier, Corpus, load


def verdicts(
    cases: pd.DataFrame, before: np.ndarray | None, after: np.ndarray, labels: list[str], tolerance: float
) -> np.ndarray:
    """Whether the model fails each case, from its probabilities before (rows of cases; NaN for templates) and
    after the change."""
    index = cases["label"].map({label: i for i, label in enumerate(labels)}).fillna(0).astype(int).to_numpy()
    rows = np.arange(len(cases))
    expect = cases["expect"].to_numpy()
    moved = after[rows, index] - before[rows, index]
    return np.select(
        [expect == "same", expect == "up", expect == "down", expect == "label"],
        [
            before.argmax(axis=1) != after.argmax(axis=1),
            moved < -tolerance,
            moved > tolerance,
            after.argmax(axis=1) != index,
        ],
        default=False,
    )


def before_probabilities(predictions: pd.DataFrame, labels: list[str]) -> pd.Series:
    """Each text's probabilities by text_id; for a model of predicted classes alone (an LLM without log-probabilities),
    1 for its class and 0 for the others, as it answers the changed texts."""
    found = predictions.set_index("text_id")
    if not found["probabilities"].isna().any():
        return found["probabilities"]
    classes = found["predicted_label"].map({label: i for i, label in enumerate(labels)}).to_numpy()
    return pd.Series(list(np.eye(len(labels))[classes]), index=found.index)


class Changed(outputs.Scoring):
    """A model run on the cases' changed texts, a part at a time."""

    def __init__(self, model: Classifier, changed: Corpus, config: Path, weights: Path, texts: Path, tokens: Path,
                 cases: Path) -> None:  # fmt: skip
        super().__init__(model, changed, config, weights, texts, tokens, step="verdicts")
        self.cases = Path(cases).resolve()

    def open(self) -> None:
        if getattr(self, "_model", None) is None:
            super().open()  # the model, opened on the data's texts
            self._corpus = self._corpus.of_texts(list(artifacts.read_table(self.cases)["after"]))


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--models", required=True, nargs="+", help="names from the models setting, the baseline too")
    p.add_argument("--weights", required=True, type=Path, nargs="+", help="each model's file (.keras, or .pkl)")
    p.add_argument("--predictions", required=True, type=Path, nargs="+", help="each model's predictions of the data")
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--cases", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, nargs="+", help="each model's verdicts (.parquet)")
    args = p.parse_args()
    config = load_config(args.config)
    corpus = Corpus.read(args.texts, args.tokens)
    cases = artifacts.read_table(args.cases)
    changed = corpus.of_texts(list(cases["after"]))  # encoded once, read by every model
    k = len(corpus.labels)
    known = cases["text_id"].notna().to_numpy()
    rows = parts.split(config, len(cases))
    for name, weights, predictions_path, out in zip(args.models, args.weights, args.predictions, args.out, strict=True):
        model = load(registry.spec(config, name), weights, corpus)
        scoring = Changed(model, changed, args.config, weights, args.texts, args.tokens, args.cases)
        found = [part["probabilities"] for part in parts.run(scoring, rows, f"{name}: changed texts", config)]
        after = np.concatenate(found) if found else np.zeros((0, k))
        predictions = before_probabilities(artifacts.read_predictions(predictions_path), corpus.labels)
        before = np.full((len(cases), k), np.nan)
        if known.any():
            before[known] = np.stack(predictions.loc[cases.loc[known, "text_id"].astype(int)].to_numpy())
        failed = verdicts(cases, before, after, corpus.labels, config["behaviour"]["tolerance"])
        artifacts.write_table(
            out,
            pd.DataFrame(
                {
                    "case_id": cases["case_id"].to_numpy(np.int32),
                    "model": name,
                    "probabilities_before": [None if np.isnan(row).any() else row.astype(np.float32) for row in before],
                    "probabilities_after": list(after.astype(np.float32)),
                    "failed": failed,
                }
            ),
        )
        print(f"{out}: {name} fails {int(failed.sum()):,} of {len(cases):,} cases")
