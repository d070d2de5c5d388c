"""Write every result into one DuckDB file, built aside and renamed into place only when complete.

    python -m pipeline.build_db --reviews build/reviews.parquet --dataset build/dataset.json \
        --tokens build/tokens.npz --models build/models/dense.json ... \
        --predictions build/predictions/dense.parquet ... --out build/reviewlens.duckdb
"""

from __future__ import annotations

import functools
import json
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import artifacts, cli, imdb, registry
from pipeline.config import ROOT, SCHEMA_SQL, SCHEMA_VERSION, config_digest, load_config
from pipeline.errors import PipelineError
from pipeline.features import feature_table, features, review_table, views_sql
from pipeline.text import MACROS

# DuckDB 2.0 writes a storage format that 1.x cannot read. v1.2.0 opens in DuckDB 1.2 and later, 2.x
# included, and is the oldest that can compress text with zstd (v1.0.0 stored the reviews uncompressed: 118 MB).
STORAGE_VERSION = "v1.2.0"
# Tables computed in SQL from the loaded ones, in this order.
DERIVED = ("clusters", "models", "model_metrics")
LIBRARIES = ("duckdb", "keras", "tensorflow-cpu", "scikit-learn", "numpy", "pandas")
# DuckDB's memory while it fills the file; past it, it writes what it holds to disk first.
MEMORY_LIMIT = "3GB"
SNIPPET_CHARACTERS = 160  # the start of each text that lists and tooltips show (reviews.snippet)
# Columns of the data beyond the built-in ones: DuckDB type by pandas kind.
SQL_TYPES = {"i": "bigint", "u": "bigint", "f": "double", "b": "boolean"}


def connect_for_writing(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION})


