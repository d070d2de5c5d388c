"""Write every result into one DuckDB file, built aside and renamed into place only when complete.

    python -m pipeline.build_db --reviews build/reviews.parquet --tokens build/tokens.npz \
        --dataset build/dataset.json --models build/models/dense.json ... \
        --predictions build/predictions/dense.parquet ... --out build/reviewlens.duckdb
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import cli
from pipeline.config import ROOT, SCHEMA_SQL, SCHEMA_VERSION, SEED_FIGURES, config_digest, load_config
from pipeline.errors import PipelineError
from pipeline.text import MACROS

# DuckDB 2.0 writes a storage format that 1.x cannot read. v1.2.0 opens in DuckDB 1.2 and later, 2.x
# included, and is the oldest that can compress text with zstd (v1.0.0 stored the reviews uncompressed: 118 MB).
STORAGE_VERSION = "v1.2.0"
# Tables computed in SQL from the loaded ones, in this order.
DERIVED = ("clusters",)
LIBRARIES = ("duckdb", "keras", "tensorflow-cpu", "scikit-learn", "numpy", "pandas")


def connect_for_writing(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION})


def reviews_table(reviews_path: Path, tokens_path: Path, metadata_path: Path) -> pd.DataFrame:
    reviews = pd.read_parquet(reviews_path).merge(pd.read_parquet(metadata_path), on="review_id", how="left")
    tokens = np.load(tokens_path)
    if not np.array_equal(tokens["review_id"], reviews["review_id"].to_numpy()):
        raise PipelineError(f"{tokens_path}: does not match {reviews_path}; run make again to rebuild both")
    sequence_length = tokens["sequences"].shape[1]
    return reviews.assign(
        subset=tokens["subset"],
        n_chars=reviews["text"].str.len(),
        n_tokens=tokens["n_tokens"],
        n_oov=tokens["n_oov"],
        truncated=tokens["n_tokens"] > sequence_length,
    )


def meta_table(config: dict, dataset: dict) -> pd.DataFrame:
    versions = {name: version(name) for name in LIBRARIES} | {"python": platform.python_version()}
    facts = {
        "schema_version": str(SCHEMA_VERSION),
        "dataset_file": dataset["file"],
        "dataset_sha256": dataset["sha256"],
        "config": json.dumps(config, sort_keys=True),
        "config_digest": config_digest(config),
        "versions": json.dumps(versions, sort_keys=True),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return pd.DataFrame({"key": list(facts), "value": list(facts.values())})


def model_tables(summaries: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    models, batches, epochs = [], [], []
    for summary in summaries:
        name = summary["model"]
        seed_accuracy, seed_loss = SEED_FIGURES.get(name, (None, None))
        models.append(
            {
                "model": name,
                "kind": summary["kind"],
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
    model: str, review_id: np.ndarray, latent_dir: Path, map_dir: Path, cluster_dir: Path, latent_dim: int
) -> pa.Table:
    latent = np.load(latent_dir / f"{model}.npy")
    coordinates = np.load(map_dir / f"{model}.npy")
    clusters = pd.read_parquet(cluster_dir / f"{model}.parquet")
    if not (len(latent) == len(coordinates) == len(review_id)) or not np.array_equal(clusters["review_id"], review_id):
        raise PipelineError(f"{latent_dir / model}: latent vectors, map and clusters disagree; run make again")
    # Zero padding to the larger model's size leaves every distance unchanged.
    padded = np.zeros((len(latent), latent_dim), dtype=np.float32)
    padded[:, : latent.shape[1]] = latent
    return pa.table(
        {
            "review_id": pa.array(review_id, pa.int32()),
            "model": pa.array([model] * len(review_id)),
            "latent": pa.FixedSizeListArray.from_arrays(pa.array(padded.ravel()), latent_dim),
            "x": pa.array(coordinates[:, 0]),
            "y": pa.array(coordinates[:, 1]),
            "cluster": pa.array(clusters["cluster"].to_numpy(np.int16)),
        }
    )


def attributions_table(model: str, review_id: np.ndarray, attribution_dir: Path) -> pa.Table:
    found = np.load(attribution_dir / f"{model}.npz")
    if len(found["scale"]) != len(review_id):
        raise PipelineError(f"{attribution_dir / model}.npz: does not match the reviews; run make again")
    return pa.table(
        {
            "review_id": pa.array(review_id, pa.int32()),
            "model": pa.array([model] * len(review_id)),
            "scores": pa.ListArray.from_arrays(pa.array(found["offsets"], pa.int32()), pa.array(found["values"])),
            "scale": pa.array(found["scale"]),
            "margin_review": pa.array(found["at_review"]),
            "margin_baseline": pa.array(found["at_baseline"]),
            "score_sum": pa.array(found["score_sum"]),
        }
    )


def insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | pa.Table) -> None:
    # Columns by name, so the frame's column order does not matter.
    columns = ", ".join(frame.column_names if isinstance(frame, pa.Table) else frame.columns)
    con.register("frame", frame)
    con.execute(f"insert into {table} ({columns}) select {columns} from frame")
    con.unregister("frame")


def build(out: Path, tables: dict[str, list], latent_dim: int) -> None:
    with cli.atomic_output(out) as tmp:
        con = connect_for_writing(tmp)
        try:
            con.execute(MACROS.read_text())
            con.execute(SCHEMA_SQL.read_text().replace("{{latent_dim}}", str(latent_dim)))
            for table, frames in tables.items():
                for frame in frames:
                    insert(con, table, frame)
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


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise PipelineError(f"{path}: cannot read ({e}); run make again to rebuild it") from None


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--models", required=True, type=Path, nargs="+", help="one summary JSON per model")
    p.add_argument("--predictions", required=True, type=Path, nargs="+", help="one parquet file per model")
    p.add_argument("--latent-dir", required=True, type=Path, help="folder of <model>.npy latent vectors")
    p.add_argument("--map-dir", required=True, type=Path, help="folder of <model>.npy t-SNE maps")
    p.add_argument(
        "--cluster-dir", required=True, type=Path, help="folder of <model>.parquet and <model>_words.parquet"
    )
    p.add_argument("--attribution-dir", required=True, type=Path, help="folder of <model>.npz attributions")
    p.add_argument("--metadata", required=True, type=Path)
    p.add_argument("--insights", required=True, type=Path)
    p.add_argument("--insight-reviews", required=True, type=Path)
    p.add_argument("--correlations", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)

    summaries = [read_json(path) for path in args.models]
    models, batches, epochs = model_tables(summaries)
    neural = [summary["model"] for summary in summaries if summary["kind"] == "neural"]
    latent_dim = max(summary["latent_dim"] for summary in summaries if summary["kind"] == "neural")
    reviews = reviews_table(args.reviews, args.tokens, args.metadata)
    review_id = reviews["review_id"].to_numpy()
    tables = {
        "meta": [meta_table(config, read_json(args.dataset))],
        "reviews": [reviews],
        "models": [models],
        "predictions": [pd.read_parquet(path) for path in args.predictions],
        "training_batches": [batches],
        "training_epochs": [epochs],
        "latent_space": [
            latent_space_table(model, review_id, args.latent_dir, args.map_dir, args.cluster_dir, latent_dim)
            for model in neural
        ],
        "attributions": [attributions_table(model, review_id, args.attribution_dir) for model in neural],
        "insights": [pd.read_parquet(args.insights)],
        "insight_reviews": [pd.read_parquet(args.insight_reviews)],
        "feature_correlations": [pd.read_parquet(args.correlations)],
        "cluster_words": [
            pd.read_parquet(args.cluster_dir / f"{model}_words.parquet").assign(model=model) for model in neural
        ],
    }
    build(args.out, tables, latent_dim)
    print(f"{args.out}: {out_size(args.out)}")


def out_size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MiB"


if __name__ == "__main__":
    cli.run("build_db", main)
