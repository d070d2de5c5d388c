"""Your own model: Keras models trained and saved outside the pipeline (tests/brought_models.py), brought in with
MODEL= and analysed like the built-in ones, through the one model interface; and the bad ones, refused in one
line with the database left as it was."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.brought_models import FIXED_LENGTH, LENGTH
from tests.conftest import brought, copy_build, last_error_line, make, run_page, tiny_settings_with
from tests.own_data import TICKET_CONFIG
from tests.per_text.test_attributions import completeness, favours_the_words_of_the_label
from viewer.database import open_database
from viewer.pages import PAGES


@pytest.fixture(scope="module")
def db(given_database):
    con = open_database(given_database)
    yield con
    con.close()


def direct_predictions(path: Path, texts: list[str], strings: bool, vocabulary: Path | None = None) -> np.ndarray:
    """The model's own outputs, as its user would get them by calling it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    model = keras.models.load_model(path)
    if strings:
        return model.predict(tf.constant(texts)[:, None], verbose=0)
    words = vocabulary.read_text().splitlines()
    layer = keras.layers.TextVectorization(vocabulary=words, output_sequence_length=LENGTH)
    return model.predict(layer(tf.constant(texts)), verbose=0)


def test_brought_models_give_the_predictions_of_calling_them_directly(db, given_models):
    rows = db.execute(
        "select r.text, p.model, p.probabilities from predictions p join texts r using (text_id)"
        " where p.model in ('strings', 'ids') order by p.model, text_id"
    ).df()
    labels = [row[0] for row in db.execute("select label from labels order by label_index").fetchall()]
    assert labels == ["negative", "positive"]
    strings = rows[rows["model"] == "strings"]
    own = direct_predictions(given_models / "strings.keras", list(strings["text"]), strings=True)
    # One sigmoid unit: P(positive), the data's class 1.
    np.testing.assert_allclose(np.stack(strings["probabilities"])[:, 1], own[:, 0], atol=1e-5)
    ids = rows[rows["model"] == "ids"]
    vocabulary = given_models / "ids.txt"
    own = direct_predictions(given_models / "ids.keras", list(ids["text"]), strings=False, vocabulary=vocabulary)
    # Trained with the classes in reverse order, and told so by the labels setting.
    np.testing.assert_allclose(np.stack(ids["probabilities"]), own[:, ::-1], atol=1e-5)


def test_a_model_of_this_pipeline_brought_back_predicts_as_it_did(db, database):
    again = db.execute("select text_id, probabilities from predictions where model = 'again' order by all").df()
    with open_database(database) as built:
        dense = built.execute("select text_id, probabilities from predictions where model = 'dense' order by all")
        dense = dense.df()
    assert list(again["text_id"]) == list(dense["text_id"])
    np.testing.assert_allclose(np.stack(again["probabilities"]), np.stack(dense["probabilities"]), atol=1e-6)
    completeness(db, "again")


def test_brought_models_are_as_accurate_as_they_are(db):
    accuracy = dict(db.execute("select model, accuracy from model_metrics where subset = 'test'").fetchall())
    # Mapped to the wrong classes, a model would score near zero.
    assert all(accuracy[model] > 0.9 for model in ("strings", "ids", "bag", "custom", "again")), accuracy


def test_the_models_table_says_which_were_brought_with_the_files_checksum(db, given_models):
    found = db.execute("select model, kind, architecture, file, sha256, epochs from models order by rank").fetchall()
    assert [row[:3] for row in found] == [
        ("strings", "keras", None),
        ("ids", "keras", None),
        ("bag", "keras", None),
        ("custom", "keras", None),
        ("again", "keras", None),
        ("baseline", "baseline", None),
    ]
    meta = dict(db.execute("select key, value from meta").fetchall())
    for model, _, _, file, sha256, epochs in found[:-1]:
        assert Path(file).name == f"{model}.keras" and epochs is None
        assert sha256 == hashlib.sha256(Path(file).read_bytes()).hexdigest() == meta[f"model_{model}_sha256"]


def test_brought_models_get_maps_clusters_and_insights(db):
    texts = db.execute("select count(*) from texts").fetchone()[0]
    placed = dict(db.execute("select model, count(*) from latent_space group by model").fetchall())
    assert placed == {model: texts for model in ("strings", "ids", "bag", "custom", "again")}
    assert db.execute("select count(distinct model) from clusters").fetchone()[0] == 5
    assert db.execute("select count(*) from model_agreement where first_model = 'strings'").fetchone()[0] == 4 * texts


@pytest.mark.parametrize("model", ["strings", "ids", "custom"])
def test_brought_models_attributions_lie_on_the_pipelines_tokens(db, model):
    completeness(db, model)
    # Every token the model read has a score, on the words the pages show; none past the text's end.
    longer = db.execute(
        "select count(*) from attributions join texts using (text_id) where model = $m and len(scores) > n_tokens",
        {"m": model},
    ).fetchone()[0]
    assert longer == 0
    favours_the_words_of_the_label(db, model)


