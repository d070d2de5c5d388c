"""Run the whole pipeline from scratch on a data set and write what it cost and what it reached.

    python -m bench measure --data aclImdb_v1.tar.gz --out build/bench.json

Builds into build/bench/ (deleted first), then times a second `make all` that should do nothing. The figures
go under the data file's name in the output, beside those of other data sets benched before.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bench import doors, faithfulness, label_noise, transformers
from pipeline import artifacts, cli
from pipeline.config import ROOT, load_config
from pipeline.errors import PipelineError
from pipeline.sampling import seeded_sample
from viewer.database import TIME_LIMIT, Refused, open_database, query, run_sql


def make(
    target: str,
    build: Path,
    data: Path,
    config: str | None,
    timings: Path | None = None,
    model: Path | None = None,
    predictions: Path | None = None,
    base: Path | None = None,
    env: dict | None = None,
) -> float:
    """Run a make target on the real data as a user would (`env`: variables beside this process's); return its wall
    time."""
    args = ["make", "-C", str(ROOT), target, f"BUILD={build}", f"DATA={data.resolve()}"]
    if base:
        args.append(f"BASE={base.resolve()}")
    if config:
        args.append(f"CONFIG={Path(config).resolve()}")
    if model:
        args.append(f"MODEL={model.resolve()}")
    if predictions:
        args.append(f"PREDICTIONS={predictions.resolve()}")
    env = {**os.environ, **(env or {}), **({cli.TIMINGS_ENV: str(timings)} if timings else {})}
    start = time.perf_counter()
    if subprocess.run(args, env=env).returncode != 0:
        raise PipelineError(f"make {target} on {data} failed; see the lines above")
    return round(time.perf_counter() - start, 2)


def model_figures(database: Path) -> dict:
    """Each model's accuracy, macro-F1 and loss on the test split and the validation hold-out, as the viewer
    shows them."""
    with open_database(database) as con:
        metrics = con.execute("select * from model_metrics where subset in ('test', 'validation')").df()
    return {
        model: {
            row.subset: {
                "accuracy": round(row.accuracy, 4),
                "macro_f1": round(row.macro_f1, 4),
                "loss": round(row.loss, 4),
            }
            for row in rows.itertuples()
        }
        for model, rows in metrics.groupby("model")
    }


def trustworthiness(build: Path, sample: int = 5000, seed: int = 0) -> dict:
    """sklearn's trustworthiness of each t-SNE map against its latent space, on a random sample of texts. Where
    t-SNE was fitted on a sample and the other texts placed on its map (pipeline/whole_set/maps.py), the fitted and
    the placed texts are scored apart, each on a sample of its own."""
    from sklearn.manifold import trustworthiness as score

    config = load_config(build / "settings" / "config.json")
    result = {}
    for latent in sorted((build / "latent").glob("*.npy")):
        vectors = artifacts.read_array(latent, mapped=True)
        points = artifacts.read_array(build / "maps" / latent.name, mapped=True)
        rng = np.random.default_rng(seed)
        fitted = seeded_sample(len(vectors), config["maps"]["fit_sample"], config["seed"])
        groups = {"all": np.arange(len(vectors))}
        if len(fitted) < len(vectors):
            groups = {"fitted": fitted, "placed": np.setdiff1d(np.arange(len(vectors)), fitted)}
        found = {}
        for name, rows in groups.items():
            picked = np.sort(rng.choice(rows, size=min(sample, len(rows)), replace=False))
            found[name] = round(float(score(vectors[picked], points[picked], n_neighbors=5)), 4)
        result[latent.stem] = found["all"] if "all" in found else found
    return result


def heat_map_text(database: Path) -> int:
    """The longest test text the last neural model gets wrong: a heavy heat map to draw."""
    with open_database(database) as con:
        return con.execute(
            "select text_id from text_list where model = (select model from models where compared"
            " order by rank desc limit 1) and not correct and subset = 'test' order by n_tokens desc, text_id limit 1"
        ).fetchone()[0]


VEGA_DRAWN = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
WARM_VISITS = 3  # a page's warm time is the median of this many visits


def seconds_to_draw(browser, url: str, selector: str, count: int = 1) -> float:
    """Seconds from opening `url` in a fresh tab until `count` elements match `selector`."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s).length >= n", arg=[selector, count], timeout=300_000
    )
    seconds = time.perf_counter() - start
    page.close()
    return round(seconds, 2)


