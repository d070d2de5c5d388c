"""Read the data into one table of labelled texts: the IMDB tarball, or a file of the user's own.

    python -m pipeline ingest --data tickets.csv --out build/texts.parquet --dataset-info build/dataset.json

Every text gets a text_id (the file's order), its split (from the data, or a seeded stratified split made
here once), its subset (train, validation, test: the validation hold-out comes from the train split) and its
label; the label set is read from the data. Any other column comes along as metadata.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import artifacts, cli
from pipeline.config import file_sha256, load_config
from pipeline.data import imdb
from pipeline.data.rows import check_rows, read_table
from pipeline.errors import PipelineError

MAX_CATEGORIES = 50  # a text or true/false column with at most this many values is a category


def read_data(path: Path, settings: dict) -> tuple[pd.DataFrame, str]:
    """The texts of the data file and its kind (imdb or table), in the file's order."""
    if imdb.is_tarball(path):
        texts = imdb.read_reviews(path, settings["reviews_per_folder"])
        return imdb.sample(texts, settings["sample_per_folder"]), "imdb"
    frame = read_table(path, settings)
    check_rows(frame, path)
    return frame, "table"


def label_set(labels: pd.Series) -> list[str]:
    """The classes, in the order of the models' outputs: by number when every label is a whole number."""
    values = sorted(set(labels))
    if all(value.lstrip("-").isdigit() for value in values):
        return sorted(values, key=int)
    return values


def stratified_split(labels: pd.Series, classes: list[str], test_fraction: float, seed: int) -> np.ndarray:
    """'test' for a seeded `test_fraction` of each class, 'train' for the rest."""
    rng = np.random.default_rng([seed, 1])  # a stream of its own: the validation hold-out's stays as it was
    split = np.full(len(labels), "train", dtype=object)
    for label in classes:
        rows = np.flatnonzero(labels.to_numpy() == label)
        split[rng.choice(rows, size=round(len(rows) * test_fraction), replace=False)] = "test"
    return split


def assign_subsets(split: pd.Series, labels: pd.Series, classes: list[str], fraction: float, seed: int) -> np.ndarray:
    """The split as it is, with a stratified validation hold-out cut from train unless the data has one."""
    subset = split.to_numpy().astype(object)
    if (subset == "validation").any():
        return subset
    rng = np.random.default_rng(seed)
    for label in classes:
        rows = np.flatnonzero((subset == "train") & (labels.to_numpy() == label))
        subset[rng.choice(rows, size=round(len(rows) * fraction), replace=False)] = "validation"
    return subset


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """Each extra column of the data: numeric (a feature), category (few values) or text (kept, not analysed)."""
    kinds = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            kinds[name] = "numeric"
        elif values.nunique(dropna=True) <= MAX_CATEGORIES:
            kinds[name] = "category"
        else:
            kinds[name] = "text"
    return kinds


def ingest(path: Path, config: dict) -> tuple[pd.DataFrame, artifacts.DatasetInfo]:
    settings = config["data"]
    frame, kind = read_data(path, settings)
    classes = label_set(frame["label"])
    if "split" in frame.columns:
        split_source = "given"
    else:
        frame["split"] = stratified_split(frame["label"], classes, settings["test_fraction"], config["seed"])
        split_source = "made"
    if "source_id" not in frame.columns:
        frame["source_id"] = None
    subset = assign_subsets(frame["split"], frame["label"], classes, settings["validation_fraction"], config["seed"])
    core = ["source_id", "split", "label", "text"]
    extra = [name for name in frame.columns if name not in core]
    texts = pd.concat(
        [
            pd.DataFrame({"text_id": np.arange(len(frame), dtype=np.int32)}),
            frame[core[:2]].reset_index(drop=True),
            pd.DataFrame({"subset": subset}),
            frame[core[2:] + extra].reset_index(drop=True),
        ],
        axis=1,
    )
    texts.attrs["dropped_rows"] = frame.attrs.get("dropped_rows", 0)
    if not (texts["subset"] == "test").any():
        raise PipelineError(f"{path}: no text is in the test split; add test rows, or leave out the split column")
    info = artifacts.DatasetInfo(
        file=path.name,
        sha256=file_sha256(path),
        kind=kind,
        labels=classes,
        split_source=split_source,
        columns=column_kinds(frame[extra]),
        rows=len(texts),
    )
    return texts, info


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--data", required=True, type=Path, help="the IMDB tarball, or a .csv, .tsv, .parquet, .jsonl")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path, help="JSON with the file's checksum and label set")
    args = p.parse_args()
    texts, info = ingest(args.data, load_config(args.config))
    artifacts.write_dataset(args.out, args.dataset_info, texts, info)
    print(f"{args.out}: {len(texts):,} texts, {len(info.labels)} classes ({', '.join(info.labels[:10])})")
    if dropped := texts.attrs.get("dropped_rows"):
        print(f"{args.data}: skipped {dropped:,} rows without a text or a label (drop_missing = true)")
