"""Write every result into one DuckDB file, built aside and renamed into place only when complete ([database]
per_text = "parquet": the per-text tables as Parquet parts beside it, pipeline/database/parquet_parts.py).

    python -m pipeline build_db --texts build/texts.parquet --dataset-info build/dataset.json \
        --tokens build/tokens.npz --models build/models/dense.json ... \
        --predictions build/predictions/dense.parquet ... --out build/reviewlens.duckdb
"""

from __future__ import annotations

import functools
import json
import platform
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import artifacts, cli, registry
from pipeline.config import SCHEMA_VERSION, config_digest, load_config, sql_file, sql_literal
from pipeline.data import imdb
from pipeline.data.text import MACROS
from pipeline.database import parquet_parts
from pipeline.database.base_file import BASE
from pipeline.errors import PipelineError, first_line
from pipeline.whole_set import compare
from pipeline.whole_set.features import feature_table, features, measures_sql, text_table, views_sql

# DuckDB 2.0 writes a storage format that 1.x cannot read. v1.2.0 opens in DuckDB 1.2 and later, 2.x
# included, and is the oldest that can compress text with zstd (v1.0.0 stored the texts uncompressed: 118 MB).
STORAGE_VERSION = "v1.2.0"
# Tables computed in SQL from the loaded ones, in this order.
SCHEMA = sql_file("schema.sql")
DERIVED = [sql_file(f"derive/{table}.sql") for table in ("clusters", "models", "model_metrics")]
LIBRARIES = ("duckdb", "keras", "tensorflow-cpu", "scikit-learn", "numpy", "pandas")
# DuckDB's memory while it fills the file; past it, it writes what it holds to disk first.
MEMORY_LIMIT = "3GB"
SNIPPET_CHARACTERS = 160  # the start of each text that lists and tooltips show (texts.snippet)
# Columns of the data beyond the built-in ones: DuckDB type by pandas kind.
SQL_TYPES = {"i": "bigint", "u": "bigint", "f": "double", "b": "boolean"}


def connect_for_writing(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION})


def meta_table(config: dict, info: artifacts.DatasetInfo, summaries: list[dict], parts: str | None) -> pd.DataFrame:
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
        "storage": "parquet" if parts else "file",
    }
    if parts:  # the folder of its per-text tables, relative to its own
        facts["parts"] = parts
    for summary in summaries:
        if summary.get("sha256"):  # a model brought in: which file it was
            facts[f"model_{summary['model']}_file"] = summary["file"]
            facts[f"model_{summary['model']}_sha256"] = summary["sha256"]
    return pd.DataFrame({"key": list(facts), "value": list(facts.values())})


def labels_table(texts: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    counts = texts["label"].value_counts()
    training = texts.loc[texts["subset"] == "train", "label"].value_counts()
    return pd.DataFrame(
        {
            "label": labels,
            "label_index": range(len(labels)),
            "texts": [int(counts.get(label, 0)) for label in labels],
            "train_texts": [int(training.get(label, 0)) for label in labels],
        }
    )


def kinds_table() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "kind": kind.name,
                "title": kind.title,
                "given_with": kind.given_with or None,
                "address": kind.address,
                "no_dynamics": kind.no_dynamics or None,
                "rank": rank,
            }
            for rank, kind in enumerate(registry.KINDS, start=1)
        ]
    )


