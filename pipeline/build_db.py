"""Write every result into one DuckDB file, built aside and renamed into place only when complete.

    python -m pipeline.build_db --reviews build/reviews.parquet --tokens build/tokens.npz \
        --dataset build/dataset.json --models build/models/dense.json ... \
        --predictions build/predictions/dense.parquet ... --out build/reviewlens.duckdb
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline import cli
from pipeline.config import SCHEMA_SQL, SCHEMA_VERSION, SEED_FIGURES, config_digest, load_config
from pipeline.errors import PipelineError

# DuckDB 2.0 writes a storage format that 1.x cannot read; the v1.0.0 format opens in both.
STORAGE_VERSION = "v1.0.0"
LIBRARIES = ("duckdb", "keras", "tensorflow-cpu", "scikit-learn", "numpy", "pandas")


def connect_for_writing(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION})


def reviews_table(reviews_path: Path, tokens_path: Path) -> pd.DataFrame:
    reviews = pd.read_parquet(reviews_path)
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
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
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
                "seed_accuracy": seed_accuracy,
                "seed_loss": seed_loss,
            }
        )
        for step, row in enumerate(summary.get("batches", []), start=1):
            batches.append({"model": name, "step": step, **row})
        epochs.extend({"model": name, **row} for row in summary.get("epochs", []))
    return pd.DataFrame(models), pd.DataFrame(batches), pd.DataFrame(epochs)


def insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    # Columns by name, so the frame's column order does not matter.
    columns = ", ".join(frame.columns)
    con.register("frame", frame)
    con.execute(f"insert into {table} ({columns}) select {columns} from frame")
    con.unregister("frame")


def build(out: Path, tables: dict[str, pd.DataFrame]) -> None:
    with cli.atomic_output(out) as tmp:
        con = connect_for_writing(tmp)
        try:
            con.execute(SCHEMA_SQL.read_text())
            for table, frame in tables.items():
                insert(con, table, frame)
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
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)

    models, batches, epochs = model_tables([read_json(path) for path in args.models])
    tables = {
        "meta": meta_table(config, read_json(args.dataset)),
        "reviews": reviews_table(args.reviews, args.tokens),
        "models": models,
        "predictions": pd.concat([pd.read_parquet(path) for path in args.predictions], ignore_index=True),
        "training_batches": batches,
        "training_epochs": epochs,
    }
    build(args.out, tables)
    print(f"{args.out}: {out_size(args.out)}")


def out_size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MiB"


if __name__ == "__main__":
    cli.run("build_db", main)
