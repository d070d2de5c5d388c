"""Training dynamics, data maps and label quality: what the recording sees, what the file holds, and how well the
flipped labels of a data set are found (pipeline/models/dynamics.py, pipeline/whole_set/label_quality.py)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from bench import label_noise
from pipeline.whole_set.label_quality import REGIONS, confident_learning, curves, data_map
from tests.conftest import TINY_CONFIG, build_with, run_page
from viewer.pages import TEXT_PAGE

SHARES = {"ambiguous_share": 0.33, "hard_share": 0.33}


def test_curves_follow_the_probabilities():
    # Two texts, three epochs, three classes; the first labelled 0, the second 2.
    probabilities = np.array(
        [
            [[0.6, 0.3, 0.1], [0.5, 0.3, 0.2]],
            [[0.2, 0.7, 0.1], [0.1, 0.2, 0.7]],
            [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]],
        ]
    )
    curve = curves(probabilities, np.array([0, 2]))
    assert curve["probability"].tolist() == [[0.6, 0.2], [0.2, 0.7], [0.8, 0.8]]
    assert np.allclose(curve["margin"][:, 0], np.log([0.6 / 0.3, 0.2 / 0.7, 0.8 / 0.1]))
    assert curve["correct"].tolist() == [[True, False], [False, True], [True, True]]
    found = data_map(curve, SHARES)
    assert np.allclose(found["confidence"], [1.6 / 3, 1.7 / 3])
    assert np.allclose(found["variability"], np.std([[0.6, 0.2, 0.8], [0.2, 0.7, 0.8]], axis=1))
    assert found["forgetting"].tolist() == [1, 0]  # right, wrong, right: forgotten once
    assert np.allclose(found["correctness"], [2 / 3, 2 / 3])


def test_regions_are_shares_of_the_texts():
    rng = np.random.default_rng(0)
    probability = rng.random((5, 3000))
    curve = {"probability": probability, "margin": np.zeros_like(probability), "correct": probability > 0.5}
    found = data_map(curve, SHARES)
    counts = found["region"].value_counts()
    assert set(counts.index) == set(REGIONS)
    assert abs(counts["ambiguous"] - 990) <= 2  # the most variable third
    ambiguous = found["region"] == "ambiguous"
    assert found.loc[ambiguous, "variability"].min() >= found.loc[~ambiguous, "variability"].max()
    hard, easy = found["region"] == "hard to learn", found["region"] == "easy to learn"
    assert found.loc[hard, "confidence"].max() < found.loc[easy, "confidence"].min()


def test_confident_learning_flags_a_label_another_class_claims():
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.3, 0.7], [0.88, 0.12]])
    given = np.array([0, 0, 1, 1, 1])  # the last is labelled 1 and looks like a 0
    assert confident_learning(probabilities, given).tolist() == [False, False, False, False, True]


def test_recording_leaves_training_as_it_was_and_sees_what_the_model_gives(build_dir):
    from pipeline import artifacts
    from pipeline.config import load_config
    from pipeline.models.train import train

    config = load_config(TINY_CONFIG)
    tokens = artifacts.read_tokens(build_dir / "tokens.npz")
    model, history, seen = train("dense", config, tokens)
    plain = {**config, "dynamics": {**config["dynamics"], "record": False}}
    model_alone, history_alone, nothing = train("dense", plain, tokens)
    assert history["epochs"] == history_alone["epochs"]
    for mine, theirs in zip(model.get_weights(), model_alone.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)
    assert nothing.probabilities.shape[0] == 0
    epochs = len(history["epochs"])
    assert seen.probabilities.shape == (epochs, int((tokens.subset != "test").sum()), len(tokens.labels))
    rows = np.searchsorted(tokens.text_id, seen.text_id)
    given = tokens.label[rows]
    # A validation text's last record is the evaluation after the last epoch: the saved model's own probabilities.
    validation = tokens.subset[rows] == "validation"
    after = model.predict(tokens.sequences[rows[validation]], verbose=0)
    assert np.allclose(seen.probabilities[-1][validation], after, atol=1e-5)
    # A training text's is the pass of its batch: over the epoch, Keras's own training accuracy.
    right = seen.probabilities[-1][~validation].argmax(axis=1) == given[~validation]
    assert right.mean() == pytest.approx(history["epochs"][-1]["accuracy"], abs=1e-6)
    # Early learning ends at the lowest validation loss.
    losses = [epoch["val_loss"] for epoch in history["epochs"]]
    assert seen.early == int(np.argmin(losses)) + 1


def test_every_training_text_gets_out_of_sample_probabilities_from_folds_capped_like_the_baseline(build_dir):
    from pipeline.config import load_config
    from pipeline.models.classifier import Corpus
    from pipeline.whole_set.label_quality import out_of_sample

    corpus = Corpus.read(build_dir / "texts.parquet", build_dir / "tokens.npz")
    rows = np.flatnonzero(corpus.tokens.subset != "test")
    settings = load_config(TINY_CONFIG)["baseline"]
    whole = out_of_sample(corpus, rows, {**settings, "fit_sample": 0}, 5, 0)
    capped = out_of_sample(corpus, rows, {**settings, "fit_sample": 20}, 5, 0)
    for found in (*whole, *capped):
        assert found.shape == (len(rows), len(corpus.labels)) and np.allclose(found.sum(axis=1), 1, atol=1e-5)
    # Fitted on 20 texts a fold, the baseline knows less: its probabilities are nearer to even.
    assert np.abs(capped[0] - 0.5).mean() < np.abs(whole[0] - 0.5).mean()


def test_the_file_holds_the_dynamics_the_maps_and_the_label_quality(db):
    with db.cursor() as con:
        epochs = dict(con.execute("select model, max(epoch) from training_epochs group by model").fetchall())
        training = con.execute("select count(*) from texts where split <> 'test'").fetchone()[0]
        recorded = dict(con.execute("select model, count(*) from training_dynamics group by model").fetchall())
        assert recorded == {model: count * training for model, count in epochs.items()}
        # The map follows from the curves.
        off = con.execute(
            "select max(abs(m.confidence - d.mean)), max(abs(m.correctness - d.right)), "
            "max(abs(m.aum - d.margin)), max(abs(m.forgetting - d.forgotten)) from data_maps m join ("
            "  select model, text_id, avg(probability) as mean, avg(correct::int) as right, avg(margin) as margin,"
            "  count(*) filter (where forgot) as forgotten from ("
            "    select *, lag(correct) over (partition by model, text_id order by epoch) and not correct as forgot"
            "    from training_dynamics) group by all) d using (model, text_id)"
        ).fetchone()
        assert max(off) < 1e-5, off
        evidence = dict(
            con.execute(
                "select t.split = 'test', string_agg(distinct q.evidence) from label_quality q join texts t "
                "using (text_id) group by all"
            ).fetchall()
        )
        assert evidence == {False: "training", True: "final models"}
        assert (
            con.execute("select count(*) from label_quality").fetchone()[0]
            == con.execute("select count(*) from texts").fetchone()[0]
        )
        # The mislabelled finding is the flagged texts, least likely label first.
        flagged = [row[0] for row in con.execute(
            "select text_id from label_quality where flagged order by label_quality, text_id").fetchall()]  # fmt: skip
        members = [row[0] for row in con.execute(
            "select t.text_id from insight_texts t join insights i using (insight_id) where i.kind = 'mislabelled' "
            "order by t.rank").fetchall()]  # fmt: skip
        assert members == flagged


@pytest.fixture(scope="module")
def noisy(tmp_path_factory, tickets_database):
    """The tickets with a seeded 10% of their training labels flipped, built as a user builds them."""
    folder = tmp_path_factory.mktemp("noisy")
    flipped = label_noise.noisy_copy(tickets_database.parent / "texts.parquet", folder / "noisy.parquet")
    columns = '[data]\ntext_column = "text"\nlabel_column = "label"\nsplit_column = "split"\nid_column = "id"\n'
    build = build_with(tmp_path_factory, "noisy-build", folder / "noisy.parquet", 'models = ["dense"]\n' + columns)
    return build, flipped


def test_flipped_labels_get_a_low_label_quality_and_are_flagged(noisy):
    build, flipped = noisy
    figures = label_noise.measure(build / "reviewlens.duckdb", flipped)
    assert figures["flipped"] == len(flipped) > 0
    found = figures["label_quality"]
    # Ranked at random, the average precision would be the share flipped.
    assert found["average_precision"] > 5 * label_noise.SHARE
    assert found["precision"] >= 0.8 and found["recall"] >= 0.5, found
    # Every signal and the anchor are measured on the same texts.
    signals = {"out_of_sample", "naive_bayes", "early_learning", "dense aum", "in_sample", "anchor_cleanlab"}
    assert signals <= set(figures)
    assert all(0 < figures[name]["average_precision"] <= 1 for name in figures if name != "flipped")
    with duckdb.connect(str(build / "reviewlens.duckdb"), read_only=True) as con:
        quality = (
            con.execute(
                "select t.source_id, q.label_quality, q.likely_label from label_quality q join texts t using (text_id) "
                "where t.split = 'train'"
            )
            .df()
            .set_index("source_id")
        )
    wrong = quality.index.isin(flipped["id"])
    assert quality.loc[wrong, "label_quality"].median() < 0.5 * quality.loc[~wrong, "label_quality"].median()
    # Where a flipped text is flagged, the class it suggests is mostly the label it had.
    truth = flipped.set_index("id")["true"]
    lowest = quality[wrong].nsmallest(10, "label_quality")
    assert (lowest["likely_label"] == truth.loc[lowest.index]).mean() >= 0.8


def test_the_data_maps_page_shows_each_region(monkeypatch, database, db):
    at = run_page(monkeypatch, database, "data_maps")
    counts = dict(db.execute("select region, count(*) from data_maps where model = 'dense' group by all").fetchall())
    assert {metric.label: metric.value for metric in at.metric} == {r: f"{n:,}" for r, n in counts.items()}
    at.selectbox(key="model").set_value("cnn").run()
    assert not at.exception
    at.segmented_control(key="region").set_value("easy to learn").run()
    assert any("easy to learn" in md.value for md in at.markdown)


def test_a_training_texts_page_shows_its_curve_and_a_test_texts_does_not(monkeypatch, database, db):
    train, test = (
        db.execute(f"select min(text_id) from texts where split {op} 'test'").fetchone()[0] for op in ("<>", "=")
    )
    at = run_page(monkeypatch, database, TEXT_PAGE.name, id=str(train))
    assert any(md.value == "#### Over training" for md in at.markdown)
    assert any(c.value.startswith("Label quality") and "early epochs" in c.value for c in at.caption)
    at = run_page(monkeypatch, database, TEXT_PAGE.name, id=str(test))
    assert not any(md.value == "#### Over training" for md in at.markdown)
    assert any(c.value.startswith("Label quality") and "final models" in c.value for c in at.caption)


def test_the_pages_say_why_a_brought_model_has_no_dynamics(monkeypatch, given_database):
    at = run_page(monkeypatch, given_database, "data_maps")
    assert any("has no training dynamics: trained elsewhere" in c.value for c in at.caption)
    assert any("No model here has training dynamics" in i.value for i in at.info)
