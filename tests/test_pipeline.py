"""The real pipeline, run by make on the generated tarball: what the database holds."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from pipeline.config import ROOT, SCHEMA_VERSION, load_config
from pipeline.whole_set.features import MEASURES
from tests.conftest import PER_FOLDER, TINY_CONFIG, make, schema_tables
from viewer.database import open_database

REVIEWS = 4 * PER_FOLDER
MODELS = {"dense", "cnn", "baseline"}


def test_database_has_every_schema_table(db):
    found = {row[0] for row in db.execute("select table_name from information_schema.tables").fetchall()}
    assert found == schema_tables()


def test_every_table_and_column_is_documented(db):
    undocumented = db.execute(
        "select table_name, column_name from duckdb_columns() where comment is null and not internal"
        " and table_name not in (select view_name from duckdb_views())"
    ).fetchall()
    assert undocumented == []
    tables = db.execute("select table_name from duckdb_tables() where comment is null").fetchall()
    assert tables == []


def test_file_uses_the_storage_format_duckdb_1_reads(database):
    header = database.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    # 65 is the storage number of DuckDB's v1.2.0 format; DuckDB 2.0's default is higher.
    assert int.from_bytes(header[12:20], "little") == 65


def test_every_review_once_with_its_split_label_and_rating(db):
    counts = db.execute("select split, label, count(*) from texts group by all order by all").fetchall()
    assert counts == [(s, lab, PER_FOLDER) for s in ("test", "train") for lab in ("negative", "positive")]
    wrong_rating = db.execute(
        "select count(*) from texts where (label = 'positive') != (rating >= 7) or rating not between 1 and 10"
    ).fetchone()[0]
    assert wrong_rating == 0
    assert db.execute("select count(distinct text_id), min(text_id), max(text_id) from texts").fetchone() == (
        REVIEWS,
        0,
        REVIEWS - 1,
    )


def test_validation_hold_out_is_a_stratified_part_of_the_train_split(db):
    fraction = load_config(TINY_CONFIG)["data"]["validation_fraction"]
    rows = db.execute("select split, subset, label, count(*) from texts group by all").fetchall()
    counts = {(split, subset, label): n for split, subset, label, n in rows}
    for label in ("negative", "positive"):
        assert counts[("train", "validation", label)] == round(PER_FOLDER * fraction)
        assert counts[("test", "test", label)] == PER_FOLDER
    assert not any(split == "test" and subset != "test" for split, subset, _ in counts)


def test_token_metadata_is_consistent(db):
    sequence_length = load_config(TINY_CONFIG)["text"]["sequence_length"]
    bad = db.execute(
        "select count(*) from texts where truncated != (n_tokens > $n) or n_oov > n_tokens or n_chars != length(text)",
        {"n": sequence_length},
    ).fetchone()[0]
    assert bad == 0
    # The generated texts' words are all in the training vocabulary except rare ones: OOV stays small.
    assert db.execute("select avg(n_oov::double / n_tokens) from texts").fetchone()[0] < 0.2


def test_every_text_has_one_prediction_per_model(db):
    rows = db.execute("select model, count(*), count(distinct text_id) from predictions group by model").fetchall()
    assert {model: (n, distinct) for model, n, distinct in rows} == {m: (REVIEWS, REVIEWS) for m in MODELS}


def prediction_columns_agree(db) -> None:
    """Every class's probability, the loss, the confidence, the predicted label and correctness agree."""
    labels = [row[0] for row in db.execute("select label from labels order by label_index").fetchall()]
    frame = db.execute("select * from predictions join texts using (text_id)").df()
    probabilities = np.stack(frame["probabilities"].to_numpy())
    assert probabilities.shape == (len(frame), len(labels))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    p_true = probabilities[np.arange(len(frame)), frame["label"].map(labels.index).to_numpy()]
    np.testing.assert_allclose(frame["loss"], -np.log(np.clip(p_true, 1e-7, 1)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(frame["confidence"], probabilities.max(axis=1), atol=1e-6)
    assert (frame["predicted_label"] == np.array(labels)[probabilities.argmax(axis=1)]).all()
    assert (frame["correct"] == (frame["predicted_label"] == frame["label"])).all()


def test_prediction_columns_agree_with_each_other(db):
    prediction_columns_agree(db)


def test_models_learn_better_than_chance(db):
    accuracy = dict(db.execute("select model, accuracy from model_metrics where subset = 'test'").fetchall())
    assert set(accuracy) == MODELS
    for model, value in accuracy.items():
        assert value > 0.75, f"{model} test accuracy {value:.3f}"


def test_models_table_holds_seed_figures_for_the_neural_models_only(db):
    rows = db.execute("select model, kind, epochs, seed_accuracy, seed_loss from models order by model").fetchall()
    settings = load_config(TINY_CONFIG)
    assert rows == [
        ("baseline", "baseline", None, None, None),
        ("cnn", "trained", settings["cnn"]["epochs"], 0.89, 0.28),
        ("dense", "trained", settings["dense"]["epochs"], 0.89, 0.26),
    ]


def test_training_history_covers_every_batch_and_epoch(db):
    settings = load_config(TINY_CONFIG)
    fitted = db.execute("select count(*) from texts where subset = 'train'").fetchone()[0]
    for model in ("dense", "cnn"):
        batches_per_epoch = -(-fitted // settings[model]["batch_size"])
        steps, last = db.execute(
            "select count(*), max(step) from training_batches where model = $m", {"m": model}
        ).fetchone()
        assert steps == last == batches_per_epoch * settings[model]["epochs"]
        epochs = db.execute("select count(*) from training_epochs where model = $m", {"m": model}).fetchone()[0]
        assert epochs == settings[model]["epochs"]
    # The batch figures average back to the epoch figure Keras reported.
    batch_mean, epoch_loss = db.execute(
        "select avg(b.loss), any_value(e.loss) from training_batches b join training_epochs e using (model, epoch)"
        " where model = 'dense' and epoch = 1 and b.batch < (select max(batch) from training_batches)"
    ).fetchone()
    assert batch_mean == pytest.approx(epoch_loss, rel=0.1)


def test_meta_records_schema_checksum_settings_and_versions(db, tarball):
    meta = dict(db.execute("select key, value from meta").fetchall())
    assert meta["schema_version"] == str(SCHEMA_VERSION) == "10"
    assert meta["dataset_kind"] == "imdb" and meta["split_source"] == "given"
    assert meta["dataset_sha256"] == hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert json.loads(meta["config"]) == load_config(TINY_CONFIG)
    assert {"duckdb", "keras", "tensorflow-cpu", "scikit-learn"} <= set(json.loads(meta["versions"]))
    assert re.match(r"\d{4}-\d\d-\d\dT", meta["built_at"])


def test_make_all_shows_progress_but_not_tensorflow_start_up(build_dir):
    output = (build_dir / "make-all-output.txt").read_text()
    assert "cpu_feature_guard" not in output and "absl::InitializeLog" not in output
    assert "NodeDef mentions attribute" not in output  # training's tf.data complaint
    # The long steps show a bar: t-SNE, k-means, TextBlob's pass, the bootstraps.
    for bar in ("t-SNE of", "k-means, 4 clusters", "sentiment", "calibration (bootstrap)", "correlations (bootstrap)"):
        assert re.search(rf"{re.escape(bar)}.*\d+%", output), bar


def test_second_make_all_does_nothing(build_dir, tarball):
    database = build_dir / "reviewlens.duckdb"
    before = database.stat().st_mtime_ns
    result = make(build_dir, "all", data=tarball)
    assert result.returncode == 0, result.stderr
    assert "-m pipeline" not in result.stdout, result.stdout
    assert database.stat().st_mtime_ns == before


def test_a_changed_setting_reruns_only_the_steps_that_use_it(one_epoch_build):
    # The dense model's settings changed (and the base to compare with): the dense model's steps and what follows.
    ran = one_epoch_build[1]
    assert "--model dense" in ran and "-m pipeline build_db" in ran
    assert "--model cnn" not in ran and "-m pipeline ingest" not in ran and "-m pipeline baseline" not in ran


def test_same_inputs_and_seeds_give_the_same_database_one_step_at_a_time_or_several(database, tarball, tmp_path):
    # The session's build ran two steps at a time; this one runs them one after the other.
    result = make(tmp_path / "again", "-j1", "all", data=tarball)
    assert result.returncode == 0, result.stderr[-2000:]
    with (
        open_database(database) as first,
        open_database(tmp_path / "again" / "reviewlens.duckdb") as second,
    ):
        for table in sorted(schema_tables()):
            query = f"select * from {table} order by all"
            if table == "meta":
                query = "select * from meta where key != 'built_at' order by all"
            assert first.execute(query).fetchall() == second.execute(query).fetchall(), table


def test_make_help_lists_every_documented_target():
    result = subprocess.run(["make", "-C", str(ROOT), "help"], capture_output=True, text=True, check=True)
    for target in ("all", "view", "check", "test", "bench"):
        assert f"make {target}" in result.stdout


def test_duckdb_1_opens_the_file(database, tmp_path_factory):
    target = tmp_path_factory.mktemp("duckdb1")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "duckdb==1.2.2"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    script = (
        f"import duckdb; con = duckdb.connect({str(database)!r}, read_only=True)\n"
        "con.execute('select * from token_attributions where text_id = 1').fetchall()\n"
        "print(duckdb.__version__, con.execute('select count(*) from predictions').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={"PYTHONPATH": str(target)}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["1.2.2", str(3 * REVIEWS)]


# The large tables declare no keys (their indexes would double the file): their keys are checked here.
KEYS = {
    "texts": ["source_id"],
    "predictions": ["text_id", "model"],
    "latent_space": ["text_id", "model"],
    "attributions": ["text_id", "model"],
    "insight_texts": ["insight_id", "rank"],
}
REFERENCES = [
    ("predictions", "text_id", "texts"),
    ("predictions", "model", "models"),
    ("latent_space", "text_id", "texts"),
    ("latent_space", "model", "models"),
    ("attributions", "text_id", "texts"),
    ("attributions", "model", "models"),
    ("insight_texts", "text_id", "texts"),
    ("insight_texts", "insight_id", "insights"),
]


@pytest.mark.parametrize("table", KEYS)
def test_keys_of_the_large_tables_are_unique(db, table):
    key = ", ".join(KEYS[table])
    total, distinct = db.execute(f"select count(*), count(distinct ({key})) from {table}").fetchone()
    assert total == distinct > 0


@pytest.mark.parametrize(("table", "column", "target"), REFERENCES)
def test_references_of_the_large_tables_resolve(db, table, column, target):
    orphans = db.execute(
        f"select count(*) from {table} where {column} not in (select {column} from {target})"
    ).fetchone()[0]
    assert orphans == 0


def test_a_models_description_is_the_path_a_reader_draws(db):
    # The CNN's padding mask is pooled beside its convolutions: a branch of its own, not a step of the path.
    described = dict(db.execute("select model, description from models").fetchall())
    assert re.fullmatch(
        r"Embedding\(\d+, 8\) > Conv1D\(8, 3\) > MaxPooling1D > Conv1D\(8, 3\) > MaxPooling1D > Conv1D\(8, 3\)"
        r" > GlobalAveragePooling1D > Dense\(2, softmax\)",
        described["cnn"],
    ), described["cnn"]
    assert re.fullmatch(r"Embedding\(\d+, 8\) > Dense\(8, relu\) > GlobalAveragePooling1D > Dense\(2, softmax\)",
                        described["dense"]), described["dense"]  # fmt: skip


def test_what_is_measured_on_every_text_is_a_column_with_its_comment(db):
    found = dict(db.execute("select column_name, comment from duckdb_columns() where table_name = 'texts'").fetchall())
    assert [m.column for m in MEASURES] == [name for name in found if name in {m.column for m in MEASURES}]
    for measure in MEASURES:
        assert found[measure.column] == measure.comment
    checks = {
        row[0].lower()
        for row in db.execute(
            "select expression from duckdb_constraints() where table_name = 'texts' and expression is not null"
        ).fetchall()
    }
    assert {f"({m.check})" for m in MEASURES if m.check} <= checks
