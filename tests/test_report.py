"""`make report`: one HTML file that opens in Chromium with nothing else, and draws every chart."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, last_error_line, make
from tests.imdb_fixture import HOSTILE_NAME
from viewer.serve import chromium

SECTIONS = ["Models", "Population", "Dashboard", "Insights", "Highest-loss reviews"]


@pytest.fixture(scope="module")
def report(build_dir, tarball, tmp_path_factory):
    build = tmp_path_factory.mktemp("report") / "build"
    shutil.copytree(build_dir, build)
    result = make(build, "report", data=tarball)
    assert result.returncode == 0, result.stderr[-2000:]
    # The database was up to date: only the report was made.
    assert "pipeline." not in result.stdout
    return build / "report.html"


def test_the_report_needs_nothing_from_outside(report):
    page = report.read_text()
    markup = re.sub(r"<script>.*?</script>", "<script></script>", page, flags=re.S)
    assert not re.search(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=", markup)
    # The charts carry their data: no spec points at a URL.
    assert '"url":' not in page.split("const specs = ", 1)[1]
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in page


def test_the_report_opens_in_chromium_without_errors(report, db):
    errors, requests = [], []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: request.url.startswith("file:") or requests.append(request.url))
        page.goto(report.as_uri())
        charts = page.locator(".chart").count()
        page.wait_for_function("n => document.querySelectorAll('.chart svg').length >= n", arg=charts, timeout=60_000)
        drawn_points = page.locator(".chart").nth(5).locator("path[aria-roledescription='circle']").count()
        scripts = page.locator("script").count()
        page.close()
    assert errors == [] and requests == []
    # Training curves (2), a confusion matrix per model, two maps, six histograms per neural model, and four heat
    # maps per high-loss review.
    models = db.execute("select count(*) from models").fetchone()[0]
    reviews = db.execute(
        "select count(distinct review_id) from (select review_id, row_number() over "
        "(partition by model order by loss desc, review_id) as rank from predictions join reviews using (review_id) "
        "where subset = 'test' and model in ('dense', 'cnn')) where rank <= 5"
    ).fetchone()[0]
    assert charts == 2 + models + 2 + 2 * 6 + 4 * reviews
    # The first map draws its sample of the reviews.
    test_reviews = db.execute("select count(*) from reviews").fetchone()[0]
    assert drawn_points == min(4000, test_reviews)
    assert scripts == 2, "only the report's own scripts: no review text became one"


def test_review_text_stays_text(report, db, tmp_path):
    hostile = db.execute("select text from reviews where path = $p", {"p": HOSTILE_NAME}).fetchone()[0]
    page = report.read_text()
    assert "<script>" in hostile and hostile not in page


@pytest.mark.parametrize("content", [None, b"just some notes"], ids=["missing", "not-a-database"])
def test_bad_input(tmp_path, content):
    database = tmp_path / "colleague.duckdb"
    if content is not None:
        database.write_bytes(content)
    out = tmp_path / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "viewer.report", "--db", str(database), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    line = last_error_line(result)
    assert line.startswith(f"error: {database}") and "Traceback" not in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == ([database] if content else [])