def model_tables(
    specs: list[registry.ModelSpec], summaries: dict[str, dict], data_kind: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The models table, in the run's order, from each model's entry and summary; its training batches and epochs."""
    models, batches, epochs = [], [], []
    for rank, spec in enumerate(specs, start=1):
        name, summary, kind = spec.name, summaries[spec.name], registry.kind(spec.kind)
        # The seed study's figures stand beside the models it reports on, for its data only.
        seed_accuracy, seed_loss = imdb.SEED_FIGURES.get(name, (None, None)) if data_kind == "imdb" else (None, None)
        # What the kind cannot have, the kind says why; what a model of a kind that can lacks, its summary says.
        no_behaviour = None if kind.runnable else kind.why_not_run
        no_attributions = summary.get("no_attributions") if kind.attributions else kind.why_not_run
        models.append(
            {
                "model": name,
                "rank": rank,
                "kind": spec.kind,
                "architecture": spec.architecture,
                "file": summary.get("file"),
                "sha256": summary.get("sha256"),
                "compared": kind.compared,
                "mapped": spec.has_latent,
                "attributed": not no_attributions,
                "tested": no_behaviour is None,
                "has_probabilities": not summary.get("no_probabilities"),
                "no_attributions": no_attributions,
                "no_behaviour": no_behaviour,
                "no_probabilities": summary.get("no_probabilities"),
                "description": summary["description"],
                "parameters": summary["parameters"],
                "epochs": len(summary.get("epochs", [])) or None,
                "latent_dim": summary.get("latent_dim"),
                "seed_accuracy": seed_accuracy,
                "seed_loss": seed_loss,
                "heat_maps": None if no_attributions else spec.heat_maps,
                "calls_per_text": summary.get("calls_per_text"),
                "off_label": summary.get("off_label_count"),
            }
        )
        for step, row in enumerate(summary.get("batches", []), start=1):
            batches.append({"model": name, "step": step, **row})
        epochs.extend({"model": name, **row} for row in summary.get("epochs", []))
    return pd.DataFrame(models), pd.DataFrame(batches), pd.DataFrame(epochs)


def off_label_table(summaries: dict[str, dict]) -> pd.DataFrame:
    """An LLM classifier's answers that named no label, as its summary keeps them."""
    rows = [
        {"model": model, "text_id": found["row"], "answer": found["answer"]}
        for model, summary in summaries.items()
        for found in summary.get("off_label", [])
    ]
    return pd.DataFrame(rows, columns=["model", "text_id", "answer"])


def latent_space_table(model: str, text_id: np.ndarray, latent: Path, map_: Path, clusters: Path, dim: int) -> pa.Table:
    vectors, coordinates = artifacts.read_array(latent), artifacts.read_array(map_)
    cluster = artifacts.read_clusters(clusters)
    if not (len(vectors) == len(coordinates) == len(text_id)) or not np.array_equal(cluster["text_id"], text_id):
        raise PipelineError(f"{latent}: latent vectors, map and clusters of {model} disagree; run make again")
    # Zero padding to the largest model's size leaves every distance unchanged.
    padded = np.zeros((len(vectors), dim), dtype=np.float32)
    padded[:, : vectors.shape[1]] = vectors
    return pa.table(
        {
            "text_id": pa.array(text_id, pa.int32()),
            "model": pa.array([model] * len(text_id)),
            "latent": pa.FixedSizeListArray.from_arrays(pa.array(padded.ravel()), dim),
            "x": pa.array(coordinates[:, 0]),
            "y": pa.array(coordinates[:, 1]),
            "cluster": pa.array(cluster["cluster"].to_numpy(np.int16)),
        }
    )


def schema_sql(latent_dim: int) -> str:
    """sql/schema.sql with its placeholders filled: the latent vectors' width, and the measured columns of texts."""
    columns, comments = measures_sql()
    filled = {"{{latent_dim}}": str(latent_dim), "{{measures}}": columns, "{{measure comments}}": comments}
    schema = SCHEMA.read_text()
    for placeholder, value in filled.items():
        schema = schema.replace(placeholder, value)
    return schema


def parquet(path: Path) -> str:
    """A Parquet file as a table of a query, for DuckDB to read a row group at a time."""
    return f"read_parquet({sql_literal(path)})"


def add_data_columns(con: duckdb.DuckDBPyConnection, texts: pd.DataFrame, info: artifacts.DatasetInfo) -> None:
    """The data's own columns, after the built-in ones of `texts`."""
    for column, kind in info.columns.items():
        sql_type = SQL_TYPES.get(texts[column].dtype.kind, "varchar")
        con.execute(f'alter table texts add column "{column}" {sql_type}')
        what = {"numeric": "a numeric feature", "category": "a category", "text": "kept, not analysed"}[kind]
        con.execute(f"comment on column texts.\"{column}\" is 'From the data file''s own columns: {what}.'")


def slice_tables(found: pd.DataFrame) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """The slices, numbered per model from 1 (best), and the texts of each."""
    found = found.rename(columns={"rank": "slice"})
    members = found[["model", "slice", "text_ids"]].explode("text_ids").rename(columns={"text_ids": "text_id"})
    return [found.drop(columns=["text_ids"])], [members.dropna().astype({"text_id": "int32"})]


# What fills a table: a frame, or SQL that reads Parquet files (a `select`, which DuckDB runs a chunk at a time), or
# a function that makes one of them when its turn comes, so that one table's rows at most are in memory.
Source = pd.DataFrame | pa.Table | str | Callable[[], "pd.DataFrame | pa.Table | str"]


# Columns computed from the others as a table is filled.
COMPUTED = {"texts": f", snippet(text, {SNIPPET_CHARACTERS}) as snippet"}


def insert(con: duckdb.DuckDBPyConnection, table: str, source: Source) -> None:
    if callable(source):
        source = source()
    computed = COMPUTED.get(table, "")
    if isinstance(source, str):
        con.execute(f"insert into {table} by name select *{computed} from ({source})")
        return
    if source is None or len(source) == 0:  # e.g. no training history when every model was brought in
        return
    con.register("frame", source)
    con.execute(f"insert into {table} by name select *{computed} from frame")
    con.unregister("frame")


def build(
    out: Path, tables: dict[str, list[Source]], latent_dim: int, before_insert, views: str, config: dict, parts
) -> None:
    """Fill a new file and rename it into place. With `parts`, the per-text tables go there as Parquet files, the rest
    is copied into the new file, and the earlier builds' parts are deleted once it is in place."""
    try:
        with cli.atomic_output(out) as tmp:
            fill(tmp, out, tables, latent_dim, before_insert, views, config, parts)
    except BaseException:
        if parts:
            shutil.rmtree(parts, ignore_errors=True)
        raise
    if parts or parquet_parts.parts_folder(out).exists():
        parquet_parts.remove_earlier(out, keep=parts)


def fill(tmp: Path, out: Path, tables, latent_dim: int, before_insert, views: str, config: dict, parts) -> None:
    # With parts, the tables are built in a file of their own first: dropped tables leave their space in a file.
    full = tmp.with_name(tmp.name + ".full") if parts else tmp
    try:
        con = connect_for_writing(full)
        try:
            con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
            con.execute(MACROS.read_text())
            con.execute(schema_sql(latent_dim))
            before_insert(con)
            for table, sources in tables.items():
                for source in sources:
                    insert(con, table, source)
            con.execute(views)
            for derived in DERIVED:
                con.execute(derived.read_text())
            # This build against the base file, or its models against each other, once every table is in.
            for table, sources in compare.fill(con, config).tables().items():
                for source in sources:
                    insert(con, table, source)
            con.execute(f"detach database if exists {BASE}")
            if parts:
                parquet_parts.to_parts(con, out, parts, parquet_parts.storage(config)[1])
                parquet_parts.copy_into(con, tmp, STORAGE_VERSION)
            else:
                con.execute("checkpoint")
        finally:
            con.close()
    except duckdb.Error as e:
        problem = first_line(e)
        raise PipelineError(
            f"{out}: not written, the previous file is unchanged ({problem}); run make clean all to rebuild"
        ) from None
    finally:
        for written in {tmp, full}:
            written.with_name(written.name + ".wal").unlink(missing_ok=True)
        if full != tmp:
            full.unlink(missing_ok=True)


def by_model(paths: list[Path]) -> dict[str, Path]:
    """Per-model files are named <model>.<suffix>."""
    return {path.name.split(".")[0].removesuffix("_words"): path for path in paths}


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--metadata", required=True, type=Path)
    p.add_argument("--models", required=True, type=Path, nargs="+", help="one summary JSON per model")
    p.add_argument("--predictions", required=True, type=Path, nargs="+", help="one parquet file per model")
    p.add_argument("--latent", required=True, type=Path, nargs="*", help="<model>.npy per model but the baseline")
    p.add_argument("--maps", required=True, type=Path, nargs="*", help="<model>.npy per model but the baseline")
    p.add_argument("--clusters", required=True, type=Path, nargs="*", help="<model>.parquet per model but the baseline")
    p.add_argument("--cluster-words", required=True, type=Path, nargs="*", help="<model>_words.parquet")
    p.add_argument("--attributions", required=True, type=Path, nargs="+", help="<model>.parquet per model")
    p.add_argument("--insights", required=True, type=Path)
    p.add_argument("--insight-texts", required=True, type=Path)
    p.add_argument("--correlations", required=True, type=Path)
    p.add_argument("--calibration", required=True, type=Path, nargs=3, help="metrics, reliability, probabilities")
    p.add_argument("--cases", required=True, type=Path, nargs=2, help="behavioural test cases, and the tests")
    p.add_argument("--behaviour", required=True, type=Path, nargs="+", help="<model>.parquet: verdicts per model")
    p.add_argument("--slices", required=True, type=Path)
    p.add_argument("--dynamics", required=True, type=Path, nargs=3, help="per epoch, data maps, label quality")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    info = artifacts.read_dataset_info(args.dataset_info)
    parts = parquet_parts.new_build_folder(args.out) if parquet_parts.storage(config)[0] == "parquet" else None

    specs = registry.models(config)
    summaries = {summary["model"]: summary for summary in map(artifacts.read_summary, args.models)}
    models, batches, epochs = model_tables(specs, summaries, info.kind)
    calibration, reliability_bins = (artifacts.read_table(path) for path in args.calibration[:2])
    calibrated = parquet(args.calibration[2])
    cases, tests = (artifacts.read_table(path) for path in args.cases)
    temperatures = calibration.drop_duplicates("model").set_index("model")["temperature"]
    models["temperature"] = models["model"].map(temperatures)
    mapped = registry.mapped(config)
    attributed = list(models.loc[models["attributed"], "model"])
    # The width of the latent vectors' column: the widest model's (1 where no model has them: served, LLMs alone).
    latent_dim = max([summary["latent_dim"] for summary in summaries.values() if "latent_dim" in summary], default=1)
    texts = text_table(args.texts, args.tokens, args.metadata)
    text_id = texts["text_id"].to_numpy()
    latent, maps, clusters = by_model(args.latent), by_model(args.maps), by_model(args.clusters)
    words, attributions = by_model(args.cluster_words), by_model(args.attributions)
    found = features(info)
    seed_findings = pd.DataFrame(
        [(i, statement, feature, sign) for i, (statement, feature, sign) in enumerate(imdb.SEED_FINDINGS, start=1)],
        columns=["finding", "statement", "feature", "expected_sign"],
    )
    tables = {
        "meta": [meta_table(config, info, list(summaries.values()), parts and parts_path(args.out, parts))],
        "labels": [labels_table(texts, info.labels)],
        "texts": [texts],
        "model_kinds": [kinds_table()],
        "models": [models],
        "predictions": [
            # Predicted classes alone have no calibrated probabilities.
            f"select p.*, c.calibrated from {parquet(path)} p left join {calibrated} c using (text_id, model)"
            " order by p.text_id"
            for path in args.predictions
        ],
        "off_label_answers": [off_label_table(summaries)],
        "training_batches": [batches],
        "training_epochs": [epochs],
        **{
            table: [f"select * from {parquet(path)}"]
            for table, path in zip(("training_dynamics", "data_maps", "label_quality"), args.dynamics, strict=True)
        },
        "latent_space": [
            functools.partial(
                latent_space_table, model, text_id, latent[model], maps[model], clusters[model], latent_dim
            )  # fmt: skip
            for model in mapped
        ],
        "attributions": [
            f"select *, {sql_literal(model)} as model from {parquet(attributions[model])}" for model in attributed
        ],
        "insights": [artifacts.read_table(args.insights)],
        "insight_texts": [artifacts.read_table(args.insight_texts)],
        "features": [feature_table(found)],
        "seed_findings": [seed_findings] if info.kind == "imdb" else [],
        "feature_correlations": [artifacts.read_table(args.correlations)],
        "calibration": [calibration.drop(columns="temperature")],
        "reliability_bins": [reliability_bins],
        "behaviour_tests": [tests.assign(rank=np.arange(1, len(tests) + 1))],
        "behaviour_cases": [cases],
        "behaviour_results": [artifacts.read_table(path) for path in args.behaviour],
        **dict(zip(("slices", "slice_texts"), slice_tables(artifacts.read_table(args.slices)), strict=True)),
        "cluster_words": [artifacts.read_cluster_words(words[model]).assign(model=model) for model in mapped],
    }
    build(args.out, tables, latent_dim, lambda con: add_data_columns(con, texts, info), views_sql(found), config, parts)
    print(f"{args.out}: {out_size(args.out)}" + (f", its parts {out_size(parts)}" if parts else ""))


def parts_path(out: Path, parts: Path) -> str:
    """The parts folder as the file's views and meta name it: relative to the file's own folder."""
    return parts.relative_to(out.parent).as_posix()


def out_size(path: Path) -> str:
    size = path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return f"{size / 2**20:.1f} MiB"
