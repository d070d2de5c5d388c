"""What the pipeline writes about a model, whatever its kind, through the one model interface
(pipeline/models/classifier.py): its predictions, latent vectors and summary, and its attributions, quantized. The
steps that run a model (predict, baseline) write with these."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np

from pipeline import artifacts
from pipeline.models.classifier import Classifier, Corpus
from pipeline.models.predictions import label_table, prediction_table

PART = 20_000  # texts analysed at a time: a step's memory is bounded by this many texts' results, not by the data


def write_predictions(
    model: Classifier,
    corpus: Corpus,
    summary_path: Path,
    predictions_path: Path,
    latent_path: Path | None,
    extra: dict | None = None,
    attributions: tuple[dict, Path] | None = None,
) -> float:
    """Predict every text, a part at a time, and write the model's predictions, latent vectors (if it has them) and
    summary; with `attributions` (settings, path), its attributions too, in the same pass. Returns the seconds
    spent on attributions."""
    attributing = 0.0
    summary: dict = {}
    with contextlib.ExitStack() as outputs:
        write = outputs.enter_context(artifacts.prediction_chunks(predictions_path))
        write_latent = outputs.enter_context(artifacts.array_chunks(latent_path, len(corpus))) if latent_path else None
        if attributions is not None:
            settings, path = attributions
            write_scores = outputs.enter_context(artifacts.attribution_chunks(path))
        what = "predictions" + (" and attributions" if attributions else "")
        for rows, part in corpus.parts(PART, f"{model.name}: {what}"):
            probabilities, latent = model.predict(part)
            tokens = part.tokens
            if model.no_probabilities:  # its classes alone
                predicted = probabilities.argmax(axis=1)
                write(label_table(model.name, tokens.text_id, tokens.label, predicted, corpus.labels))
            else:
                write(prediction_table(model.name, tokens.text_id, tokens.label, probabilities, corpus.labels))
            if write_latent is not None and latent is None:  # none: an empty file stands for them
                write_latent(rows, np.zeros((len(part), 0), np.float32))
            elif write_latent is not None:
                write_latent(rows, latent.astype(np.float32))
                summary["latent_dim"] = int(latent.shape[1])
            if attributions is not None:
                start = time.perf_counter()
                write_scores(tokens.text_id, attributed(model, part, settings))
                attributing += time.perf_counter() - start
    # Described last: what a model learns of itself while it predicts (an LLM's answers outside the labels) is known.
    artifacts.write_summary(summary_path, {"model": model.name, **model.describe(), **(extra or {}), **summary})
    return attributing


def quantize(scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's scores as int8 in units of its own scale (max |score| / 127): a fourth of float32's size,
    with a rounding error under 0.4% of the text's strongest score. Flat: token by token, class by class."""
    scale = np.array([np.abs(s).max() if s.size else 0.0 for s in scores], dtype=np.float64) / 127
    scale[scale == 0] = 1.0
    lengths = np.array([len(s) for s in scores])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = [np.rint(s / scale[i]).astype(np.int8).ravel() for i, s in enumerate(scores)]
    return (np.concatenate(flat) if flat else np.zeros(0, np.int8)), offsets, scale.astype(np.float32)


def write_attributions(
    model: Classifier, corpus: Corpus, settings: dict, path: Path, rows: np.ndarray | None = None
) -> float:
    """Attribute every text (or those of `rows`), a part at a time, and write the scores, quantized, with their sums
    and targets. Returns the seconds it took."""
    start = time.perf_counter()
    with artifacts.attribution_chunks(path) as write:
        for _, part in corpus.parts(PART, f"{model.name}: attributions", rows):
            write(part.tokens.text_id, attributed(model, part, settings))
    return time.perf_counter() - start


def attributed(model: Classifier, part: Corpus, settings: dict) -> artifacts.Attributions:
    """The attributions of a part of the texts, quantized."""
    found = model.attribute(part, settings["steps"], settings["batch_size"])
    k = len(part.labels) - 1
    flat, offsets, scale = quantize(found.scores)
    sums = np.array([s.sum(axis=0) if len(s) else np.zeros(k) for s in found.scores]).reshape(-1, k)
    return artifacts.Attributions(flat, offsets, scale, sums, found.at_text, found.at_baseline)


def write_no_attributions(corpus: Corpus, path: Path) -> None:
    """For a model analysed without attributions: no scores at all."""
    artifacts.write_attributions(
        path, corpus.tokens.text_id, artifacts.Attributions.none(len(corpus), len(corpus.labels) - 1)
    )
