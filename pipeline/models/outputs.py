"""What the pipeline writes about a model, whatever its kind, through the one model interface
(pipeline/models/classifier.py): its predictions, latent vectors and summary, and its attributions, quantized. The
steps that run a model (predict, baseline) write with these."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np

from pipeline import artifacts, parts, registry
from pipeline.config import load_config
from pipeline.models.classifier import Classifier, Corpus, load
from pipeline.models.predictions import label_table, prediction_table


class Scoring(parts.Work):
    """A model run on a part of the texts: its probabilities and latent vectors, its attributions (quantized), or
    both, in one pass over the part. Opened here from the model the step holds; on a cluster, from its file."""

    step = "predict"

    def __init__(self, model: Classifier, corpus: Corpus, config: Path, weights: Path, texts: Path, tokens: Path,
                 attributions: dict | None = None, predict: bool = True, step: str = "predict") -> None:  # fmt: skip
        self._model, self._corpus = model, corpus
        self.name, self.attributions, self.predict, self.step = model.name, attributions, predict, step
        self.config, self.weights, self.texts, self.tokens = (
            Path(p).resolve() for p in (config, weights, texts, tokens)
        )
        # A model called at an address is not sent to the cluster: its server does the work.
        self.here = registry.kind(model.kind).address

    def open(self) -> None:
        if getattr(self, "_model", None) is None:
            config = load_config(self.config)
            self._corpus = Corpus.read(self.texts, self.tokens)
            self._model = load(registry.spec(config, self.name), self.weights, self._corpus)

    def __call__(self, rows: slice | np.ndarray) -> dict[str, np.ndarray]:
        model, part = self._model, self._corpus.part(rows)
        found = {}
        if self.predict:
            probabilities, latent = model.predict(part)
            found["probabilities"] = probabilities
            if latent is not None:
                found["latent"] = latent.astype(np.float32)
        if self.attributions is not None:
            start = time.perf_counter()
            scores = attributed(model, part, self.attributions)
            found |= {name: getattr(scores, name) for name in artifacts.Attributions.__dataclass_fields__}
            found["seconds"] = np.array(time.perf_counter() - start)
            if model.calls is not None:  # heat maps made by calling the model: the calls each text of the part took
                found["calls"] = model.calls[-len(part) :]
        return found


def write_predictions(
    scoring: Scoring,
    summary_path: Path,
    predictions_path: Path,
    latent_path: Path | None,
    extra: dict | None = None,
    attributions: Path | None = None,
) -> float:
    """Predict every text, a part at a time, and write the model's predictions, latent vectors (if it has them) and
    summary; with `attributions` (a path; the scoring has their settings), its attributions too, in the same pass.
    Returns the seconds spent on attributions."""
    model, corpus = scoring._model, scoring._corpus
    config = load_config(scoring.config)
    attributing, summary, calls = 0.0, {}, []
    with contextlib.ExitStack() as outputs:
        write = outputs.enter_context(artifacts.prediction_chunks(predictions_path))
        write_latent = outputs.enter_context(artifacts.array_chunks(latent_path, len(corpus))) if latent_path else None
        if attributions is not None:
            write_scores = outputs.enter_context(artifacts.attribution_chunks(attributions))
        what = f"{model.name}: predictions" + (" and attributions" if attributions else "")
        rows_each = parts.split(config, len(corpus))
        for rows, found in zip(rows_each, parts.run(scoring, rows_each, what, config), strict=True):
            text_id, label = corpus.tokens.text_id[rows], corpus.tokens.label[rows]
            probabilities = found["probabilities"]
            if model.no_probabilities:  # its classes alone
                write(label_table(model.name, text_id, label, probabilities.argmax(axis=1), corpus.labels))
            else:
                write(prediction_table(model.name, text_id, label, probabilities, corpus.labels))
            if write_latent is not None and "latent" not in found:  # none: an empty file stands for them
                write_latent(rows, np.zeros((len(text_id), 0), np.float32))
            elif write_latent is not None:
                write_latent(rows, found["latent"])
                summary["latent_dim"] = int(found["latent"].shape[1])
            if attributions is not None:
                write_scores(text_id, scored(found))
                attributing += float(found["seconds"])
                calls.append(found.get("calls", np.zeros(0, np.int32)))
    if calls and sum(map(len, calls)):
        model.calls = np.concatenate(calls)
    # Described last: what a model learns of itself while it predicts (an LLM's answers outside the labels) is known.
    artifacts.write_summary(summary_path, {"model": model.name, **model.describe(), **(extra or {}), **summary})
    return attributing


def scored(found: dict[str, np.ndarray]) -> artifacts.Attributions:
    """A part's attributions from its arrays."""
    return artifacts.Attributions(**{name: found[name] for name in artifacts.Attributions.__dataclass_fields__})


def quantize(scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's scores as int8 in units of its own scale (max |score| / 127): a fourth of float32's size,
    with a rounding error under 0.4% of the text's strongest score. Flat: token by token, class by class."""
    scale = np.array([np.abs(s).max() if s.size else 0.0 for s in scores], dtype=np.float64) / 127
    scale[scale == 0] = 1.0
    lengths = np.array([len(s) for s in scores])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = [np.rint(s / scale[i]).astype(np.int8).ravel() for i, s in enumerate(scores)]
    return (np.concatenate(flat) if flat else np.zeros(0, np.int8)), offsets, scale.astype(np.float32)


def write_attributions(scoring: Scoring, path: Path, rows: np.ndarray) -> float:
    """Attribute the texts of `rows`, a part at a time, and write the scores, quantized, with their sums and targets.
    Returns the seconds it took."""
    model, corpus = scoring._model, scoring._corpus
    config = load_config(scoring.config)
    start, calls = time.perf_counter(), []
    with artifacts.attribution_chunks(path) as write:
        rows_each = parts.split(config, rows)
        for part, found in zip(rows_each, parts.run(scoring, rows_each, f"{model.name}: attributions", config),
                               strict=True):  # fmt: skip
            write(corpus.tokens.text_id[part], scored(found))
            calls.append(found.get("calls", np.zeros(0, np.int32)))
    if calls and sum(map(len, calls)):
        model.calls = np.concatenate(calls)
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
