"""The models trained here (pipeline/models/architectures.py) behind the one model interface: they read the
pipeline's own token ids, any number of them. The dense architecture's attributions have a closed form."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.models.classifier import Corpus, Scores
from pipeline.models.keras_classifier import KerasClassifier, cut, keras, tf
from pipeline.registry import ModelSpec


def load(spec: ModelSpec, path: Path, corpus: Corpus) -> TrainedClassifier:
    return TrainedClassifier(spec, keras.models.load_model(path), corpus)


class TrainedClassifier(KerasClassifier):
    """A model trained here (pipeline/models/architectures.py): it reads the pipeline's token ids, any number."""

    def __init__(self, spec: ModelSpec, model: keras.Model, corpus: Corpus) -> None:
        super().__init__(spec, model, corpus)
        self.embedding = model.get_layer("embedding")
        head = model.get_layer("head")
        self.output_layer, self.latent_layer = head.get_layer("output"), head.get_layer("latent")
        self.order = np.arange(len(self.labels))
        self.batch_size = 1024

    def inputs(self, corpus: Corpus, rows: np.ndarray) -> tuple[object, np.ndarray]:
        ids = cut(corpus.tokens.sequences[rows])
        return tf.constant(ids), ids

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        if self.settings["architecture"] == "dense":
            return self._dense_exact(corpus.tokens.sequences)
        return super().attribute(corpus, steps, batch_size)

    def _dense_exact(self, sequences: np.ndarray) -> Scores:
        """The dense architecture averages a function of each token alone, so its target is a sum over tokens and
        its integrated gradients have a closed form: token t scores (g(e_t) - g(0)) / n, where g is the target a
        text made of that token only would get and n the text's length. Exact, for one pass over the vocabulary."""
        head = self.model.get_layer("head")
        table = self.embedding.get_weights()[0]
        kernel, bias = head.get_layer("dense").get_weights()
        out_kernel, out_bias = self.output_layer.get_weights()
        directions = (out_kernel - out_kernel.mean(axis=1, keepdims=True))[:, 1:]
        offsets = (out_bias - out_bias.mean())[1:]
        per_word = np.maximum(table @ kernel + bias, 0) @ directions  # g(e_w) - offset, for every word w and class
        at_zero = np.maximum(bias, 0) @ directions  # g(0) - offset
        lengths = (sequences != 0).sum(axis=1)
        scores = [
            ((per_word[row[:n]] - at_zero) / max(n, 1)).astype(np.float32)
            for row, n in zip(sequences, lengths, strict=True)
        ]
        sums = np.array([s.sum(axis=0) for s in scores]).reshape(len(scores), -1)
        return Scores(
            scores,
            (sums + at_zero + offsets).astype(np.float32),
            np.broadcast_to(at_zero + offsets, sums.shape).astype(np.float32),
        )
