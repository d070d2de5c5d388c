"""Keras models as users train and save them, outside the pipeline, for the tests to bring in with MODEL=.

    python -m tests.brought_models --texts build/texts.parquet --out-dir models KIND...

writes models/KIND.keras for each KIND, and models/KIND.txt, the vocabulary, for those that take token ids.
Kinds: strings (a TextVectorization layer inside, one sigmoid unit for two classes, softmax for more); ids (token
ids in, softmax over the classes in reverse order); logits (the same with logits out); bag (strings in, TF-IDF
inside, no embedding layer); custom (a custom layer, registered in this module); wide (one output more than the
data has classes); fixed (token ids of a fixed length, FIXED_LENGTH, read by a Flatten layer).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

FIXED_LENGTH = 8
LENGTH = 40  # ids per text, as the models are trained


@keras.saving.register_keras_serializable(package="reviewlens_tests")
class Scale(keras.layers.Layer):
    """A custom layer: Keras can load a model with it only where this module is imported."""

    def call(self, x):
        return x * 2.0


def vectorizer(texts: np.ndarray, length: int | None = LENGTH, mode: str = "int") -> keras.layers.TextVectorization:
    layer = keras.layers.TextVectorization(max_tokens=400, output_sequence_length=length, output_mode=mode)
    layer.adapt(tf.constant(list(texts)))
    return layer


KINDS = ("strings", "ids", "logits", "bag", "custom", "wide", "fixed")


def make(kind: str, texts: np.ndarray, y: np.ndarray, classes: int, vocabulary_path: Path):
    strings = keras.Input(shape=(1,), dtype="string", name="text")
    if kind in ("strings", "custom"):
        x = keras.layers.Embedding(400, 8, name="words")(vectorizer(texts)(strings))
        if kind == "custom":
            x = Scale()(x)
        x = keras.layers.GlobalAveragePooling1D()(x)
        x = keras.layers.Dense(8, activation="relu", name="hidden")(x)
        last = keras.layers.Dense(1, activation="sigmoid") if classes == 2 else keras.layers.Dense(classes, "softmax")
        return keras.Model(strings, last(x)), tf.constant(list(texts))[:, None], y
    if kind == "bag":
        x = keras.layers.Dense(8, activation="relu")(vectorizer(texts, None, "tf_idf")(strings))
        model = keras.Model(strings, keras.layers.Dense(classes, activation="softmax")(x))
        return model, tf.constant(list(texts))[:, None], y
    layer = vectorizer(texts, FIXED_LENGTH if kind == "fixed" else LENGTH)
    vocabulary = layer.get_vocabulary()
    vocabulary_path.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    ids = layer(tf.constant(list(texts))).numpy()
    reader = (
        [keras.layers.Flatten()]
        if kind == "fixed"
        else [keras.layers.Conv1D(8, 3, padding="same", activation="relu"), keras.layers.GlobalAveragePooling1D()]
    )
    model = keras.Sequential(
        [
            keras.Input(shape=(FIXED_LENGTH if kind == "fixed" else None,), dtype="int32"),
            keras.layers.Embedding(len(vocabulary), 8),
            *reader,
            keras.layers.Dense(classes + (kind == "wide"), activation=None if kind == "logits" else "softmax"),
        ]
    )
    # Trained with the classes in reverse order, as a model trained elsewhere may number them.
    return model, ids, classes - 1 - y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("kinds", nargs="+", choices=KINDS)
    args = p.parse_args()
    texts = pd.read_parquet(args.texts)
    labels = sorted(texts["label"].unique())
    train = texts[texts["subset"] == "train"]
    y = train["label"].map(labels.index).to_numpy()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for kind in args.kinds:
        keras.utils.set_random_seed(0)
        model, x, target = make(kind, train["text"].to_numpy(), y, len(labels), args.out_dir / f"{kind}.txt")
        two_units = model.outputs[0].shape[-1] == 1
        logits = kind == "logits"
        loss = "binary_crossentropy" if two_units else keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
        model.compile(optimizer=keras.optimizers.Adam(0.02), loss=loss)
        model.fit(x, target, epochs=8, batch_size=32, verbose=0)
        model.save(args.out_dir / f"{kind}.keras")


if __name__ == "__main__":
    main()
