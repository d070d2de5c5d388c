"""The per-text tables as Parquet parts beside the database ([database] per_text = "parquet"): each written out of the
built file a model and a block of rows at a time, then replaced in the file by a view of the same name, columns, types
and comments that reads the parts. The views name the parts by paths relative to the database's folder, so the file
and its folder move together; DuckDB resolves such paths against the current directory or file_search_path.

    build/reviewlens.duckdb
    build/reviewlens.duckdb.parts/<build>/predictions/model=cnn/part-00000.parquet
"""

from __future__ import annotations

import secrets
import shutil
import urllib.parse
from pathlib import Path

import duckdb

from pipeline.config import sql_literal

# The largest tables, those that grow with the texts: most of the file (at 50,000 texts, 80 of its 120 MiB).
PER_TEXT = ("texts", "predictions", "latent_space", "attributions")
# Rows per Parquet row group: a query for one text (the Text page) reads one group, not a part of 100,000 texts.
ROW_GROUP = 8192
# A model's name is its partition's value, always text (DuckDB would read a model named 2024 as a number).
BY_MODEL = "hive_partitioning = true, hive_types = {'model': varchar}"


def parts_folder(database: Path) -> Path:
    """Where a database's parts go: the folder beside it named after it, one subfolder per build."""
    return database.with_name(database.name + ".parts")


def new_build_folder(database: Path) -> Path:
    """A subfolder no earlier build used: the previous database reads its own until the new one replaces it."""
    return parts_folder(database) / secrets.token_hex(4)


def storage(config: dict) -> tuple[str, int]:
    """The [database] settings: where the per-text tables go, and the rows of a part (a resolved config written
    before the setting existed has none: the one file)."""
    settings = config.get("database", {})
    return settings.get("per_text", "file"), settings.get("part_rows", 100_000)


def search_beside(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Let views with paths relative to `folder` find their files: add it to the connection's file_search_path."""
    current = con.execute("select current_setting('file_search_path')").fetchone()[0]
    folders = [f for f in current.split(",") if f]
    if str(folder) not in folders:
        con.execute(f"set file_search_path = {sql_literal(','.join([*folders, str(folder)]))}")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, str | None]]:
    return con.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main' and table_name = ? order by column_index",
        [table],
    ).fetchall()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_parts(con: duckdb.DuckDBPyConnection, table: str, folder: Path, part_rows: int) -> list[Path]:
    """Write `table` as Parquet files of `part_rows` rows at most, under model=<name>/ where it has a model column; in
    the table's order, so that the view reads its rows as the table held them. The files, in that order."""
    names = [name for name, _, _ in _columns(con, table)]
    by_model = "model" in names
    kept = ", ".join(_quoted(name) for name in names if not (by_model and name == "model"))
    models = con.execute(f"select model from {table} group by model order by min(rowid)").fetchall() if by_model else []
    files = []
    for model in [m for (m,) in models] if by_model else [None]:
        where = f"model = {sql_literal(model)}" if by_model else "true"
        # The first row of each part, by the table's own row numbers.
        starts = [
            start
            for (start,) in con.execute(
                f"select rowid from (select rowid, row_number() over (order by rowid) - 1 as n from {table} "
                f"where {where}) where n % {int(part_rows)} = 0 order by rowid"
            ).fetchall()
        ]
        # The folder of a partition is named as DuckDB reads it back: model=<name>, the name percent-encoded.
        place = folder / table / (f"model={urllib.parse.quote(model, safe='')}" if by_model else "")
        place.mkdir(parents=True, exist_ok=True)
        for number, start in enumerate(starts):
            end = f" and rowid < {starts[number + 1]}" if number + 1 < len(starts) else ""
            path = place / f"part-{number:05d}.parquet"
            con.execute(
                f"copy (select {kept} from {table} where {where} and rowid >= {start}{end} order by rowid) "
                f"to {sql_literal(path)} (format parquet, compression zstd, row_group_size {ROW_GROUP})"
            )
            files.append(path)
    return files


def view_sql(con: duckdb.DuckDBPyConnection, table: str, files: list[str]) -> str:
    """A view over the parts with the table's columns in its order, each cast to its type, and its comments."""
    columns = _columns(con, table)
    by_model = any(name == "model" for name, _, _ in columns)
    select = ",\n    ".join(f"{_quoted(name)}::{kind} as {_quoted(name)}" for name, kind, _ in columns)
    listed = ",\n    ".join(sql_literal(file) for file in files)
    options = BY_MODEL if by_model else "hive_partitioning = false"
    sql = f"create view {table} as\nselect\n    {select}\nfrom read_parquet([\n    {listed}\n], {options});\n"
    comment = con.execute(
        "select comment from duckdb_tables() where database_name = current_database() and table_name = ?", [table]
    ).fetchone()[0]
    if comment:
        sql += f"comment on view {table} is {sql_literal(comment)};\n"
    for name, _, about in columns:
        if about:
            sql += f"comment on column {table}.{_quoted(name)} is {sql_literal(about)};\n"
    return sql


def to_parts(con: duckdb.DuckDBPyConnection, database: Path, build: Path, part_rows: int) -> None:
    """Move the per-text tables of the file being built for `database` into Parquet parts under `build`, each table
    replaced by a view of the same name. A table with no rows stays a table: there is nothing to read."""
    home = database.parent.resolve()
    search_beside(con, home)
    for table in PER_TEXT:
        files = write_parts(con, table, build, part_rows)
        if not files:
            continue
        sql = view_sql(con, table, [file.resolve().relative_to(home).as_posix() for file in files])
        # The views that read the table (text_list, token_attributions...) name it, and read the view alike.
        con.execute(f"drop table {table}")
        con.execute(sql)


def copy_into(con: duckdb.DuckDBPyConnection, path: Path, storage_version: str) -> None:
    """Copy everything in con's file into a new file: one whose tables were dropped keeps their space, empty."""
    source = con.execute("select current_database()").fetchone()[0]
    con.execute(f"attach {sql_literal(path)} as copied (storage_version {sql_literal(storage_version)})")
    con.execute(f"copy from database {_quoted(source)} to copied")
    con.execute("checkpoint copied")
    con.execute("detach copied")


def remove_earlier(database: Path, keep: Path | None) -> None:
    """Once the new database is in place: the parts folders of earlier builds (all of them for a file that has none)."""
    folder = parts_folder(database)
    if keep is None:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for earlier in folder.iterdir():
        if earlier != keep:
            shutil.rmtree(earlier, ignore_errors=True)
