"""[database] per_text = "parquet": the per-text tables as Parquet parts beside the file, read by views of the same
names. The same build both ways holds the same rows, the viewer's queries give the same answers, the locked-down
connection reaches the parts folder and nothing else, and a build replaces the parts only once its file is in place."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipeline.config import ROOT, load_config
from pipeline.database.parquet_parts import PER_TEXT, parts_folder
from pipeline.errors import PipelineError
from tests.conftest import (
    TINY_CONFIG,
    copy_build,
    last_error_line,
    make,
    run_page,
    schema_tables,
    tiny_settings_with,
)
from viewer.database import OUT_OF_REACH, QUERIES, Refused, check_database, forget, open_database, run_sql

PART_ROWS = 100  # the tiny build's 400 texts: four parts a table and model
# Facts of meta that differ between two builds of the same outputs.
BUILD_FACTS = ("built_at", "config", "config_digest", "storage", "parts")
SIDES = ("one", "parts")  # the two files, attached side by side


@pytest.fixture(scope="module")
def parts_build(build_dir, tarball, tmp_path_factory) -> Path:
    """The tiny build again with per_text = "parquet": make reruns the database alone."""
    folder = tmp_path_factory.mktemp("parts")
    config = tiny_settings_with(folder / "parts.toml", f'[database]\nper_text = "parquet"\npart_rows = {PART_ROWS}\n')
    build = copy_build(build_dir, folder / "build")
    result = make(build, "all", data=tarball, config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(re.findall(r"-m pipeline (\w+)", result.stdout)) == {"build_db"}
    (build / "parts.toml").write_text(config.read_text())
    return build


@pytest.fixture()
def parts_database(parts_build) -> Path:
    return parts_build / "reviewlens.duckdb"


@pytest.fixture(scope="module", autouse=True)
def elsewhere(parts_build, tmp_path_factory):
    """Every test here runs from a folder of its own: the parts are found from the file's folder, wherever the
    viewer runs. (It allows the parts folder's name in the current directory it opens from, which stays.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("elsewhere"))
        yield Path.cwd()
    forget(parts_build / "reviewlens.duckdb")


def both(database: Path, parts_database: Path) -> duckdb.DuckDBPyConnection:
    """The two files side by side, as plain DuckDB reads them: from the parts file's folder."""
    con = duckdb.connect()
    con.execute(f"set file_search_path = '{parts_database.parent}'")
    con.execute(f"attach '{database}' as one (read_only)")
    con.execute(f"attach '{parts_database}' as parts (read_only)")
    return con


def test_the_settings_name_the_allowed_storages(tmp_path):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[database]\nper_text = "s3"\n')
    with pytest.raises(PipelineError, match=r"\[database\] per_text = 's3'; use one of 'file', 'parquet'"):
        load_config(wrong)


def test_every_table_and_view_holds_the_same_rows_both_ways(database, parts_database):
    con = both(database, parts_database)
    for name in sorted(schema_tables() - {"meta"}):
        columns = [con.execute(f"select * from (describe {side}.{name})").fetchall() for side in SIDES]
        assert [column[:2] for column in columns[0]] == [column[:2] for column in columns[1]], name
        for first, second in (SIDES, SIDES[::-1]):
            extra = con.execute(f"select count(*) from (from {first}.{name} except all from {second}.{name})")
            assert extra.fetchone()[0] == 0, (name, first)
    facts = [con.execute(f"from {side}.meta where key not in {BUILD_FACTS} order by key").fetchall() for side in SIDES]
    assert facts[0] == facts[1]
    storage = [con.execute(f"select value from {side}.meta where key = 'storage'").fetchone()[0] for side in SIDES]
    assert storage == ["file", "parquet"]
    con.close()


def test_the_per_text_tables_are_views_of_parts_by_model(database, parts_database):
    con = duckdb.connect(str(parts_database), read_only=True)
    views = {name for (name,) in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    tables = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert set(PER_TEXT) <= views and not set(PER_TEXT) & tables
    # Documented as the tables were.
    undocumented = f"select count(*) from duckdb_columns() where table_name in {PER_TEXT} and comment is null"
    assert con.execute(undocumented).fetchone()[0] == 0
    documented = f"select count(*) from duckdb_views() where view_name in {PER_TEXT} and comment is not null"
    assert con.execute(documented).fetchone()[0] == len(PER_TEXT)
    parts = con.execute("select value from meta where key = 'parts'").fetchone()[0]
    models = [model for (model,) in con.execute("select model from models order by rank").fetchall()]
    con.close()
    folder = parts_database.parent / parts
    assert [path.name for path in parts_folder(parts_database).iterdir()] == [folder.name]
    assert sorted(path.name for path in (folder / "predictions").iterdir()) == sorted(f"model={m}" for m in models)
    assert sorted(path.name for path in (folder / "texts").iterdir()) == [f"part-0000{n}.parquet" for n in range(4)]
    for model in models:
        assert len(list((folder / "predictions" / f"model={model}").glob("part-*.parquet"))) == 4
    assert parts_database.stat().st_size < database.stat().st_size


def normal(frame) -> list[str]:
    """A query's rows, in order and sorted, floats to 6 digits: sums over parts may differ in the last bits."""

    def cell(value):
        if isinstance(value, float):
            return "nan" if math.isnan(value) else f"{value:.6g}"
        if isinstance(value, list | tuple | np.ndarray):
            return [cell(item) for item in value]
        return value

    return sorted(repr([cell(value) for value in row]) for row in frame.itertuples(index=False))


def test_every_named_query_gives_the_same_answer_through_the_viewer(database, parts_database):
    assert check_database(parts_database) is None
    one, parts = open_database(database), open_database(parts_database)
    test_ids = [row[0] for row in one.execute("select text_id from texts where subset = 'test' limit 3").fetchall()]
    values = {
        "model": "cnn", "text_id": test_ids[0], "subset": "test", "label": "positive", "limit": 20,
        "base_model": "dense", "text_ids": test_ids, "first": "dense", "second": "cnn", "category": "none",
        "predicted_label": "negative", "bins": 10, "top": 5, "correct": False, "cluster": 0, "region": "ambiguous",
        "cohort": "both right", "clusters": [0, 1], "test": "negation", "split": "test", "slice": 1, "loss_min": 0.0,
        "loss_max": 10.0, "k": 5, "insight_id": 1, "feature": "length_tokens", "direction": "broken",
        "category_value": "x", "notable": 2.0,
    }  # fmt: skip
    answered = 0
    for path in sorted(QUERIES.glob("*.sql")):
        sql = path.read_text()
        params = {name: values[name] for name in set(re.findall(r"\$(\w+)", sql))}
        first, second = (normal(con.execute(sql, params).df()) for con in (one, parts))
        if path.stem != "meta":
            assert first == second, path.stem
            answered += bool(first)
    one.close()
    parts.close()
    assert answered >= 40


def test_a_text_opens_in_the_viewer_from_its_parts(parts_database, monkeypatch):
    # The Samples page with one text: its text, each model's prediction and its heat map, all read from parts.
    with open_database(parts_database) as con:
        text_id, text = con.execute("select text_id, text from texts where label = 'negative' limit 1").fetchone()
    at = run_page(monkeypatch, parts_database, "samples", id=str(text_id))
    assert at.text[0].value == text.replace("<br />", "\n")
    assert [m.label for m in at.metric][:3] == ["dense: P(negative)", "cnn: P(negative)", "baseline: P(negative)"]


def test_the_locked_down_connection_reaches_the_parts_folder_alone(parts_database, tmp_path, elsewhere):
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    parts = parts_database.parent / run_sql(parts_database, "select value from meta where key = 'parts'")[0].iat[0, 0]
    beside = parts_database.parent / "texts.parquet"  # in the file's folder, not in its parts folder
    for sql in [
        f"select * from read_csv('{secret}')",
        f"select * from read_parquet('{beside}')",
        "select * from read_parquet('texts.parquet')",
        f"select * from read_parquet('{parts}/../../texts.parquet')",
        f"select * from read_parquet('{parts_database.name}.parts/../texts.parquet')",
    ]:
        with pytest.raises(Refused, match=re.escape(OUT_OF_REACH)):
            run_sql(parts_database, sql)
    # EXPLAIN ANALYZE runs what it explains: a COPY into the parts folder is refused before it runs.
    with pytest.raises(Refused, match="not COPY"):
        run_sql(parts_database, f"explain analyze copy texts to '{parts}/texts.csv'")
    assert run_sql(parts_database, "explain analyze select count(*) from texts")[0].shape[0] == 1
    con = open_database(parts_database)
    for sql in [f"copy texts to '{tmp_path}/stolen.csv'", "set enable_external_access = true",
                f"set allowed_directories = ['{tmp_path}']", "set file_search_path = '/'"]:  # fmt: skip
        with pytest.raises(duckdb.Error):
            con.execute(sql)
    con.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["secret.csv"]
    assert list(elsewhere.iterdir()) == []
    assert not list(parts.glob("*.csv"))


def test_the_file_moves_with_its_folder_and_says_when_it_has_not(parts_database, tmp_path):
    moved = tmp_path / "elsewhere" / parts_database.name
    moved.parent.mkdir()
    shutil.copy(parts_database, moved)
    problem = check_database(moved)
    assert problem.startswith(f"`{moved}` keeps its per-text tables as Parquet parts in `reviewlens.duckdb.parts/")
    assert problem.endswith("Copy that folder with the file.")
    # The folder put beside it later: the viewer opens the file afresh.
    shutil.copytree(parts_folder(parts_database), parts_folder(moved))
    assert check_database(moved) is None
    assert run_sql(moved, "select count(*) from texts")[0].iat[0, 0] > 0
    with open_database(moved) as con:
        assert con.execute("select count(*) from predictions").fetchone()[0] > 0
    # The views name the folder after the file: a renamed file is told its name.
    assert forget(moved)
    renamed = moved.rename(moved.with_name("v1.duckdb"))
    assert check_database(renamed).endswith("name it `reviewlens.duckdb` again.")
    assert forget(renamed)


def check(build: Path, base: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "check", "--config", str(TINY_CONFIG), "--db", str(build), "--base",
         str(base)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_make_check_compares_a_parts_database_either_way(database, parts_database, tmp_path):
    for this, base in ((parts_database, database), (database, parts_database)):
        result = check(this, base)
        assert result.returncode == 0, result.stderr
        assert "no gate crossed" in result.stdout
    # A copy of the same build reads the same parts paths: DuckDB would read both copies as one.
    copy = copy_build(parts_database.parent, tmp_path / "copy") / "reviewlens.duckdb"
    result = check(copy, parts_database)
    assert result.returncode == 1 and "a copy of the other file" in last_error_line(result)


def test_a_build_replaces_the_parts_only_once_its_file_is_in_place(parts_build, tarball, tmp_path):
    build = copy_build(parts_build, tmp_path / "build")
    config = build / "parts.toml"
    database = build / "reviewlens.duckdb"
    before = database.read_bytes()
    (earlier,) = parts_folder(database).iterdir()
    earlier_files = sorted(path.relative_to(earlier) for path in earlier.rglob("*"))
    attributions = build / "attributions" / "cnn.parquet"
    kept = attributions.read_bytes()

    # A bad input: the build fails, and the file and its parts are those of before.
    attributions.write_bytes(b"not parquet")
    failed = make(build, "all", data=tarball, config=config)
    assert failed.returncode != 0
    assert "the previous file is unchanged" in last_error_line(failed)
    assert database.read_bytes() == before
    assert list(parts_folder(database).iterdir()) == [earlier]
    assert sorted(path.relative_to(earlier) for path in earlier.rglob("*")) == earlier_files

    # The file cannot be renamed into place (a folder holds its name): its new parts go, the earlier ones stay.
    attributions.write_bytes(kept)
    database.rename(build / "kept.duckdb")
    database.mkdir()
    (database / "in-the-way").touch()
    assert make(build, "all", "-W", str(attributions), data=tarball, config=config).returncode != 0
    assert list(parts_folder(database).iterdir()) == [earlier]
    shutil.rmtree(database)
    (build / "kept.duckdb").rename(database)

    # Built: the new parts, the earlier ones gone.
    built = make(build, "all", "-W", str(attributions), data=tarball, config=config)
    assert built.returncode == 0, built.stderr[-3000:]
    (now,) = parts_folder(database).iterdir()
    assert now != earlier
    assert check_database(database) is None
    with open_database(database) as con:
        assert con.execute("select value from meta where key = 'parts'").fetchone()[0].endswith(now.name)
        assert con.execute("select count(*) from texts").fetchone()[0] > 0
