"""The one way to the database, for the viewer, the static report and the benchmark: a locked-down read-only
connection per file (reopened when the file is rebuilt), named queries from sql/queries/, and the SQL console's
guarded runner. Nothing here needs Streamlit.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.config import ROOT, SCHEMA_VERSION, sql_file, sql_literal
from pipeline.database.parquet_parts import parts_folder
from pipeline.errors import first_line

QUERIES = ROOT / "sql" / "queries"

# Every connection, the viewer's pages and the SQL console alike: nothing outside the file can be read or
# written, no extension can be installed or loaded, and no setting can be changed afterwards.
LOCKED_DOWN = {
    "access_mode": "read_only",
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "memory_limit": "4GB",
    "temp_directory": "",
    "lock_configuration": True,
}
# A file whose per-text tables are Parquet parts ([database] per_text = "parquet") is opened with files within reach,
# then given its parts folder alone and locked: DuckDB sets allowed_directories only while files are within reach.
UNLOCKED = {**LOCKED_DOWN, "enable_external_access": True, "lock_configuration": False}
_opening = threading.Lock()

ROW_CAP = 10_000
TIME_LIMIT = 5.0  # seconds
OUT_OF_REACH = "Files, extensions and settings are out of reach here; query the tables in the database."
TOO_BIG = "The query needs more memory than the console allows. Narrow it with a where clause."
READING_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
# What comes before the statement that EXPLAIN [ANALYZE] explains (and runs, with ANALYZE); comments within it are not
# followed, and such a statement is refused.
EXPLAIN = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*explain\s+(?:analy[sz]e\s+|\([^()]*\)\s*)?", re.I | re.S)


def open_database(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a reviewlens file that can reach nothing beyond it and its parts folder, if it has
    one (where it can read, not write: the console runs reading statements only)."""
    parts = parts_folder(Path(path).absolute())
    if not parts.is_dir():
        return duckdb.connect(str(path), config=LOCKED_DOWN)
    with _opening:
        con = duckdb.connect(str(path), config=UNLOCKED)
        # DuckDB keeps one instance per file and process: a second connection shares the first one's settings.
        if con.execute("select current_setting('lock_configuration')").fetchone()[0]:
            return con
        # The views name their parts relative to the file's folder. DuckDB checks such a path as it stands, against
        # the current directory (as it is now: the viewer never changes it), before it finds it in file_search_path:
        # the folder's name is allowed in both.
        allowed = [f"{parts.resolve()}/", f"{Path.cwd() / parts.name}/"]
        con.execute(f"set allowed_directories = [{', '.join(sql_literal(folder) for folder in allowed)}]")
        con.execute(f"set global file_search_path = {sql_literal(parts.resolve().parent)}")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    return con


def query(con: duckdb.DuckDBPyConnection, name: str, **params) -> pd.DataFrame:
    """Run sql/queries/<name>.sql with named parameters ($name in the SQL)."""
    return con.execute(sql_file(f"queries/{name}.sql").read_text(), params).df()


def file_version(path: Path) -> tuple[int, int, bool]:
    # A rebuilt database is a new file renamed into place: a new inode and change time. A parts folder put beside it
    # later is read by a connection opened afresh.
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, parts_folder(path.absolute()).is_dir()


# --- one shared connection per file ---------------------------------------------------------------


@dataclass
class _Handle:
    connection: duckdb.DuckDBPyConnection
    stamp: tuple[int, int]
    users: int = 0


_changed = threading.Condition()
_open: dict[str, _Handle] = {}


