"""Text cleaning and tokenization (defined once, in sql/macros.sql), the vocabulary, and the encoding."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

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


def _with_tokens(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The table `texts`: `frame` with each text's tokens (`words`, the tokens() macro) in place of its text."""
    con.execute("create temp table texts as select * exclude (text), tokens(text) as words from frame")
    return con


def token_counts(texts: pd.Series, counted: np.ndarray) -> tuple[np.ndarray, Counter]:
    """Each text's number of tokens (the tokens() macro), and how often each word occurs in the texts where
    `counted` is true; counted by DuckDB, so no text's tokens become Python objects."""
    with _texts_in_duckdb(texts, counted=np.asarray(counted, dtype=bool)) as con:
        _with_tokens(con)
        lengths = con.execute("select row, len(words)::integer as n from texts").fetchnumpy()
        words = con.execute(
            "select word, count(*) from (select unnest(words) as word from texts where counted) group by word"
        ).fetchall()
    n_tokens = np.zeros(len(texts), dtype=np.int32)
    n_tokens[lengths["row"]] = lengths["n"]
    return n_tokens, Counter(dict(words))


def encode_texts(texts: pd.Series, vocabulary: list[str], sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
    """What encode(tokenize_all(texts), ...) gives, computed by DuckDB: each token is looked up by a join, and only
    the ids come back."""
    ids = pd.DataFrame({"word": vocabulary[2:], "id": np.arange(2, len(vocabulary), dtype=np.int32)})
    with _texts_in_duckdb(texts) as con:
        _with_tokens(con).register("vocabulary", ids)
        found = con.execute(
            """
            with positions as (select row, unnest(words) as word, unnest(range(len(words))) as position from texts)
            select row, position::integer as position, coalesce(id, $oov)::integer as id
            from positions left join vocabulary using (word)
            """,
            {"oov": OOV},
        ).fetchnumpy()
    row, position, token = (np.asarray(found[name]) for name in ("row", "position", "id"))
    sequences = np.zeros((len(texts), sequence_length), dtype=np.int32)
    kept = position < sequence_length
    sequences[row[kept], position[kept]] = token[kept]
    oov = np.bincount(row[token == OOV], minlength=len(texts)).astype(np.int32)
    return sequences, oov


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


def encode(token_lists: list[list[str]], vocabulary: list[str], sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded or cut to `sequence_length` (a long text keeps its start), and each text's OOV count.

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
