"""The files the pipeline's steps pass to each other: each is written and read here, and only here.

A step calls `write_x(path, ...)` for what it makes and `read_x(path)` for what it needs, so no step knows
another's keys or columns. Every write goes through a temporary file renamed into place (cli.atomic_output).
"""

from __future__ import annotations

import contextlib
import json
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import cli
from pipeline.errors import PipelineError


def _write_json(path: Path, value: Any, keep_unchanged: bool = False) -> None:
    with cli.atomic_output(path, keep_unchanged) as tmp:
        tmp.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise PipelineError(f"{path}: cannot read ({e}); run make again to rebuild it") from None


# Rows per row group of the texts' file: a step reads the texts of a part of them without reading them all.
TEXT_ROWS = 20_000


def _write_parquet(
    path: Path, frame: pd.DataFrame, row_group_size: int | None = None, keep_unchanged: bool = False
) -> None:
    with cli.atomic_output(path, keep_unchanged) as tmp:
        frame.to_parquet(tmp, index=False, row_group_size=row_group_size)


@contextlib.contextmanager
def _parquet_chunks(path: Path, schema: pa.Schema | None = None) -> Iterator[Callable[[pd.DataFrame | pa.Table], None]]:
    """A Parquet file written a chunk at a time, each chunk a row group: memory holds one chunk, not the file.
    Without `schema`, the first chunk's is every chunk's."""
    with cli.atomic_output(path) as tmp:
        writers = [pq.ParquetWriter(tmp, schema)] if schema is not None else []

        def write(chunk: pd.DataFrame | pa.Table) -> None:
            table = chunk if isinstance(chunk, pa.Table) else pa.Table.from_pandas(chunk, preserve_index=False)
            if not writers:
                writers.append(pq.ParquetWriter(tmp, table.schema))
            writers[0].write_table(table)

        try:
            yield write
        finally:
            for writer in writers:
                writer.close()
        if not writers:
            raise PipelineError(f"{path}: nothing to write")


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    with cli.atomic_output(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)


# --- the data set: build/texts.parquet and build/dataset.json -------------------------------------------


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


def write_dataset(texts_path: Path, info_path: Path, texts: pd.DataFrame, info: DatasetInfo) -> None:
    """Every text with text_id, source_id, split, subset, label, text and the data's own extra columns. Files whose
    content is the same as before are left as they were (see the Makefile's ingest stamp)."""
    _write_parquet(texts_path, texts, TEXT_ROWS, keep_unchanged=True)
    _write_json(info_path, asdict(info), keep_unchanged=True)


