"""How the pipeline and the viewer scale: data sets of N texts made from the IMDB reviews, and what each step costs.

    python -m bench scale --data aclImdb_v1.tar.gz --n 1000000 --seed 0 --out texts.parquet
    python -m bench scale --data aclImdb_v1.tar.gz --sizes 50000,200000,1000000 --out build/bench.json

The first writes a data set of N distinct texts made by recombining the sentences of IMDB reviews
(bench/synthetic.py).

The second (`make bench-scale N=1000000`) does that for each size, runs `make all` on the file into
build/scale/<n>/ with REVIEWLENS_TIMINGS set, and measures: each step's seconds and peak memory, the whole build's
wall time, the database's size, every named viewer query (sql/queries/*.sql) run with the parameters a page would
give it, and the pages' drawing times (bench/measure.py's page_timings). Then, for each pair of consecutive sizes, how
each step grew against the number of texts. Everything goes under "scale" in the output, beside its other keys; the
figures of each size are saved as soon as it is measured. Each size's build folder is deleted once measured but for
its timings.jsonl and figures.json (--keep keeps it all: an IMDB-sized build is about 1 GiB).

N must be at least 200, and the pipeline must fit in memory: N is refused when the estimate of its peak
(PIPELINE_BASE_MIB + PIPELINE_MIB_PER_1000 per thousand texts) exceeds MemAvailable.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench import synthetic
from pipeline import cli
from pipeline.data import imdb
from pipeline.errors import PipelineError, first_line
from viewer import charts
from viewer.database import QUERIES, open_database, query

MIN_TEXTS = 200
# Peak memory of `make all` on N texts of IMDB's lengths, with pipeline/config.toml's settings, modelled as
# PIPELINE_BASE_MIB + PIPELINE_MIB_PER_1000 * N / 1000: twice a straight line through the largest step's peaks that
# `make bench-scale` measured at 50,000 and 200,000 texts (1,635 and 2,683 MiB, both in the baseline's step), as make
# runs two steps at once on two cores. It overestimates: the baseline is fitted on 100,000 texts at most, so its peak
# stops growing there, and the steps that go on growing hold a part of the texts at a time.
PIPELINE_BASE_MIB = 2600.0
PIPELINE_MIB_PER_1000 = 14.0


# The viewer's pages and what they pass to each named query beyond the shared values (query_parameters).
LIMITS = {
    "samples": 500,  # views/samples.py LIMIT
    "failures": 15,  # views/failures.py SHOWN
    "cohort_examples": 15,
    "cluster_texts": 20,  # views/clusters.py TEXTS_SHOWN
    "insight_texts": 50,  # views/insights.py SHOWN
    "slice_texts": 50,
    "behaviour_failures": 20,  # views/behaviour.py SHOWN
    "map_selection": 200,  # views/population.py LISTED
    "flips": 50,  # views/compare.py SHOWN
    "comparison_groups": 12,  # views/compare.py GROUPS
}
SLOWEST = 5
# The Compare page's queries of one pair of models.
PAIR_QUERIES = ("comparison_metrics", "flips", "comparison_slices", "comparison_groups", "comparison_behaviour")


# --- will it fit --------------------------------------------------------------------------------------------------


def available_mib() -> float | None:
    """MemAvailable from /proc/meminfo, in MiB; None where there is no such file."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def estimated_mib(n: int) -> float:
    """The estimated peak memory of `make all` on n texts (see PIPELINE_MIB_PER_1000)."""
    return PIPELINE_BASE_MIB + PIPELINE_MIB_PER_1000 * n / 1000