def page_timings(database: Path) -> dict:
    """Seconds from opening each page in Chromium until its main content is drawn: the first visit after the
    viewer starts (cold: queries run) and later visits (warm: the viewer's query cache answers); the same for a
    bare Streamlit page of one line in the same browser, and each page's warm time over the bare page's."""
    from bench.serve import BARE_PAGE, chromium, streamlit_app, viewer

    # name -> (page, what must be on screen, how many of it)
    checks = {
        "population_map": ("population", ".rl-scatter[data-drawn]", 1),
        # A text's first heat map, for the longest text a model gets wrong.
        "sample_heat_maps": (f"samples?id={heat_map_text(database)}", ".heat", 1),
        # The dashboard's five default charts.
        "dashboard_charts": ("dashboard", VEGA_DRAWN, 5),
        # The behavioural tests' failure rates, and the failing cases of the test with most failures.
        "behaviour_failing_cases": ("behaviour", '[data-testid="stHtml"]', 1),
        # The first pair's changes with their intervals (the build's own models, without a base).
        "compare_changes": ("compare", VEGA_DRAWN, 1),
    }
    timings = {}
    with viewer(database) as url, streamlit_app(BARE_PAGE) as bare, chromium() as browser:
        pages = {name: (f"{url}/{path}", selector, count) for name, (path, selector, count) in checks.items()}
        pages["bare_page"] = (bare, '[data-testid="stMarkdown"]', 1)
        for name, (address, selector, count) in pages.items():
            timings[f"{name}_cold"] = seconds_to_draw(browser, address, selector, count)
            warm = [seconds_to_draw(browser, address, selector, count) for _ in range(WARM_VISITS)]
            timings[f"{name}_warm"] = float(np.median(warm))
        for name in checks:
            timings[f"{name}_over_bare_page"] = round(timings[f"{name}_warm"] - timings["bare_page_warm"], 2)
    return timings


def renderer_timings(database: Path, sizes: tuple[int, ...] = (1_000_000,)) -> dict:
    """Seconds the map's renderer takes to draw on a bare HTML page of its own (no Streamlit): the population
    map's own points, as the page colours and sizes them, and the same points repeated with a little jitter
    to each of `sizes`. The floor under the Population page's time."""
    from bench.serve import chromium
    from viewer import charts
    from viewer.scatter import standalone_page

    with open_database(database) as con:
        model = con.execute("select model from models where compared order by rank limit 1").fetchone()[0]
        points = query(
            con,
            "population_map",
            model=model,
            split=None,
            label=None,
            correct=None,
            clusters=None,
            loss_min=0.0,
            loss_max=1e9,
        )
        labels = [row[0] for row in con.execute("select label from labels order by label_index").fetchall()]
    codes, palette, legend = charts.map_palette(points["label"], "label", labels)
    points = points.assign(colour=codes)
    rng = np.random.default_rng(0)
    sets = {len(points): points}
    for n in sizes:
        repeated = points.iloc[np.arange(n) % len(points)].reset_index(drop=True)
        spread = float(points["x"].std()) * 0.01
        sets[n] = repeated.assign(
            x=repeated["x"] + rng.normal(0, spread, n), y=repeated["y"] + rng.normal(0, spread, n)
        )
    timings = {}
    with tempfile.TemporaryDirectory() as folder, chromium() as browser:
        for n, shown in sets.items():
            page = Path(folder) / f"map_{n}.html"
            page.write_text(
                standalone_page(
                    shown,
                    color="colour",
                    palette=palette,
                    legend=legend,
                    size="loss",
                    tooltip=[("text_id", "id"), "label", "loss"],
                )
            )
            draws = [seconds_to_draw(browser, page.as_uri(), ".rl-scatter[data-drawn]") for _ in range(WARM_VISITS)]
            timings[f"{n}_points"] = float(np.median(draws))
    return timings


