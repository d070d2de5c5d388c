"""`streamlit run viewer` on a built database, every page opened in Chromium through Playwright."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from bench.serve import chromium, viewer
from pipeline.config import load_config
from tests.conftest import TINY_CONFIG
from tests.imdb_fixture import HOSTILE_NAME, LONG_NAME
from tests.viewer.test_scatter import NO_WEBGL, PAD, draw_lasso
from viewer.database import QUERIES
from viewer.pages import PAGES

SEQUENCE_LENGTH = load_config(TINY_CONFIG)["text"]["sequence_length"]

# Charts are drawn by code the page loads on first use: slow on a busy 2-core machine.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def viewer_url(database):
    with viewer(database) as url:
        yield url


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def open_page(page, url: str, title: str, navigate: bool = True) -> None:
    if navigate:
        page.goto(url)
    page.get_by_role("heading", name=title, level=1).wait_for(timeout=30_000)
    # The script has finished once Streamlit's "running" indicator is gone.
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.get_by_text("Page not found").count() == 0, url


@pytest.fixture(scope="module")
def tickets_url(tickets_database):
    """The viewer on data of another shape: three classes of tickets from a CSV, three neural models."""
    with viewer(tickets_database) as url:
        yield url


@pytest.fixture(scope="module")
def given_url(given_database):
    """The viewer on models given alone (MODEL=): Keras models of strings and of token ids, one without heat maps."""
    with viewer(given_database) as url:
        yield url


URLS = {"imdb": "viewer_url", "tickets": "tickets_url", "given models": "given_url"}


@pytest.mark.parametrize("data", URLS)
@pytest.mark.parametrize("shown", PAGES, ids=lambda shown: shown.name)
def test_every_page_opens_without_an_exception(page, request, data, shown):
    url = request.getfixturevalue(URLS[data])
    open_page(page, f"{url}/{shown.address}", shown.title)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    # Every chart on the page is drawn.
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    for i in range(charts.count()):
        charts.nth(i).locator("canvas, svg").first.wait_for()


def test_overview_draws_its_charts(page, viewer_url):
    open_page(page, viewer_url, "Overview")
    # A reliability diagram per model, two training curves and a confusion matrix per model.
    expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(8)
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()


def test_deep_link_opens_a_text(page, viewer_url, db):
    text_id, text = db.execute(
        "select text_id, text from texts where subset = 'test' order by text_id desc limit 1"
    ).fetchone()
    open_page(page, f"{viewer_url}/samples?id={text_id}", "Samples")
    page.get_by_role("heading", name=f"Text {text_id}").wait_for()
    page.get_by_text("Raw text").click()
    shown = page.locator('[data-testid="stExpander"] [data-testid="stText"]').inner_text()
    assert text.replace("<br />", "\n").strip() == shown.strip()


def test_selecting_a_row_opens_that_text(page, viewer_url, db):
    open_page(page, f"{viewer_url}/samples", "Samples")
    page.get_by_text("Select a row").wait_for()
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for()
    box = grid.bounding_box()
    # The first column of the data grid holds the row selectors; click the first data row's.
    page.mouse.click(box["x"] + 15, box["y"] + 55)
    page.wait_for_url("**/samples?id=*", timeout=15_000)
    text_id = int(page.url.split("id=")[1])
    page.get_by_role("heading", name=f"Text {text_id}").wait_for()
    highest = db.execute(
        "select text_id from predictions where model = 'dense' order by loss desc, text_id limit 1"
    ).fetchone()[0]
    assert text_id == highest


# The pages with a WebGL map of every text: the query of its points with the page's default choices, and the order
# in which a lasso lists them.
MAPS = {
    "population": ("population_map", {"model": "dense", "split": None, "label": None, "correct": None,
                                      "clusters": None, "loss_min": 0.0, "loss_max": 1e9}, "loss", False),
    "data_maps": ("data_map", {"model": "dense"}, "confidence", True),
}  # fmt: skip
PAGE_TITLES = {page.name: page.title for page in PAGES}


def map_points(db, page: str = "population") -> pd.DataFrame:
    """A map's points under the page's default choices, with their place on the canvas once drawn."""
    query, params, _, _ = MAPS[page]
    points = db.execute(f"select * from ({(QUERIES / f'{query}.sql').read_text()})", params).df()
    for axis in ("x", "y"):
        values = points[axis].to_numpy(np.float32)
        points[f"n{axis}"] = -1 + PAD + (values - values.min()) * (2 - 2 * PAD) / (values.max() - values.min())
    return points


def on_canvas(page, points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    box = page.locator(".rl-scatter-canvas").bounding_box()
    return box["x"] + box["width"] * (points["nx"] + 1) / 2, box["y"] + box["height"] * (1 - points["ny"]) / 2


@pytest.mark.parametrize("shown", list(MAPS))
def test_the_map_draws_every_text_and_a_click_opens_one(page, viewer_url, db, shown):
    points = map_points(db, shown)
    page.set_viewport_size({"width": 1400, "height": 1400})  # the whole map in view
    open_page(page, f"{viewer_url}/{shown}", PAGE_TITLES[shown])
    expect(page.locator(".rl-scatter")).to_have_attribute("data-drawn", str(len(points)))
    # The text farthest from any other: the mouse is over it and no other.
    xy = points[["nx", "ny"]].to_numpy()
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    lone = points.iloc[int(distances.min(axis=1).argmax())]
    xs, ys = on_canvas(page, points)
    position = float(xs[lone.name]), float(ys[lone.name])
    page.mouse.move(*position)
    expect(page.locator(".rl-scatter-tooltip")).to_contain_text(f"id: {lone.text_id}")
    page.mouse.click(*position)
    page.wait_for_url(f"**/samples?id={lone.text_id}", timeout=15_000)
    page.get_by_role("heading", name=f"Text {lone.text_id}").wait_for()


@pytest.mark.parametrize("shown", list(MAPS))
def test_a_lasso_on_the_map_lists_the_texts_inside(page, viewer_url, db, shown):
    points = map_points(db, shown)
    page.set_viewport_size({"width": 1400, "height": 1400})
    open_page(page, f"{viewer_url}/{shown}", PAGE_TITLES[shown])
    expect(page.locator(".rl-scatter")).to_have_attribute("data-drawn", str(len(points)))
    xs, ys = on_canvas(page, points)
    # A lasso around every dot left of the widest gap between two neighbouring columns of dots in the middle third.
    columns = np.sort(xs.to_numpy())
    third = len(columns) // 3
    gaps = np.diff(columns[third : 2 * third])
    cut = float(columns[third + gaps.argmax()] + gaps.max() / 2)
    inside = points[xs < cut]
    # The lasso starts on the canvas: the outermost dots lie 2.5% of its size inside its edges.
    draw_lasso(page, float(xs.min()) - 8, float(ys.min()) - 8, cut, float(ys.max()) + 8)
    heading = page.get_by_role("heading", name=f"{len(inside):,} reviews selected")
    heading.wait_for()
    listed = heading.locator("xpath=following::*[@data-testid='stDataFrame'][1]")
    listed.wait_for()
    _, _, first, ascending = MAPS[shown]
    highest = inside.sort_values([first, "text_id"], ascending=[ascending, True]).iloc[0]
    start = db.execute("select snippet(text, 20) from texts where text_id = ?", [int(highest.text_id)]).fetchone()
    expect(listed).to_contain_text(start[0])


def test_without_webgl_the_map_page_says_so_and_draws_a_sample(browser, viewer_url, db):
    # A second browser of the same Playwright, with WebGL switched off.
    with chromium(NO_WEBGL) as without:
        page = without.new_page(viewport={"width": 1400, "height": 1000})
        open_page(page, f"{viewer_url}/population", "Population")
        page.get_by_text("This browser cannot draw WebGL").first.wait_for()
        open_page(page, f"{viewer_url}/population", "Population", navigate=False)
        sampled = page.locator('[data-testid="stVegaLiteChart"]')
        expect(sampled).to_have_count(1)
        # The tiny data set is smaller than the sample: every text is a mark.
        expect(sampled.locator('path[aria-roledescription="circle"]')).to_have_count(len(map_points(db)))


def test_heat_maps_show_every_word_of_a_text(page, viewer_url, db):
    text_id, n_tokens = db.execute(
        "select text_id, n_tokens from texts where source_id = $p", {"p": LONG_NAME}
    ).fetchone()
    open_page(page, f"{viewer_url}/samples?id={text_id}", "Samples")
    page.get_by_text("dense · toward positive").wait_for()
    # Six heat maps (two neural models and the baseline, two directions), each showing every token as text.
    heat_maps = page.locator(".heat")
    expect(heat_maps).to_have_count(6)
    page.get_by_text("baseline · toward positive").wait_for()
    for i in range(6):
        expect(heat_maps.nth(i).locator("span")).to_have_count(n_tokens)
    # A token is shaded in one direction only: toward positive and toward negative split the tokens it saw.
    seen = db.execute(
        "select count(*) from token_attributions where text_id = $r and model = 'dense' and label = 'positive'"
        " and score != 0",
        {"r": text_id},
    ).fetchone()[0]
    shaded = [heat_maps.nth(i).locator("span[style]").count() for i in range(2)]
    assert min(shaded) > 0 and sum(shaded) == seen
    # The words the models never saw are grey.
    unseen = heat_maps.nth(0).locator("span.unseen")
    expect(unseen).to_have_count(n_tokens - SEQUENCE_LENGTH)
    assert unseen.first.evaluate("span => getComputedStyle(span).color") == "rgb(170, 170, 170)"


def test_a_texts_markup_is_shown_as_text_and_runs_nothing(page, viewer_url, db):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    text_id = db.execute("select text_id from texts where source_id = $p", {"p": HOSTILE_NAME}).fetchone()[0]
    for path in (f"samples?id={text_id}", "failures", "population"):
        open_page(page, f"{viewer_url}/{path}", path.split("?")[0].capitalize())
        page.wait_for_timeout(500)
        assert page.evaluate("window.__pwned") is None, path
    open_page(page, f"{viewer_url}/samples?id={text_id}", "Samples")
    page.get_by_text("Raw text").click()
    shown = page.locator('[data-testid="stExpander"] [data-testid="stText"]').inner_text()
    assert "<script>" in shown and "onerror" in shown
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []


def test_dashboard_draws_every_chosen_feature(page, viewer_url):
    open_page(page, f"{viewer_url}/dashboard?feature=length_tokens&feature=subjectivity&bins=8", "Dashboard")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    expect(charts).to_have_count(2)
    # Each chart draws its bars: one per non-empty bin.
    for i in range(2):
        expect(charts.nth(i).locator("g.mark-rect.role-mark path").first).to_be_attached()


def test_uploading_a_database_in_the_sidebar(page, viewer_url, database, tmp_path):
    colleague = tmp_path / "colleague.duckdb"
    colleague.write_bytes(database.read_bytes())
    notes = tmp_path / "notes.duckdb"
    notes.write_text("not a database")
    open_page(page, viewer_url, "Overview")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Database", exact=True).click()
    upload = sidebar.locator('[data-testid="stFileUploaderDropzoneInput"]')

    upload.set_input_files(str(notes))
    expect(sidebar.locator('[data-testid="stAlertContentError"]')).to_contain_text(
        "notes.duckdb is not a DuckDB database."
    )
    # The viewer stays on the file it had.
    expect(sidebar.get_by_text(f"{database.name} · built")).to_be_visible()

    upload.set_input_files(str(colleague))
    expect(sidebar.get_by_text("colleague.duckdb · built")).to_be_visible()
    expect(sidebar.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    page.get_by_role("link", name="Failures").click()
    page.get_by_role("heading", name="Failures", level=1).wait_for()
    expect(sidebar.get_by_text("colleague.duckdb · built")).to_be_visible()