def check_size(n: int, available: float | None = None) -> None:
    """Refuse a size the pipeline cannot run: too few texts, or more than memory holds."""
    if n < MIN_TEXTS:
        raise PipelineError(f"N={n}: at least {MIN_TEXTS} texts; run make bench-scale N={MIN_TEXTS} or more")
    available = available_mib() if available is None else available
    if available is not None and estimated_mib(n) > available:
        largest = int((available - PIPELINE_BASE_MIB) / PIPELINE_MIB_PER_1000) * 1000
        raise PipelineError(
            f"N={n}: the pipeline would need about {estimated_mib(n) / 1024:,.1f} GiB of memory "
            f"({PIPELINE_BASE_MIB:.0f} MiB + {PIPELINE_MIB_PER_1000:g} MiB per 1,000 texts), but only "
            f"{available / 1024:,.1f} GiB is available; run make bench-scale N={max(largest, MIN_TEXTS)} or less"
        )


def check_data(path: Path) -> None:
    if not path.is_file():
        raise PipelineError(f"{path}: data file not found; run make bench-scale DATA=path/to/aclImdb_v1.tar.gz")
    if not imdb.is_tarball(path):
        raise PipelineError(
            f"{path}: not the IMDB tarball; bench-scale makes its texts from IMDB's reviews: "
            "run make bench-scale DATA=path/to/aclImdb_v1.tar.gz"
        )


def parse_sizes(text: str, up_to: int | None = None) -> list[int]:
    """Sizes separated by commas or spaces, deduplicated and sorted; those above `up_to` left out."""
    try:
        sizes = sorted({int(size) for size in re.split(r"[,\s]+", text.strip()) if size})
    except ValueError:
        raise PipelineError(f"--sizes {text!r}: give whole numbers of texts, e.g. 50000,200000") from None
    sizes = [size for size in sizes if up_to is None or size <= up_to]
    if not sizes:
        raise PipelineError(f"--sizes {text!r}: no size of at most N={up_to}; run make bench-scale with a larger N")
    return sizes


# --- what a size costs --------------------------------------------------------------------------------------------


