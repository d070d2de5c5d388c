"""Predictions made elsewhere (PREDICTIONS=file: an LLM prompt's, another framework's), analysed as a model.

    python -m pipeline import_predictions --model llm --texts build/texts.parquet --dataset-info build/dataset.json \
        --summary build/models/llm.json --predictions build/predictions/llm.parquet [--latent build/latent/llm.npy]

The file, in any of the data's formats, holds one row per text of the data, joined on the data's id: one probability
column per class (prob_<class>), or only the predicted class; optionally an embedding (a list of floats) per text,
for the map, the clusters and similar texts; optionally a `model` column that names what made them. What needs the
model itself (attributions, behavioural tests) is not available, and the database says why; what needs
probabilities (loss, calibration) is not available for a file of predicted classes alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import artifacts, cli, registry
from pipeline.config import load_config
from pipeline.data.formats import column_names, read_predictions_file
from pipeline.errors import PipelineError
from pipeline.models.predictions import label_table, prediction_table

SHOWN = 3  # ids or rows a message lists
TOLERANCE = 1e-3  # how far a row's probabilities may sum from 1


def inspect(path: Path, settings: dict) -> dict:
    """What the settings learn from the file itself (the registry's `inspect` of this kind): whether it has
    embeddings, which make the map, the clusters and similar texts."""
    return {"embeddings": settings["embedding_column"] in column_names(path, settings["encoding"])}


def _listed(values) -> str:
    values = [str(v) for v in values]
    return ", ".join(values[:SHOWN]) + (", ..." if len(values) > SHOWN else "")


def as_text(column: pa.ChunkedArray) -> pd.Series:
    """Ids as the data keeps them: text, whole numbers without a trailing .0."""
    if pa.types.is_floating(column.type):
        values = column.to_pandas()
        whole = values.dropna() == values.dropna().round()
        if whole.all():
            return values.astype("Int64").astype("string")
    return column.cast(pa.string()).to_pandas().astype("string").str.strip()


def joined_rows(path: Path, ids: pd.Series, source_id: pd.Series, where: str) -> np.ndarray:
    """For each text of the data (in text_id order), its row in the file; every text must have one row."""
    if source_id.isna().all():
        raise PipelineError(
            f"{path}: the data has no id column to join the predictions on; give the data one ([data] id_column) "
            "and the predictions the same ids"
        )
    repeated = ids[ids.duplicated(keep=False)]
    if len(repeated):
        raise PipelineError(f"{path}: {repeated.nunique():,} ids appear more than once ({_listed(repeated.unique())}); "
                            "give one row per text")  # fmt: skip
    position = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    unknown = ids[~ids.isin(source_id)]
    missing = source_id[~source_id.isin(ids)]
    if len(unknown) or len(missing):
        problems = []
        if len(unknown):
            problems.append(f"{len(unknown):,} ids are not in the data ({_listed(unknown)})")
        if len(missing):
            problems.append(f"{len(missing):,} texts of the data have no prediction ({_listed(missing)})")
        raise PipelineError(f"{path}: {' and '.join(problems)}; give one row per text of the data, {where}")
    return position.loc[source_id.to_numpy()].to_numpy()


def probabilities_of(path: Path, table: pa.Table, labels: list[str], settings: dict, order: np.ndarray):
    """texts x classes, in the data's label order; None when the file gives the predicted class alone."""
    prefix = settings["probability_prefix"]
    columns = {label: f"{prefix}{label}" for label in labels}
    present = [label for label, column in columns.items() if column in table.column_names]
    if not present:
        return None
    absent = [label for label in labels if label not in present]
    if absent:
        raise PipelineError(
            f"{path}: no probability column for class {absent[0]!r} (expected {columns[absent[0]]}; found "
            f"{_listed(table.column_names)}); give one column {prefix}<class> per class"
        )
    values = np.empty((len(order), len(labels)))
    for j, label in enumerate(labels):
        column = table[columns[label]]
        try:
            values[:, j] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)[order]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise PipelineError(
                f"{path}: column {columns[label]} is not numbers; give probabilities from 0 to 1"
            ) from None
    rows = order  # each text's row in the file, for the messages (1-based: the header is not a row)
    bad = np.flatnonzero(np.isnan(values).any(axis=1))
    if len(bad):
        raise PipelineError(f"{path}: row {rows[bad[0]] + 1} has no probability for a class; fill every column")
    negative = np.flatnonzero((values < 0).any(axis=1))
    if len(negative):
        i = negative[0]
        j = int(np.argmax(values[i] < 0))
        raise PipelineError(
            f"{path}: row {rows[i] + 1}: the probability of {labels[j]!r} is {values[i, j]:g}, below 0; "
            "give probabilities from 0 to 1"
        )
    sums = values.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > TOLERANCE)
    if len(off):
        i = off[0]
        raise PipelineError(
            f"{path}: row {rows[i] + 1}: the probabilities sum to {sums[i]:.4g}, not 1 ({len(off):,} rows like it); "
            "give each row's probabilities of every class, summing to 1"
        )
    return values


