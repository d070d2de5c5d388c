"""Shared fixtures: a generated tarball, and the real pipeline run on it with tiny settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.imdb_fixture import write_tarball
from viewer.database import open_database

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "tests" / "tiny.toml"
PER_FOLDER = 100
REAL_DATA = ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"


def make(build: Path, *targets: str, data: Path | None = None, config: Path = TINY_CONFIG, env: dict | None = None):
    """Run the project's Makefile as a user would, with the build going to `build`."""
    args = ["make", "-C", str(ROOT), *targets, f"BUILD={build}", f"CONFIG={config}", f"PYTHON={sys.executable}"]
    if data is not None:
        args.append(f"DATA={data}")
    return subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


def last_error_line(result: subprocess.CompletedProcess) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    return errors[-1] if errors else ""


@pytest.fixture(scope="session")
def tarball(tmp_path_factory) -> Path:
    return write_tarball(tmp_path_factory.mktemp("data") / "aclImdb_v1.tar.gz", per_folder=PER_FOLDER)


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory, tarball) -> Path:
    build = tmp_path_factory.mktemp("build")
    result = make(build, "all", data=tarball)
    assert result.returncode == 0, result.stderr[-3000:]
    return build


@pytest.fixture(scope="session")
def database(build_dir) -> Path:
    return build_dir / "reviewlens.duckdb"


@pytest.fixture()
def db(database):
    # The viewer's own way in: DuckDB allows one configuration per file and process, and AppTest runs here.
    con = open_database(database)
    yield con
    con.close()


@pytest.fixture()
def build_with_database(tmp_path, database) -> Path:
    """A build folder holding a copy of a finished database, to check that failures leave it alone."""
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(database, build / "reviewlens.duckdb")
    return build
