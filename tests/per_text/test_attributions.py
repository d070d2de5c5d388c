"""Integrated-gradients attributions: their shape, their completeness, and the queries that show them."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from pipeline.config import load_config
from tests.conftest import TINY_CONFIG
from tests.imdb_fixture import LONG_NAME
from viewer import markup
from viewer.database import query

NEURAL = ("dense", "cnn")
SEQUENCE_LENGTH = load_config(TINY_CONFIG)["text"]["sequence_length"]


def one_score_per_token_and_class(db, model: str, sequence_length: int) -> None:
    """Classes 1 to n-1 are stored for every token the model saw, and the view shows all n, summing to zero."""
    classes = db.execute("select count(*) from labels").fetchone()[0]
    mismatched = db.execute(
        "select count(*) from attributions join texts using (text_id)"
        " where model = $m and len(scores) != least(n_tokens, $n) * $k",
        {"m": model, "n": sequence_length, "k": classes - 1},
    ).fetchone()[0]
    assert mismatched == 0
    texts = db.execute("select count(*) from texts").fetchone()[0]
    assert db.execute("select count(*) from attributions where model = $m", {"m": model}).fetchone()[0] == texts
    per_token = db.execute(
        "select count(*) filter (where n != $k), max(abs(total)), count(*) from ("
        " select count(*) as n, sum(score) as total from token_attributions"
        " where model = $m and text_id in (0, 5, 17) group by text_id, position)",
        {"m": model, "k": classes},
    ).fetchone()
    largest_scale = db.execute("select max(scale) from attributions where model = $m", {"m": model}).fetchone()[0]
    assert per_token[2] > 0 and per_token[0] == 0, "every token has one score per class"
    # Class 0's score is minus the others' sum: they cancel, within the int8 rounding.
    assert per_token[1] <= largest_scale * (classes - 1) + 1e-6


@pytest.mark.parametrize("model", NEURAL)
def test_one_score_per_token_the_model_saw(db, model):
    one_score_per_token_and_class(db, model, SEQUENCE_LENGTH)


def completeness(db, model: str) -> None:
    """Each class's scores sum to the change in its target, and the int8 scores to their unrounded sum."""
    rows = db.execute(
        "select unnest(score_sum), unnest(target_text), unnest(target_baseline) from attributions where model = $m",
        {"m": model},
    ).fetchnumpy()
    score_sum, at_text, at_baseline = (rows[name] for name in rows)
    change = at_text - at_baseline
    moved = np.abs(change) > 1e-3
    assert moved.any()
    errors = np.abs(score_sum - change)[moved] / np.abs(change)[moved]
    assert np.median(errors) <= 0.05
    stored = db.execute(
        "select list_sum(scores) * scale, list_sum(score_sum), scale * len(scores) / 2 from attributions"
        " where model = $m",
        {"m": model},
    ).fetchall()
    assert all(abs(total - exact) <= bound + 1e-6 for total, exact, bound in stored)


@pytest.mark.parametrize("model", NEURAL)
def test_completeness_scores_sum_to_the_change_in_the_target(db, model):
    completeness(db, model)


def test_dense_attributions_are_exact(db):
    # The dense architecture's closed form leaves no completeness error beyond float rounding.
    rows = db.execute(
        "select unnest(score_sum) - (unnest(target_text) - unnest(target_baseline)) from attributions"
        " where model = 'dense'"
    ).fetchnumpy()
    assert np.abs(next(iter(rows.values()))).max() < 1e-4


def favours_the_words_of_the_label(db, model: str) -> None:
    """The generated grammar makes "wonderful" positive and "terrible" negative for any sane model."""
    means = dict(
        db.execute(
            "select token, avg(score) from token_attributions where model = $m and label = 'positive'"
            " and token in ('wonderful', 'terrible') group by token",
            {"m": model},
        ).fetchall()
    )
    assert means["wonderful"] > 0 > means["terrible"]


@pytest.mark.parametrize("model", [*NEURAL, "baseline"])
def test_scores_favour_the_words_of_the_label(db, model):
    favours_the_words_of_the_label(db, model)


def test_with_two_classes_toward_one_is_away_from_the_other(db):
    mirrored = db.execute(
        "select count(*), count(*) filter (where n.score = -p.score) from token_attributions p"
        " join token_attributions n using (text_id, model, position)"
        " where p.label = 'positive' and n.label = 'negative'"
    ).fetchone()
    assert mirrored[0] > 0 and mirrored[0] == mirrored[1]