def meta_table(config: dict, info: artifacts.DatasetInfo, summaries: list[dict]) -> pd.DataFrame:
    versions = {name: version(name) for name in LIBRARIES} | {"python": platform.python_version()}
    facts = {
        "schema_version": str(SCHEMA_VERSION),
        "dataset_file": info.file,
        "dataset_sha256": info.sha256,
        "dataset_kind": info.kind,
        "split_source": info.split_source,
        "config": json.dumps(config, sort_keys=True),
        "config_digest": config_digest(config),
        "versions": json.dumps(versions, sort_keys=True),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for summary in summaries:
        if summary.get("sha256"):  # a model brought in: which file it was
            facts[f"model_{summary['model']}_file"] = summary["file"]
            facts[f"model_{summary['model']}_sha256"] = summary["sha256"]
    return pd.DataFrame({"key": list(facts), "value": list(facts.values())})


def labels_table(reviews: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    counts = reviews["label"].value_counts()
    training = reviews.loc[reviews["subset"] == "train", "label"].value_counts()
    return pd.DataFrame(
        {
            "label": labels,
            "label_index": range(len(labels)),
            "reviews": [int(counts.get(label, 0)) for label in labels],
            "train_reviews": [int(training.get(label, 0)) for label in labels],
        }
    )


def model_tables(summaries: list[dict], kind: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    models, batches, epochs = [], [], []
    for rank, summary in enumerate(summaries, start=1):
        name = summary["model"]
        # The seed study's figures stand beside the models it reports on, for its data only.
        seed_accuracy, seed_loss = imdb.SEED_FIGURES.get(name, (None, None)) if kind == "imdb" else (None, None)
        models.append(
            {
                "model": name,
                "rank": rank,
                "kind": summary["kind"],
                "architecture": summary.get("architecture"),
                "file": summary.get("file"),
                "sha256": summary.get("sha256"),
                "no_attributions": summary.get("no_attributions"),
                "no_behaviour": summary.get("no_behaviour"),
                "no_probabilities": summary.get("no_probabilities"),
                "description": summary["description"],
                "parameters": summary["parameters"],
                "epochs": len(summary.get("epochs", [])) or None,
                "latent_dim": summary.get("latent_dim"),
                "seed_accuracy": seed_accuracy,
                "seed_loss": seed_loss,
            }
        )
        for step, row in enumerate(summary.get("batches", []), start=1):
            batches.append({"model": name, "step": step, **row})
        epochs.extend({"model": name, **row} for row in summary.get("epochs", []))
    return pd.DataFrame(models), pd.DataFrame(batches), pd.DataFrame(epochs)


def latent_space_table(
    model: str, review_id: np.ndarray, latent: Path, map_: Path, clusters: Path, dim: int
) -> pa.Table:
    vectors, coordinates = artifacts.read_array(latent), artifacts.read_array(map_)
    cluster = artifacts.read_clusters(clusters)
    if not (len(vectors) == len(coordinates) == len(review_id)) or not np.array_equal(cluster["review_id"], review_id):
        raise PipelineError(f"{latent}: latent vectors, map and clusters of {model} disagree; run make again")
    # Zero padding to the largest model's size leaves every distance unchanged.
    padded = np.zeros((len(vectors), dim), dtype=np.float32)
    padded[:, : vectors.shape[1]] = vectors
    return pa.table(
        {
            "review_id": pa.array(review_id, pa.int32()),
            "model": pa.array([model] * len(review_id)),
            "latent": pa.FixedSizeListArray.from_arrays(pa.array(padded.ravel()), dim),
            "x": pa.array(coordinates[:, 0]),
            "y": pa.array(coordinates[:, 1]),
            "cluster": pa.array(cluster["cluster"].to_numpy(np.int16)),
        }
    )


def literal(value: str | Path) -> str:
    """A string as an SQL literal."""
    return "'" + str(value).replace("'", "''") + "'"


def parquet(path: Path) -> str:
    """A Parquet file as a table of a query, for DuckDB to read a row group at a time."""
    return f"read_parquet({literal(path)})"


def add_data_columns(con: duckdb.DuckDBPyConnection, reviews: pd.DataFrame, info: artifacts.DatasetInfo) -> None:
    """The data's own columns, after the built-in ones of `reviews`."""
    for column, kind in info.columns.items():
        sql_type = SQL_TYPES.get(reviews[column].dtype.kind, "varchar")
        con.execute(f'alter table reviews add column "{column}" {sql_type}')
        what = {"numeric": "a numeric feature", "category": "a category", "text": "kept, not analysed"}[kind]
        con.execute(f"comment on column reviews.\"{column}\" is 'From the data file''s own columns: {what}.'")


def slice_tables(found: pd.DataFrame) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """The slices, numbered per model from 1 (best), and the texts of each."""
    found = found.rename(columns={"rank": "slice"})
    members = found[["model", "slice", "review_ids"]].explode("review_ids").rename(columns={"review_ids": "review_id"})
    return [found.drop(columns=["review_ids"])], [members.dropna().astype({"review_id": "int32"})]


# What fills a table: a frame, or SQL that reads Parquet files (a `select`, which DuckDB runs a chunk at a time), or
# a function that makes one of them when its turn comes, so that one table's rows at most are in memory.
Source = pd.DataFrame | pa.Table | str | Callable[[], "pd.DataFrame | pa.Table | str"]


# Columns computed from the others as a table is filled.
COMPUTED = {"reviews": f", snippet(text, {SNIPPET_CHARACTERS}) as snippet"}


def insert(con: duckdb.DuckDBPyConnection, table: str, source: Source) -> None:
    if callable(source):
        source = source()
    computed = COMPUTED.get(table, "")
    if isinstance(source, str):
        con.execute(f"insert into {table} by name select *{computed} from ({source})")
        return
    if len(source) == 0:  # e.g. no training history when every model was brought in
        return
    con.register("frame", source)
    con.execute(f"insert into {table} by name select *{computed} from frame")
    con.unregister("frame")


def build(out: Path, tables: dict[str, list[Source]], latent_dim: int, before_insert, views: str) -> None:
    with cli.atomic_output(out) as tmp:
        con = connect_for_writing(tmp)
        try:
            con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
            con.execute(MACROS.read_text())
            con.execute(SCHEMA_SQL.read_text().replace("{{latent_dim}}", str(latent_dim)))
            before_insert(con)
            for table, sources in tables.items():
                for source in sources:
                    insert(con, table, source)
            con.execute(views)
            for table in DERIVED:
                con.execute((ROOT / "sql" / "derive" / f"{table}.sql").read_text())
            con.execute("checkpoint")
        except duckdb.Error as e:
            problem = str(e).splitlines()[0]
            raise PipelineError(
                f"{out}: not written, the previous file is unchanged ({problem}); run make clean all to rebuild"
            ) from None
        finally:
            con.close()
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)


def by_model(paths: list[Path]) -> dict[str, Path]:
    """Per-model files are named <model>.<suffix>."""
    return {path.name.split(".")[0].removesuffix("_words"): path for path in paths}


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--metadata", required=True, type=Path)
    p.add_argument("--models", required=True, type=Path, nargs="+", help="one summary JSON per model")
    p.add_argument("--predictions", required=True, type=Path, nargs="+", help="one parquet file per model")
    p.add_argument("--latent", required=True, type=Path, nargs="+", help="<model>.npy per model but the baseline")
    p.add_argument("--maps", required=True, type=Path, nargs="+", help="<model>.npy per model but the baseline")
    p.add_argument("--clusters", required=True, type=Path, nargs="+", help="<model>.parquet per model but the baseline")
    p.add_argument("--cluster-words", required=True, type=Path, nargs="+", help="<model>_words.parquet")
    p.add_argument("--attributions", required=True, type=Path, nargs="+", help="<model>.parquet per model")
    p.add_argument("--insights", required=True, type=Path)
    p.add_argument("--insight-reviews", required=True, type=Path)
    p.add_argument("--correlations", required=True, type=Path)
    p.add_argument("--calibration", required=True, type=Path, nargs=3, help="metrics, reliability, probabilities")
    p.add_argument("--cases", required=True, type=Path, nargs=2, help="behavioural test cases, and the tests")
    p.add_argument("--behaviour", required=True, type=Path, nargs="+", help="<model>.parquet: verdicts per model")
    p.add_argument("--slices", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    info = artifacts.read_dataset_info(args.dataset)

    order = [spec.name for spec in registry.models(config)]
    summaries = sorted((artifacts.read_summary(path) for path in args.models), key=lambda s: order.index(s["model"]))
    models, batches, epochs = model_tables(summaries, info.kind)
    calibration, reliability_bins = (artifacts.read_table(path) for path in args.calibration[:2])
    calibrated = parquet(args.calibration[2])
    cases, tests = (artifacts.read_table(path) for path in args.cases)
    temperatures = calibration.drop_duplicates("model").set_index("model")["temperature"]
    models["temperature"] = models["model"].map(temperatures)
    mapped = registry.mapped(config)
    attributed = [summary["model"] for summary in summaries if not summary.get("no_attributions")]
    latent_dim = max(summary["latent_dim"] for summary in summaries if "latent_dim" in summary)
    reviews = review_table(args.reviews, args.tokens, args.metadata)
    review_id = reviews["review_id"].to_numpy()
    latent, maps, clusters = by_model(args.latent), by_model(args.maps), by_model(args.clusters)
    words, attributions = by_model(args.cluster_words), by_model(args.attributions)
    found = features(info)
    seed_findings = pd.DataFrame(
        [(i, statement, feature, sign) for i, (statement, feature, sign) in enumerate(imdb.SEED_FINDINGS, start=1)],
        columns=["finding", "statement", "feature", "expected_sign"],
    )
    tables = {
        "meta": [meta_table(config, info, summaries)],
        "labels": [labels_table(reviews, info.labels)],
        "reviews": [reviews],
        "models": [models],
        "predictions": [
            # Predicted classes alone have no calibrated probabilities.
            f"select p.*, c.calibrated from {parquet(path)} p left join {calibrated} c using (review_id, model)"
            " order by p.review_id"
            for path in args.predictions
        ],
        "training_batches": [batches],
        "training_epochs": [epochs],
        "latent_space": [
            functools.partial(
                latent_space_table, model, review_id, latent[model], maps[model], clusters[model], latent_dim
            )  # fmt: skip
            for model in mapped
        ],
        "attributions": [
            f"select *, {literal(model)} as model from {parquet(attributions[model])}" for model in attributed
        ],
        "insights": [artifacts.read_table(args.insights)],
        "insight_reviews": [artifacts.read_table(args.insight_reviews)],
        "features": [feature_table(found)],
        "seed_findings": [seed_findings] if info.kind == "imdb" else [],
        "feature_correlations": [artifacts.read_table(args.correlations)],
        "calibration": [calibration.drop(columns="temperature")],
        "reliability_bins": [reliability_bins],
        "behaviour_tests": [tests.assign(rank=np.arange(1, len(tests) + 1))],
        "behaviour_cases": [cases],
        "behaviour_results": [artifacts.read_table(path) for path in args.behaviour],
        **dict(zip(("slices", "slice_reviews"), slice_tables(artifacts.read_table(args.slices)), strict=True)),
        "cluster_words": [artifacts.read_cluster_words(words[model]).assign(model=model) for model in mapped],
    }
    build(args.out, tables, latent_dim, lambda con: add_data_columns(con, reviews, info), views_sql(found))
    print(f"{args.out}: {out_size(args.out)}")


def out_size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MiB"


if __name__ == "__main__":
    cli.run("build_db", main)
