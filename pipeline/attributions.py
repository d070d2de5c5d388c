"""Integrated gradients of one model for every review: how much each token pushes toward positive.

    python -m pipeline.attributions --model dense --weights build/models/dense.keras \
        --tokens build/tokens.npz --out build/attributions/dense.npz

The attribution target is the margin between the two logits, logit(positive) - logit(negative), taken
with respect to the embedding output, from the all-zero embedding (the padding baseline) to the
review's own. A token's score toward negative is the negation of its score toward positive: the
margin toward negative is minus the margin toward positive, and integrated gradients are linear in
the target. Scores sum to margin(review) - margin(baseline) (completeness).

The dense model averages a function of each token alone, so its margin is a sum over tokens and its
integrated gradients have a closed form: token t scores (g(e_t) - g(0)) / n, where g is the margin a
review made of that token only would get and n the review's length. That is exact, and costs one
pass over the vocabulary. The CNN mixes neighbouring tokens, so its path integral is computed with
the midpoint rule over `steps` points.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipeline import cli  # noqa: E402
from pipeline.config import MODELS, load_config  # noqa: E402

LENGTH_STEP = 16  # batches are cut to their longest review, rounded up to this


class MarginModel:
    """The head of a trained model with its output replaced by the logit margin, positive minus negative."""

    def __init__(self, model: keras.Model) -> None:
        head = model.get_layer("head")
        self.embedding = model.get_layer("embedding")
        self.latent = keras.Model(head.inputs, head.get_layer("latent").output)
        kernel, bias = head.get_layer("output").get_weights()
        self.direction = tf.constant(kernel[:, 1] - kernel[:, 0])
        self.offset = float(bias[1] - bias[0])

    def margin(self, embedded: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        return tf.linalg.matvec(self.latent([embedded, mask], training=False), self.direction) + self.offset


def integrated_gradients(margin_model: MarginModel, steps: int):
    """A compiled function (token ids, mask) -> (per-token scores, margin at the review, margin at the baseline)."""
    # Midpoints of `steps` equal intervals of the straight path from the baseline to the review.
    alphas = tf.constant((np.arange(steps) + 0.5) / steps, dtype=tf.float32)

    @tf.function(reduce_retracing=True)
    def run(token_ids: tf.Tensor, mask: tf.Tensor):
        embedded = margin_model.embedding(token_ids) * mask[..., None]
        batch, length, width = tf.shape(embedded)[0], tf.shape(embedded)[1], tf.shape(embedded)[2]
        path = tf.reshape(alphas[:, None, None, None] * embedded[None], (-1, length, width))
        path_mask = tf.tile(mask, (steps, 1))
        with tf.GradientTape() as tape:
            tape.watch(path)
            margins = margin_model.margin(path, path_mask)
        gradients = tf.reshape(tape.gradient(margins, path), (steps, batch, length, width))
        scores = tf.reduce_sum(embedded * tf.reduce_mean(gradients, axis=0), axis=-1)
        at_review = margin_model.margin(embedded, mask)
        at_baseline = margin_model.margin(tf.zeros_like(embedded), mask)
        return scores, at_review, at_baseline

    return run


def attribute(model: keras.Model, sequences: np.ndarray, steps: int, batch_size: int) -> dict[str, np.ndarray]:
    """Scores for the real tokens of every review (ragged: flat values and offsets), with the margins."""
    run = integrated_gradients(MarginModel(model), steps)
    lengths = (sequences != 0).sum(axis=1)
    order = np.argsort(lengths, kind="stable")  # similar lengths batch together
    scores = np.zeros(sequences.shape, dtype=np.float32)
    at_review = np.zeros(len(sequences), dtype=np.float32)
    at_baseline = np.zeros(len(sequences), dtype=np.float32)
    for start in tqdm(range(0, len(order), batch_size), desc="attributions", unit=" batches", leave=False):
        rows = order[start : start + batch_size]
        length = max(LENGTH_STEP, -(-int(lengths[rows].max()) // LENGTH_STEP) * LENGTH_STEP)
        ids = sequences[rows, :length]
        batch_scores, review_margin, baseline_margin = run(tf.constant(ids), tf.constant((ids != 0).astype(np.float32)))
        scores[rows, :length] = batch_scores.numpy()
        at_review[rows], at_baseline[rows] = review_margin.numpy(), baseline_margin.numpy()
    return {"scores": scores, "lengths": lengths, "at_review": at_review, "at_baseline": at_baseline}


def dense_exact(model: keras.Model, sequences: np.ndarray) -> dict[str, np.ndarray]:
    """Closed-form integrated gradients of the dense model (see the module's docstring)."""
    head = model.get_layer("head")
    table = model.get_layer("embedding").get_weights()[0]
    kernel, bias = head.get_layer("dense").get_weights()
    out_kernel, out_bias = head.get_layer("output").get_weights()
    direction, offset = out_kernel[:, 1] - out_kernel[:, 0], out_bias[1] - out_bias[0]
    per_word = np.maximum(table @ kernel + bias, 0) @ direction  # g(e_w) - offset, for every word w
    at_zero = np.maximum(bias, 0) @ direction  # g(0) - offset
    real = sequences != 0
    lengths = real.sum(axis=1)
    scores = np.where(real, per_word[sequences] - at_zero, 0) / np.maximum(lengths, 1)[:, None]
    return {
        "scores": scores.astype(np.float32),
        "lengths": lengths,
        "at_review": (scores.sum(axis=1) + at_zero + offset).astype(np.float32),
        "at_baseline": np.full(len(sequences), at_zero + offset, dtype=np.float32),
    }


def quantize(scores: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each review's scores as int8 in units of its own scale (max |score| / 127): a fourth of float32's size,
    with a rounding error under 0.4% of the review's strongest score."""
    scale = np.abs(scores).max(axis=1) / 127
    scale[scale == 0] = 1.0
    quantized = np.rint(scores / scale[:, None]).astype(np.int8)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.concatenate([row[:n] for row, n in zip(quantized, lengths, strict=True)])
    return flat, offsets, scale.astype(np.float32)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, choices=MODELS)
    p.add_argument("--weights", required=True, type=Path, help="the trained .keras model")
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    settings = load_config(args.config)["attributions"]
    sequences = np.load(args.tokens)["sequences"]

    model = keras.models.load_model(args.weights)
    if args.model == "dense":
        result = dense_exact(model, sequences)
    else:
        result = attribute(model, sequences, settings["steps"], settings["batch_size"])
    flat, offsets, scale = quantize(result["scores"], result["lengths"])
    with cli.atomic_output(args.out) as tmp, tmp.open("wb") as f:
        np.savez(
            f,
            values=flat,
            offsets=offsets,
            scale=scale,
            score_sum=result["scores"].sum(axis=1),
            at_review=result["at_review"],
            at_baseline=result["at_baseline"],
        )


if __name__ == "__main__":
    cli.run("attributions", main)
