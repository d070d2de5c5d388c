"""The SQL console: reading queries run, everything else is refused with a clear message."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP
from viewer.database import QUERIES, Refused, open_database, run_sql
from viewer.session import DB_ENV


def test_a_query_returns_its_rows_and_columns(database, db):
    frame, more = run_sql(database, "select model, count(*) as n from predictions group by model order by model")
    expected = db.execute("select model, count(*) from predictions group by model order by model").fetchall()
    assert list(frame.columns) == ["model", "n"]
    assert list(frame.itertuples(index=False, name=None)) == expected
    assert not more


def test_results_stop_at_the_row_cap(database, db):
    frame, more = run_sql(database, "from texts order by text_id", row_cap=7)
    assert len(frame) == 7 and more
    first = [row[0] for row in db.execute("select text_id from texts order by text_id limit 7").fetchall()]
    assert frame["text_id"].tolist() == first


def test_repeated_column_names_are_kept_apart(database):
    frame, _ = run_sql(database, "select 1 as id, 2 as id")
    assert list(frame.columns) == ["id", "id_2"]


REFUSED = {
    "insert": ("insert into models (model) values ('mine')", "not INSERT"),
    "update": ("update predictions set loss = 0", "not UPDATE"),
    "delete": ("delete from texts", "not DELETE"),
    "create table": ("create table mine as select 1", "not CREATE"),
    "create temp table": ("create temp table mine as select 1", "not CREATE"),
    "drop": ("drop table texts", "not DROP"),
    "alter": ("alter table texts add column x int", "not ALTER"),
    "read_csv": ("select * from read_csv('/etc/passwd')", "out of reach"),
    "read_parquet": ("select * from read_parquet('/tmp/*.parquet')", "out of reach"),
    "read_text": ("select * from read_text('/etc/hostname')", "out of reach"),
    "glob": ("select * from glob('/*')", "out of reach"),
    "copy to": ("copy texts to '{tmp}/stolen.csv'", "not COPY"),
    "copy from": ("copy texts from '/etc/passwd'", "not COPY"),
    "export": ("export database '{tmp}/stolen'", "not EXPORT"),
    "attach": ("attach '{tmp}/other.duckdb'", "not ATTACH"),
    "detach": ("detach reviewlens", "not DETACH"),
    "install": ("install httpfs", "not INSTALL or LOAD"),
    "load": ("load httpfs", "not INSTALL or LOAD"),
    "set": ("set enable_external_access = true", "not SET"),
    "pragma": ("pragma enable_profiling", "not PRAGMA"),
    "call": ("call pragma_version()", "not CALL"),
    "checkpoint": ("checkpoint", "not CALL"),
    "two statements": ("select 1; select 2", "One statement at a time"),
    "query() around a write": ("from query('attach ''{tmp}/other.duckdb''')", "single SELECT"),
    "nothing": ("  -- just a comment", "Write a query first"),
}


@pytest.mark.parametrize("sql,message", REFUSED.values(), ids=REFUSED.keys())
def test_everything_but_reading_is_refused(database, tmp_path, sql, message):
    before = database.read_bytes()
    with pytest.raises(Refused) as refusal:
        run_sql(database, sql.format(tmp=tmp_path))
    assert message in str(refusal.value)
    assert "\n" not in str(refusal.value)
    assert database.read_bytes() == before
    assert list(tmp_path.iterdir()) == []


def test_the_connection_itself_refuses_what_the_statement_check_would_miss(database, tmp_path):
    # Defence in depth: even a raw cursor on the viewer's connection cannot write, reach files or unlock settings.
    con = open_database(database)
    for sql in [
        "insert into models (model) values ('mine')",
        f"copy texts to '{tmp_path}/stolen.csv'",
        f"attach '{tmp_path}/other.duckdb'",
        "load httpfs",
        "set enable_external_access = true",
        "set lock_configuration = false",
    ]:
        with pytest.raises(Exception):  # noqa: B017 (each raises a different DuckDB error)
            con.execute(sql)
    con.close()
    assert list(tmp_path.iterdir()) == []


def test_a_runaway_query_is_stopped_at_the_time_limit(database):
    started = time.monotonic()
    with pytest.raises(Refused, match="time limit"):
        run_sql(database, "select count(*) from range(1000000000) a, range(1000000000) b where a.range * b.range = 7",
                time_limit=1.0)  # fmt: skip
    # Without the interrupt this would run for hours.
    assert time.monotonic() - started < 10


def test_a_query_that_wants_too_much_memory_is_stopped(database):
    with pytest.raises(Refused, match="memory|time limit"):
        run_sql(database, "select string_agg(repeat('x', 100000), '') from range(1000000)", time_limit=3.0)


def test_a_typo_gets_duckdbs_own_message(database):
    with pytest.raises(Refused, match="textz"):
        run_sql(database, "select * from textz")


# --- the page ---------------------------------------------------------------------------------------


@pytest.fixture()
def console(monkeypatch, database) -> AppTest:
    monkeypatch.setenv(DB_ENV, str(database))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/console.py").run()
    assert not at.exception
    return at


def run_in_console(at: AppTest, sql: str) -> AppTest:
    at.text_area(key="sql").input(sql)
    at.button[0].click().run()
    assert not at.exception, at.exception[0].message
    return at


def test_the_page_shows_a_result_as_a_table_and_a_chart(console, db):
    at = run_in_console(console, "select model, subset, accuracy, loss from model_metrics order by model, subset")
    expected = db.execute("select count(*) from model_metrics").fetchone()[0]
    assert len(at.dataframe[0].value) == expected
    assert f"{expected:,} rows." in [caption.value for caption in at.caption]
    assert at.get("vega_lite_chart"), "categories against numbers make a chart"
    assert [box.value for box in at.selectbox][-3:] == ["model", "accuracy", "subset"]


def test_the_page_shows_a_refusal_as_an_error(console):
    at = run_in_console(console, "copy texts to 'stolen.csv'")
    assert "not COPY" in at.error[0].value
    assert not at.dataframe


@pytest.mark.parametrize("name", sorted(path.stem for path in QUERIES.glob("*.sql")))
def test_every_named_query_is_a_starting_point_that_runs(console, name):
    console.selectbox(key="start").select(name).run()
    sql = console.text_area(key="sql").value
    assert "$" not in sql and sql.strip().startswith("--")
    console.button[0].click().run()
    assert not console.exception and not console.error, [e.value for e in console.error]
    assert console.dataframe


def test_a_query_link_opens_the_console_with_its_result(monkeypatch, database, db):
    monkeypatch.setenv(DB_ENV, str(database))
    sql = "select label, count(*) as texts from texts group by label order by label"
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/console.py")
    at.query_params["sql"] = sql
    at.run()
    assert not at.exception and at.text_area(key="sql").value == sql
    assert at.dataframe[0].value.values.tolist() == [list(row) for row in db.execute(sql).fetchall()]


def test_running_a_query_puts_it_in_the_link(console):
    at = run_in_console(console, "select 42 as answer")
    assert at.query_params["sql"] == "select 42 as answer"