def test_heat_map_shows_the_unseen_part_of_a_truncated_text(db):
    text_id, n_tokens = db.execute(
        "select text_id, n_tokens from texts where source_id = $p", {"p": LONG_NAME}
    ).fetchone()
    assert n_tokens > SEQUENCE_LENGTH
    heat = query(db, "text_heatmap", text_id=text_id, label="positive")
    for model in NEURAL:
        rows = heat[heat["model"] == model].sort_values("position")
        assert len(rows) == n_tokens
        assert rows["seen"].tolist() == [True] * SEQUENCE_LENGTH + [False] * (n_tokens - SEQUENCE_LENGTH)
        assert rows.loc[~rows["seen"], "score"].isna().all()
        assert rows["relative"].abs().max() == pytest.approx(1.0)
    # The baseline reads every token.
    assert heat.loc[heat["model"] == "baseline", "seen"].tolist() == [True] * n_tokens
    # Drawn, the unseen tail is grey and unscored, the rest carries its score.
    drawn = markup.heat_map(heat[heat["model"] == NEURAL[0]], "toward")
    assert drawn.count('class="unseen"') == n_tokens - SEQUENCE_LENGTH
    assert drawn.count("toward the class") == SEQUENCE_LENGTH


def test_ngrams_sum_their_words_scores(db):
    ngrams = query(db, "text_ngrams", text_id=5, top=2, label="negative")
    words = query(db, "text_heatmap", text_id=5, label="negative")
    for row in ngrams[ngrams["n"] == 2].itertuples():
        tokens = words[(words["model"] == row.model) & words["position"].isin([row.position, row.position + 1])]
        assert row.ngram == " ".join(tokens.sort_values("position")["token"])
        assert row.score == pytest.approx(tokens["score"].sum(), rel=1e-4)
    assert set(ngrams["direction"]) == {"toward", "away"}


def test_model_comparison_flags_sign_flips(db):
    comparison = query(db, "model_comparison", text_id=5, notable=0.2, label="positive", first="dense", second="cnn")
    flipped = np.sign(comparison["first"]) != np.sign(comparison["second"])
    strong = comparison[["first", "second"]].abs().max(axis=1) >= 0.2
    assert (comparison["flipped"] == (flipped & strong)).all()
    assert list(comparison["change"].abs()) == sorted(comparison["change"].abs(), reverse=True)


def test_models_ignore_padding_so_short_batches_score_the_same():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from pipeline.models.architectures import build_model

    settings = load_config(TINY_CONFIG)
    text = np.array([[5, 9, 2, 7, 3, 11, 4]])
    for name in NEURAL:
        keras.utils.set_random_seed(0)
        model = build_model(name, settings[name], vocabulary_size=20, num_classes=3)
        scores = [model.predict(np.pad(text, ((0, 0), (0, padding))), verbose=0)[0] for padding in (0, 9, 41)]
        for padded in scores[1:]:
            np.testing.assert_allclose(padded, scores[0], rtol=1e-5)


def test_baseline_attributions_are_exact_on_every_token(db):
    # Linear: each token's share of its n-grams' coefficient x TF-IDF terms, on the whole text, not cut.
    completeness(db, "baseline")
    error, worst = db.execute(
        "select max(abs(s - (r - b))), max(abs(r - b)) from ("
        " select unnest(score_sum) s, unnest(target_text) r, unnest(target_baseline) b"
        " from attributions where model = 'baseline')"
    ).fetchone()
    assert worst > 0.1 and error < 1e-5
    one_score_per_token_and_class(db, "baseline", 10**9)


def test_heat_map_is_escaped_and_shades_one_direction():
    tokens = pd.DataFrame(
        {
            "token": ["<script>alert(1)</script>", "great", "dull", '"&"'],
            "seen": [True, True, True, False],
            "score": [0.0, 0.8, -0.4, None],
            "relative": [0.0, 1.0, -0.5, None],
        }
    )
    toward, away = markup.heat_map(tokens, "toward"), markup.heat_map(tokens, "away")
    for drawn in (toward, away):
        assert "<script>" not in drawn and "&lt;script&gt;alert(1)&lt;/script&gt;" in drawn
        assert '<span class="unseen" title="not seen: cut off">&quot;&amp;&quot;</span>' in drawn
        assert drawn.count("<span") == len(tokens)
    # The strongest word toward the class gets the darkest green; away from it, the word is left unshaded.
    assert 'style="background: #00441b; color: #ffffff" title="+0.8000 toward the class">great<' in toward
    assert '<span title="+0.8000 toward the class">great</span>' in away
    # Half as strong the other way: the middle red, dark text.
    assert 'style="background: #fb6a4a" title="-0.4000 toward the class">dull<' in away
