"""The static report: one HTML file that opens in any browser, with no server and no internet.

    python -m viewer.report --db build/reviewlens.duckdb --out build/report.html    (or: make report)

It holds the viewer's own charts, drawn from the same named queries, with the Vega libraries written into
the file: the models' figures, calibration and training curves, a sample of each population map, the metadata
dashboard, the behavioural tests, the top insights and slices, and the heat maps of the highest-loss test texts.
"""

from __future__ import annotations

import argparse
import html
import json
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd
import vl_convert

from pipeline import cli
from pipeline.data import imdb
from pipeline.errors import PipelineError
from viewer import charts, markup
from viewer.database import check_database, open_database, query

MAP_SAMPLE = 4000  # texts per population map
TOP_INSIGHTS = 10
TOP_SLICES = 5
TOP_FLIPS = 10  # the worst broken texts of each compared pair
TOP_MISLABELLED = 20  # training texts, lowest label quality first
HIGHEST_LOSS = 5  # test texts per model
# The columns of the models' table, of the model_figures query.
REPORT_FIGURES = ("model", "source", "architecture", "description", "epochs", "test_accuracy", "test_macro_f1",
                  "test_loss", "seed_accuracy", "seed_loss", "validation_accuracy", "validation_loss")  # fmt: skip
# Every text's loss lies in this range: the query filters need bounds, the report wants all.
ALL_LOSSES = {"loss_min": 0.0, "loss_max": 1e9}
# Inside <script>, "<" could start "</script>" or "<!--": in JSON these characters only occur within strings,
# where a \u escape means the same.
SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .3rem; margin-top: 2.5rem; }
.note { color: #666; font-size: .9rem; }
table { border-collapse: collapse; font-size: .9rem; margin: .8rem 0; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #eee; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.row { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.chart { min-height: 40px; }
h4 { margin: .6rem 0 .3rem; font-size: .9rem; }
"""


class Report:
    """HTML parts in reading order; each chart is a placeholder filled by vegaEmbed when the page opens."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.specs: list[dict] = []
        self.renderers: list[str] = []

    def add(self, tag: str, text: str, css: str | None = None) -> None:
        attribute = f' class="{css}"' if css else ""
        self.parts.append(f"<{tag}{attribute}>{html.escape(text)}</{tag}>")

    def table(self, frame: pd.DataFrame, formats: dict[str, str] | None = None) -> None:
        formats = formats or {}
        head = "".join(f"<th>{html.escape(str(name).replace('_', ' '))}</th>" for name in frame.columns)
        rows = []
        for record in frame.itertuples(index=False):
            cells = []
            for name, value in zip(frame.columns, record, strict=True):
                if value is None or value is pd.NA or value != value:  # missing, or NaN
                    cells.append("<td></td>")
                elif isinstance(value, float | int) and not isinstance(value, bool):
                    text = format(value, formats.get(name, ",.3f" if isinstance(value, float) else ","))
                    cells.append(f'<td class="number">{text}</td>')
                else:
                    cells.append(f"<td>{html.escape(str(value))}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")

    def chart(self, chart: alt.TopLevelMixin, renderer: str) -> str:
        self.specs.append(chart.to_dict())
        self.renderers.append(renderer)
        return f'<div class="chart" id="chart-{len(self.specs) - 1}"></div>'

    def charts(self, *charts_in_a_row: alt.TopLevelMixin, renderer: str = "svg") -> None:
        """Charts side by side; SVG keeps their text searchable, a canvas draws thousands of points faster."""
        row = "".join(self.chart(chart, renderer) for chart in charts_in_a_row)
        self.parts.append(f'<div class="row">{row}</div>')

    def heat_maps(self, maps: dict[str, str]) -> None:
        """Heat maps side by side under their titles; each is escaped HTML made by markup.heat_map."""
        cells = "".join(f"<div><h4>{html.escape(title)}</h4>{heat}</div>" for title, heat in maps.items())
        self.parts.append(f'<div class="row heat-maps">{cells}</div>')

    def render(self, title: str) -> str:
        # The specs carry their data inline (Altair's `datasets`): a text must never end the script early.
        specs = json.dumps(self.specs, allow_nan=False, separators=(",", ":")).translate(SCRIPT_SAFE)
        renderers = json.dumps(self.renderers)
        bundle = vl_convert.javascript_bundle(vl_version=alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0])
        return "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                f"<title>{html.escape(title)}</title>",
                f"<style>{STYLE}{markup.HEAT_CSS}</style>",
                f"<script>{bundle}</script>",
                "</head><body>",
                *self.parts,
                f"<script>const specs = {specs};",
                f"const renderers = {renderers};",
                "const views = [];",
                "specs.forEach((spec, i) => vegaEmbed('#chart-' + i, spec, {actions: false, renderer: renderers[i]})",
                "  .then(result => { views[i] = result.view; }).catch(error => { console.error(error); }));</script>",
                "</body></html>",
            ]
        )


