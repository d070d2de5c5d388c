"""The files the pipeline's steps pass to each other: each is written and read here, and only here.

A step calls `write_x(path, ...)` for what it makes and `read_x(path)` for what it needs, so no step knows
another's keys or columns. Every write goes through a temporary file renamed into place (cli.atomic_output).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import cli
from pipeline.errors import PipelineError


def _write_json(path: Path, value: Any) -> None:
    with cli.atomic_output(path) as tmp:
        tmp.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise PipelineError(f"{path}: cannot read ({e}); run make again to rebuild it") from None


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    with cli.atomic_output(path) as tmp:
        frame.to_parquet(tmp, index=False)


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    with cli.atomic_output(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)


# --- the data set: build/reviews.parquet and build/dataset.json -------------------------------------------


@dataclass
class DatasetInfo:
    """What the data file was and what it holds."""

    file: str
    sha256: str
    kind: str  # imdb (the tarball) or table (a file of the user's)
    labels: list[str]  # the label set, in the models' output order
    split_source: str  # given (a split column or the tarball's folders) or made (seeded, stratified)
    columns: dict[str, str] = field(default_factory=dict)  # extra column -> numeric, category or text
    rows: int = 0


def write_dataset(reviews_path: Path, info_path: Path, reviews: pd.DataFrame, info: DatasetInfo) -> None:
    """Every text with review_id, source_id, split, subset, label, text and the data's own extra columns."""
    _write_parquet(reviews_path, reviews)
    _write_json(info_path, asdict(info))


def read_reviews(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(path, columns=columns)


def read_dataset_info(path: Path) -> DatasetInfo:
    return DatasetInfo(**read_json(path))


# --- build/tokens.npz ---------------------------------------------------------------------------------------


@dataclass
class Tokens:
    """Every text encoded for the models, in review_id order."""

    review_id: np.ndarray
    label: np.ndarray  # index into labels
    subset: np.ndarray  # train, validation or test
    sequences: np.ndarray  # token ids, padded with 0 or cut to the sequence length
    n_tokens: np.ndarray
    n_oov: np.ndarray
    vocabulary: np.ndarray  # [PAD], [OOV], then the words by frequency
    labels: np.ndarray  # the label set

    @property
    def sequence_length(self) -> int:
        return self.sequences.shape[1]


def write_tokens(path: Path, tokens: Tokens) -> None:
    _write_npz(path, **asdict(tokens))


def read_tokens(path: Path) -> Tokens:
    with np.load(path) as found:
        return Tokens(**{name: found[name] for name in Tokens.__dataclass_fields__})


# --- per model: summary, predictions, latent vectors --------------------------------------------------------


def write_summary(path: Path, summary: dict) -> None:
    """A model's kind, description, parameters and training history."""
    _write_json(path, summary)


def read_summary(path: Path) -> dict:
    return read_json(path)


def write_predictions(path: Path, predictions: pd.DataFrame) -> None:
    _write_parquet(path, predictions)


def read_predictions(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def write_array(path: Path, array: np.ndarray) -> None:
    """Latent vectors or map coordinates, one row per text."""
    with cli.atomic_output(path) as tmp, tmp.open("wb") as f:
        np.save(f, array)


def read_array(path: Path) -> np.ndarray:
    return np.load(path)


# --- per model: clusters --------------------------------------------------------------------------------------


def write_clusters(path: Path, words_path: Path, clusters: pd.DataFrame, words: pd.DataFrame) -> None:
    _write_parquet(path, clusters)
    _write_parquet(words_path, words)


def read_clusters(path: Path) -> pd.DataFrame:
    """review_id and cluster."""
    return pd.read_parquet(path)


def read_cluster_words(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


# --- per model: attributions ----------------------------------------------------------------------------------


@dataclass
class Attributions:
    """Integrated gradients of every token of every text toward each stored class (see attributions.py).

    Ragged and quantized: text i's scores are values[offsets[i] * k : offsets[i + 1] * k] * scale[i], token by
    token, k classes per token.
    """

    values: np.ndarray  # int8
    offsets: np.ndarray  # in tokens, len(texts) + 1
    scale: np.ndarray
    score_sum: np.ndarray  # texts x k, before rounding
    at_review: np.ndarray  # texts x k: the target at the text
    at_baseline: np.ndarray  # texts x k: the target at the all-zero embedding

    def by_class(self, row: int) -> np.ndarray:
        """Text `row`'s scores, tokens x every class (class 0's are minus the sum of the others')."""
        k = self.at_review.shape[1]
        start, end = self.offsets[row], self.offsets[row + 1]
        stored = self.values[start * k : end * k].reshape(-1, k) * self.scale[row]
        return np.concatenate([-stored.sum(axis=1, keepdims=True), stored], axis=1)

    @classmethod
    def none(cls, texts: int, k: int) -> Attributions:
        """For a model analysed without attributions: no scores at all."""
        zeros = np.zeros((texts, k), dtype=np.float32)
        return cls(np.zeros(0, np.int8), np.zeros(texts + 1, np.int64), np.ones(texts, np.float32), zeros, zeros, zeros)


def write_attributions(path: Path, attributions: Attributions) -> None:
    _write_npz(path, **asdict(attributions))


def read_attributions(path: Path) -> Attributions:
    with np.load(path) as found:
        return Attributions(**{name: found[name] for name in Attributions.__dataclass_fields__})


# --- metadata, insights, correlations -------------------------------------------------------------------------


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """A step's table: metadata, insights and their reviews, correlations."""
    _write_parquet(path, frame)


def read_table(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)
