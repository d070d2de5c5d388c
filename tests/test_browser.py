"""`streamlit run viewer` on a built database, every page opened in Chromium through Playwright."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from viewer.db import ROOT

CHROMIUM = Path("/usr/bin/chromium")
PAGES = {"overview": "Overview", "samples": "Samples"}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def viewer_url(database):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "viewer", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
         "--server.port", str(port), "--", "--db", str(database)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        server.kill()
        pytest.fail(f"the viewer did not start: {server.stdout.read()[-2000:]}")
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def open_page(page, url: str, title: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=title, level=1).wait_for(timeout=30_000)
    # The script has finished once Streamlit's "running" indicator is gone.
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_without_an_exception(page, viewer_url, path):
    open_page(page, f"{viewer_url}/{path}", PAGES[path])
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def test_overview_draws_its_charts(page, viewer_url):
    open_page(page, viewer_url, "Overview")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for()
    # Two training curves and one confusion matrix per model.
    assert charts.count() == 5
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()


def test_deep_link_opens_a_review(page, viewer_url, db):
    review_id, text = db.execute("select review_id, text from reviews where subset = 'test' limit 1").fetchone()
    open_page(page, f"{viewer_url}/samples?id={review_id}", "Samples")
    page.get_by_role("heading", name=f"Review {review_id}").wait_for()
    assert text[:40] in page.locator('[data-testid="stText"]').inner_text()


def test_selecting_a_row_opens_that_review(page, viewer_url, db):
    open_page(page, f"{viewer_url}/samples", "Samples")
    page.get_by_text("Select a row").wait_for()
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for()
    box = grid.bounding_box()
    # The first column of the data grid holds the row selectors; click the first data row's.
    page.mouse.click(box["x"] + 15, box["y"] + 55)
    page.wait_for_url("**/samples?id=*", timeout=15_000)
    review_id = int(page.url.split("id=")[1])
    page.get_by_role("heading", name=f"Review {review_id}").wait_for()
    highest = db.execute(
        "select review_id from predictions where model = 'dense' order by loss desc, review_id limit 1"
    ).fetchone()[0]
    assert review_id == highest