def read(con: duckdb.DuckDBPyConnection, name: str, **params) -> pd.DataFrame:
    """A named query's result, its numbers rounded so that the same database gives the same report.

    DuckDB's parallel sums can differ in their last digits from one run to the next.
    """
    return query(con, name, **params).round(10)


@dataclass
class Shared:
    """What every section of the report reads: the database's facts and models, and what the texts are called."""

    meta: dict
    figures: pd.DataFrame
    classes: list[str]

    def models_where(self, *columns: str) -> list[str]:
        """The models for which every one of these boolean columns of the models table is true, in order."""
        return list(self.figures.loc[self.figures[list(columns)].all(axis=1), "model"])

    @property
    def is_imdb(self) -> bool:
        return self.meta.get("dataset_kind") == "imdb"

    @property
    def noun(self) -> str:
        return imdb.noun(self.meta.get("dataset_kind"))


def build(con: duckdb.DuckDBPyConnection) -> str:
    """The whole report for the database behind `con`, section after section."""
    report = Report()
    shared = Shared(
        dict(read(con, "meta").itertuples(index=False)), read(con, "model_figures"), list(read(con, "labels")["label"])
    )
    meta, classes = shared.meta, shared.classes
    report.add("h1", "reviewlens report")
    report.add(
        "p",
        f"Built {meta['built_at']} from {meta['dataset_file']} (sha256 {meta['dataset_sha256'][:12]}), "
        f"{len(classes)} classes, schema version {meta['schema_version']}. Open the database in the viewer or "
        "DuckDB to explore further.",
        "note",
    )

    for section in SECTIONS:
        section(report, con, shared)
    return report.render("reviewlens report")


def models_section(report: Report, con: duckdb.DuckDBPyConnection, shared: Shared) -> None:
    """The models: their figures, per class, calibrated, trained, confused."""
    report.add("h2", "Models")
    # The figures, in the query's order; what a model has is said below the table.
    shown = [column for column in REPORT_FIGURES if shared.is_imdb or not column.startswith("seed_")]
    report.table(shared.figures[shown], {"epochs": "d", "seed_accuracy": ".2f", "seed_loss": ".2f"})
    report.add(
        "p",
        ("Seed: the Tensorleap IMDB study's figures. " if shared.is_imdb else "")
        + "Baseline: TF-IDF with logistic regression. "
        + "".join(
            f"{row.model} was brought in: {row.file}, SHA-256 {row.sha256[:16]}. "
            for row in shared.figures[shared.figures["given_with"].notna()].itertuples()
        )
        + "".join(
            f"{row.model} has no heat maps: {row.no_attributions}. "
            for row in shared.figures[shared.figures["no_attributions"].notna()].itertuples()
        )
        + "".join(
            f"{row.model} has no probabilities ({row.no_probabilities}): no loss and no calibration. "
            for row in shared.figures[shared.figures["no_probabilities"].notna()].itertuples()
        ),
        "note",
    )
    per_class = read(con, "class_metrics", subset="test")
    report.add("h3", "F1 of each class (test split)")
    f1 = per_class.pivot(index="label", columns="model", values="f1").loc[shared.classes, list(shared.figures["model"])]
    report.table(f1.reset_index())
    report.add("h3", "Calibration (test split)")
    report.table(
        read(con, "calibration", subset="test", label=None).drop(columns=["rank"]),
        {"texts": ",", "temperature": ".2f"},
    )
    reliability = read(con, "reliability", subset="test", label=None)
    with_probabilities = shared.models_where("has_probabilities")
    report.charts(*(charts.reliability_diagram(reliability, model) for model in with_probabilities))
    report.add(
        "p",
        "Can the confidence be trusted? ECE: the mean gap between confidence and accuracy over the confidence bins "
        "(0 is perfect), with its 95% bootstrap interval; MCE: the largest gap. Scaled: after temperature scaling, "
        "fitted on the validation hold-out, which changes no prediction. On the diagonal of each diagram, the "
        "confidence of the predicted class equals its accuracy.",
        "note",
    )
    batches = read(con, "training_batches")
    trained = [model for model in shared.models_where("compared") if model in set(batches["model"])]
    if trained:
        report.charts(
            charts.training_curve(batches, "loss", trained).properties(width=440),
            charts.training_curve(batches, "accuracy", trained).properties(width=440),
        )
    confusion = read(con, "confusion_matrix", subset="test")
    report.add("h3", "Confusion matrices (test split)")
    report.charts(*(charts.confusion_matrix(confusion, model, shared.classes) for model in shared.figures["model"]))


