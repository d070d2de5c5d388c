"""What the pipeline writes about a model, whatever its kind, through the one model interface
(pipeline/classifier.py): its predictions, latent vectors and summary, and its attributions, quantized. The
steps that analyse a model (pipeline.score, pipeline.attributions, pipeline.baseline) write with these."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline import artifacts
from pipeline.classifier import Classifier, Corpus
from pipeline.predictions import prediction_table


def write_predictions(
    model: Classifier,
    corpus: Corpus,
    summary_path: Path,
    predictions_path: Path,
    latent_path: Path | None,
    extra: dict | None = None,
) -> None:
    """Predict every text and write the model's predictions, latent vectors (if it has them) and summary."""
    probabilities, latent = model.predict(corpus)
    tokens = corpus.tokens
    artifacts.write_predictions(
        predictions_path, prediction_table(model.name, tokens.review_id, tokens.label, probabilities, corpus.labels)
    )
    summary = {"model": model.name, **model.describe(), **(extra or {})}
    if latent_path is not None:
        artifacts.write_array(latent_path, latent.astype(np.float32))
        summary["latent_dim"] = int(latent.shape[1])
    artifacts.write_summary(summary_path, summary)


def quantize(scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's scores as int8 in units of its own scale (max |score| / 127): a fourth of float32's size,
    with a rounding error under 0.4% of the text's strongest score. Flat: token by token, class by class."""
    scale = np.array([np.abs(s).max() if s.size else 0.0 for s in scores], dtype=np.float64) / 127
    scale[scale == 0] = 1.0
    lengths = np.array([len(s) for s in scores])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = [np.rint(s / scale[i]).astype(np.int8).ravel() for i, s in enumerate(scores)]
    return (np.concatenate(flat) if flat else np.zeros(0, np.int8)), offsets, scale.astype(np.float32)


def write_attributions(model: Classifier, corpus: Corpus, settings: dict, path: Path) -> None:
    """Attribute every text and write the scores, quantized, with their sums and targets."""
    found = model.attribute(corpus, settings["steps"], settings["batch_size"])
    k = len(corpus.labels) - 1
    flat, offsets, scale = quantize(found.scores)
    attributions = artifacts.Attributions(
        values=flat,
        offsets=offsets,
        scale=scale,
        score_sum=np.array([s.sum(axis=0) if len(s) else np.zeros(k) for s in found.scores]).reshape(-1, k),
        at_review=found.at_review,
        at_baseline=found.at_baseline,
    )
    artifacts.write_attributions(path, attributions)
