"""The two Keras models, each an embedding layer plus a separate head model.

Keras 3 cannot cut a sub-model out of the middle of a model, and attributions need gradients with
respect to the embedding output: so the head is its own model, fed with the embedded tokens and the
padding mask, and the full model only chains the two.
"""

from __future__ import annotations

import keras
from keras import layers

NUM_CLASSES = 2  # softmax over {negative, positive}


def build_model(name: str, settings: dict, vocabulary_size: int, sequence_length: int) -> keras.Model:
    tokens = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    embedding = layers.Embedding(
        vocabulary_size,
        settings["embedding_dim"],
        embeddings_regularizer=keras.regularizers.L2(settings["embedding_l2"]) if settings["embedding_l2"] else None,
        name="embedding",
    )
    # Padding is token 0; the mask keeps it out of pooling, and of attributions later.
    mask = keras.ops.cast(keras.ops.not_equal(tokens, 0), "float32")
    head = HEADS[name](settings, sequence_length)
    probabilities = head([embedding(tokens), mask])
    return keras.Model(tokens, probabilities, name=name)


def _head_inputs(settings: dict, sequence_length: int) -> tuple[keras.KerasTensor, keras.KerasTensor, keras.KerasTensor]:
    embedded = keras.Input(shape=(sequence_length, settings["embedding_dim"]), name="embedded")
    mask = keras.Input(shape=(sequence_length,), name="mask")
    # Zeroing padded positions makes the all-zero embedding a clean attribution baseline.
    x = layers.Multiply(name="drop_padding")([embedded, layers.Reshape((sequence_length, 1))(mask)])
    return embedded, mask, x


def dense_head(settings: dict, sequence_length: int) -> keras.Model:
    """Embedding -> Dense -> GlobalAveragePooling1D over real tokens -> Dense(2, softmax)."""
    embedded, mask, x = _head_inputs(settings, sequence_length)
    # Drops whole embedding channels, a regularizer that leaves the padding mask intact.
    x = layers.SpatialDropout1D(settings["embedding_dropout"], name="embedding_dropout")(x)
    x = layers.Dense(settings["hidden_units"], activation="relu", name="dense")(x)
    x = layers.GlobalAveragePooling1D(name="latent")(x, mask=mask)
    x = layers.Dropout(settings["dropout"])(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="output")(x)
    return keras.Model([embedded, mask], outputs, name="head")


def cnn_head(settings: dict, sequence_length: int) -> keras.Model:
    """Three convolutional blocks (conv, then pooling), global max or average pooling, Dense(2, softmax)."""
    embedded, mask, x = _head_inputs(settings, sequence_length)
    x = layers.SpatialDropout1D(settings["embedding_dropout"], name="embedding_dropout")(x)
    real = layers.Reshape((sequence_length, 1))(mask)
    for block in (1, 2, 3):
        x = layers.Conv1D(
            settings["filters"], settings["kernel_size"], padding="same", activation="relu", name=f"conv{block}"
        )(x)
        if block < 3:
            x = layers.MaxPooling1D(settings["pool_size"], name=f"pool{block}")(x)
            # A pooled position is real if any token under it is.
            real = layers.MaxPooling1D(settings["pool_size"], name=f"mask_pool{block}")(real)
    if settings["global_pooling"] == "average":
        # Averaging over real positions only, so short reviews are not diluted by padding.
        x = layers.GlobalAveragePooling1D(name="latent")(x, mask=layers.Reshape((-1,))(real))
    else:
        x = layers.GlobalMaxPooling1D(name="latent")(x)
    x = layers.Dropout(settings["dropout"])(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="output")(x)
    return keras.Model([embedded, mask], outputs, name="head")


HEADS = {"dense": dense_head, "cnn": cnn_head}