def population_section(report: Report, con: duckdb.DuckDBPyConnection, shared: Shared) -> None:
    """Each model's map of its latent space, for a sample of the texts."""
    report.add("h2", "Population")
    maps = []
    for model in shared.models_where("mapped"):
        points = read(
            con, "population_map", model=model, split=None, label=None, correct=None, clusters=None, **ALL_LOSSES
        )
        shown = charts.map_sample(points, MAP_SAMPLE)
        snippets = read(con, "map_snippets", text_ids=shown["text_id"].tolist())
        shown = shown.merge(snippets, on="text_id", how="left")
        codes, palette, legend = charts.map_palette(shown["correct"], "correct", shared.classes)
        title = f"{model} ({len(shown):,} of {len(points):,} {shared.noun})"
        maps.append(
            charts.population_map(shown.assign(colour=codes), palette, legend, "loss").properties(
                width=420, height=400, title=title
            )
        )
    report.charts(*maps, renderer="canvas")
    report.add(
        "p",
        f"Each model's t-SNE map of its latent space, for a random sample of the {shared.noun}: red where the model is "
        "wrong, larger where the loss is higher.",
        "note",
    )


def dashboard_section(report: Report, con: duckdb.DuckDBPyConnection, shared: Shared) -> None:
    """Each metadata feature against the loss, per model, and the seed study's findings."""
    report.add("h2", "Dashboard")
    report.add(
        "p",
        f"Test split. Bars count the {shared.noun} in each bin; the red line is the model's mean loss there, "
        "with its 95% interval.",
        "note",
    )
    features = read(con, "features")
    shown_features = features[(features["kind"] == "numeric") & (features["default"] | (features["source"] == "data"))]
    for model in shared.models_where("compared", "has_probabilities"):
        report.add("h3", model)
        report.charts(
            *(
                charts.feature_vs_loss(
                    read(con, "feature_histogram", model=model, feature=feature, subset="test", bins=20), title
                ).properties(width=330, height=200)
                for feature, title in shown_features[["feature", "title"]].itertuples(index=False)
            )
        )
        correlations = read(con, "feature_correlations", model=model, subset="test")
        report.table(correlations.drop(columns=["model", "subset"], errors="ignore"), {"texts": ","})
    findings = read(con, "seed_findings", subset="test")
    if not findings.empty:
        report.add("h3", "The seed study's findings, checked on the test split")
        report.table(findings.drop(columns=["finding", "feature", "rank"]))


def behaviour_section(report: Report, con: duckdb.DuckDBPyConnection, shared: Shared) -> None:
    """The behavioural tests' failure rates."""
    report.add("h2", "Behaviour")
    summary = read(con, "behaviour_summary")
    run = summary[summary["model"].notna()]
    if not run.empty:
        report.charts(charts.failure_rates(summary, list(shared.figures["model"])).properties(width=600))
        report.table(
            run[["test", "kind", "model", "cases", "failures", "failure_rate", "ci_low", "ci_high", "skipped"]],
            {"cases": ",", "failures": ",", "skipped": ",", "failure_rate": ".1%", "ci_low": ".1%", "ci_high": ".1%"},
        )
    tests = summary.drop_duplicates("test")
    report.add(
        "p",
        f"Behavioural tests in the manner of CheckList, on a sample of the test split: {shared.noun} changed in small "
        "ways (invariance: the predicted class should not change; direction: a class's probability should not "
        "move the wrong way) and made-up texts with a known label (template). Failure rates with 95% intervals. "
        + "".join(f"Not run: {row.test}, {row.reason} " for row in tests[~tests["applicable"]].itertuples()),
        "note",
    )


