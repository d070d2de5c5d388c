"""Text cleaning and tokenization (defined once, in sql/macros.sql), the vocabulary, and the encoding."""

from __future__ import annotations

from collections import Counter

import duckdb
import numpy as np
import pandas as pd

from pipeline.config import ROOT

PAD, OOV = 0, 1
MACROS = ROOT / "sql" / "macros.sql"


def _apply(macro: str, texts: pd.Series) -> list:
    # DuckDB keeps the rows in order for a plain projection.
    with duckdb.connect() as con:
        con.execute(MACROS.read_text())
        con.register("frame", pd.DataFrame({"text": texts}))
        return [row[0] for row in con.execute(f"select {macro}(text) from frame").fetchall()]


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
    with duckdb.connect() as con:
        con.execute(MACROS.read_text())
        con.register("frame", pd.DataFrame({"text": texts.to_numpy(dtype=object)}))
        counts = ", ".join(
            f"len(list_filter(tokens(text), lambda t: list_contains(${name}, t)))::integer as {name}" for name in words
        )
        params = {name: sorted(found) for name, found in words.items()}
        found = con.execute(f"select {counts} from frame", params).fetchnumpy()
    return {name: found[name].astype(np.int32) for name in words}


def clean_hashes(texts: pd.Series) -> np.ndarray:
    """A 64-bit hash of every text cleaned: equal cleaned texts have equal hashes."""
    with duckdb.connect() as con:
        con.execute(MACROS.read_text())
        con.register("frame", pd.DataFrame({"text": texts.to_numpy(dtype=object)}))
        return con.execute("select hash(clean_text(text)) as h from frame").fetchnumpy()["h"]


def build_vocabulary(counts: Counter, max_features: int) -> list[str]:
    """The most frequent words (`counts`: each word's count in the training texts), ties broken alphabetically;
    index 0 is padding and 1 out-of-vocabulary."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ["[PAD]", "[OOV]"] + [word for word, _ in ranked[: max_features - 2]]


def encode(token_lists: list[list[str]], vocabulary: list[str], sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded or cut to `sequence_length` (a long review keeps its start), and each review's OOV count.

    Keeping the end instead made no difference to accuracy (measured on the full data).
    """
    index = {word: i for i, word in enumerate(vocabulary)}
    sequences = np.zeros((len(token_lists), sequence_length), dtype=np.int32)
    oov = np.zeros(len(token_lists), dtype=np.int32)
    for row, tokens in enumerate(token_lists):
        ids = [index.get(word, OOV) for word in tokens]
        oov[row] = ids.count(OOV)
        kept = ids[:sequence_length]
        sequences[row, : len(kept)] = kept
    return sequences, oov
