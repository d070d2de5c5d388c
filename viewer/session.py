"""A browser session's view of the database: which file it shows, its cached named queries, and what a page
says when the file cannot be shown.

The viewer opens, in this order: a file uploaded in the sidebar (for that browser session), the file given
with `streamlit run viewer -- --db PATH`, $REVIEWLENS_DB, or the file `make all` writes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
import streamlit as st

from viewer import uploads
from viewer.database import ROOT, check_database, connect, file_version, query

DEFAULT_DB = ROOT / "build" / "reviewlens.duckdb"
DB_ENV = "REVIEWLENS_DB"


def database_path() -> Path:
    uploaded = st.session_state.get("uploaded_database")
    if uploaded:
        return Path(uploaded)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.db or os.environ.get(DB_ENV) or DEFAULT_DB)


@st.cache_data(show_spinner=False, max_entries=256)
def _run(name: str, params: tuple, path: str, stamp: tuple[int, int]) -> pd.DataFrame:
    with connect(Path(path)) as con:
        return query(con, name, **dict(params))


def run_query(name: str, **params) -> pd.DataFrame:
    """Run sql/queries/<name>.sql on the open database, cached per file version."""
    path = database_path()
    return _run(name, tuple(sorted(params.items())), str(path), file_version(path))


def build_facts() -> dict[str, str]:
    """The open file's build time and dataset, from its `meta` table."""
    return dict(run_query("meta").itertuples(index=False))


def open_upload(upload) -> str | None:
    """Check a file uploaded in the sidebar once and open it for this session; say why not if it is unusable."""
    checked = st.session_state.setdefault("checked_uploads", {})
    if upload.file_id not in checked:
        saved = uploads.keep(upload.getvalue())
        if saved is None:
            # Not remembered: once other tabs have let go of their files, the next rerun opens it.
            st.session_state["uploaded_database"] = None
            return uploads.over_cap()
        problem = check_database(saved)
        if problem:
            uploads.let_go()
        checked[upload.file_id] = (str(saved), problem and problem.replace(f"`{saved}`", f"`{upload.name}`"))
    saved, problem = checked[upload.file_id]
    st.session_state["uploaded_database"] = None if problem else saved
    return problem


def require_database() -> None:
    """Stop the page with what to do when there is no usable database."""
    problem = check_database(database_path())
    if problem is None:
        return
    st.error(problem)
    st.markdown(
        "Build one with `make all` (add `DATA=path/to/your.csv` for your own labelled texts, or a local copy of the "
        "IMDB tarball), "
        "upload one in the sidebar, or open another file: `streamlit run viewer -- --db path/to/reviewlens.duckdb` "
        f"or set `{DB_ENV}`."
    )
    st.stop()