def insights_section(report: Report, con: duckdb.DuckDBPyConnection, shared: Shared) -> None:
    """The top findings, and each model's best slices."""
    report.add("h2", "Insights")
    insights = read(con, "insights").head(TOP_INSIGHTS)
    report.table(insights.drop(columns=["insight_id"]), {"texts": ","})

    report.add("h3", "Slices")
    report.add(
        "p",
        f"Per model, the {TOP_SLICES} slices of the test split with the most errors beyond the model's own rate: "
        f"{shared.noun} with up to three simple facts in common. Error rate with its 95% interval.",
        "note",
    )
    for model in shared.figures["model"]:
        found = read(con, "slices", model=model).head(TOP_SLICES)
        if not found.empty:
            report.add("p", model)
            report.table(
                found.drop(columns=["slice", "level"]),
                {"size": ",", "errors": ",", "error_rate": ".1%", "ci_low": ".1%", "ci_high": ".1%",
                 "times_model": ".1f", "score": ".1f"},
            )  # fmt: skip


def data_maps_section(report: Report, con: duckdb.DuckDBPyConnection, shared: Shared) -> None:
    """Each model's data map, for a sample of its training texts, the regions' counts and the likely mislabelled."""
    models = read(con, "data_map_models")
    recorded = models[models["epochs"].notna()]
    report.add("h2", "Data maps")
    maps, counts = [], []
    for row in recorded.itertuples():
        points = read(con, "data_map", model=row.model)
        shown = charts.map_sample(points, MAP_SAMPLE)
        codes, palette, legend = charts.data_map_palette(shown, "correctness")
        title = f"{row.model} ({len(shown):,} of {len(points):,} training {shared.noun}, {int(row.epochs)} epochs)"
        maps.append(charts.data_map(shown.assign(colour=codes), palette, legend).properties(width=420, height=360,
                                                                                            title=title))  # fmt: skip
        counts.append(read(con, "data_map_regions", model=row.model).assign(model=row.model))
    if maps:
        report.charts(*maps, renderer="canvas")
        regions = pd.concat(counts)[["model", "region", "texts", "likely_mislabelled", "confidence", "variability"]]
        report.table(regions, {"texts": ",", "likely_mislabelled": ","})
    for row in models[models["epochs"].isna()].itertuples():
        report.add("p", f"{row.model} has no training dynamics: {row.no_dynamics}.", "note")
    report.add(
        "p",
        f"What each model did with each training text while it learned: up, a high mean probability of the label "
        f"over the epochs; right, a probability that varied. {shared.noun.capitalize()} a model never learns (bottom "
        "left) are often mislabelled.",
        "note",
    )
    flagged = read(con, "mislabelled_training", limit=TOP_MISLABELLED)
    if not flagged.empty:
        report.add("h3", "Likely mislabelled training texts")
        report.table(flagged, {"label_quality": ".2f"})


def comparison_section(report: Report, con: duckdb.DuckDBPyConnection, shared: Shared) -> None:
    """What each pair of models fixed and broke: the flips, the figures with their intervals, the worst flips and
    where the change regressed."""
    report.add("h2", "Comparison")
    pairs = read(con, "comparison")
    summary = pairs.iloc[0]
    if summary.within:
        report.add("p", "No base build was given: the models of this build, each two compared, the first as before.",
                   "note")  # fmt: skip
    else:
        report.add("p", f"Compared with the base {summary.base_file}, built {summary.base_built_at}. Texts matched by "
                   f"{summary.matched_by}: {summary.matched:,} in both, {summary.added:,} added, {summary.removed:,} "
                   f"removed, {summary.relabelled:,} relabelled, {summary.changed:,} changed.", "note")  # fmt: skip
    pairs = pairs[pairs["rank"].notna()]
    if pairs.empty:
        report.add("p", "Nothing to compare: one model besides the baseline, and no base.", "note")
        return
    report.add("p", f"On the {summary.paired_texts:,} paired {shared.noun} (test split of both, same label). Broken: "
               "right before, wrong after. McNemar's exact test of broken against fixed.", "note")  # fmt: skip
    report.table(
        pairs[["base_model", "model", "texts", "broken", "negative_flip_rate", "fixed", "positive_flip_rate",
               "mcnemar_p"]],
        {"texts": ",", "broken": ",", "fixed": ",", "negative_flip_rate": ".1%", "positive_flip_rate": ".1%",
         "mcnemar_p": ".2g"},
    )  # fmt: skip
    for row in pairs.itertuples():
        pair = {"base_model": row.base_model, "model": row.model}
        report.add("h3", f"{row.base_model} → {row.model}")
        metrics = read(con, "comparison_metrics", **pair)
        report.table(metrics[metrics["class"].isna()][["metric", "before", "after", "difference", "ci_low", "ci_high"]],
                     {"difference": "+.3f", "ci_low": "+.3f", "ci_high": "+.3f"})  # fmt: skip
        broken = read(con, "flips", **pair, direction="broken", limit=TOP_FLIPS)
        if not broken.empty:
            report.add("p", f"The {len(broken)} worst broken {shared.noun}, highest loss after first", "note")
            report.table(broken.drop(columns=["matching"]), {"text_id": "d"})
        found = read(con, "comparison_slices", **pair).head(TOP_SLICES)
        if not found.empty:
            report.add("p", "Where it regressed: slices of the texts right before where the most broke", "note")
            report.table(
                found[["description", "size", "broken", "broken_rate", "ci_low", "ci_high"]],
                {"size": ",", "broken": ",", "broken_rate": ".1%", "ci_low": ".1%", "ci_high": ".1%"},
            )


