"""Shared fixtures: a generated tarball, and the real pipeline run on it with tiny settings."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from pipeline.database.build_db import SCHEMA
from pipeline.whole_set.features import VIEWS
from tests.imdb_fixture import write_tarball
from tests.own_data import PARQUET_CONFIG, TICKET_CONFIG, write_reviews_parquet, write_tickets
from viewer.database import open_database

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "tests" / "tiny.toml"
APP = str(ROOT / "viewer" / "streamlit_app.py")  # the viewer, for Streamlit's AppTest
PER_FOLDER = 100
REAL_DATA = ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"


def schema_tables() -> set[str]:
    """Every table and view of the file: those of sql/schema.sql and the feature views made from the features."""
    return set(re.findall(r"^create (?:table|view) (\w+)", SCHEMA.read_text(), flags=re.M)) | set(VIEWS)


def make(
    build: Path,
    *targets: str,
    data: Path | None = None,
    config: Path = TINY_CONFIG,
    env: dict | None = None,
    models: list[Path] = (),
    predictions: list[Path] = (),
):
    """Run the project's Makefile as a user would, with the build going to `build` (models: MODEL=, predictions:
    PREDICTIONS=)."""
    args = ["make", "-C", str(ROOT), *targets, f"BUILD={build}", f"CONFIG={config}", f"PYTHON={sys.executable}"]
    if data is not None:
        args.append(f"DATA={data}")
    if models:
        args.append(f"MODEL={','.join(str(path) for path in models)}")
    if predictions:
        args.append(f"PREDICTIONS={','.join(str(path) for path in predictions)}")
    return subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


def copy_build(build: Path, to: Path) -> Path:
    """A copy of a finished build, its file times kept, so that make sees it up to date: a test changes what it is
    about, runs make on the copy, and touches no other test's build."""
    shutil.copytree(build, to, symlinks=True)
    return to


def last_error_line(result: subprocess.CompletedProcess) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    return errors[-1] if errors else ""


def run_page(monkeypatch, database: Path, page: str, **query_params):
    """One page of the viewer on `database` under Streamlit's AppTest, opened as the navigation opens it (with the
    query parameters of its address), checked to have run without an exception or an error."""
    from streamlit.testing.v1 import AppTest

    from viewer.session import DB_ENV

    monkeypatch.setenv(DB_ENV, str(database))
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception[0].message
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture(scope="session")
def tarball(tmp_path_factory) -> Path:
    return write_tarball(tmp_path_factory.mktemp("data") / "aclImdb_v1.tar.gz", per_folder=PER_FOLDER)


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory, tarball) -> Path:
    build = tmp_path_factory.mktemp("build")
    # As `make all` builds: independent steps at the same time, as many as there are cores.
    result = make(build, "all", data=tarball)
    assert result.returncode == 0, result.stderr[-3000:]
    (build / "make-all-output.txt").write_text(result.stdout + result.stderr)
    return build


@pytest.fixture(scope="session")
def database(build_dir) -> Path:
    return build_dir / "reviewlens.duckdb"


def tiny_settings_with(path: Path, settings: str) -> Path:
    """A settings file: the test suite's tiny settings with the tables and keys of `settings` laid over them."""
    merged = tomllib.loads(TINY_CONFIG.read_text())
    for key, value in tomllib.loads(settings).items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    plain = [f"{key} = {json.dumps(value)}" for key, value in merged.items() if not isinstance(value, dict)]
    tables = [
        f"[{key}]\n" + "".join(f"{name} = {json.dumps(item)}\n" for name, item in value.items())
        for key, value in merged.items()
        if isinstance(value, dict)
    ]
    path.write_text("\n".join(plain + tables) + "\n")
    return path


