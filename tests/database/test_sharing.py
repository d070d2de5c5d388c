"""The file contract: one self-contained, documented file that any DuckDB opens, and clear words for any other."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import duckdb
import pytest

from pipeline.config import ROOT, SCHEMA_VERSION
from pipeline.whole_set.compare import ACROSS_BUILDS
from pipeline.whole_set.features import MEASURES
from tests.conftest import schema_tables
from viewer.database import Refused, check_database, open_database, run_sql

README = (ROOT / "README.md").read_text()


def test_the_file_alone_holds_everything(database, tmp_path):
    # Copied away from the build, opened with every file and extension out of reach: all of it still reads.
    alone = tmp_path / "shared.duckdb"
    shutil.copy(database, alone)
    con = open_database(alone)
    # IMDB has no category column, so text_categories is empty there; a build without a base leaves the tables only a
    # comparison across builds fills empty, and one without an LLM classifier off_label_answers; every other table and
    # view has rows.
    for name in sorted(schema_tables() - {"text_categories", "off_label_answers"} - set(ACROSS_BUILDS)):
        assert con.execute(f"select count(*) from {name}").fetchone()[0] > 0, name
    assert con.execute("select count(*) from duckdb_databases() where not internal").fetchone()[0] == 1
    definitions = con.execute(
        "select sql from duckdb_views() where not internal union all "
        "select macro_definition from duckdb_functions() where not internal and macro_definition is not null"
    ).fetchall()
    con.close()
    assert definitions
    outside = re.compile(r"read_\w+\s*\(|https?://|'/|\.(?:parquet|csv|json|npz|npy)\b", re.I)
    assert [sql for (sql,) in definitions if outside.search(sql)] == []


def documented_tables() -> set[str]:
    # The first cell of each row of the table in the README's "The database" section.
    section = README.split("## The database", 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| (`[^|]+) \|", section, flags=re.M)
    return {name for cell in cells for name in re.findall(r"`(\w+)`", cell)}


def test_the_readme_documents_every_table_and_view():
    assert documented_tables() == schema_tables()


def test_the_readme_names_every_column_measured_on_the_texts():
    section = README.split("## The database", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| `texts` |"))
    assert {measure.column for measure in MEASURES} <= set(re.findall(r"`(\w+)`", row))


def test_the_readme_queries_run_on_the_file(db):
    section = README.split("## The database", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    assert blocks
    code = "\n".join(line for block in blocks for line in block.splitlines() if not line.startswith("--"))
    statements = [sql for sql in code.split(";") if sql.strip()]
    assert len(statements) >= 4
    for sql in statements:
        assert db.execute(sql).fetchall(), sql


def test_a_damaged_file(database, tmp_path):
    damaged = tmp_path / "damaged.duckdb"
    data = bytearray(database.read_bytes())
    data[12:20] = (999).to_bytes(8, "little")  # the storage version in the header, under its checksum
    damaged.write_bytes(bytes(data))
    problem = check_database(damaged)
    assert problem.startswith(f"`{damaged}` cannot be opened by DuckDB") and "checksum" in problem


def test_a_file_open_for_writing_elsewhere(database, tmp_path):
    busy = tmp_path / "busy.duckdb"
    shutil.copy(database, busy)
    writer = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; con = duckdb.connect({str(busy)!r}); print('open', flush=True); "
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert writer.stdout.readline().strip() == "open"
        assert "open for writing in another program" in check_database(busy)
    finally:
        writer.kill()
        writer.wait()
    time.sleep(0.2)
    assert check_database(busy) is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "not a DuckDB database"), (b"id,text\n1,hello\n", "not a DuckDB database")],
    ids=["empty", "csv"],
)
def test_files_that_are_not_databases(tmp_path, content, expected):
    path = tmp_path / "colleague.duckdb"
    path.write_bytes(content)
    assert expected in check_database(path)


def test_a_duckdb_file_that_is_not_from_reviewlens(tmp_path):
    path = tmp_path / "sales.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table sales as select 1 as amount")
    assert check_database(path) == f"`{path}` is not a reviewlens database (it has no `meta` table)."


def test_a_file_whose_views_read_other_files_gets_nothing_from_them(tmp_path):
    # A shared file is untrusted: a view inside it must not become a way to read the viewer's machine.
    path = tmp_path / "crafted.duckdb"
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    with duckdb.connect(str(path)) as con:
        con.execute(f"create table meta as select 'schema_version' as key, '{SCHEMA_VERSION}' as value")
        con.execute(f"create view models as select * from read_csv('{secret}')")
    assert check_database(path) is None
    with pytest.raises(Refused, match="out of reach"):
        run_sql(path, "select * from models")
