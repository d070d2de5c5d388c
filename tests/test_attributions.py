"""Integrated-gradients attributions: their shape, their completeness, and the queries that show them."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pipeline.config import load_config
from tests.conftest import TINY_CONFIG
from tests.imdb_fixture import LONG_NAME
from viewer.database import QUERIES

NEURAL = ("dense", "cnn")
SEQUENCE_LENGTH = load_config(TINY_CONFIG)["text"]["sequence_length"]


def query(db, name: str, **params):
    return db.execute((QUERIES / f"{name}.sql").read_text(), params).df()


@pytest.mark.parametrize("model", NEURAL)
def test_one_score_per_token_the_model_saw(db, model):
    mismatched = db.execute(
        "select count(*) from attributions join reviews using (review_id)"
        " where model = $m and len(scores) != least(n_tokens, $n)",
        {"m": model, "n": SEQUENCE_LENGTH},
    ).fetchone()[0]
    assert mismatched == 0
    assert db.execute("select count(*) from attributions where model = $m", {"m": model}).fetchone()[0] == 400


@pytest.mark.parametrize("model", NEURAL)
def test_completeness_scores_sum_to_the_change_in_margin(db, model):
    errors = db.execute(
        "select abs(score_sum - (margin_review - margin_baseline)) / abs(margin_review - margin_baseline)"
        " from attributions where model = $m and abs(margin_review - margin_baseline) > 1e-3",
        {"m": model},
    ).fetchnumpy()
    errors = next(iter(errors.values()))
    assert np.median(errors) <= 0.05
    # The stored int8 scores add up to the unrounded sum within their rounding.
    rows = db.execute(
        "select list_sum(scores) * scale, score_sum, scale * len(scores) / 2 from attributions where model = $m",
        {"m": model},
    ).fetchall()
    assert all(abs(stored - exact) <= bound + 1e-6 for stored, exact, bound in rows)


def test_scores_favour_the_words_of_the_label(db):
    # The generated grammar makes "wonderful" positive and "terrible" negative for any sane model.
    means = dict(
        db.execute(
            "select token, avg(toward_positive) from token_attributions where model = 'dense'"
            " and token in ('wonderful', 'terrible') group by token"
        ).fetchall()
    )
    assert means["wonderful"] > 0 > means["terrible"]


def test_toward_negative_is_minus_toward_positive(db):
    assert (
        db.execute("select count(*) from token_attributions where toward_negative != -toward_positive").fetchone()[0]
        == 0
    )


def test_heat_map_shows_the_unseen_part_of_a_truncated_review(db):
    review_id, n_tokens = db.execute(
        "select review_id, n_tokens from reviews where path = $p", {"p": LONG_NAME}
    ).fetchone()
    assert n_tokens > SEQUENCE_LENGTH
    heat = query(db, "review_heatmap", review_id=review_id, width=40)
    for model in NEURAL:
        rows = heat[heat["model"] == model].sort_values("position")
        assert len(rows) == n_tokens
        assert rows["seen"].tolist() == [True] * SEQUENCE_LENGTH + [False] * (n_tokens - SEQUENCE_LENGTH)
        assert rows.loc[~rows["seen"], "toward_positive"].isna().all()
        assert rows["relative"].abs().max() == pytest.approx(1.0)
    # Greedy wrap: no line runs past the width, and each line starts at column 0.
    assert (heat["column_end"] <= 40).all()
    assert (heat.groupby(["model", "line"])["column_start"].min() == 0).all()


def test_ngrams_sum_their_words_scores(db):
    ngrams = query(db, "review_ngrams", review_id=5, top=2)
    words = query(db, "review_heatmap", review_id=5, width=80)
    for row in ngrams[ngrams["n"] == 2].itertuples():
        tokens = words[(words["model"] == row.model) & words["position"].isin([row.position, row.position + 1])]
        assert row.ngram == " ".join(tokens.sort_values("position")["token"])
        assert row.toward_positive == pytest.approx(tokens["toward_positive"].sum(), rel=1e-4)
    assert set(ngrams["direction"]) == {"positive", "negative"}


def test_model_comparison_flags_sign_flips(db):
    comparison = query(db, "model_comparison", review_id=5, notable=0.2)
    flipped = np.sign(comparison["dense"]) != np.sign(comparison["cnn"])
    strong = comparison[["dense", "cnn"]].abs().max(axis=1) >= 0.2
    assert (comparison["flipped"] == (flipped & strong)).all()
    assert list(comparison["change"].abs()) == sorted(comparison["change"].abs(), reverse=True)


def test_models_ignore_padding_so_short_batches_score_the_same():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from pipeline.models import build_model

    settings = load_config(TINY_CONFIG)
    review = np.array([[5, 9, 2, 7, 3, 11, 4]])
    for name in NEURAL:
        keras.utils.set_random_seed(0)
        model = build_model(name, settings[name], vocabulary_size=20)
        scores = [model.predict(np.pad(review, ((0, 0), (0, padding))), verbose=0)[0, 1] for padding in (0, 9, 41)]
        np.testing.assert_allclose(scores, scores[0], rtol=1e-5)