def build_with(tmp_path_factory, name: str, data: Path, settings: str) -> Path:
    """The real pipeline on `data`, with the test's tiny settings and `settings` laid over them."""
    folder = tmp_path_factory.mktemp(name)
    config = tiny_settings_with(folder / "settings.toml", settings)
    result = make(folder / "build", "all", data=data, config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "build"


def brought(build: Path, folder: Path, *kinds: str) -> Path:
    """Models of these kinds, trained on the texts of `build` as a user would, outside the pipeline."""
    subprocess.run(
        [sys.executable, "-m", "tests.brought_models", "--texts", str(build / "texts.parquet"), "--out-dir",
         str(folder), *kinds],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return folder


@pytest.fixture(scope="session")
def given_models(build_dir, tmp_path_factory) -> Path:
    """Keras models of six kinds, trained outside the pipeline on the tiny build's texts (tests/brought_models.py)."""
    return brought(build_dir, tmp_path_factory.mktemp("models"), *("strings", "ids", "bag", "custom", "wide", "fixed"))


@pytest.fixture(scope="session")
def given_database(build_dir, tarball, given_models, tmp_path_factory) -> Path:
    """Five brought models and no built-in training: strings in with a sigmoid unit; token ids in with the classes
    in reverse order; one with no embedding layer; one with a custom layer, registered by the module the settings
    name; and the dense model trained in build_dir, brought back in as a model of token ids by this pipeline's own
    tokenizer (a model nested in another)."""
    from tests.brought_models import LENGTH  # imports Keras: only the tests of given models need it

    folder = tmp_path_factory.mktemp("mine")
    shutil.copy(build_dir / "models" / "dense.keras", folder / "again.keras")
    tokens = np.load(build_dir / "tokens.npz")
    (folder / "again.txt").write_text("\n".join(tokens["vocabulary"]) + "\n")
    config = tiny_settings_with(
        folder / "only-mine.toml",
        f'models = []\n[ids]\nvocabulary = "{given_models / "ids.txt"}"\nlabels = ["positive", "negative"]\n'
        f"sequence_length = {LENGTH}\n"
        f'[again]\nvocabulary = "{folder / "again.txt"}"\nstandardize = "reviewlens"\n'
        '[custom]\nmodules = ["tests.brought_models"]\n',
    )
    build = copy_build(build_dir, folder / "build")
    files = [given_models / f"{kind}.keras" for kind in ("strings", "ids", "bag", "custom")] + [folder / "again.keras"]
    result = make(build, "all", data=tarball, config=config, models=files)
    assert result.returncode == 0, result.stderr[-3000:]
    return build / "reviewlens.duckdb"


@pytest.fixture(scope="session")
def one_epoch_build(build_dir, tarball, database, tmp_path_factory) -> tuple[Path, str]:
    """A copy of the tiny build whose dense model trains 1 epoch at a tenth of the rate (it stops short: the tiny
    build's dense model learns the planted words in one epoch at its usual rate), built with BASE= the tiny build's
    file: a changed setting, and a build to compare. The build folder, and what make ran."""
    folder = tmp_path_factory.mktemp("one-epoch")
    config = tiny_settings_with(folder / "one-epoch.toml", "[dense]\nepochs = 1\nlearning_rate = 0.001\n")
    build = copy_build(build_dir, folder / "build")
    result = make(build, "all", data=tarball, config=config, env={"BASE": str(database)})
    assert result.returncode == 0, result.stderr[-3000:]
    return build, result.stdout


@pytest.fixture(scope="session")
def tickets_csv(tmp_path_factory) -> Path:
    return write_tickets(tmp_path_factory.mktemp("tickets") / "tickets.csv")


@pytest.fixture(scope="session")
def tickets_database(tmp_path_factory, tickets_csv) -> Path:
    """Three classes from a CSV with other column names and extra columns, no split column, and three neural
    models: the built-in two and a third defined in the settings only."""
    return build_with(tmp_path_factory, "tickets", tickets_csv, TICKET_CONFIG) / "reviewlens.duckdb"


@pytest.fixture(scope="session")
def parquet_database(tmp_path_factory) -> Path:
    """Two classes (integer labels) from a Parquet file with a split column, and one neural model only."""
    data = write_reviews_parquet(tmp_path_factory.mktemp("parquet") / "texts.parquet")
    return build_with(tmp_path_factory, "parquet", data, PARQUET_CONFIG) / "reviewlens.duckdb"


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


@pytest.fixture(scope="module")
def browser():
    """A headless Debian Chromium, one per test module."""
    from bench.serve import chromium

    with chromium() as browser:
        yield browser