def report_figures(build: Path, data: Path, config: str | None) -> dict:
    """`make report` on the full database: how long it takes, how big the file is, how long Chromium takes
    to draw every chart in it (median of three openings)."""
    from bench.serve import chromium

    written = make("report", build, data, config)
    report = build / "report.html"
    openings = []
    with chromium() as browser:
        for _ in range(3):
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            start = time.perf_counter()
            page.goto(report.resolve().as_uri())
            page.wait_for_function(
                "() => [...document.querySelectorAll('.chart')].every(chart => chart.querySelector('svg, canvas'))",
                timeout=120_000,
            )
            charts = page.locator(".chart").count()
            openings.append(time.perf_counter() - start)
            page.close()
    return {
        "make_report_seconds": written,
        "mib": round(report.stat().st_size / 2**20, 2),
        "charts": charts,
        "open_seconds": round(sorted(openings)[1], 2),
    }


def step_seconds(timings: Path) -> dict[str, float]:
    return {row["step"]: row["seconds"] for row in map(json.loads, timings.read_text().splitlines())}


def beyond_errors(database: Path, steps: dict[str, float]) -> dict:
    """Calibration, behavioural tests and slices, as the database holds them, and what they cost."""
    with open_database(database) as con:
        calibration = query(con, "calibration", subset="test", label=None)
        behaviour = query(con, "behaviour_summary")
        models = list(calibration["model"])
        slices = {model: query(con, "slices", model=model) for model in models}
    suite = sum(steps.get(step, 0.0) for step in SUITE)
    run = behaviour[behaviour["model"].notna()]
    return {
        "calibration_test": {
            row.model: {
                "temperature": round(row.temperature, 4),
                "ece": [round(row.ece, 4), round(row.ece_low, 4), round(row.ece_high, 4)],
                "ece_scaled": [round(row.scaled_ece, 4), round(row.scaled_ece_low, 4), round(row.scaled_ece_high, 4)],
                "mce": [round(row.mce, 4), round(row.scaled_mce, 4)],
                "brier": [round(row.brier, 4), round(row.scaled_brier, 4)],
                "log_loss": [round(row.log_loss, 4), round(row.scaled_log_loss, 4)],
            }
            for row in calibration.itertuples()
        },
        "behaviour_failure_rates": {
            test: {
                row.model: [int(row.cases), round(row.failure_rate, 4), round(row.ci_low, 4), round(row.ci_high, 4)]
                for row in rows.itertuples()
            }
            for test, rows in run.groupby("test", sort=False)
        },
        "behaviour_not_run": {
            row.test: row.reason or "no cases" for row in behaviour[behaviour["model"].isna()].itertuples()
        },
        "behaviour_suite_seconds": round(suite, 2),
        "slice_search_seconds": steps.get("slices"),
        "slices_kept_at_least_1_5x_and_100_texts": {
            model: int(((found["times_model"] >= 1.5) & (found["size"] >= 100)).sum())
            for model, found in slices.items()
        },
        "top_slices": {
            model: [
                f"{row.description}: {row.size} texts, {row.error_rate:.1%} wrong ({row.times_model:.1f}x)"
                for row in found.head(3).itertuples()
            ]
            for model, found in slices.items()
        },
    }


BROUGHT = "brought_cnn"
ANALYSIS = ("predict", "maps", "clusters")  # what a model costs beyond its training (predict makes its heat maps too)
COPY, SUITE, IMPORT = "copy_model", ("cases", "verdicts"), "import_predictions"  # the pipeline's steps read here


