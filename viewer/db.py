"""The viewer's one way to the database: a cached read-only connection and named queries from sql/queries/.

The database path comes from `streamlit run viewer -- --db PATH`, else $REVIEWLENS_DB, else the file
`make all` writes.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from pipeline.config import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "sql" / "queries"
DEFAULT_DB = ROOT / "build" / "reviewlens.duckdb"
DB_ENV = "REVIEWLENS_DB"


def database_path() -> Path:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.db or os.environ.get(DB_ENV) or DEFAULT_DB)


def _stamp(path: Path) -> int:
    # The file's change time keys the caches: a rebuilt database is opened afresh.
    return path.stat().st_mtime_ns


_lock = threading.Lock()
_open: dict[str, tuple[int, duckdb.DuckDBPyConnection]] = {}


def _connect(path: str, stamp: int) -> duckdb.DuckDBPyConnection:
    """One read-only connection per file, replaced when the file is rebuilt.

    DuckDB hands out one database instance per path and process, so the old connection must be
    closed before the new file can be seen under the same path.
    """
    with _lock:
        current = _open.get(path)
        if current is None or current[0] != stamp:
            if current is not None:
                current[1].close()
            _open[path] = (stamp, duckdb.connect(path, read_only=True))
        return _open[path][1]


def connection() -> duckdb.DuckDBPyConnection:
    path = database_path()
    return _connect(str(path), _stamp(path))


@st.cache_data(show_spinner=False, max_entries=256)
def _run(name: str, params: tuple, path: str, stamp: int) -> pd.DataFrame:
    sql = (QUERIES / f"{name}.sql").read_text()
    # A cursor per query: the cached connection is shared by every session's thread.
    with _connect(path, stamp).cursor() as cursor:
        return cursor.execute(sql, dict(params)).df()


def run_query(name: str, **params) -> pd.DataFrame:
    """Run sql/queries/<name>.sql with named parameters ($name in the SQL)."""
    path = database_path()
    return _run(name, tuple(sorted(params.items())), str(path), _stamp(path))


def problem_with_database() -> str | None:
    """Why the database cannot be shown, in one line for the user, or None when it can."""
    path = database_path()
    if not path.is_file():
        return f"No database at `{path}`."
    try:
        version = connection().execute("select value from meta where key = 'schema_version'").fetchone()
    except duckdb.Error:
        return f"`{path}` is not a reviewlens database."
    if version is None or version[0] != str(SCHEMA_VERSION):
        found = version[0] if version else "none"
        return (
            f"`{path}` has schema version {found}; this viewer reads version {SCHEMA_VERSION}. "
            "Rebuild it with `make all`."
        )
    return None


def require_database() -> None:
    """Stop the page with what to do when there is no usable database."""
    problem = problem_with_database()
    if problem is None:
        return
    st.error(problem)
    st.markdown(
        "Build one with `make all` (add `DATA=path/to/aclImdb_v1.tar.gz` to use a local copy of the dataset), "
        "or open another file: `streamlit run viewer -- --db path/to/reviewlens.duckdb` "
        f"or set `{DB_ENV}`."
    )
    st.stop()
