"""Integrated gradients of one model for every text: how much each token pushes toward each class.

    python -m pipeline.attributions --model dense --weights build/models/dense.keras \
        --tokens build/tokens.npz --out build/attributions/dense.npz

The target for class c is its centred logit, logit(c) minus the mean of all logits, taken with respect to
the embedding output, from the all-zero embedding (the padding baseline) to the text's own. With two classes
it is half the margin logit(positive) - logit(negative), and a token's score toward one class is minus its
score toward the other. The centred logits of all classes sum to zero and integrated gradients are linear in
the target, so the scores toward class 0 are minus the sum of the others': only classes 1 to n-1 are
computed and stored. Scores sum to target(text) - target(baseline) (completeness).

The dense architecture averages a function of each token alone, so its target is a sum over tokens and its
integrated gradients have a closed form: token t scores (g(e_t) - g(0)) / n, where g is the target a text
made of that token only would get and n the text's length. That is exact, and costs one pass over the
vocabulary. The CNN mixes neighbouring tokens, so its path integral is computed with the midpoint rule over
`steps` points.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipeline import artifacts, cli, registry  # noqa: E402
from pipeline.config import load_config  # noqa: E402

LENGTH_STEP = 16  # batches are cut to their longest text, rounded up to this


def centred_output(model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    """The output layer's kernel and bias turned into those of the centred logits of classes 1 to n-1."""
    kernel, bias = model.get_layer("head").get_layer("output").get_weights()
    return (kernel - kernel.mean(axis=1, keepdims=True))[:, 1:], (bias - bias.mean())[1:]


class TargetModel:
    """The head of a trained model with its output replaced by the centred logits of classes 1 to n-1."""

    def __init__(self, model: keras.Model) -> None:
        head = model.get_layer("head")
        self.embedding = model.get_layer("embedding")
        self.latent = keras.Model(head.inputs, head.get_layer("latent").output)
        directions, offsets = centred_output(model)
        self.directions, self.offsets = tf.constant(directions), tf.constant(offsets)
        self.classes = directions.shape[1]

    def targets(self, embedded: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        return tf.matmul(self.latent([embedded, mask], training=False), self.directions) + self.offsets


def integrated_gradients(target_model: TargetModel, steps: int):
    """A compiled function (token ids, mask) -> (scores: texts x tokens x classes, targets at the text and at
    the baseline: texts x classes)."""
    # Midpoints of `steps` equal intervals of the straight path from the baseline to the text.
    alphas = tf.constant((np.arange(steps) + 0.5) / steps, dtype=tf.float32)

    @tf.function(reduce_retracing=True)
    def run(token_ids: tf.Tensor, mask: tf.Tensor):
        embedded = target_model.embedding(token_ids) * mask[..., None]
        batch, length, width = tf.shape(embedded)[0], tf.shape(embedded)[1], tf.shape(embedded)[2]
        path = tf.reshape(alphas[:, None, None, None] * embedded[None], (-1, length, width))
        path_mask = tf.tile(mask, (steps, 1))
        scores = []
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(path)
            targets = target_model.targets(path, path_mask)
        for c in range(target_model.classes):
            # The gradient of class c's target alone: the others' outputs weigh nothing.
            weights = tf.one_hot(tf.fill([tf.shape(targets)[0]], c), target_model.classes)
            gradients = tf.reshape(
                tape.gradient(targets, path, output_gradients=weights), (steps, batch, length, width)
            )
            scores.append(tf.reduce_sum(embedded * tf.reduce_mean(gradients, axis=0), axis=-1))
        del tape
        at_review = target_model.targets(embedded, mask)
        at_baseline = target_model.targets(tf.zeros_like(embedded), mask)
        return tf.stack(scores, axis=-1), at_review, at_baseline

    return run


def attribute(model: keras.Model, sequences: np.ndarray, steps: int, batch_size: int) -> dict[str, np.ndarray]:
    """Scores for every token position of every text (zero for padding), with the targets."""
    target_model = TargetModel(model)
    run = integrated_gradients(target_model, steps)
    lengths = (sequences != 0).sum(axis=1)
    order = np.argsort(lengths, kind="stable")  # similar lengths batch together
    k = target_model.classes
    scores = np.zeros((*sequences.shape, k), dtype=np.float32)
    at_review = np.zeros((len(sequences), k), dtype=np.float32)
    at_baseline = np.zeros((len(sequences), k), dtype=np.float32)
    for start in tqdm(range(0, len(order), batch_size), desc="attributions", unit=" batches", leave=False):
        rows = order[start : start + batch_size]
        length = max(LENGTH_STEP, -(-int(lengths[rows].max()) // LENGTH_STEP) * LENGTH_STEP)
        ids = sequences[rows, :length]
        batch_scores, review_target, baseline_target = run(tf.constant(ids), tf.constant((ids != 0).astype(np.float32)))
        scores[rows, :length] = batch_scores.numpy()
        at_review[rows], at_baseline[rows] = review_target.numpy(), baseline_target.numpy()
    return {"scores": scores, "lengths": lengths, "at_review": at_review, "at_baseline": at_baseline}


def dense_exact(model: keras.Model, sequences: np.ndarray) -> dict[str, np.ndarray]:
    """Closed-form integrated gradients of the dense architecture (see the module's docstring)."""
    head = model.get_layer("head")
    table = model.get_layer("embedding").get_weights()[0]
    kernel, bias = head.get_layer("dense").get_weights()
    directions, offsets = centred_output(model)
    per_word = np.maximum(table @ kernel + bias, 0) @ directions  # g(e_w) - offset, for every word w and class
    at_zero = np.maximum(bias, 0) @ directions  # g(0) - offset
    real = sequences != 0
    lengths = real.sum(axis=1)
    scores = np.where(real[..., None], per_word[sequences] - at_zero, 0) / np.maximum(lengths, 1)[:, None, None]
    return {
        "scores": scores.astype(np.float32),
        "lengths": lengths,
        "at_review": (scores.sum(axis=1) + at_zero + offsets).astype(np.float32),
        "at_baseline": np.broadcast_to(at_zero + offsets, (len(sequences), len(offsets))).astype(np.float32),
    }


def quantize(scores: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's scores as int8 in units of its own scale (max |score| / 127): a fourth of float32's size,
    with a rounding error under 0.4% of the text's strongest score. Flat: token by token, class by class."""
    scale = np.abs(scores).max(axis=(1, 2)) / 127
    scale[scale == 0] = 1.0
    quantized = np.rint(scores / scale[:, None, None]).astype(np.int8)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.concatenate([row[:n].ravel() for row, n in zip(quantized, lengths, strict=True)])
    return flat, offsets, scale.astype(np.float32)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--weights", required=True, type=Path, help="the trained .keras model")
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["attributions"]
    sequences = artifacts.read_tokens(args.tokens).sequences

    model = keras.models.load_model(args.weights)
    if registry.spec(config, args.model).architecture == "dense":
        result = dense_exact(model, sequences)
    else:
        result = attribute(model, sequences, settings["steps"], settings["batch_size"])
    flat, offsets, scale = quantize(result["scores"], result["lengths"])
    attributions = artifacts.Attributions(
        values=flat,
        offsets=offsets,
        scale=scale,
        score_sum=result["scores"].sum(axis=1),
        at_review=result["at_review"],
        at_baseline=result["at_baseline"],
    )
    artifacts.write_attributions(args.out, attributions)


if __name__ == "__main__":
    cli.run("attributions", main)
