"""Calibration: the measures on known cases, temperature scaling, and what the built database holds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from pipeline.whole_set import calibration
from viewer.database import open_database, query


def test_a_known_temperature_is_recovered():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20_000, 3))
    # Labels drawn from softmax(logits / 2): the model's own probabilities, softmax(logits), are overconfident.
    truth = softmax(logits / 2.0, axis=1)
    label = (truth.cumsum(axis=1) > rng.random((len(truth), 1))).argmax(axis=1)
    found = calibration.fit_temperature(softmax(logits, axis=1), label)
    assert found == pytest.approx(2.0, abs=0.1)


def test_scaling_keeps_every_prediction_and_sums_to_one():
    rng = np.random.default_rng(1)
    probabilities = softmax(rng.normal(0, 2, (500, 4)), axis=1)
    scaled = calibration.scaled(probabilities, 1.7)
    assert np.array_equal(scaled.argmax(axis=1), probabilities.argmax(axis=1))
    assert np.allclose(scaled.sum(axis=1), 1)
    assert scaled.max(axis=1).mean() < probabilities.max(axis=1).mean()  # above 1: less confident
    assert np.allclose(calibration.scaled(probabilities, 1.0), probabilities, atol=1e-6)


def test_ece_mce_and_bins_on_a_case_worked_by_hand():
    # Bin [0.6, 0.8): 0.7, 0.7 with one right: gap 0.2. Bin [0.8, 1]: 0.9, 0.9 both right: gap 0.1.
    confidence = np.array([0.7, 0.7, 0.9, 0.9])
    outcome = np.array([1.0, 0.0, 1.0, 1.0])
    ece, low, high = calibration.ece_with_interval([(confidence, outcome)], 5, np.random.default_rng(0), 0)
    assert ece[0] == pytest.approx(0.15)
    bins = calibration.reliability(confidence, outcome, 5)
    assert list(bins["bin"]) == [3, 4]
    assert list(bins["texts"]) == [2, 2]
    assert list(bins["accuracy"]) == [0.5, 1.0]


def test_a_calibrated_model_has_a_small_ece_inside_its_interval():
    rng = np.random.default_rng(2)
    confidence = rng.uniform(0.5, 1.0, 20_000)
    outcome = (rng.random(20_000) < confidence).astype(float)  # right exactly as often as it says
    overconfident = np.minimum(confidence + 0.15, 1.0)
    ece, low, high = calibration.ece_with_interval(
        [(confidence, outcome), (overconfident, outcome)], 15, np.random.default_rng(0), 200
    )
    assert ece[0] < 0.02 < 0.1 < ece[1]
    assert (low <= ece).all() and (ece <= high).all()
    assert high[0] < low[1]


def test_every_model_and_subset_is_calibrated(database):
    with open_database(database) as con:
        models = {row[0] for row in con.execute("select model from models").fetchall()}
        rows = con.execute(
            """select model, subset, scaled, count(*) filter (where class is null),
                      count(*) filter (where class is not null)
               from calibration group by all"""
        ).fetchall()
        classes = con.execute("select count(*) from labels").fetchone()[0]
        assert {(model, subset, scaled) for model, subset, scaled, _, _ in rows} == {
            (model, subset, scaled)
            for model in models
            for subset in ("train", "validation", "test", "all")
            for scaled in (False, True)
        }
        assert all(top == 1 and per_class == classes for *_, top, per_class in rows)
        # The bins of every diagram hold all its texts.
        uneven = con.execute(
            """select count(*) from calibration join (
                   select model, subset, scaled, class, sum(texts) as binned from reliability_bins group by all
               ) using (model, subset, scaled, class) where binned <> texts"""
        ).fetchone()[0]
        assert uneven == 0
        # The temperature minimizes the validation log loss, so scaling never raises it there.
        worse = con.execute(
            """select raw.model from calibration as raw join calibration as scaled using (model, subset, class)
               where subset = 'validation' and class is null and not raw.scaled and scaled.scaled
                 and scaled.log_loss > raw.log_loss + 1e-9"""
        ).fetchall()
        assert worse == []


def test_calibrated_probabilities_follow_the_temperature(database):
    with open_database(database) as con:
        frame = con.execute(
            """select predictions.probabilities, predictions.calibrated, predictions.predicted_label,
                      models.temperature, labels.label as calibrated_label
               from predictions join models using (model)
               join labels
                 on labels.label_index = list_position(predictions.calibrated, list_max(predictions.calibrated)) - 1"""
        ).df()
    raw = np.stack(frame["probabilities"].to_numpy())
    expected = np.stack(
        [calibration.scaled(row[None, :], t)[0] for row, t in zip(raw, frame["temperature"], strict=True)]
    )
    assert np.allclose(np.stack(frame["calibrated"].to_numpy()), expected, atol=1e-5)
    assert (frame["calibrated_label"] == frame["predicted_label"]).all()


def test_the_named_queries_pair_each_model_before_and_after(database):
    with open_database(database) as con:
        table = query(con, "calibration", subset="test", label=None)
        models = [row[0] for row in con.execute("select model from models order by rank").fetchall()]
        assert list(table["model"]) == models
        assert (table["scaled_ece"] != table["ece"]).any()
        positive = query(con, "reliability", subset="test", label="positive")
        assert set(positive["probabilities"]) == {"as the model gives it", "after scaling"}
        assert set(positive["model"]) == set(models)
