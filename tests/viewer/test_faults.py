"""The viewer under load and through rebuilds: several sessions at once, a build killed mid-write, a rebuild."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from bench.serve import viewer
from tests.conftest import ROOT, TINY_CONFIG, copy_build, make
from tests.viewer.test_browser import open_page
from viewer.database import Refused, run_sql
from viewer.pages import PAGES

SESSIONS = 5


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_no_error(page) -> None:
    errors = page.locator('[data-testid="stAlertContentError"], [data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()
    assert "lock" not in page.locator('[data-testid="stMain"]').inner_text().lower()


@pytest.fixture()
def build(tmp_path, build_dir) -> Path:
    """A private copy of the session's build, so rebuilding it touches no other test."""
    return copy_build(build_dir, tmp_path / "build")


def test_five_sessions_at_once(browser, database):
    with viewer(database) as url:
        contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(SESSIONS)]
        pages = [context.new_page() for context in contexts]
        # Three rounds, five pages loading at once, each session on a different page; every page is visited.
        for step in range(0, len(PAGES), 3):
            # Every session asks for its page before any is waited on, each a different page.
            visits = [(page, PAGES[(step + i) % len(PAGES)]) for i, page in enumerate(pages)]
            for page, shown in visits:
                page.goto(f"{url}/{shown.address}", wait_until="commit")
            for page, shown in visits:
                open_page(page, f"{url}/{shown.address}", shown.title, navigate=False)
                assert_no_error(page)
        for context in contexts:
            context.close()


def start_build(build: Path, data: Path) -> subprocess.Popen:
    # Newer findings: only the database step is stale.
    os.utime(build / "insights.parquet")
    return subprocess.Popen(
        ["make", "-C", str(ROOT), "all", f"BUILD={build}", f"CONFIG={TINY_CONFIG}", f"DATA={data}",
         f"PYTHON={sys.executable}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def test_a_build_killed_while_writing_leaves_the_database_and_the_viewer_alone(browser, build, tarball):
    database = build / "reviewlens.duckdb"
    before = digest(database)
    with viewer(database) as url:
        page = browser.new_page()
        open_page(page, url, "Overview")
        building = start_build(build, tarball)
        deadline = time.monotonic() + 120
        while not list(build.glob(".reviewlens.duckdb.tmp-*")):
            assert building.poll() is None, building.stdout.read()[-2000:]
            assert time.monotonic() < deadline, "the database write never started"
            time.sleep(0.005)
        # Mid-write: the new file is being filled beside the old one. Kill make and the step outright.
        os.killpg(building.pid, signal.SIGKILL)
        building.wait()
        assert digest(database) == before
        for shown in PAGES:
            open_page(page, f"{url}/{shown.address}", shown.title)
            assert_no_error(page)
        page.close()
    # The next build removes what the killed one left and completes.
    result = make(build, "all", data=tarball)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not list(build.glob(".reviewlens.duckdb.tmp-*"))


def test_a_build_stopped_with_kill_cleans_up_after_itself(build, tarball):
    database = build / "reviewlens.duckdb"
    before = digest(database)
    building = start_build(build, tarball)
    while not list(build.glob(".reviewlens.duckdb.tmp-*")):
        assert building.poll() is None, building.stdout.read()[-2000:]
        time.sleep(0.005)
    os.killpg(building.pid, signal.SIGTERM)
    output = building.communicate(timeout=60)[0]
    assert building.returncode != 0
    assert "interrupted" in output and "Traceback" not in output
    assert digest(database) == before
    assert not list(build.glob(".reviewlens.duckdb.tmp-*"))


def test_a_rebuild_while_the_viewer_runs_is_picked_up_without_a_lock_error(browser, build, tarball):
    database = build / "reviewlens.duckdb"
    before = digest(database)
    with viewer(database) as url:
        page = browser.new_page()
        open_page(page, f"{url}/population", "Population")
        built = page.locator('[data-testid="stSidebar"]').get_by_text(" · built ").inner_text()
        time.sleep(1.1)  # the build time is kept to the second
        building = start_build(build, tarball)
        # Keep using the viewer while the new file is written and renamed into place.
        while building.poll() is None:
            open_page(page, url, "Overview")
            assert_no_error(page)
        assert building.returncode == 0, building.stdout.read()[-2000:]
        assert digest(database) != before
        # The next page the session opens reads the new file.
        page.get_by_role("link", name="Population").click()
        page.get_by_role("heading", name="Population", level=1).wait_for()
        page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')")
        assert_no_error(page)
        assert page.locator('[data-testid="stSidebar"]').get_by_text(" · built ").inner_text() != built
        page.close()


def test_a_query_running_while_the_file_is_replaced_finishes_and_the_next_one_reads_the_new_file(database, tmp_path):
    served = tmp_path / "reviewlens.duckdb"
    shutil.copy(database, served)
    rebuilt = tmp_path / ".rebuilt.duckdb"
    shutil.copy(database, rebuilt)
    with duckdb.connect(str(rebuilt)) as con:
        con.execute("update meta set value = 'rebuilt' where key = 'built_at'")
    outcome = {}

    def long_query():
        try:
            # A cross product filtered row by row: long, and light on memory (a hash join would hit the memory cap).
            run_sql(served, "select count(*) from range(1000000000) a, range(1000000000) b where a.range * b.range = 7",
                    time_limit=2.0)  # fmt: skip
        except Refused as refusal:
            outcome["refused"] = str(refusal)

    running = threading.Thread(target=long_query)
    running.start()
    time.sleep(0.5)
    os.replace(rebuilt, served)  # what a build does
    frame, _ = run_sql(served, "select value from meta where key = 'built_at'")
    running.join()
    assert "time limit" in outcome["refused"]
    assert frame["value"].tolist() == ["rebuilt"]