def read_timings(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def step_figures(rows: list[dict]) -> dict[str, dict]:
    """Each step's seconds (summed, where a step ran more than once, like settings) and peak MiB (the largest)."""
    steps: dict[str, dict] = {}
    for row in rows:
        seen = steps.setdefault(row["step"], {"seconds": 0.0, "peak_mib": 0.0})
        seen["seconds"] = round(seen["seconds"] + row["seconds"], 2)
        seen["peak_mib"] = max(seen["peak_mib"], row["peak_mib"])
    return steps


def growth(steps_by_size: dict[int, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """For each pair of consecutive sizes ("50000->200000"), each step they both have: how many times the texts, the
    seconds and the peak MiB grew, and the time's exponent (log time ratio / log n ratio: 1 is linear, 2 quadratic)."""
    sizes = sorted(steps_by_size)
    result = {}
    for small, large in zip(sizes, sizes[1:], strict=False):
        n_ratio = large / small
        pair = {}
        for step, before in steps_by_size[small].items():
            after = steps_by_size[large].get(step)
            if after is None:
                continue
            time_ratio = after["seconds"] / before["seconds"] if before["seconds"] > 0 else None
            pair[step] = {
                "n_ratio": round(n_ratio, 3),
                "time_ratio": None if time_ratio is None else round(time_ratio, 3),
                "memory_ratio": round(after["peak_mib"] / before["peak_mib"], 3) if before["peak_mib"] > 0 else None,
                "time_exponent": (
                    round(float(np.log(time_ratio) / np.log(n_ratio)), 2) if time_ratio and n_ratio != 1 else None
                ),
            }
        result[f"{small}->{large}"] = pair
    return result


def query_names() -> dict[str, list[str]]:
    """Every named query of the viewer and its $parameters."""
    return {
        path.stem: sorted(set(re.findall(r"\$([a-z_]+)", path.read_text()))) for path in sorted(QUERIES.glob("*.sql"))
    }


def query_parameters(con) -> tuple[dict[str, dict], dict[str, str]]:
    """The parameters a page passes to each named query on first opening (its defaults), taken from the database
    where a page takes them from it; and the queries no page runs on this database, with why."""
    figures = query(con, "model_figures")
    compared = list(figures.loc[figures["compared"], "model"])
    model = compared[0] if compared else figures["model"].iloc[0]
    first, second = (compared + [None, None])[:2]
    features = query(con, "features")
    categories = list(features.loc[features["kind"] == "category", "feature"])
    loss_max = float(query(con, "loss_range")["loss_max"].iloc[0]) + 0.01
    # A heavy text to open, as the bench opens: the longest test text the last compared model gets wrong (or, if it
    # gets none wrong, the longest it gets right).
    heavy = con.execute(
        "select text_id, label from text_list where model = (select model from models where compared"
        " order by rank desc limit 1) order by correct, subset <> 'test', n_tokens desc, text_id limit 1"
    ).fetchone()
    confusions = query(con, "confusions", model=model, subset="test")
    clusters = query(con, "cluster_summary", model=model)
    insights = query(con, "insights")
    slices = query(con, "slices", model=model)
    summary = query(con, "behaviour_summary")
    run = summary[summary["model"].notna()]
    failing = run.groupby("test", sort=False)["failures"].sum()
    # A box or lasso drawn on the middle of the map: the middle fifth of its width and of its height.
    box = con.execute(
        "select quantile_cont(x, 0.4), quantile_cont(x, 0.6), quantile_cont(y, 0.4), quantile_cont(y, 0.6)"
        " from latent_space where model = ?",
        [model],
    ).fetchone()
    inside = con.execute(
        "select text_id from latent_space where model = ? and x between ? and ? and y between ? and ? order by text_id",
        [model, *box],
    ).fetchnumpy()["text_id"]
    points = con.execute("select text_id from latent_space where model = ? order by text_id", [model]).df()
    sampled = charts.map_sample(points)["text_id"].tolist()
    # The Compare page opens on its first pair, its broken texts.
    pairs = query(con, "comparison").dropna(subset=["rank"])
    pair = {"base_model": pairs["base_model"].iloc[0], "model": pairs["model"].iloc[0]} if len(pairs) else {}
    flipped = con.execute("select text_id from flips order by rank limit 1").fetchone()
    shared = {
        "model": model,
        "first": first,
        "second": second,
        "subset": "test",
        "split": None,
        "label": None,
        "predicted_label": None,
        "correct": None,
        "clusters": None,
        "category": categories[0] if categories else None,
        "category_value": None,
        "loss_min": 0.0,
        "loss_max": loss_max,
        "bins": 20,
        "feature": "length_tokens",
        "text_id": int(heavy[0]),
        "cluster": int(clusters["cluster"].iloc[0]) if len(clusters) else None,
        "insight_id": int(insights["insight_id"].iloc[0]) if len(insights) else None,
        "slice": int(slices["slice"].iloc[0]) if len(slices) else None,
        "test": failing.index[int(failing.to_numpy().argmax())] if len(failing) else None,
        "cohort": f"{first} only",
        "k": 11,  # views/samples.py NEIGHBOURS + 1
        "top": 3,  # NGRAMS
        "notable": 0.2,  # NOTABLE
        "text_ids": [int(text_id) for text_id in inside],
        "direction": "broken",
        "region": "hard to learn",  # views/data_maps.py: the region shown first
    }
    own = {
        "failures": {
            "label": confusions["label"].iloc[0] if len(confusions) else None,
            "predicted_label": confusions["predicted_label"].iloc[0] if len(confusions) else None,
        },
        # Every text's start, up to the population page's SNIPPETS_UP_TO texts; past that, the sampled map's only.
        "map_snippets": {"text_ids": None if len(points) <= charts.SNIPPETS_UP_TO else sampled},
        # A text's page shows its heat maps, n-grams and the models' differences toward its own label.
        "text_heatmap": {"label": heavy[1]},
        "text_ngrams": {"label": heavy[1]},
        "model_comparison": {"label": heavy[1]},
        **dict.fromkeys(PAIR_QUERIES, pair),
        # A flipped text's page: the base's heat map beside this build's (across builds only; none within one).
        "flip_heatmap": {**pair, "text_id": int(flipped[0]) if flipped else int(heavy[0]), "label": heavy[1]},
    }
    skipped = {}
    if not categories:
        skipped.update(dict.fromkeys(("category_loss", "point_categories"), "the data has no category column"))
    if len(compared) < 2:
        skipped.update(dict.fromkeys(("cohorts", "cohort_examples", "model_comparison"), "one compared model only"))
    if not pair:
        skipped.update(dict.fromkeys((*PAIR_QUERIES, "flip_heatmap"), "no pair compared"))  # fmt: skip
    for name, value, why in (
        ("cluster", "cluster_words", "no cluster"),
        ("cluster", "cluster_texts", "no cluster"),
        ("insight_id", "insight_texts", "no insight"),
        ("slice", "slice_texts", "no slice"),
        ("test", "behaviour_failures", "no behavioural test ran"),
    ):
        if shared[name] is None:
            skipped[value] = why
    parameters = {}
    for name, wanted in query_names().items():
        if name in skipped:
            continue
        values = {**shared, **own.get(name, {}), "limit": LIMITS.get(name, 20)}
        parameters[name] = {key: values[key] for key in wanted if key in values}
        missing = [key for key in wanted if key not in values]
        if missing:
            skipped[name] = f"no typical value for ${', $'.join(missing)}"
            del parameters[name]
    return parameters, skipped


def query_timings(database: Path) -> dict:
    """Seconds of every named viewer query on a fresh connection, as a page's first visit runs it."""
    seconds, rows, errors = {}, {}, {}
    with open_database(database) as con:
        parameters, skipped = query_parameters(con)
    with open_database(database) as con:
        for name, params in parameters.items():
            start = time.perf_counter()
            try:
                found = query(con, name, **params)
            except Exception as error:  # a query that fails is a finding, not the end of the run
                errors[name] = first_line(error, with_type=True)
                continue
            seconds[name] = round(time.perf_counter() - start, 4)
            rows[name] = len(found)
    slowest = sorted(seconds.items(), key=lambda item: -item[1])[:SLOWEST]
    return {
        "seconds": seconds,
        "rows": rows,
        # A list (the texts selected on the map) is shown by its length.
        "parameters": {
            name: {key: f"{len(value):,} ids" if isinstance(value, list) else value for key, value in params.items()}
            for name, params in parameters.items()
        },
        "slowest": [[name, value] for name, value in slowest],
        "total_seconds": round(sum(seconds.values()), 3),
        "errors": errors,
        "not_run": skipped,
    }


def measure_size(n: int, args, root: Path) -> dict:
    """Make the data set of n texts, build the database on it, and measure both and the viewer."""
    from bench import measure  # imports Keras (for make bench's faithfulness): not for the generator's sake

    build = (root / str(n)).resolve()
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    timings = build / "timings.jsonl"
    data = build / f"texts-{n}.parquet"
    say(f"{n:,} texts: making the data set ({data})")
    made = [sys.executable, "-m", "bench", "scale", "--data", str(args.data.resolve()), "--n", str(n)]
    made += ["--seed", str(args.seed), "--out", str(data)]
    if args.config:
        made += ["--config", str(Path(args.config).resolve())]
    if subprocess.run(made, env={**os.environ, cli.TIMINGS_ENV: str(timings)}).returncode != 0:
        raise PipelineError(f"N={n}: making the data set failed; see the lines above")
    generator = step_figures(read_timings(timings)).get("scale", {})
    generator["parquet_mib"] = round(data.stat().st_size / 2**20, 1)
    say(f"{n:,} texts: made in {generator.get('seconds')} s, peak {generator.get('peak_mib')} MiB; make all")
    wall = measure.make("all", build, data, args.config, timings)
    steps = {step: value for step, value in step_figures(read_timings(timings)).items() if step != "scale"}
    database = build / "reviewlens.duckdb"
    figures = {
        "texts": n,
        "generator": generator,
        "make_all_seconds": wall,
        "steps_seconds": round(sum(step["seconds"] for step in steps.values()), 2),
        "peak_mib": max(step["peak_mib"] for step in steps.values()),
        "peak_step": max(steps, key=lambda step: steps[step]["peak_mib"]),
        "estimated_peak_mib": round(estimated_mib(n), 1),
        "steps": steps,
        "database_mib": round(database.stat().st_size / 2**20, 1),
        "build_mib": round(sum(f.stat().st_size for f in build.rglob("*") if f.is_file()) / 2**20, 1),
    }
    # Where t-SNE was fitted on a sample, the texts placed on its map are scored apart.
    figures["map_trustworthiness_5000"] = measure.trustworthiness(build)
    say(f"{n:,} texts: make all took {wall} s, peak {figures['peak_mib']} MiB ({figures['peak_step']}); "
        f"trustworthiness {figures['map_trustworthiness_5000']}; queries")  # fmt: skip
    try:
        figures["queries"] = query_timings(database)
    except Exception as error:  # a viewer query out of step with the database must not lose the build's figures
        figures["queries"] = {"error": f"{type(error).__name__}: {error}"[:2000], "slowest": []}
    slowest = ", ".join(f"{name} {value} s" for name, value in figures["queries"]["slowest"]) or "none timed"
    say(f"{n:,} texts: slowest viewer queries: {slowest}; pages")
    try:
        figures["page_seconds"] = measure.page_timings(database)
    except Exception as error:  # the pages are measured elsewhere too: a failure here must not lose the run
        figures["page_seconds"] = {"error": f"{type(error).__name__}: {error}"[:2000]}
    say(f"{n:,} texts: pages {figures['page_seconds']}; the per-text steps again, here and on a local Ray cluster")
    figures["cluster"] = cluster_overhead(build, data, args.config)
    say(f"{n:,} texts: per-text steps here {figures['cluster']['here_seconds']} s, on Ray "
        f"{figures['cluster']['ray_seconds']} s (overhead {figures['cluster']['overhead']:.0%})")  # fmt: skip
    (build / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    if not args.keep:
        for path in build.iterdir():
            if path.name not in ("timings.jsonl", "figures.json"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    return figures


# What the per-text steps write (pipeline/parts.py runs them on a cluster): removed from a copy of a build, they are
# made again, and what follows them. The tokens stay, so that the models are not trained again.
PER_TEXT_OUTPUTS = ["metadata.parquet", "predictions", "latent", "attributions", "maps", "behaviour/*.parquet",
                    "models/baseline.*"]  # fmt: skip


def without_per_text(build: Path, copy: Path) -> Path:
    """A copy of a build, its times kept, without the per-text steps' outputs."""
    shutil.copytree(build, copy, symlinks=True)
    for pattern in PER_TEXT_OUTPUTS:
        for path in copy.glob(pattern):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return copy


@contextlib.contextmanager
def local_cluster() -> Iterator[str]:
    """A Ray head on this machine with every core (`ray start`), stopped after; its address."""
    ray = str(Path(sys.executable).with_name("ray"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = ["--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard", "false"]
    started = subprocess.run([ray, "start", *head, "--disable-usage-stats"], env=env, capture_output=True)
    if started.returncode != 0:
        raise PipelineError(f"ray start failed: {started.stderr.decode()[-500:]}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True)


def cluster_overhead(build: Path, data: Path, config: str | None) -> dict:
    """The per-text steps (and what follows them) made again from two copies of the build: here, and through a Ray
    cluster on this machine. Each rebuild's wall time and the per-text steps' seconds; the overhead is Ray's wall time
    over the local one, less 1."""
    from bench import measure

    figures = {}
    with local_cluster() as address:
        for route, env in (("here", {}), ("ray", {"RAY_ADDRESS": address})):
            copy = without_per_text(build, build.with_name(f"{build.name}-{route}"))
            timings = copy / "timings-again.jsonl"
            figures[f"{route}_seconds"] = measure.make("all", copy, data, config, timings, env=env)
            figures[f"{route}_steps"] = step_figures(read_timings(timings))
            shutil.rmtree(copy)
    figures["overhead"] = round(figures["ray_seconds"] / figures["here_seconds"] - 1, 3)
    return figures


def save(out: Path, scale: dict) -> None:
    """Put `scale` under "scale" in the output, keeping its other keys."""
    try:
        report = json.loads(out.read_text()) if out.exists() else {}
    except json.JSONDecodeError:
        report = {}
    report = report if isinstance(report, dict) else {}
    report["scale"] = scale
    with cli.atomic_output(out) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")


def say(line: str) -> None:
    print(f"bench-scale: {line}", flush=True)


def run_sizes(args) -> None:
    sizes = parse_sizes(args.sizes, args.up_to)
    check_data(args.data)
    available = available_mib()
    for n in sizes:  # every size before the first is built: a refusal must not come after hours
        check_size(n, available)
    root = args.out.parent / "scale"
    scale = {
        "data": str(args.data),
        "seed": args.seed,
        "config": args.config or "pipeline/config.toml",
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "available_mib": None if available is None else round(available, 1),
        "memory_model": {"base_mib": PIPELINE_BASE_MIB, "mib_per_1000_texts": PIPELINE_MIB_PER_1000},
        "sizes": {},
        "growth": {},
    }
    for n in sizes:
        try:
            scale["sizes"][str(n)] = measure_size(n, args, root)
        except PipelineError as error:
            # What did finish, to see where it stopped (a step killed for memory leaves no line).
            done = step_figures(read_timings(root.resolve() / str(n) / "timings.jsonl"))
            scale["sizes"][str(n)] = {"texts": n, "error": str(error), "steps_done": done}
            save(args.out, scale)
            raise
        done = {int(size): figures for size, figures in scale["sizes"].items() if "steps" in figures}
        totals = {
            size: {
                **figures["steps"],
                "generator": {"seconds": figures["generator"]["seconds"], "peak_mib": figures["generator"]["peak_mib"]},
                "make_all": {"seconds": figures["make_all_seconds"], "peak_mib": figures["peak_mib"]},
                "viewer_queries": {"seconds": figures["queries"].get("total_seconds", 0.0), "peak_mib": 0.0},
            }
            for size, figures in done.items()
        }
        scale["growth"] = growth(totals)
        save(args.out, scale)
        say(f"{n:,} texts: done; figures under 'scale' in {args.out}")
    for pair, steps in scale["growth"].items():
        say(f"growth {pair}: " + ", ".join(f"{step} x{value['time_ratio']}" for step, value in steps.items()))


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--data", required=True, type=Path, help="the IMDB tarball, aclImdb_v1.tar.gz")
    p.add_argument("--out", required=True, type=Path, help="--n: the Parquet file; --sizes: the bench JSON")
    p.add_argument("--seed", type=int, default=0)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--n", type=int, help="write one data set of N texts")
    what.add_argument("--sizes", help="measure each size, e.g. 50000,200000,1000000")
    p.add_argument("--up-to", type=int, help="with --sizes: leave out the sizes above this (make's N)")
    p.add_argument("--keep", action="store_true", help="with --sizes: keep each size's whole build folder")
    args = p.parse_args()
    if args.sizes is not None:
        run_sizes(args)
        return
    check_size(args.n)
    start = time.perf_counter()
    check_data(args.data)
    texts = synthetic.write_texts(args.data, args.n, args.seed, args.out, args.config)
    print(f"{args.out}: {len(texts):,} distinct texts in {time.perf_counter() - start:.1f} s")
