"""`make report`: one HTML file that opens in Chromium with nothing else, and draws every chart."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from bench.serve import chromium
from tests.conftest import ROOT, copy_build, last_error_line, make
from tests.imdb_fixture import HOSTILE_NAME
from viewer import report as report_module

SECTIONS = ["Models", "Population", "Dashboard", "Behaviour", "Insights", "Data maps", "Highest-loss reviews"]
EVERY_CHART_DRAWN = """() => {
    const charts = [...document.querySelectorAll('.chart')];
    return charts.length > 0 && charts.every(chart => chart.querySelector('svg, canvas'));
}"""
# The points a chart draws: symbol marks of its data (not of its legends), found in Vega's scenegraph.
DRAWN_POINTS = """i => {
    const count = mark => (mark.marktype === 'symbol' && mark.role === 'mark' ? mark.items.length : 0)
        + mark.items.reduce((n, item) => n + (item.items || []).reduce((m, child) => m + count(child), 0), 0);
    return count(views[i].scenegraph().root);
}"""


def specs_of(page: str) -> list[dict]:
    return json.loads(page.split("const specs = ", 1)[1].split(";\n", 1)[0])


@pytest.fixture(scope="module")
def report(build_dir, tarball, tmp_path_factory):
    build = copy_build(build_dir, tmp_path_factory.mktemp("report") / "build")
    result = make(build, "report", data=tarball)
    assert result.returncode == 0, result.stderr[-2000:]
    # The database was up to date: only the report was made.
    assert "-m pipeline" not in result.stdout
    return build / "report.html"


def test_the_report_needs_nothing_from_outside(report):
    page = report.read_text()
    assert "<script src=" not in page and "<link" not in page
    markup = re.sub(r"<script>.*?</script>", "<script></script>", page, flags=re.S)
    assert not re.search(r"<(?:script|link|img|iframe|object|embed)[^>]+(?:src|href|data)=", markup)
    assert "http://" not in markup and "https://" not in markup
    # The charts carry their data: no spec points at a URL.
    assert '"url":' not in page.split("const specs = ", 1)[1]
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in page
    for part in ("Calibration (test split)", "Slices"):
        assert f"<h3>{part}</h3>" in page


def test_the_report_opens_in_chromium_without_errors(report, db):
    errors, outside = [], []

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.route("**/*", only_files)
        page.goto(report.as_uri())
        page.wait_for_function(EVERY_CHART_DRAWN, timeout=60_000)
        charts = page.locator(".chart").count()
        drawn = page.locator(".chart svg, .chart canvas").count()
        maps = [
            page.evaluate(DRAWN_POINTS, index)
            for index in page.locator(".chart").evaluate_all(
                "charts => charts.flatMap((chart, i) => chart.querySelector('canvas') ? [i] : [])"
            )
        ]
        heat_maps = page.locator(".heat").count()
        scripts = page.locator("script").count()
        pwned = page.evaluate("window.__pwned")
        page.close()
    assert errors == [] and outside == []
    assert drawn == charts
    # Training curves (2), a confusion matrix and a reliability diagram per model, the behavioural tests' failure
    # rates, two maps, six histograms and a data map per neural model; and, as HTML, six heat maps per high-loss text
    # (two directions for each of the two neural models and the baseline).
    models = db.execute("select count(*) from models").fetchone()[0]
    texts = db.execute(
        "select count(distinct text_id) from (select text_id, row_number() over "
        "(partition by model order by loss desc, text_id) as rank from predictions join texts using (text_id) "
        "where subset = 'test' and model in ('dense', 'cnn')) where rank <= 5"
    ).fetchone()[0]
    assert charts == 2 + 2 * models + 1 + 2 + 2 * 6 + 2
    assert heat_maps == 6 * texts
    # Each map draws its sample of the texts, on a canvas.
    all_texts, training = db.execute("select count(*), count(*) filter (where split <> 'test') from texts").fetchone()
    assert maps == [min(report_module.MAP_SAMPLE, all_texts)] * 2 + [min(report_module.MAP_SAMPLE, training)] * 2
    assert scripts == 2, "only the report's own scripts: no text became one"
    assert pwned is None


def test_a_texts_markup_stays_text(report, db):
    hostile = db.execute("select text from texts where source_id = $p", {"p": HOSTILE_NAME}).fetchone()[0]
    assert "<script>" in hostile
    page = report.read_text()
    assert page.count("<script") == 2 and page.count("</script>") == 2
    # The tiny database fits in the map's sample, so the hostile text's snippet is in the page, escaped.
    assert db.execute("select count(*) from texts").fetchone()[0] <= report_module.MAP_SAMPLE
    assert "\\u003cscript\\u003ewindow.__pwned" in page
    snippets = [row.get("snippet", "") for spec in specs_of(page) for rows in spec.get("datasets", {}).values()
                for row in rows]  # fmt: skip
    assert any("<script>window.__pwned" in snippet for snippet in snippets)


def test_the_maps_are_a_fixed_sample(db, monkeypatch):
    monkeypatch.setattr(report_module, "MAP_SAMPLE", 50)
    first, second = report_module.build(db), report_module.build(db)
    assert first == second
    sizes = [len(rows) for spec in specs_of(first) if "params" in spec for rows in spec["datasets"].values()]
    assert sizes == [50, 50]


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
    assert line.startswith(f"error: {database}: ") and "`" not in line
    assert result.stderr.splitlines() == [line]
    assert not out.exists() and list(tmp_path.iterdir()) == ([database] if content else [])