def brought_model_figures(build: Path, data: Path, config: str | None) -> dict:
    """The trained CNN brought back in as a user's model (MODEL=, token ids in, with its vocabulary): what its
    analysis costs against the built-in CNN's steps minus training, and whether it predicts the same."""
    folder = build / "brought"
    folder.mkdir(exist_ok=True)
    shutil.copy(build / "models" / "cnn.keras", folder / f"{BROUGHT}.keras")
    tokens = artifacts.read_tokens(build / "tokens.npz")
    (folder / "vocabulary.txt").write_text("\n".join(tokens.vocabulary) + "\n", encoding="utf-8")
    settings = Path(config).read_text() if config else ""
    settings += (
        f'\n[{BROUGHT}]\nvocabulary = "{(folder / "vocabulary.txt").resolve()}"\nstandardize = "reviewlens"\n'
        f"sequence_length = {tokens.sequence_length}\n"
    )
    (folder / "settings.toml").write_text(settings)
    timings = folder / "timings.jsonl"
    make("all", build, data, str(folder / "settings.toml"), timings, folder / f"{BROUGHT}.keras")
    steps, built_in = step_seconds(timings), step_seconds(build / "timings.jsonl")
    brought_seconds = sum(steps.get(f"{step}_{BROUGHT}", 0.0) for step in (*ANALYSIS, COPY))
    cnn_seconds = sum(built_in.get(f"{step}_cnn", 0.0) for step in ANALYSIS)
    ours, theirs = (artifacts.read_predictions(build / "predictions" / f"{m}.parquet") for m in ("cnn", BROUGHT))
    difference = np.abs(ours["loss"].to_numpy() - theirs["loss"].to_numpy()).max()
    return {
        "steps": {step: steps.get(f"{step}_{BROUGHT}") for step in (*ANALYSIS, COPY)},
        "built_in_cnn_steps": {step: built_in.get(f"{step}_cnn") for step in ANALYSIS},
        "seconds": round(brought_seconds, 2),
        "built_in_cnn_seconds": round(cnn_seconds, 2),
        "ratio": round(brought_seconds / cnn_seconds, 3),
        "max_loss_difference_from_cnn": round(float(difference), 7),
    }


def toml_text(settings: dict) -> str:
    """Settings as TOML: plain values first, then one table each (values written as JSON, which TOML reads)."""
    plain = [f"{key} = {json.dumps(value)}" for key, value in settings.items() if not isinstance(value, dict)]
    tables = [
        f"[{key}]\n" + "".join(f"{name} = {json.dumps(item)}\n" for name, item in value.items())
        for key, value in settings.items()
        if isinstance(value, dict)
    ]
    return "\n".join(plain + tables) + "\n"


def comparison_figures(build: Path, data: Path, config: str | None) -> dict:
    """The same build with the dense model trained one epoch, built with BASE= the bench build's file: what the
    comparison costs, its flips against a direct count from the two files' predictions, and make check both ways."""
    other = build.parent / "bench-one-epoch"
    shutil.rmtree(other, ignore_errors=True)
    shutil.copytree(build, other, symlinks=True, ignore=shutil.ignore_patterns("reviewlens.duckdb", "timings.jsonl"))
    settings = tomllib.loads(Path(config).read_text()) if config else {}
    settings["dense"] = {**settings.get("dense", {}), "epochs": 1, "min_examples": 0}
    (other / "one-epoch.toml").write_text(toml_text(settings))
    timings = other / "timings.jsonl"
    database, compared = build / "reviewlens.duckdb", other / "reviewlens.duckdb"
    make("all", other, data, str(other / "one-epoch.toml"), timings, base=database)
    with duckdb.connect() as con:  # both files at once: the viewer's locked-down connection reaches one
        con.execute(f"attach '{compared}' as this (read_only)")
        con.execute(f"attach '{database}' as base (read_only)")
        pairs = con.execute(
            "select model, broken, fixed, negative_flip_rate, mcnemar_p from this.comparison_pairs"
        ).df()
        metrics = con.execute(
            "select model, metric, before, after, difference, ci_low, ci_high from this.comparison_metrics "
            "where class is null"
        ).df()
        direct = con.execute(
            "select a.model, count(*) filter (where b.correct and not a.correct) as broken, "
            "count(*) filter (where not b.correct and a.correct) as fixed from this.predictions a "
            "join base.predictions b using (text_id, model) join this.texts using (text_id) where subset = 'test' "
            "group by a.model"
        ).df()
    checks = {}
    for name, (folder, base) in {
        "one_epoch_against_default": (other, database),
        "default_against_one_epoch": (build, compared),
    }.items():
        start = time.perf_counter()
        result = subprocess.run(
            ["make", "-s", "-C", str(ROOT), "check", f"BUILD={folder}", f"BASE={base}"], capture_output=True, text=True
        )
        checks[name] = {
            "exit": result.returncode,
            "lines": result.stdout.strip().splitlines(),
            "seconds": round(time.perf_counter() - start, 2),
        }
    return {
        "compare_seconds": step_seconds(timings).get("compare"),
        "build_db_seconds": step_seconds(timings).get("build_db"),
        "pairs": {
            row.model: {
                "broken": int(row.broken),
                "fixed": int(row.fixed),
                "negative_flip_rate": round(row.negative_flip_rate, 4),
                "mcnemar_p": float(f"{row.mcnemar_p:.3g}"),
            }
            for row in pairs.itertuples()
        },
        "flips_equal_direct_count": {row.model: [int(row.broken), int(row.fixed)] for row in direct.itertuples()}
        == {row.model: [int(row.broken), int(row.fixed)] for row in pairs.itertuples()},
        "metrics": {
            f"{row.model} {row.metric}": [
                round(v, 4) for v in (row.before, row.after, row.difference, row.ci_low, row.ci_high)
            ]
            for row in metrics.itertuples()
        },
        "check": checks,
    }


