"""`streamlit run viewer` on a built database, every page opened in Chromium through Playwright."""

from __future__ import annotations

import re

import pytest

from viewer.serve import chromium, viewer

PAGES = {"overview": "Overview", "samples": "Samples", "population": "Population", "clusters": "Clusters"}

@pytest.fixture(scope="module")
def viewer_url(database):
    with viewer(database) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


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
    shown = page.locator('[data-testid="stText"]').inner_text()
    assert text.split("<br />")[0] in shown and "<br />" not in shown


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


def test_clicking_a_point_on_the_map_opens_that_review(page, viewer_url):
    open_page(page, f"{viewer_url}/population", "Population")
    # Small maps are drawn as SVG, one element per review, labelled with its tooltip.
    point = page.locator('[data-testid="stVegaLiteChart"] path[aria-roledescription="circle"]').nth(25)
    point.wait_for()
    review_id = re.search(r"\bid: (\d+)", point.get_attribute("aria-label")).group(1)
    point.click(force=True)
    page.wait_for_url(f"**/samples?id={review_id}", timeout=15_000)
    page.get_by_role("heading", name=f"Review {review_id}").wait_for()
