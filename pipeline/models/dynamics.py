"""Training dynamics: what a model trained here gave each training and validation text after every epoch.

The probabilities are taken from the passes that training makes anyway, so recording costs no extra pass over the
texts: a training text's from the forward pass of the batch that held it (with dropout, as the model learned from
it; as in Swayamdipta et al. 2020 and Pleiss et al. 2020), a validation text's from the evaluation at the end of the
epoch. The model is wrapped for training only; the model saved is the one built, unchanged.
pipeline/whole_set/label_quality.py turns them into data maps and label quality.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


class Recording(keras.Model):
    """The model, fed (tokens, row) pairs: it scores the tokens and keeps each row's probabilities of its last pass
    (row: the text's place among the recorded texts)."""

    def __init__(self, model: keras.Model, rows: int, classes: int) -> None:
        super().__init__(name=f"{model.name}_recording")
        self.model = model
        # A plain TensorFlow variable, outside the model's weights: it is written in place, a batch at a time.
        self.last = tf.Variable(tf.zeros((rows, classes)), trainable=False)

    def call(self, inputs, training=False):
        tokens, _ = inputs
        return self.model(tokens, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        _, rows = x
        self.last.scatter_update(tf.IndexedSlices(tf.cast(y_pred, tf.float32), tf.cast(rows, tf.int32)))
        return super().compute_loss(x, y, y_pred, sample_weight, training=training)


class EpochRecorder(keras.callbacks.Callback):
    """After each epoch (its evaluation included), the probabilities of the recorded rows that are `kept`."""

    def __init__(self, recording: Recording, kept: np.ndarray) -> None:
        super().__init__()
        self.recording, self.kept = recording, kept
        self.epochs: list[np.ndarray] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs.append(self.recording.last.numpy()[self.kept])