def label_noise_figures(build: Path, config: str | None) -> dict:
    """The bench build's data with a seeded 10% of its training labels flipped, built again: how well label_quality,
    each signal alone, the in-sample method and cleanlab's confident learning (the anchor) find the flipped texts
    (bench/label_noise.py)."""
    other = build.parent / "bench-noisy"
    shutil.rmtree(other, ignore_errors=True)
    other.mkdir(parents=True)
    noisy = other / "noisy.parquet"
    flipped = label_noise.noisy_copy(build / "texts.parquet", noisy)
    settings = tomllib.loads(Path(config).read_text()) if config else {}
    columns = {"text_column": "text", "label_column": "label", "split_column": "split", "id_column": "id"}
    settings["data"] = {**settings.get("data", {}), **columns}
    (other / "noisy.toml").write_text(toml_text(settings))
    seconds = make("all", other, noisy, str(other / "noisy.toml"), other / "timings.jsonl")
    return {"build_seconds": seconds, **label_noise.measure(other / "reviewlens.duckdb", flipped)}


def dynamics_cost(build: Path, config: str | None) -> dict:
    """What recording the training dynamics costs: each trained model's training step with recording and without
    (record = false), on the bench build's tokens, alternately, twice each; the medians; and the file's share."""
    settings = tomllib.loads(Path(config).read_text()) if config else {}
    off = build.parent / "bench-no-dynamics"
    off.mkdir(parents=True, exist_ok=True)
    settings["dynamics"] = {**settings.get("dynamics", {}), "record": False}
    (off / "off.toml").write_text(toml_text(settings))
    figures = {}
    for model in artifacts.read_json(build / "settings" / "models.json"):
        if not (build / "dynamics" / f"{model}.npz").exists():
            continue
        seconds: dict[str, list[float]] = {"recording": [], "not_recording": []}
        for _ in range(2):
            for name, toml in (("recording", config), ("not_recording", str(off / "off.toml"))):
                args = [sys.executable, "-m", "pipeline", "train", "--model", model,
                        "--tokens", str(build / "tokens.npz"), "--out", str(off / f"{model}.keras"),
                        "--history", str(off / f"{model}.json"), "--dynamics", str(off / f"{model}.npz")]  # fmt: skip
                if toml:
                    args += ["--config", str(Path(toml).resolve())]
                start = time.perf_counter()
                subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
                seconds[name].append(time.perf_counter() - start)
        on, plain = (float(np.median(values)) for values in seconds.values())
        figures[model] = {"seconds_recording": round(on, 2), "seconds_not_recording": round(plain, 2),
                          "extra_share": round(on / plain - 1, 3)}  # fmt: skip
    database = build / "reviewlens.duckdb"
    tables = ("training_dynamics", "data_maps", "label_quality")
    alone = build.parent / "bench-no-dynamics" / "tables.duckdb"
    alone.unlink(missing_ok=True)
    with duckdb.connect(str(alone)) as con:  # the three tables alone, stored as the file stores them
        con.execute(f"attach '{database}' as built (read_only)")
        for table in tables:
            con.execute(f"create table {table} as select * from built.{table}")
        rows = {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in tables}
        regions = con.execute("select model, region, count(*) from data_maps group by all order by all").fetchall()
    figures["rows"] = rows
    figures["regions"] = {f"{model} {region}": count for model, region, count in regions}
    figures["tables_mib"] = round(alone.stat().st_size / 2**20, 1)
    figures["database_mib"] = round(database.stat().st_size / 2**20, 1)
    return figures