def test_a_model_without_an_embedding_layer_is_analysed_without_attributions(db, given_database, monkeypatch):
    why = db.execute("select no_attributions from models where model = 'bag'").fetchone()[0]
    assert "no Embedding layer" in why
    assert db.execute("select count(*) from attributions where model = 'bag'").fetchone()[0] == 0
    page = run_page(monkeypatch, given_database, "samples", id="3")
    assert any("bag has no heat maps" in info.value for info in page.info)
    page = run_page(monkeypatch, given_database, "overview")
    captions = " ".join(caption.value for caption in page.caption)
    assert "**strings** was brought in" in captions and "**bag** has no heat maps" in captions


@pytest.mark.parametrize("page", [page.name for page in PAGES])
def test_every_page_runs_on_brought_models_alone(given_database, page, monkeypatch):
    run_page(monkeypatch, given_database, page, id="5")


def test_three_classes_a_logits_model_with_its_own_class_order(tickets_database, tickets_csv, tmp_path):
    build = copy_build(tickets_database.parent, tmp_path / "build")
    folder = brought(build, tmp_path / "models", "logits")
    labels = sorted(pd.read_parquet(build / "texts.parquet")["label"].unique())
    own = json.dumps(list(reversed(labels)))
    table = f'\n[logits]\nvocabulary = "{folder / "logits.txt"}"\nlogits = true\nlabels = {own}\n'
    config = tiny_settings_with(tmp_path / "settings.toml", TICKET_CONFIG + table)
    result = make(build, "all", data=tickets_csv, config=config, models=[folder / "logits.keras"])
    assert result.returncode == 0, result.stderr[-3000:]
    # A model brought into a finished build is analysed; the models trained there are not trained again.
    assert "-m pipeline predict --config" in result.stdout and "-m pipeline train" not in result.stdout
    con = open_database(build / "reviewlens.duckdb")
    try:
        accuracy = con.execute("select accuracy from model_metrics where model = 'logits' and subset = 'test'")
        assert accuracy.fetchone()[0] > 0.8
        completeness(con, "logits")
        sums = con.execute("select min(list_sum(probabilities)), max(list_sum(probabilities)) from predictions")
        assert sums.fetchone() == pytest.approx((1.0, 1.0), abs=1e-4)
    finally:
        con.close()


# --- bad models: one line, non-zero exit, the database as it was -------------------------------------------------

# kind of model: (its file's name, its settings, the words its error names)
BAD_MODELS = {
    "notes": ("notes.keras", "", ["notes.keras", "not a Keras model"]),
    "custom": ("custom.keras", "", ["custom", "Scale", "register_keras_serializable", "modules"]),
    "wide": ("wide.keras", '[wide]\nvocabulary = "{folder}/wide.txt"\n', ["model wide", "outputs 3", "2 labels"]),
    "ids": ("ids.keras", "", ["model ids", "token ids", "vocabulary"]),
    "short": ("short.keras", '[short]\nvocabulary = "{short}"\n', ["model short", "has 50 tokens", "takes"]),
    "fixed": (
        "fixed.keras",
        f'[fixed]\nvocabulary = "{{folder}}/fixed.txt"\nsequence_length = {2 * FIXED_LENGTH}\n',
        ["model fixed", "first batch"],
    ),
    "strings": ("strings.keras", '[strings]\nlabels = ["good", "bad"]\n', ["model strings", "labels", "negative"]),
}


def test_bad_models_each_fail_in_one_line(build_dir, tarball, given_models, tmp_path):
    """Every kind of bad model at once: make -k runs each model's steps as far as they go."""
    build = copy_build(build_dir, tmp_path / "build")
    before = (build / "reviewlens.duckdb").read_bytes()
    (tmp_path / "notes.keras").write_text("not a model\n")
    shutil.copy(given_models / "ids.keras", tmp_path / "short.keras")
    short = tmp_path / "vocabulary.txt"
    short.write_text("\n".join((given_models / "ids.txt").read_text().splitlines()[:50]) + "\n")
    settings = "".join(table.format(folder=given_models, short=short) for _, table, _ in BAD_MODELS.values())
    config = tiny_settings_with(tmp_path / "settings.toml", settings)
    files = [
        tmp_path / name if (tmp_path / name).exists() else given_models / name for name, _, _ in BAD_MODELS.values()
    ]
    result = make(build, "-k", "all", data=tarball, config=config, models=files)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    for kind, (_, _, names) in BAD_MODELS.items():
        found = [line for line in errors if names[0] in line]
        assert len(found) == 1, (kind, errors)  # the model's first step stops it
        assert all(name in found[0] for name in names), found[0]
    assert (build / "reviewlens.duckdb").read_bytes() == before
    assert not list(build.rglob(".*tmp*")), "a temporary file was left behind"


@pytest.mark.parametrize(
    ("file", "names"),
    [("missing.keras", ["missing.keras", "no file"]), ("dense.keras", ["dense.keras", "taken", "rename"])],
)
def test_a_model_file_that_is_not_there_or_takes_a_models_name(file, names, build_dir, tarball, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    if file == "dense.keras":
        (tmp_path / file).write_text("x")
    result = make(build, "all", data=tarball, models=[tmp_path / file])
    line = last_error_line(result)
    assert result.returncode != 0 and all(name in line for name in names), line


def test_the_report_speaks_of_brought_models(db):
    from viewer import report

    page = report.build(db)
    assert "strings was brought in" in page and "bag has no heat maps" in page
    assert "Training loss per batch" not in page  # no model was trained here
