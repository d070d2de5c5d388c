"""The Keras architectures trained here, each an embedding layer plus a separate head model;
pipeline/registry.py says which models of which architecture a run trains.

The head is its own model, fed with the embedded tokens and the padding mask, and the full model only
chains the two; the dense architecture's exact attributions read the head's layers (pipeline/models/keras_classifier.py,
which attributes any Keras model without cutting it apart).

Both accept any sequence length and give padding no influence at all: padded positions are zeroed
after every layer that could make them non-zero. So a text scores the same whatever the padding,
and attributions can run on batches cut to their longest text.
"""

from __future__ import annotations

from pipeline import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
from keras import layers  # noqa: E402


def build_model(name: str, settings: dict, vocabulary_size: int, num_classes: int) -> keras.Model:
    """A model of the architecture its settings name, ending in a softmax over `num_classes` classes."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    embedding = layers.Embedding(
        vocabulary_size,
        settings["embedding_dim"],
        embeddings_regularizer=keras.regularizers.L2(settings["embedding_l2"]) if settings["embedding_l2"] else None,
        name="embedding",
    )
    # Padding is token 0.
    mask = keras.ops.cast(keras.ops.not_equal(tokens, 0), "float32")
    head = HEADS[settings["architecture"]](settings, num_classes)
    probabilities = head([embedding(tokens), mask])
    return keras.Model(tokens, probabilities, name=name)


def _head_inputs(settings: dict) -> tuple[keras.KerasTensor, keras.KerasTensor, keras.KerasTensor]:
    embedded = keras.Input(shape=(None, settings["embedding_dim"]), name="embedded")
    mask = keras.Input(shape=(None,), name="mask")
    # Zeroing padded positions makes the all-zero embedding a clean attribution baseline.
    x = layers.Multiply(name="drop_padding")([embedded, layers.Reshape((-1, 1))(mask)])
    return embedded, mask, x


def _never_empty(mask: keras.KerasTensor) -> keras.KerasTensor:
    """The mask with its first position made real in a text that has none (a text that cleans to nothing, "!!!"):
    its average is then that of the padding, the text of no tokens, rather than 0 / 0 (a NaN that would spread to
    every weight in training). Texts with tokens keep their mask as it is."""
    empty = 1.0 - keras.ops.max(mask, axis=1, keepdims=True)
    first = keras.ops.cast(keras.ops.equal(keras.ops.cumsum(keras.ops.ones_like(mask), axis=1), 1.0), "float32")
    return mask + empty * first


def dense_head(settings: dict, num_classes: int) -> keras.Model:
    """Embedding -> Dense -> GlobalAveragePooling1D over real tokens -> Dense(classes, softmax)."""
    embedded, mask, x = _head_inputs(settings)
    # Drops whole embedding channels, a regularizer that leaves the padding mask intact.
    x = layers.SpatialDropout1D(settings["embedding_dropout"], name="embedding_dropout")(x)
    x = layers.Dense(settings["hidden_units"], activation="relu", name="dense")(x)
    x = layers.GlobalAveragePooling1D(name="latent")(x, mask=_never_empty(mask))
    x = layers.Dropout(settings["dropout"])(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="output")(x)
    return keras.Model([embedded, mask], outputs, name="head")


def cnn_head(settings: dict, num_classes: int) -> keras.Model:
    """Three convolutional blocks (conv, then pooling), average pooling over real positions, Dense(classes, softmax)."""
    embedded, mask, x = _head_inputs(settings)
    x = layers.SpatialDropout1D(settings["embedding_dropout"], name="embedding_dropout")(x)
    real = layers.Reshape((-1, 1))(mask)
    for block in (1, 2, 3):
        x = layers.Conv1D(
            settings["filters"], settings["kernel_size"], padding="same", activation="relu", name=f"conv{block}"
        )(x)
        # A convolution turns padding into relu(bias): zero it again, so padding never reaches a real position.
        x = layers.Multiply(name=f"drop_padding{block}")([x, real])
        if block < 3:
            x = layers.MaxPooling1D(settings["pool_size"], padding="same", name=f"pool{block}")(x)
            # A pooled position is real if any token under it is.
            real = layers.MaxPooling1D(settings["pool_size"], padding="same", name=f"mask_pool{block}")(real)
    # Averaging over real positions only, so short texts are not diluted by padding.
    x = layers.GlobalAveragePooling1D(name="latent")(x, mask=_never_empty(layers.Reshape((-1,))(real)))
    x = layers.Dropout(settings["dropout"])(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="output")(x)
    return keras.Model([embedded, mask], outputs, name="head")


# Architecture name (the `architecture` setting) -> its head.
HEADS = {"dense": dense_head, "cnn": cnn_head}