def sentiment_figures(build: Path, texts: int = 1000, seed: int = 0) -> dict:
    """TextBlob's `.sentiment` against pipeline/per_text/sentiment.py on the same real texts, one process each:
    milliseconds per text and whether the numbers are the same."""
    from textblob import TextBlob

    from pipeline.per_text.sentiment import sentiment

    every = artifacts.read_texts(build / "texts.parquet", columns=["text"])["text"]
    sample = every.sample(n=min(texts, len(every)), random_state=seed).str.replace("<br />", "\n").tolist()
    start = time.perf_counter()
    theirs = np.array([tuple(TextBlob(text).sentiment) for text in sample])
    textblob_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ours = sentiment(sample)  # it replaces <br /> itself: none are left
    ours_seconds = time.perf_counter() - start
    return {
        "texts": len(sample),
        "textblob_ms_per_text": round(1000 * textblob_seconds / len(sample), 3),
        "reviewlens_ms_per_text": round(1000 * ours_seconds / len(sample), 3),
        "speedup": round(textblob_seconds / ours_seconds, 1),
        "identical": bool(np.array_equal(theirs, ours)),
    }


ELSEWHERE = "baseline_again"


def elsewhere_figures(build: Path, data: Path, config: str | None) -> dict:
    """The baseline's probabilities written to a Parquet file and brought back as predictions made elsewhere
    (PREDICTIONS=): whether its accuracy and calibration in the database equal the baseline's own, and what the
    step and the rebuild cost."""
    folder = build / "elsewhere"
    folder.mkdir(exist_ok=True)
    with open_database(build / "reviewlens.duckdb") as con:
        found = con.execute(
            "select source_id as id, probabilities from predictions join texts using (text_id) "
            "where model = 'baseline' order by text_id"
        ).df()
        labels = [row[0] for row in con.execute("select label from labels order by label_index").fetchall()]
    probabilities = np.stack(found["probabilities"].to_numpy())
    file = folder / f"{ELSEWHERE}.parquet"
    columns = {f"prob_{label}": probabilities[:, i] for i, label in enumerate(labels)}
    pd.DataFrame({"id": found["id"], **columns}).to_parquet(file, index=False)
    timings = folder / "timings.jsonl"
    wall = make("all", build, data, config, timings, predictions=file)
    # From the steps' files: a connection to the database opened earlier in this process would still see the old one.
    subset = artifacts.read_texts(build / "texts.parquet", columns=["subset"])["subset"].to_numpy()
    by_model = {}
    for model in (ELSEWHERE, "baseline"):
        found = artifacts.read_predictions(build / "predictions" / f"{model}.parquet")[subset == "test"]
        by_model[model] = {
            "accuracy": round(float(found["correct"].mean()), 5),
            "loss": round(float(found["loss"].mean()), 5),
        }
    metrics = artifacts.read_table(build / "calibration" / "metrics.parquet")
    test = metrics[
        (metrics["subset"] == "test") & metrics["class"].isna() & metrics["model"].isin([ELSEWHERE, "baseline"])
    ]
    calibration = {
        f"{row.model}{'_scaled' if row.scaled else ''}": round(float(row.ece), 5) for row in test.itertuples()
    }
    return {
        "test": by_model,
        "ece": calibration,
        "equal": by_model[ELSEWHERE] == by_model["baseline"]
        and all(calibration[k] == calibration[k.replace(ELSEWHERE, "baseline")] for k in calibration if ELSEWHERE in k),
        "step_seconds": step_seconds(timings).get(f"{IMPORT}_{ELSEWHERE}"),
        "rebuild_seconds": wall,
    }


