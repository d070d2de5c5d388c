"""The WebGL scatter map (viewer/scatter) in tests/scatter_app.py, driven in Chromium through Playwright."""

from __future__ import annotations

import io

import numpy as np
import pytest
from playwright.sync_api import expect

from bench.serve import chromium
from tests.scatter_app import LONE_ID, LONE_LABEL, PALETTE, make_points, serve

expect.set_options(timeout=30_000)
POINTS = make_points()
PAD = 0.05  # scatter.js: the data's box fills [-1 + PAD, 1 - PAD] of the canvas both ways
NO_WEBGL = ["--disable-webgl", "--disable-3d-apis"]


@pytest.fixture(scope="module")
def app_url():
    with serve(len(POINTS)) as url:
        yield url


@pytest.fixture()
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    expect(page.locator(".rl-scatter")).to_have_attribute("data-drawn", str(len(POINTS)))
    yield page
    context.close()


def to_pixels(page, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Page coordinates of data coordinates, as scatter.js maps them onto its canvas."""
    box = page.locator(".rl-scatter-canvas").bounding_box()
    xs, ys = POINTS["x"].to_numpy(np.float32), POINTS["y"].to_numpy(np.float32)
    nx = -1 + PAD + (np.asarray(x, np.float32) - xs.min()) * (2 - 2 * PAD) / (xs.max() - xs.min())
    ny = -1 + PAD + (np.asarray(y, np.float32) - ys.min()) * (2 - 2 * PAD) / (ys.max() - ys.min())
    return box["x"] + box["width"] * (nx + 1) / 2, box["y"] + box["height"] * (1 - ny) / 2


def lone_point(page) -> tuple[float, float]:
    lone = POINTS[POINTS["text_id"] == LONE_ID].iloc[0]
    x, y = to_pixels(page, lone["x"], lone["y"])
    return float(x), float(y)


def test_every_point_is_drawn(page):
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(page.locator(".rl-scatter-canvas").screenshot())).convert("RGB"), int)
    for colour in PALETTE:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        near = (np.abs(pixels - rgb).sum(axis=2) < 60).sum()
        assert near > 200, f"only {near} pixels of {colour}"
    white = (pixels.min(axis=2) > 250).mean()
    assert 0.5 < white < 0.99, white


def test_hover_shows_the_points_values_as_text(page):
    page.mouse.move(*lone_point(page))
    tooltip = page.locator(".rl-scatter-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(f"text_id: {LONE_ID}")
    expect(tooltip).to_contain_text(f"label: {LONE_LABEL}")
    # Only the three titles are bold: the label's <b> is text, not markup.
    expect(tooltip.locator("b")).to_have_count(3)
    page.mouse.move(5, 5)
    expect(tooltip).to_be_hidden()


def settle(page) -> None:
    """Two animation frames: the library's camera only learns where the mouse is on a frame, and takes a button
    pressed before it as a drag from where it last saw the mouse."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def test_click_opens_the_point(page):
    expect(page.get_by_text("opened: None", exact=True)).to_be_visible()
    page.mouse.move(*lone_point(page))
    settle(page)
    page.mouse.click(*lone_point(page))
    expect(page.get_by_text(f"opened: {LONE_ID}", exact=True)).to_be_visible()


def draw_lasso(page, left, top, right, bottom) -> None:
    left, top, right, bottom = map(float, (left, top, right, bottom))
    page.keyboard.down("Shift")
    page.mouse.move(left, top)
    settle(page)
    page.mouse.down()
    for x, y in [(right, top), (right, bottom), (left, bottom), (left, top)]:
        page.mouse.move(x, y, steps=8)
        page.wait_for_timeout(30)
    page.mouse.up()
    page.keyboard.up("Shift")


def test_lasso_selects_one_blob_and_escape_or_double_click_clears_it(page):
    blob = POINTS[(POINTS["category"] == 0) & (POINTS["text_id"] != LONE_ID)]
    xs, ys = to_pixels(page, blob["x"], blob["y"])
    margin = 20
    draw_lasso(page, xs.min() - margin, ys.min() - margin, xs.max() + margin, ys.max() + margin)
    expect(page.get_by_text(f"selected: {len(blob)}", exact=True)).to_be_visible()
    ids = ",".join(map(str, sorted(blob["text_id"])))
    expect(page.get_by_text("selected ids: ")).to_have_text(f"selected ids: {ids}")
    page.keyboard.press("Escape")
    expect(page.get_by_text("selected: 0", exact=True)).to_be_visible()
    draw_lasso(page, xs.min() - margin, ys.min() - margin, xs.max() + margin, ys.max() + margin)
    expect(page.get_by_text(f"selected: {len(blob)}", exact=True)).to_be_visible()
    box = page.locator(".rl-scatter-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 5)
    settle(page)
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] - 5)  # empty: between the blobs
    expect(page.get_by_text("selected: 0", exact=True)).to_be_visible()


def test_without_webgl_the_app_is_told(app_url):
    with chromium(NO_WEBGL) as browser:
        page = browser.new_page()
        assert page.evaluate("() => document.createElement('canvas').getContext('webgl')") is None
        page.goto(app_url)
        expect(page.get_by_text("webgl: False", exact=True)).to_be_visible()
        expect(page.locator(".rl-scatter")).to_have_attribute("data-webgl", "false")
        expect(page.locator(".rl-scatter-canvas")).to_have_count(0)
