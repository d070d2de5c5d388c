"""Another build's reviewlens file, to compare this build with (make all BASE=..., make check BASE=...): checked and
attached read-only beside this build's. Light on imports: the settings step checks BASE= before anything runs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.config import SCHEMA_VERSION, file_sha256, sql_literal
from pipeline.database.parquet_parts import search_beside
from pipeline.errors import PipelineError, first_line

BASE = "base"  # the base file's catalog, beside this build's


def given_base(settings: dict, base: str, database: Path) -> dict:
    """The compare settings with the file given by BASE= (checked: a reviewlens file of this schema version, not the
    build's own) and its checksum, so that a new base is compared anew; unchanged without BASE."""
    if not base:
        return settings
    path = Path(base).expanduser()
    if not path.is_file():
        raise PipelineError(f"BASE={base}: no such file; give the reviewlens.duckdb of the build to compare with")
    if Path(database).exists() and path.resolve() == Path(database).resolve():
        raise PipelineError(
            f"BASE={base} is this build's own file; build elsewhere (BUILD=build/v2) or give another build's file"
        )
    with duckdb.connect() as con:
        attach(con, path)
    return {**settings, "base": str(path.resolve()), "sha256": file_sha256(path)}


def attach(con: duckdb.DuckDBPyConnection, path: Path | str, alias: str = BASE, what: str = "BASE=") -> None:
    """Attach a reviewlens file read-only as the catalog `alias`, after checking its schema version."""
    try:
        con.execute(f"attach {sql_literal(path)} as {alias} (read_only)")
        found = next(iter(con.execute(f"select value from {alias}.meta where key = 'schema_version'").fetchall()), None)
    except duckdb.Error as e:
        raise PipelineError(
            f"{what}{path}: not a reviewlens database ({first_line(e)}); give a reviewlens.duckdb file"
        ) from None
    if found is None or found[0] != str(SCHEMA_VERSION):
        version = found[0] if found else "none"
        raise PipelineError(
            f"{what}{path}: schema version {version}, this version reads {SCHEMA_VERSION}; rebuild it with this "
            "version (make all BUILD=its-folder) and compare again"
        )
    parts = con.execute(f"select value from {alias}.meta where key = 'parts'").fetchone()
    if parts:  # its per-text tables are views of Parquet parts, named relative to its folder
        folder = Path(path).resolve().parent
        if not (folder / parts[0]).is_dir():
            raise PipelineError(
                f"{what}{path}: its per-text tables are in {parts[0]} beside it, which is missing; copy that folder "
                "with the file"
            )
        # DuckDB reads a relative path in every folder of file_search_path that has it: a copy would count twice.
        searched = con.execute("select current_setting('file_search_path')").fetchone()[0].split(",")
        if any(other and Path(other) != folder and (Path(other) / parts[0]).exists() for other in searched):
            raise PipelineError(
                f"{what}{path}: a copy of the other file (both read {parts[0]}); compare builds made apart"
            )
        search_beside(con, folder)