def read_texts(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(path, columns=columns)


def read_text_rows(path: Path, rows: slice | np.ndarray) -> np.ndarray:
    """The texts of `rows` (a slice of text_id order, read from the row groups that hold them only; or row numbers,
    taken from the column without making every text a Python string)."""
    if not isinstance(rows, slice):
        column = pq.read_table(path, columns=["text"]).column("text")
        return column.take(pa.array(np.asarray(rows, dtype=np.int64))).to_pandas().to_numpy(dtype=object)
    found = pq.ParquetFile(path)
    starts = np.cumsum([0] + [found.metadata.row_group(i).num_rows for i in range(found.num_row_groups)])
    start, stop, _ = rows.indices(int(starts[-1]))
    groups = [i for i in range(found.num_row_groups) if starts[i] < stop and starts[i + 1] > start]
    if not groups:
        return np.array([], dtype=object)
    table = found.read_row_groups(groups, columns=["text"])
    return table.column("text").slice(start - starts[groups[0]], stop - start).to_pandas().to_numpy(dtype=object)


def column_batches(path: Path, column: str, size: int) -> Iterator[pd.Series]:
    """One column of the texts, `size` rows at a time in text_id order: memory holds a batch, not the column."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=size, columns=[column]):
        yield batch.column(column).to_pandas()


def read_dataset_info(path: Path) -> DatasetInfo:
    return DatasetInfo(**read_json(path))


# --- build/tokens.npz ---------------------------------------------------------------------------------------


@dataclass
class Tokens:
    """Every text encoded for the models, in text_id order."""

    text_id: np.ndarray
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

    def part(self, rows: slice | np.ndarray) -> Tokens:
        """The texts of `rows` (a slice, or row numbers), their token ids read into memory (from the memory-mapped
        file)."""
        per_text = ("text_id", "label", "subset", "n_tokens", "n_oov")
        return Tokens(
            **{name: getattr(self, name)[rows] for name in per_text},
            sequences=np.asarray(self.sequences[rows]),
            vocabulary=self.vocabulary,
            labels=self.labels,
        )


def write_tokens(path: Path, tokens: Tokens) -> None:
    # Not asdict, which would copy every array first.
    _write_npz(path, **{name: getattr(tokens, name) for name in Tokens.__dataclass_fields__})


def read_tokens(path: Path) -> Tokens:
    """The encoded texts; the token ids are memory-mapped, so a step pages in only the rows it reads."""
    with np.load(path) as found:
        arrays = {name: found[name] for name in Tokens.__dataclass_fields__ if name != "sequences"}
    return Tokens(**arrays, sequences=_mapped_member(path, "sequences.npy"))


def _mapped_member(path: Path, member: str) -> np.ndarray:
    """An array of an .npz file (np.savez stores its members uncompressed), memory-mapped read-only."""
    with zipfile.ZipFile(path) as archive, open(path, "rb") as f:
        info = archive.getinfo(member)
        # The local header: 30 bytes, then the name and an extra field whose lengths it gives.
        f.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", f.read(4))
        f.seek(info.header_offset + 30 + name_length + extra_length)
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(f)
        offset = f.tell()
    if info.compress_type != zipfile.ZIP_STORED or 0 in shape:
        with np.load(path) as found:
            return found[member.removesuffix(".npy")]
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran_order else "C")


# --- per model: summary, predictions, latent vectors --------------------------------------------------------


@dataclass
class Dynamics:
    """A model's training dynamics (build/dynamics/<model>.npz): its probabilities of every class for each recorded
    training or validation text after each epoch."""

    text_id: np.ndarray  # the recorded texts, in text_id order
    probabilities: np.ndarray  # epochs x texts x classes, float32
    early: int  # the epochs of early learning, before the model fits the labels it cannot learn (1 to epochs)


def write_dynamics(path: Path, dynamics: Dynamics) -> None:
    probabilities = dynamics.probabilities.astype(np.float32)
    _write_npz(path, text_id=dynamics.text_id, probabilities=probabilities, early=np.array(dynamics.early))


def read_dynamics(path: Path) -> Dynamics:
    with np.load(path) as found:
        return Dynamics(found["text_id"], found["probabilities"], int(found["early"]))


def write_summary(path: Path, summary: dict) -> None:
    """A model's kind, description, parameters and training history."""
    _write_json(path, summary)


def read_summary(path: Path) -> dict:
    return read_json(path)


def write_predictions(path: Path, predictions: pd.DataFrame) -> None:
    _write_parquet(path, predictions)


def prediction_chunks(path: Path) -> contextlib.AbstractContextManager[Callable[[pd.DataFrame], None]]:
    """A model's predictions written a chunk of texts at a time (pipeline.models.predictions.prediction_table's)."""
    return _parquet_chunks(path)


def read_predictions(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def write_array(path: Path, array: np.ndarray) -> None:
    """Latent vectors or map coordinates, one row per text."""
    with cli.atomic_output(path) as tmp, tmp.open("wb") as f:
        np.save(f, array)


@contextlib.contextmanager
def array_chunks(path: Path, rows: int) -> Iterator[Callable[[slice, np.ndarray], None]]:
    """An array of `rows` rows (latent vectors, map coordinates) written a chunk of rows at a time into a
    memory-mapped .npy file; its width and type are the first chunk's."""
    with cli.atomic_output(path) as tmp:
        arrays: list[np.memmap] = []

        def write(where: slice, values: np.ndarray) -> None:
            if not arrays:
                shape = (rows, *values.shape[1:])
                arrays.append(np.lib.format.open_memmap(tmp, mode="w+", dtype=values.dtype, shape=shape))
            arrays[0][where] = values

        yield write
        if not arrays:
            raise PipelineError(f"{path}: nothing to write")
        arrays[0].flush()
        del arrays[:]


def read_array(path: Path, mapped: bool = False) -> np.ndarray:
    """`mapped`: memory-mapped read-only, so that only the rows read are paged in."""
    return np.load(path, mmap_mode="r" if mapped else None)


# --- per model: clusters --------------------------------------------------------------------------------------


def write_clusters(path: Path, words_path: Path, clusters: pd.DataFrame, words: pd.DataFrame) -> None:
    _write_parquet(path, clusters)
    _write_parquet(words_path, words)


def read_clusters(path: Path) -> pd.DataFrame:
    """text_id and cluster."""
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
    at_text: np.ndarray  # texts x k: the target at the text
    at_baseline: np.ndarray  # texts x k: the target at the all-zero embedding

    def by_class(self, row: int) -> np.ndarray:
        """Text `row`'s scores, tokens x every class (class 0's are minus the sum of the others')."""
        k = self.at_text.shape[1]
        start, end = self.offsets[row], self.offsets[row + 1]
        stored = self.values[start * k : end * k].reshape(-1, k) * self.scale[row]
        return np.concatenate([-stored.sum(axis=1, keepdims=True), stored], axis=1)

    @classmethod
    def none(cls, texts: int, k: int) -> Attributions:
        """For a model analysed without attributions: no scores at all."""
        zeros = np.zeros((texts, k), dtype=np.float32)
        return cls(np.zeros(0, np.int8), np.zeros(texts + 1, np.int64), np.ones(texts, np.float32), zeros, zeros, zeros)


def _float_rows(matrix: np.ndarray) -> pa.Array:
    """A texts x k matrix as one list of k floats per text."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    offsets = np.arange(len(matrix) + 1, dtype=np.int32) * matrix.shape[1]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix.ravel()))


ATTRIBUTION_SCHEMA = pa.schema(
    [
        ("text_id", pa.int32()),
        ("scores", pa.list_(pa.int8())),
        ("scale", pa.float32()),
        ("target_text", pa.list_(pa.float32())),
        ("target_baseline", pa.list_(pa.float32())),
        ("score_sum", pa.list_(pa.float32())),
    ]
)


@contextlib.contextmanager
def attribution_chunks(path: Path) -> Iterator[Callable[[np.ndarray, Attributions], None]]:
    """A model's attributions written a chunk of texts at a time: write(text_id, attributions of those texts).
    A Parquet file with the columns of the database's attributions table, but the model."""
    with _parquet_chunks(path, ATTRIBUTION_SCHEMA) as write_table:

        def write(text_id: np.ndarray, found: Attributions) -> None:
            k = found.at_text.shape[1]
            scores = pa.ListArray.from_arrays(
                pa.array((found.offsets * k).astype(np.int32)), pa.array(found.values, pa.int8())
            )
            columns = [pa.array(text_id, pa.int32()), scores, pa.array(found.scale, pa.float32())]
            columns += [_float_rows(m) for m in (found.at_text, found.at_baseline, found.score_sum)]
            write_table(pa.Table.from_arrays(columns, schema=ATTRIBUTION_SCHEMA))

        yield write


def write_attributions(path: Path, text_id: np.ndarray, attributions: Attributions) -> None:
    with attribution_chunks(path) as write:
        write(text_id, attributions)


def read_attributions(path: Path) -> Attributions:
    table = pq.read_table(path)
    n = table.num_rows

    def matrix(column: str) -> np.ndarray:
        values = pc.list_flatten(table[column]).to_numpy()
        return values.astype(np.float32).reshape(n, len(values) // n if n else 0)

    at_text = matrix("target_text")
    k = max(at_text.shape[1], 1)
    lengths = pc.list_value_length(table["scores"]).to_numpy(zero_copy_only=False) // k
    return Attributions(
        values=pc.list_flatten(table["scores"]).to_numpy(zero_copy_only=False).astype(np.int8),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        scale=table["scale"].to_numpy(),
        score_sum=matrix("score_sum"),
        at_text=at_text,
        at_baseline=matrix("target_baseline"),
    )


# --- metadata, insights, correlations -------------------------------------------------------------------------


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """A step's table: metadata, insights and their texts, correlations."""
    _write_parquet(path, frame)


def read_table(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)
