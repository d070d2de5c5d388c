"""Every page of the viewer, run by Streamlit's AppTest on a database the pipeline built."""

from __future__ import annotations

import re
import subprocess
import sys

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.config import SCHEMA_VERSION
from tests.conftest import APP
from viewer.database import QUERIES, ROOT
from viewer.pages import PAGES
from viewer.session import DB_ENV

VIEWS = sorted((ROOT / "viewer" / "views").glob("[!_]*.py"))


def run_app(page: str | None = None, **query_params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception[0].message if at.exception else ""
    return at


@pytest.fixture(autouse=True)
def use_database(monkeypatch, database):
    monkeypatch.setenv(DB_ENV, str(database))


def texts(at: AppTest) -> str:
    parts = [
        e.value for kind in ("markdown", "caption", "info", "error", "subheader", "title") for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("view", VIEWS, ids=lambda p: p.stem)
def test_every_page_runs_without_exception(view):
    at = run_app(view.stem)
    assert not at.error, [e.value for e in at.error]
    assert at.title, "each page starts with a title"
    # Every table reads an empty cell as "-", not "None" (the baseline has no epochs, IMDB's own models no file).
    assert all(frame.proto.placeholder == "-" for frame in at.dataframe)


def test_every_page_is_in_the_navigation():
    # One list makes the navigation (viewer/pages.py): every file of views/ is in it.
    assert sorted(page.file for page in PAGES) == VIEWS


def test_every_named_query_is_used_by_the_viewer():
    code = "\n".join(path.read_text() for path in (ROOT / "viewer").rglob("*.py"))
    used = set(re.findall(r'(?:run_query|query)\((?:\s*con,)?\s*"(\w+)"', code))
    assert used == {path.stem for path in QUERIES.glob("*.sql")}


def test_overview_shows_every_model_beside_the_seed(db):
    at = run_app("overview")
    models = [row[0] for row in db.execute("select model from models").fetchall()]
    assert sorted(m.label for m in at.metric) == sorted(f"{model} test accuracy" for model in models)
    accuracy = db.execute("select accuracy from model_metrics where model = 'dense' and subset = 'test'").fetchone()[0]
    dense = next(m for m in at.metric if m.label.startswith("dense"))
    assert dense.value == f"{accuracy:.3f}"
    assert "vs seed" in dense.delta


def test_samples_filters_count_what_the_database_holds(db):
    at = run_app("samples")
    at.sidebar.selectbox(key="model").select("cnn")
    at.sidebar.selectbox(key="outcome").select("incorrect")
    at.sidebar.selectbox(key="subset").select("test")
    at.run()
    expected = db.execute(
        "select count(*) from predictions join texts using (text_id)"
        " where model = 'cnn' and not correct and subset = 'test'"
    ).fetchone()[0]
    assert f"{expected:,} reviews match" in texts(at)
    shown = at.dataframe[0].value
    assert len(shown) == expected
    assert list(shown["loss"]) == sorted(shown["loss"], reverse=True)


def test_samples_deep_link_opens_the_text(db):
    text_id, text = db.execute("select text_id, text from texts where label = 'negative' limit 1").fetchone()
    at = run_app("samples", id=str(text_id))
    assert f"Text {text_id}" in texts(at)
    assert at.text[0].value == text.replace("<br />", "\n")
    assert [m.label for m in at.metric][:3] == ["dense: P(negative)", "cnn: P(negative)", "baseline: P(negative)"]
    p_dense = db.execute("select probabilities[1] from predictions where text_id = $r and model = 'dense'",
                         {"r": text_id}).fetchone()[0]  # fmt: skip
    assert at.metric[0].value == f"{p_dense:.3f}"


def test_samples_deep_link_to_a_missing_text():
    at = run_app("samples", id="999999")
    assert "No text with id 999999" in at.error[0].value


def test_no_database_shows_how_to_build_one(monkeypatch, tmp_path):
    monkeypatch.setenv(DB_ENV, str(tmp_path / "missing.duckdb"))
    at = run_app()
    assert "No database" in at.error[0].value
    assert "make all" in texts(at)


def test_a_file_that_is_not_a_database(monkeypatch, tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("these are my notes")
    monkeypatch.setenv(DB_ENV, str(path))
    assert "is not a DuckDB database" in run_app().error[0].value


@pytest.mark.parametrize(("version", "said"), [("6", " (its reviews table and review_id are texts and text_id now)"),
                                              ("99", "")])  # fmt: skip
def test_a_database_of_another_schema_version(monkeypatch, tmp_path, version, said):
    # A file of the version before texts were called texts gets the clear message, and what changed.
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table meta (key varchar, value varchar)")
        con.execute("insert into meta values ('schema_version', ?)", [version])
    monkeypatch.setenv(DB_ENV, str(path))
    message = run_app().error[0].value
    expected = (
        f"schema version {version}; this viewer reads version {SCHEMA_VERSION}{said}. Rebuild it with `make all`."
    )
    assert expected in message


def test_viewer_never_imports_tensorflow(database):
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=60).run()\n"
        + "".join(f"at.switch_page('views/{view.name}').run()\n" for view in VIEWS)
        + "assert not at.exception\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'sklearn')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={DB_ENV: str(database), "PATH": ""}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_population_map_shows_the_filtered_texts(db):
    at = run_app("population")
    at.sidebar.selectbox(key="model").select("cnn")
    at.sidebar.selectbox(key="split").select("test")
    at.sidebar.multiselect(key="clusters").select(1)
    at.run()
    expected = db.execute(
        "select count(*) from latent_space join texts using (text_id) where model = 'cnn' and split = 'test'"
        " and cluster = 1"
    ).fetchone()[0]
    assert f"{expected:,} reviews on the map." in texts(at)


def test_a_map_with_no_points_says_so(db):
    at = run_app("population")
    slider = at.sidebar.slider(key="loss")
    top = slider.max
    slider.set_range(top, top).run()  # above every text's loss
    assert not at.exception
    assert "No reviews match these filters: widen them in the sidebar." in [info.value for info in at.info]
    assert "on the map." not in texts(at)


def test_clusters_page_focuses_on_a_cluster(db):
    at = run_app("clusters")
    at.selectbox(key="focus").select(2).run()
    assert "Highest-loss reviews in cluster 2" in texts(at)
    listed = at.dataframe[1].value
    in_cluster = {row[0] for row in db.execute(
        "select text_id from latent_space where model = 'dense' and cluster = 2").fetchall()}  # fmt: skip
    assert len(listed) > 0 and set(listed["text_id"]) <= in_cluster
    assert list(listed["loss"]) == sorted(listed["loss"], reverse=True)


def test_samples_lists_similar_texts_without_the_text_itself(db):
    at = run_app("samples", id="3")
    similar = at.dataframe[-1].value
    assert len(similar) == 10 and 3 not in set(similar["text_id"])
    assert list(similar["distance"]) == sorted(similar["distance"])


def test_samples_shows_the_loss_change_from_dense_to_cnn(db):
    text_id, dense, cnn = db.execute(
        "select text_id, d.loss, c.loss from predictions d join predictions c using (text_id)"
        " where d.model = 'dense' and c.model = 'cnn' and d.loss > 0.05 order by text_id limit 1"
    ).fetchone()
    at = run_app("samples", id=str(text_id))
    change = next(m for m in at.metric if m.label == "Loss, dense to cnn")
    assert change.value == f"{(cnn - dense) / dense:+.0%}"


def test_failures_lists_false_positives_and_cohorts(db):
    at = run_app("failures")
    false_positives = at.dataframe[0].value
    wrong = {row[0] for row in db.execute(
        "select text_id from predictions join texts using (text_id) where model = 'dense' and subset = 'test'"
        " and label = $l and predicted_label = $p", {"l": at.multiselect(key="mistakes").value[0].split(" read as ")[0],
        "p": at.multiselect(key="mistakes").value[0].split(" read as ")[1]}).fetchall()}  # fmt: skip
    assert set(false_positives["text_id"]) <= wrong and len(false_positives) == min(15, len(wrong))
    cohorts = dict(db.execute(
        "select cohort, count(*) from model_agreement join texts using (text_id) where subset = 'test'"
        " and first_model = 'dense' and second_model = 'cnn' group by cohort").fetchall())  # fmt: skip
    assert sum(cohorts.values()) == 200
    rarest = min(cohorts, key=cohorts.get)
    at.segmented_control(key="cohort-dense-cnn").set_value(rarest).run()
    examples = at.dataframe[-1].value
    assert len(examples) == min(15, cohorts[rarest])
    in_cohort = {row[0] for row in db.execute("select text_id from model_agreement where cohort = $c"
                                              " and first_model = 'dense' and second_model = 'cnn'",
                                              {"c": rarest}).fetchall()}  # fmt: skip
    assert set(examples["text_id"]) <= in_cohort


def test_dashboard_choices_live_in_the_url(db):
    at = run_app("dashboard", model="cnn", split="validation", bins="9", feature=["rating", "negations"])
    assert at.sidebar.selectbox[0].value == "cnn" and at.sidebar.slider[0].value == 9
    assert at.multiselect[0].value == ["rating", "negations"]
    assert len(at.metric) == 2
    rho = db.execute(
        "select spearman from feature_correlations where model = 'cnn' and subset = 'validation' and feature = 'rating'"
    ).fetchone()[0]
    assert at.metric[0].value == f"{rho:+.3f}"
    at.sidebar.slider[0].set_value(12).run()
    assert at.query_params["bins"] == "12" and at.query_params["feature"] == ["rating", "negations"]


def test_insights_page_lists_a_findings_texts(db):
    first = db.execute("select title, texts from insights order by insight_id limit 1").fetchone()
    at = run_app("insights")
    assert first[0] in texts(at)
    assert len(at.dataframe[1].value) == min(50, first[1])
    mislabelled = db.execute("select insight_id, title from insights where kind = 'mislabelled'").fetchone()
    at = run_app("insights", insight=str(mislabelled[0]))
    assert mislabelled[1] in texts(at)