# Console queries a user might type: a small view, an aggregate over every prediction, a join with the texts.
CONSOLE_QUERIES = {
    "model_metrics": "select * from model_metrics order by model, subset",
    "loss_by_label": "select label, model, avg(loss) as loss, count(*) as texts from predictions "
    "join texts using (text_id) group by all order by all",
    "worst_texts": "select text_id, model, loss, left(text, 200) as start from predictions "
    "join texts using (text_id) where not correct order by loss desc limit 500",
    "one_heat_map": "select * from token_attributions where text_id = 42 order by model, position, label",
}
RUNAWAY = "select count(*) from range(1000000000) a, range(1000000000) b where a.range * b.range = 7"


def console_timings(database: Path) -> dict:
    """Seconds each console query takes on the full database, and how long past the limit a runaway one stops."""
    timings = {}
    for name, sql in CONSOLE_QUERIES.items():
        start = time.perf_counter()
        run_sql(database, sql)
        timings[name] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    try:
        run_sql(database, RUNAWAY)
    except Refused:
        timings["runaway_stopped_past_limit"] = round(time.perf_counter() - start - TIME_LIMIT, 3)
    return timings


def save(out: Path, name: str, figures: dict) -> None:
    """Each data set's figures under its file name, beside those of the data sets benched before."""
    report = json.loads(out.read_text()) if out.exists() else {}
    report = {key: value for key, value in report.items() if isinstance(value, dict) and "data" in value}
    report[name] = figures
    with cli.atomic_output(out) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--only", default="", help="sections to measure, by commas (make bench ONLY=label_noise)")
    args = p.parse_args()
    if not args.data.is_file():
        raise PipelineError(f"{args.data}: data file not found; run make bench DATA=path/to/your/data")

    build = args.out.parent / "bench"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    timings = build / "timings.jsonl"
    cold = make("all", build, args.data, args.config, timings)
    noop = make("all", build, args.data, args.config)
    database = build / "reviewlens.duckdb"
    figures = {
        "data": str(args.data),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "cold_make_all_seconds": cold,
        "noop_make_all_seconds": noop,
        "steps": [json.loads(line) for line in timings.read_text().splitlines()],
        "database_mib": round(database.stat().st_size / 2**20, 1),
    }
    steps = step_seconds(timings)
    # Each figure is saved as soon as it is measured; one that fails says why and the others go on. The last ones
    # rebuild the database with more models, so everything that reads the first comes before them.
    sections = {
        "models": lambda: model_figures(database),
        "map_trustworthiness_5000": lambda: trustworthiness(build),
        "attribution_faithfulness": lambda: faithfulness.measure(build),
        "page_seconds": lambda: page_timings(database),
        "map_renderer_seconds": lambda: renderer_timings(database),
        "console_seconds": lambda: console_timings(database),
        "report": lambda: report_figures(build, args.data, args.config),
        "baseline_attributions_seconds": lambda: steps.get("baseline_attributions"),
        "beyond_errors": lambda: beyond_errors(database, steps),
        "sentiment": lambda: sentiment_figures(build),
        "transformer": lambda: transformers.figures(build),
        "occlusion": lambda: doors.occlusion_agreement(build),
        "served_requests": lambda: doors.request_rates(build),
        "dynamics_cost": lambda: dynamics_cost(build, args.config),
        "label_noise": lambda: label_noise_figures(build, args.config),
        "comparison": lambda: comparison_figures(build, args.data, args.config),
        "brought_model": lambda: brought_model_figures(build, args.data, args.config),
        "predictions_made_elsewhere": lambda: elsewhere_figures(build, args.data, args.config),
    }
    if args.only:  # the others keep the figures of the last run
        kept = json.loads(args.out.read_text()).get(args.data.name, {}) if args.out.exists() else {}
        figures = {**kept, **figures}
        unknown = sorted(set(args.only.split(",")) - set(sections))
        if unknown:
            raise PipelineError(f"ONLY={args.only}: no section {unknown[0]!r}; use some of {', '.join(sections)}")
        sections = {name: sections[name] for name in args.only.split(",")}
    for name, measure in sections.items():
        print(f"bench: {name}", flush=True)
        try:
            figures[name] = measure()
        except Exception as error:  # a figure that cannot be measured is a finding, not the end of the run
            figures[name] = {"error": f"{type(error).__name__}: {error}"[:2000]}
        save(args.out, args.data.name, figures)