def embeddings_of(path: Path, column: pa.ChunkedArray, order: np.ndarray) -> np.ndarray:
    """texts x dimensions: lists of floats, or the same written as JSON text (a CSV file's)."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            lists = [json.loads(value) if value is not None else None for value in column.to_pylist()]
        except json.JSONDecodeError:
            raise PipelineError(
                f"{path}: the embedding column is not lists of numbers; write each as [0.1, 0.2, ...]"
            ) from None
        column = pa.chunked_array([pa.array(lists)])
    if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
        raise PipelineError(f"{path}: the embedding column is not lists of numbers; write each as [0.1, 0.2, ...]")
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)[order]
    if np.isnan(lengths.astype(float)).any() or len(set(lengths.tolist())) != 1 or lengths[0] == 0:
        counts = pd.Series(lengths).value_counts()
        usual = int(counts.index[0]) if len(counts) else 0
        odd = np.flatnonzero(lengths != usual)
        row = order[odd[0]] + 1 if len(odd) else 1
        raise PipelineError(
            f"{path}: embeddings of uneven lengths (row {row} has {lengths[odd[0]] if len(odd) else 0} values, most "
            f"have {usual}); give every text an embedding of the same length"
        )
    flat = pc.list_flatten(column.combine_chunks()).cast(pa.float32()).to_numpy(zero_copy_only=False)
    vectors = flat.reshape(-1, int(lengths[0]))
    return vectors[order]


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--summary", required=True, type=Path)
    p.add_argument("--predictions", required=True, type=Path)
    p.add_argument("--latent", type=Path, help="where the embeddings go, when the file has them")
    args = p.parse_args()
    spec = registry.spec(load_config(args.config), args.model)
    settings, path = spec.settings, Path(spec.settings["file"])
    labels = artifacts.read_dataset_info(args.dataset_info).labels
    texts = artifacts.read_texts(args.texts, columns=["text_id", "source_id", "label"])
    id_column = settings["id_column"]
    table = read_predictions_file(path, settings["encoding"], [id_column])
    if id_column not in table.column_names:
        raise PipelineError(
            f"{path}: no column {id_column!r} (found: {_listed(table.column_names)}); name the column of the data's "
            f'ids with id_column = "..." under [{spec.name}] in your CONFIG file'
        )
    where = f"joined on {id_column}"
    order = joined_rows(path, as_text(table[id_column]), texts["source_id"].astype("string"), where)
    label = texts["label"].astype(str).map({name: i for i, name in enumerate(labels)}).to_numpy()
    text_id = texts["text_id"].to_numpy()
    probabilities = probabilities_of(path, table, labels, settings, order)
    if probabilities is not None:
        frame = prediction_table(spec.name, text_id, label, probabilities, labels)
    elif settings["label_column"] in table.column_names:
        predicted = as_text(table[settings["label_column"]]).to_numpy()[order]
        unknown = sorted(set(predicted) - set(labels) - {None})
        if unknown or pd.isna(predicted).any():
            raise PipelineError(
                f"{path}: predicted labels that are not the data's ({_listed(unknown or ['none'])}); "
                f"give one of {', '.join(labels)} per row"
            )
        frame = label_table(spec.name, text_id, label, np.array([labels.index(p) for p in predicted]), labels)
    else:
        raise PipelineError(
            f"{path}: no probability columns ({settings['probability_prefix']}<class>) and no "
            f"{settings['label_column']!r} column; give one or the other"
        )
    named = sorted(set(table["model"].to_pylist()) - {None}) if "model" in table.column_names else []
    summary = {
        "model": spec.name,
        "kind": spec.kind,
        "architecture": None,
        "description": f"predictions from {path.name}" + (f" ({', '.join(map(str, named))})" if named else ""),
        "parameters": None,
        "no_probabilities": None if probabilities is not None else "the file gives the predicted class alone",
        "file": str(path),
        "sha256": settings["sha256"],
    }
    if args.latent is not None:
        vectors = embeddings_of(path, table[settings["embedding_column"]], order)
        artifacts.write_array(args.latent, vectors)
        summary["latent_dim"] = int(vectors.shape[1])
    artifacts.write_predictions(args.predictions, frame)
    artifacts.write_summary(args.summary, summary)
    print(
        f"{args.predictions}: {len(frame):,} predictions of {spec.name}" + (", with embeddings" if args.latent else "")
    )
