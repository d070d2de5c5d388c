"""Data sets of N texts made from the IMDB reviews, for `make bench-scale`: each text takes the number of sentences
of a randomly chosen real review of its split and label, then that many sentences drawn from the reviews of the same
split and label, all distinct. Half the texts are train and half test, each half balanced between negative and
positive, as in IMDB. Columns id, text, label, split: the defaults of [data].
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import cli
from pipeline.config import load_config
from pipeline.data import imdb
from pipeline.errors import PipelineError

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")  # a sentence ends at . ! or ? followed by whitespace
SPLITS = ("train", "test")
LABELS = tuple(imdb.FOLDERS.values())  # negative, positive: as pipeline.data.ingest names IMDB's labels
MAX_ROUNDS = 50  # redraws of duplicate texts before giving up
BATCH = 50_000  # texts drawn at a time: their sentences are gathered before being joined
ROW_GROUP = 100_000  # rows per Parquet row group: every text chunk stays far below Arrow's 2 GiB string limit
TEXT = pa.large_string()


def split_sentences(text: str) -> list[str]:
    """A text's sentences, as the generator cuts them (<br /> tags stay inside them, as they are)."""
    return [piece for piece in SENTENCE_END.split(text.strip()) if piece]


def _sentences(texts: pa.Array) -> pa.ListArray:
    """split_sentences of every text, in Arrow: RE2 has no look-behind, so each end is marked, then split on."""
    marked = pc.replace_substring_regex(pc.utf8_trim_whitespace(texts), r"([.!?])\s+", "\\1\x00")
    return pc.split_pattern(marked, "\x00")


def _group_sizes(n: int) -> dict[tuple[str, str], int]:
    """n texts shared out as evenly as possible: half train, half test, each half balanced between the labels."""
    sizes = {}
    for i, split in enumerate(SPLITS):
        half = n // 2 + (n % 2 if i == 0 else 0)
        for j, label in enumerate(LABELS):
            sizes[(split, label)] = half // 2 + (half % 2 if j == 0 else 0)
    return sizes


class _Source:
    """The sentences of the reviews of one split and label, and how many sentences each of those reviews has."""

    def __init__(self, texts: pa.Array):
        lists = _sentences(texts)
        self.lengths = np.maximum(pc.list_value_length(lists).to_numpy(zero_copy_only=False), 1)
        pool = pc.list_flatten(lists)
        self.pool = pool.filter(pc.not_equal(pc.utf8_length(pool), 0)).cast(TEXT)
        if len(self.pool) == 0:
            raise PipelineError("the reviews hold no sentences to recombine; pass the IMDB tarball with --data")

    def draw(self, rng: np.random.Generator, count: int) -> pa.Array:
        """`count` new texts: each a real review's number of sentences, drawn with replacement from the pool."""
        k = self.lengths[rng.integers(0, len(self.lengths), size=count)]
        offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(k, out=offsets[1:])
        taken = self.pool.take(pa.array(rng.integers(0, len(self.pool), size=int(offsets[-1]))))
        return pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), taken), pa.scalar(" ", TEXT))


def duplicates(texts: pa.ChunkedArray) -> np.ndarray:
    """True for each text whose 64-bit hash an earlier text has. Texts with distinct hashes are distinct, so no
    flag at all proves every text distinct (a hash collision of two different texts is flagged too: redrawn)."""
    import duckdb

    with duckdb.connect() as con:
        con.register("texts", pa.table({"row": np.arange(len(texts)), "text": texts}))
        found = con.execute("select row, hash(text) as h from texts").fetchnumpy()
    hashes = np.empty(len(texts), dtype=np.uint64)
    hashes[found["row"]] = found["h"]
    order = np.argsort(hashes, kind="stable")  # equal hashes keep their order: the first of each is not flagged
    ordered = hashes[order]
    flagged = np.zeros(len(hashes), dtype=bool)
    flagged[order[1:][ordered[1:] == ordered[:-1]]] = True
    return flagged


def synthetic_texts(reviews: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """n distinct texts recombined from the sentences of `reviews` (columns text, label, split), each from the
    reviews of its own split and label: columns id, text, label, split, in the order train then test, negative then
    positive. The same reviews, n and seed give the same frame."""
    rng = np.random.default_rng(seed)
    sizes = _group_sizes(n)
    sources, chunks = [], []  # chunks: (source, texts) in row order, BATCH texts at most, so that drawing needs little
    for (split, label), count in sizes.items():
        rows = (reviews["split"] == split) & (reviews["label"] == label)
        if not rows.any():
            raise PipelineError(f"no {split} review labelled {label} to draw from; pass the IMDB tarball with --data")
        sources.append(_Source(pa.array(reviews.loc[rows, "text"], type=pa.string())))
        for start in range(0, count, BATCH):
            chunks.append((sources[-1], sources[-1].draw(rng, min(BATCH, count - start))))
    starts = np.cumsum([0, *(len(texts) for _, texts in chunks)])
    for _ in range(MAX_ROUNDS):
        flagged = duplicates(pa.chunked_array([texts for _, texts in chunks], type=TEXT))
        if not flagged.any():
            break
        for i, (source, texts) in enumerate(chunks):
            mask = flagged[starts[i] : starts[i + 1]]
            if mask.any():
                chunks[i] = (source, pc.replace_with_mask(texts, pa.array(mask), source.draw(rng, int(mask.sum()))))
    else:
        raise PipelineError(f"N={n}: the reviews do not give {n:,} distinct texts; pass the full IMDB tarball")
    labels = np.repeat([label for _, label in sizes], list(sizes.values()))
    splits = np.repeat([split for split, _ in sizes], list(sizes.values()))
    text = pa.chunked_array([texts for _, texts in chunks], type=TEXT)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "text": pd.Series(pd.arrays.ArrowExtensionArray(text)),
            "label": labels.astype(object),
            "split": splits.astype(object),
        }
    )


def write_texts(data: Path, n: int, seed: int, out: Path, config: str | None) -> pd.DataFrame:
    reviews = imdb.read_reviews(data, load_config(config)["data"]["reviews_per_folder"])
    texts = synthetic_texts(reviews, n, seed)
    with cli.atomic_output(out) as tmp:
        texts.to_parquet(tmp, index=False, row_group_size=ROW_GROUP)
    return texts