def highest_loss_section(report: Report, con: duckdb.DuckDBPyConnection, shared: Shared) -> None:
    """The highest-loss test texts of each model, with their heat maps."""
    report.add("h2", f"Highest-loss {shared.noun}")
    called = shared.figures[shared.figures["calls_per_text"].notna()]
    how = "".join(
        f" {row.model}'s by {row.heat_maps}, calling it with words left out ({row.calls_per_text:.0f} calls a text)."
        for row in called.itertuples()
    )
    report.add(
        "p",
        f"The {HIGHEST_LOSS} test {shared.noun} with the highest loss under each model. Heat maps: how much each word "
        "pushed the model toward the true label (green) or away from it (red), darker is stronger; grey words were "
        f"cut off. By integrated gradients (the baseline's exact).{how}",
        "note",
    )
    with_loss = shared.models_where("compared", "has_probabilities")
    if not with_loss:
        report.add("p", "No model here gives probabilities, so none has a loss to rank its texts by.", "note")
        return
    worst = pd.concat(
        read(
            con,
            "samples",
            model=model,
            subset="test",
            label=None,
            predicted_label=None,
            correct=None,
            category=None,
            category_value=None,
            limit=HIGHEST_LOSS,
            **ALL_LOSSES,
        ).assign(model=model)
        for model in with_loss
    )
    for text_id, among in worst.groupby("text_id", sort=False)["model"]:
        shown = read(con, "text", text_id=int(text_id)).iloc[0]
        verdicts = read(con, "text_predictions", text_id=int(text_id))
        report.add("h3", f"Text {text_id} · label {shown['label']}")
        report.add("p", f"One of the {HIGHEST_LOSS} highest losses under {' and '.join(among)}.", "note")
        report.table(verdicts[verdicts["label"] == shown["label"]].drop(columns=["label", "rank", "attributed"]))
        heat = read(con, "text_heatmap", text_id=int(text_id), label=shown["label"])
        covered = set(verdicts.loc[verdicts["attributed"], "model"])  # a transformer's cover a chosen set
        report.heat_maps(
            {
                f"{model} · {direction} {shown['label']}": markup.heat_map(heat[heat["model"] == model], direction)
                for model in shared.models_where("attributed")
                if model in covered
                for direction in ("toward", "away")
            }
        )


SECTIONS = (
    models_section,
    population_section,
    dashboard_section,
    behaviour_section,
    insights_section,
    data_maps_section,
    comparison_section,
    highest_loss_section,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, type=Path, help="the reviewlens database")
    parser.add_argument("--out", required=True, type=Path, help="the HTML file to write")
    args = parser.parse_args()
    if not args.out.parent.is_dir():
        raise PipelineError(f"{args.out}: no folder {args.out.parent} to write into; create it or pass another --out")
    problem = check_database(args.db)
    if problem:
        reason = problem.replace("`", "").rstrip(".")
        if reason.startswith("No "):  # check_database's words begin a sentence; here they follow a colon
            reason = "n" + reason[1:]
        raise PipelineError(f"{args.db}: no report ({reason}); build one with make all or pass another --db")
    with open_database(args.db) as con:
        page = build(con)
    try:
        with cli.atomic_output(args.out) as partial:
            partial.write_text(page, encoding="utf-8")
    except OSError as error:
        what = error.strerror or str(error)
        raise PipelineError(f"{args.out}: not written ({what}); pass an --out in a folder you can write to") from None


if __name__ == "__main__":
    cli.run("report", main)
