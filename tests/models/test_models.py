"""The architectures trained here, on the texts that are hard for them: a text that cleans to nothing."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import load_config
from tests.conftest import TINY_CONFIG


@pytest.mark.parametrize("architecture", ["dense", "cnn"])
def test_a_text_of_no_tokens_neither_breaks_training_nor_changes_the_others(architecture, tmp_path):
    import keras

    from pipeline.models.architectures import build_model

    settings = load_config(TINY_CONFIG)[architecture]
    keras.utils.set_random_seed(0)
    model = build_model(architecture, settings, 50, 3)
    texts = np.array([[0] * 8, [5, 6, 7, 0, 0, 0, 0, 0], [9, 3, 0, 0, 0, 0, 0, 0]], dtype="int32")
    # Padding changes nothing: the texts with tokens score the same without the empty one beside them.
    alone = model.predict(texts[1:], verbose=0)
    together = model.predict(texts, verbose=0)
    np.testing.assert_allclose(together[1:], alone, rtol=1e-6)
    assert np.isfinite(together).all()
    # A 0 / 0 average would make the loss NaN, and then every weight.
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    history = model.fit(texts, np.array([0, 1, 2]), epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(np.isfinite(weights).all() for weights in model.get_weights())
    model.save(tmp_path / "model.keras")
    np.testing.assert_allclose(
        keras.models.load_model(tmp_path / "model.keras").predict(texts, verbose=0), model.predict(texts, verbose=0)
    )


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [
        (22_500, (5, 3)),  # IMDB: the epochs stand
        (4_906, (13, 13)),  # TREC: more, to see min_examples texts in all
        (200_000, (2, 2)),  # at most max_examples texts in all
        (450_000, (1, 1)),  # a million texts: one epoch
        (900_000, (1, 1)),  # more than max_examples in one epoch: one epoch still
    ],
)
def test_epochs_follow_the_size_of_the_data(examples, epochs):
    from pipeline.models.train import fitted_settings

    config = load_config()
    found = tuple(fitted_settings(config[m], examples, 400, 400)["epochs"] for m in ("dense", "cnn"))
    assert found == epochs
