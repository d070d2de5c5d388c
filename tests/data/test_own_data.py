"""The pipeline and the viewer on data of other shapes: three classes of tickets from a CSV with other column names,
no split column, extra columns and a third model defined in the settings; two classes with integer labels from a
Parquet file with a split column and one neural model."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.config import load_config
from tests.conftest import TINY_CONFIG, make, run_page, tiny_settings_with
from tests.own_data import HUGE_TEXT, PER_CLASS, TICKET_CONFIG, TICKETS
from tests.per_text.test_attributions import completeness, one_score_per_token_and_class
from tests.test_pipeline import prediction_columns_agree
from viewer.database import open_database, query
from viewer.pages import PAGES

SEQUENCE_LENGTH = load_config(TINY_CONFIG)["text"]["sequence_length"]


@pytest.fixture(scope="module")
def tickets(tickets_database):
    con = open_database(tickets_database)
    yield con
    con.close()


@pytest.fixture(scope="module")
def parquet(parquet_database):
    con = open_database(parquet_database)
    yield con
    con.close()


def column(con: duckdb.DuckDBPyConnection, sql: str, **params) -> list:
    return [row[0] for row in con.execute(sql, params).fetchall()]


def test_the_label_set_comes_from_the_data(tickets, parquet):
    assert column(tickets, "select label from labels order by label_index") == sorted(TICKETS)
    assert column(tickets, "select texts from labels") == [PER_CLASS] * 3
    # Integer labels are shown by name, in number order.
    assert column(parquet, "select label from labels order by label_index") == ["0", "1"]


def test_without_a_split_column_a_seeded_stratified_split_is_made(tickets):
    fraction = load_config(TINY_CONFIG)["data"]["test_fraction"]
    counts = tickets.execute("select label, count(*) from texts where split = 'test' group by label").fetchall()
    assert sorted(n for _, n in counts) == [round(PER_CLASS * fraction)] * 3
    assert column(tickets, "select value from meta where key = 'split_source'") == ["made"]
    assert column(tickets, "select distinct subset from texts where split = 'test'") == ["test"]


def test_a_given_split_with_validation_rows_is_kept(parquet):
    rows = parquet.execute("select split, subset, count(*) from texts group by all order by all").fetchall()
    assert rows == [("test", "test", 60), ("train", "train", 210), ("validation", "validation", 30)]
    assert column(parquet, "select value from meta where key = 'split_source'") == ["given"]


def test_other_column_names_ids_and_extra_columns_come_along(tickets, tickets_csv):
    source = pd.read_csv(tickets_csv)
    stored = tickets.execute("select source_id, label, priority, channel from texts order by text_id").df()
    assert list(stored["source_id"]) == list(source["ticket_no"])
    assert list(stored["label"]) == list(source["category"])
    assert list(stored["priority"]) == list(source["priority"]) and list(stored["channel"]) == list(source["channel"])
    features = dict(tickets.execute("select feature, kind from features where source = 'data'").fetchall())
    assert features == {"priority": "numeric", "channel": "category"}
    # The numeric column is a feature of the correlations, the category one of the categories view.
    assert column(tickets, "select count(*) from feature_correlations where feature = 'priority'") == [3 * 4]
    values = tickets.execute(
        "select value, count(*) from text_categories where model = 'cnn' and category = 'channel' group by all"
    ).fetchall()
    assert dict(values) == source["channel"].value_counts().to_dict()
    # IMDB's own parts are not there.
    assert column(tickets, "select count(*) from seed_findings") == [0]
    assert column(tickets, "select count(*) from models where seed_accuracy is not null") == [0]


def test_predictions_hold_every_class(tickets, parquet):
    prediction_columns_agree(tickets)
    prediction_columns_agree(parquet)
    cells = tickets.execute("select model, count(*) from (select distinct model, label, predicted_label from "
                            "predictions join texts using (text_id)) group by model").fetchall()  # fmt: skip
    assert all(n <= 9 for _, n in cells)
    accuracy = dict(tickets.execute("select model, accuracy from model_metrics where subset = 'test'").fetchall())
    assert set(accuracy) == {"dense", "cnn", "small", "baseline"}
    assert all(value > 0.6 for value in accuracy.values()), accuracy


def test_a_third_model_defined_in_the_settings_goes_everywhere(tickets):
    models = tickets.execute("select model, rank, kind, architecture from models order by rank").fetchall()
    assert models == [
        ("dense", 1, "trained", "dense"),
        ("cnn", 2, "trained", "cnn"),
        ("small", 3, "trained", "cnn"),
        ("baseline", 4, "baseline", None),
    ]
    texts = 3 * PER_CLASS
    for table in ("latent_space", "attributions"):
        assert column(tickets, f"select count(*) from {table} where model = 'small'") == [texts]
    assert column(tickets, "select count(*) from clusters where model = 'small'")[0] > 0
    pairs = tickets.execute("select distinct first_model, second_model from model_agreement order by all").fetchall()
    assert pairs == [("cnn", "small"), ("dense", "cnn"), ("dense", "small")]


def test_one_neural_model_is_enough(parquet):
    assert column(parquet, "select model from models order by rank") == ["cnn", "baseline"]
    assert column(parquet, "select count(*) from model_agreement") == [0]


@pytest.mark.parametrize("model", ["dense", "cnn", "small"])
def test_attributions_toward_every_class(tickets, model):
    one_score_per_token_and_class(tickets, model, SEQUENCE_LENGTH)
    completeness(tickets, model)


def test_a_one_megabyte_text_is_cut_to_the_sequence_length(tickets):
    n_tokens, truncated, stored = tickets.execute(
        "select n_tokens, truncated, len(scores) from texts join attributions using (text_id)"
        " where model = 'cnn' and text = $t",
        {"t": HUGE_TEXT},
    ).fetchone()
    assert n_tokens > 100_000 and truncated and stored == SEQUENCE_LENGTH * 2


def test_the_confusion_matrix_is_n_by_n(tickets):
    matrix = query(tickets, "confusion_matrix", subset="test")
    assert len(matrix) == 4 * 3 * 3
    assert matrix.groupby("model")["texts"].sum().tolist() == [72] * 4


@pytest.mark.parametrize("page", [page.name for page in PAGES])
def test_every_page_runs_on_both(tickets_database, parquet_database, page, monkeypatch):
    for database in (tickets_database, parquet_database):
        at = run_page(monkeypatch, database, page)
        assert at.title


def test_pages_speak_of_the_data_not_of_imdb(tickets_database, tickets, monkeypatch):
    overview = run_page(monkeypatch, tickets_database, "overview")
    assert sorted(m.label for m in overview.metric) == sorted(
        f"{m} test accuracy" for m in ("dense", "cnn", "small", "baseline")
    )
    assert "vs seed" not in str([m.delta for m in overview.metric])
    assert "stratified" in " ".join(c.value for c in overview.caption)
    dashboard = run_page(monkeypatch, tickets_database, "dashboard")
    assert "By channel" in [s.value for s in dashboard.subheader]
    assert "seed study" not in " ".join(s.value for s in dashboard.subheader)
    # A wrongly predicted ticket: its heat maps go toward its true class and toward the predicted one.
    text_id, label, predicted = tickets.execute(
        "select text_id, label, predicted_label from predictions join texts using (text_id)"
        " where model = 'dense' and not correct order by text_id limit 1"
    ).fetchone()
    samples = run_page(monkeypatch, tickets_database, "samples", id=str(text_id))
    assert samples.multiselect(key="toward").value == [label, predicted]
    headings = [m.value for m in samples.markdown]
    for model in ("dense", "cnn", "small"):
        assert f"**{model}** · toward {predicted}" in headings and f"**{model}** · away from {label}" in headings


def test_samples_filter_by_a_category(tickets_database, tickets, monkeypatch):
    at = run_page(monkeypatch, tickets_database, "samples")
    at.sidebar.selectbox(key="category").select("channel").run()
    at.sidebar.selectbox(key="category_value").select("phone").run()
    expected = column(tickets, "select count(*) from texts where channel = 'phone'")[0]
    assert f"{expected:,} texts match" in " ".join(m.value for m in at.markdown)


def test_the_map_colours_by_a_category(tickets_database, tickets, monkeypatch):
    at = run_page(monkeypatch, tickets_database, "population")
    at.selectbox(key="color").select("channel").run()
    assert not at.exception
    # The WebGL map's legend: the category's values.
    drawn = json.loads(at.get("bidi_component")[0].proto.mixed.json)
    assert drawn["legend"] == column(tickets, "select distinct channel from texts order by channel")


def test_the_same_data_and_seed_give_the_same_split(tickets, tickets_csv, tmp_path):
    config = tiny_settings_with(tmp_path / "settings.toml", TICKET_CONFIG)
    result = make(tmp_path / "again", str(tmp_path / "again" / "texts.parquet"), data=tickets_csv, config=config)
    assert result.returncode == 0, result.stderr[-2000:]
    again = pd.read_parquet(tmp_path / "again" / "texts.parquet")
    first = tickets.execute("select text_id, split, subset from texts order by text_id").df()
    assert np.array_equal(first.to_numpy(), again[["text_id", "split", "subset"]].to_numpy())