@contextlib.contextmanager
def connect(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the file's shared connection; a rebuilt file is opened afresh.

    DuckDB keeps one instance per path and process, so the old file's connection must be closed
    before the new one can be opened; that waits for the queries still running on it.
    """
    stamp = file_version(path)
    key = str(path)
    with _changed:
        handle = _open.get(key)
        stale = handle is not None and handle.stamp != stamp
        # If queries on the old file outlast the wait, they share it a little longer; the next query tries again.
        if stale and _changed.wait_for(lambda: handle.users == 0, timeout=2 * TIME_LIMIT):
            handle.connection.close()
            del _open[key]
            handle = None
        if handle is None:
            handle = _open[key] = _Handle(open_database(path), stamp)
        handle.users += 1
        shared = handle.connection.cursor()
    try:
        yield shared
    finally:
        shared.close()
        with _changed:
            handle.users -= 1
            _changed.notify_all()


def forget(path: Path) -> bool:
    """Close the file's shared connection once the queries running on it are done; False if they outlast the wait.

    For a file about to be deleted (an upload whose browser session has ended); the caller tries again later.
    """
    key = str(path)
    with _changed:
        handle = _open.get(key)
        if handle is None:
            return True
        if not _changed.wait_for(lambda: handle.users == 0, timeout=2 * TIME_LIMIT):
            return False
        handle.connection.close()
        if _open.get(key) is handle:
            del _open[key]
        return True


# --- is it a reviewlens database ------------------------------------------------------------------


def check_database(path: Path) -> str | None:
    """Why `path` cannot be shown, in one line for the user, or None when it can."""
    if not path.is_file():
        return f"No database at `{path}`."
    try:
        with connect(path) as con:
            try:
                version = con.execute("select value from meta where key = 'schema_version'").fetchone()
            except duckdb.Error:
                return f"`{path}` is not a reviewlens database (it has no `meta` table)."
            parts = con.execute("select value from meta where key = 'parts'").fetchone()
    except duckdb.Error as error:
        reason = first_line(error)
        if "could not set lock" in reason.lower():
            return f"`{path}` is open for writing in another program; close it there and reload."
        if "not a valid DuckDB database" in reason:
            return f"`{path}` is not a DuckDB database."
        # A damaged file, or one written by a newer DuckDB: DuckDB's own words say which.
        return f"`{path}` cannot be opened by DuckDB {duckdb.__version__}: {reason}"
    if version is None or version[0] != str(SCHEMA_VERSION):
        found = version[0] if version else "none"
        # Version 7 named the texts texts: an older file's tables have the names of IMDB's reviews.
        renamed = " (its reviews table and review_id are texts and text_id now)" if found in {"5", "6"} else ""
        return (
            f"`{path}` has schema version {found}; this viewer reads version {SCHEMA_VERSION}{renamed}. "
            "Rebuild it with `make all`."
        )
    return missing_parts(path, parts[0]) if parts else None


def missing_parts(path: Path, parts: str) -> str | None:
    """Why a file whose per-text tables are Parquet parts cannot read them, or None when it can."""
    folder = parts.split("/")[0]
    if folder != parts_folder(path).name:
        return (
            f"`{path}` reads its per-text tables from `{parts}` beside it, named after the file it was built as: "
            f"name it `{folder.removesuffix('.parts')}` again."
        )
    if not (path.parent / parts).is_dir():
        return (
            f"`{path}` keeps its per-text tables as Parquet parts in `{parts}` beside it, which is not there. "
            "Copy that folder with the file."
        )
    return None


# --- the SQL console -------------------------------------------------------------------------------


class Refused(Exception):
    """A console query that was not run, or was stopped; the message is for the user."""


def run_sql(
    path: Path | str, sql: str, row_cap: int = ROW_CAP, time_limit: float = TIME_LIMIT
) -> tuple[pd.DataFrame, bool]:
    """Run one reading statement from the console; return at most `row_cap` rows and whether there were more.

    The statement type is checked first; the locked-down connection refuses anything that slips past,
    and a timer interrupts the query, fetching included, after `time_limit` seconds.
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise Refused(first_line(error)) from None
    if not statements:
        raise Refused("Write a query first.")
    if len(statements) > 1:
        raise Refused("One statement at a time.")
    kind = statements[0].type
    if kind == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs what it explains: a COPY would write into the parts folder, which is within reach.
        kind = _explained(statements[0].query)
    if kind not in READING_STATEMENTS:
        # DuckDB parses INSTALL and LOAD alike.
        names = {duckdb.StatementType.LOAD: "INSTALL or LOAD", duckdb.StatementType.INVALID: "EXPLAIN of that"}
        name = names.get(kind, kind.name.replace("_", " "))
        raise Refused(
            "Only queries that read run here (select, with, from, describe, summarize, explain), "
            f"not {name}. The database cannot be changed, and files, extensions and settings "
            "are out of reach."
        )
    with connect(Path(path)) as con:
        timer = threading.Timer(time_limit, con.interrupt)
        timer.start()
        try:
            result = con.execute(sql)
            rows = result.fetchmany(row_cap + 1)
            columns = _unique([column[0] for column in result.description])
        except duckdb.InterruptException:
            raise Refused(
                f"Stopped after {time_limit:g} s, the time limit. Narrow it with a where clause or a limit."
            ) from None
        except duckdb.PermissionException:
            raise Refused(OUT_OF_REACH) from None
        except duckdb.OutOfMemoryException:
            raise Refused(TOO_BIG) from None
        except duckdb.Error as error:
            raise Refused(first_line(error)) from None
        finally:
            timer.cancel()
    frame = pd.DataFrame.from_records(rows[:row_cap], columns=columns)
    return frame, len(rows) > row_cap


def _explained(sql: str) -> duckdb.StatementType:
    """The type of the statement an EXPLAIN explains; INVALID where it cannot be told."""
    found = EXPLAIN.match(sql)
    try:
        inner = duckdb.extract_statements(sql[found.end() :]) if found else []
    except duckdb.Error:
        inner = []
    if len(inner) != 1 or inner[0].type == duckdb.StatementType.EXPLAIN:
        return duckdb.StatementType.INVALID
    return inner[0].type


def _unique(names: list[str]) -> list[str]:
    """Column names made unique, as a table needs them: a second `id` becomes `id_2`."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique
