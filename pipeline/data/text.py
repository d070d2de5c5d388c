"""Text cleaning and tokenization (defined once, in sql/macros.sql), the vocabulary, and the encoding."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import sql_file

PAD, OOV = 0, 1
MACROS = sql_file("macros.sql")


@contextlib.contextmanager
def _texts_in_duckdb(texts: pd.Series, **columns: np.ndarray) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the macros and the table `frame`: each text, its position (`row`) and `columns`. An Arrow
    table, which DuckDB scans on every core (a frame of Python strings it scans on one)."""
    with duckdb.connect() as con:
        con.execute(MACROS.read_text())
        frame = {"row": np.arange(len(texts), dtype=np.int64), "text": pa.array(texts, pa.string()), **columns}
        con.register("frame", pa.table(frame))
        yield con


def _apply(macro: str, texts: pd.Series) -> list:
    with _texts_in_duckdb(texts) as con:
        return [row[0] for row in con.execute(f"select {macro}(text) from frame order by row").fetchall()]


@dataclass
class TokenCodes:
    """Texts' tokens as integer codes: each text's number of tokens, every token one text after the other as a code,
    and the distinct tokens the codes stand for."""

    lengths: np.ndarray
    codes: np.ndarray
    words: np.ndarray  # of str

    def part(self, rows: slice) -> TokenCodes:
        """The tokens of a range of the texts."""
        ends = np.cumsum(self.lengths)
        start, stop, _ = rows.indices(len(self.lengths))
        first = ends[start - 1] if start else 0
        return TokenCodes(self.lengths[rows], self.codes[first : ends[stop - 1] if stop else 0], self.words)

    def lists(self) -> list[list[str]]:
        """Each text's tokens as strings, as tokenize_all gives them."""
        words = self.words[self.codes].tolist()
        ends = np.cumsum(self.lengths)
        return [words[end - length : end] for end, length in zip(ends, self.lengths, strict=True)]

    def counts(self, counted: np.ndarray) -> Counter:
        """How often each word occurs in the texts where `counted` is true."""
        found = np.bincount(self.codes[np.repeat(counted, self.lengths)], minlength=len(self.words))
        return Counter({str(self.words[code]): int(found[code]) for code in np.flatnonzero(found)})

    def encoded(self, vocabulary: list[str], sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
        """The token ids (of `vocabulary`, whose first two are padding and out-of-vocabulary), padded or cut to
        `sequence_length` (a long text keeps its start), and each text's count of tokens outside the vocabulary, of
        the whole text. Keeping the end instead made no difference to accuracy (measured on the full data)."""
        index = {word: i for i, word in enumerate(vocabulary[2:], start=2)}
        ids = np.array([index.get(str(word), OOV) for word in self.words], dtype=np.int32)[self.codes]
        row = np.repeat(np.arange(len(self.lengths)), self.lengths)
        position = np.arange(len(self.codes)) - np.repeat(np.cumsum(self.lengths) - self.lengths, self.lengths)
        kept = position < sequence_length
        sequences = np.zeros((len(self.lengths), sequence_length), dtype=np.int32)
        sequences[row[kept], position[kept]] = ids[kept]
        return sequences, np.bincount(row[ids == OOV], minlength=len(self.lengths)).astype(np.int32)


def token_codes(texts: pd.Series) -> TokenCodes:
    """Every text's tokens (the tokens() macro), tokenized by DuckDB and encoded by Arrow: no token becomes a Python
    string but the distinct ones."""
    with _texts_in_duckdb(texts) as con:
        lists = con.sql("select tokens(text) as words from frame order by row").to_arrow_table()["words"]
    lists = lists.combine_chunks()
    encoded = pc.list_flatten(lists).dictionary_encode()
    return TokenCodes(
        lengths=pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int32),
        codes=encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32),
        words=encoded.dictionary.to_numpy(zero_copy_only=False),
    )


def tokenize_all(texts: pd.Series) -> list[list[str]]:
    """Every text's tokens, by the tokens() macro of sql/macros.sql: the one definition of cleaning,
    which the database keeps too."""
    return _apply("tokens", texts)


def clean_all(texts: pd.Series) -> list[str]:
    """Every text cleaned (lowercase, no markup or punctuation), its tokens joined by single spaces."""
    return _apply("clean_text", texts)


def word_counts(texts: pd.Series, words: dict[str, frozenset[str]]) -> dict[str, np.ndarray]:
    """For each named set of words, how many of each text's tokens (the tokens() macro) are in it; counted by DuckDB,
    so no text's tokens are ever Python objects."""
    with _texts_in_duckdb(texts) as con:
        counts = ", ".join(
            f"len(list_filter(tokens(text), lambda t: list_contains(${name}, t)))::integer as {name}" for name in words
        )
        params = {name: sorted(found) for name, found in words.items()}
        found = con.execute(f"select {counts} from frame order by row", params).fetchnumpy()
    return {name: found[name].astype(np.int32) for name in words}


def clean_hashes(texts: pd.Series) -> np.ndarray:
    """A 64-bit hash of every text cleaned: equal cleaned texts have equal hashes."""
    with _texts_in_duckdb(texts) as con:
        return con.execute("select hash(clean_text(text)) as h from frame order by row").fetchnumpy()["h"]


def build_vocabulary(counts: Counter, max_features: int) -> list[str]:
    """The most frequent words (`counts`: each word's count in the training texts), ties broken alphabetically;
    index 0 is padding and 1 out-of-vocabulary."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ["[PAD]", "[OOV]"] + [word for word, _ in ranked[: max_features - 2]]
