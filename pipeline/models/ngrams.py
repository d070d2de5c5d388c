"""The baseline's features: TF-IDF of words and word n-grams, counted on integer codes of the tokens, so that only the
features themselves ever become Python strings. The vocabulary and the matrix are those of scikit-learn's
TfidfVectorizer(token_pattern=r"\\S+", ngram_range=(1, n), min_df=2, max_features=m, sublinear_tf=True) on the
cleaned texts joined by spaces (tests/models/test_baseline.py holds them equal), and scikit-learn's TfidfTransformer
weighs the counts: what changes is the speed, some five times at 50,000 texts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer

from pipeline.data.text import TokenCodes

MIN_DF = 2  # texts a feature must occur in, as TfidfVectorizer's min_df


@dataclass
class Occurrences:
    """Every occurrence of a feature in some texts: its first token (a position among all the texts' tokens, one text
    after the other), its number of tokens, its feature (column) and its entry in the matrix's data."""

    starts: np.ndarray
    n: np.ndarray
    columns: np.ndarray
    entries: np.ndarray


def grouped(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values (sorted), the place of each value among them, and how often each occurs: what
    np.unique(return_inverse=True, return_counts=True) gives, several times faster on millions of integers."""
    order = np.argsort(values)
    ordered = values[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]] if len(values) else np.zeros(0, bool)
    inverse = np.empty(len(values), np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse, np.diff(np.r_[np.flatnonzero(first), len(values)])


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted, by a sort: np.unique's hash table is many times slower on millions of integers."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def lowered(tokens: TokenCodes) -> TokenCodes:
    """The tokens lowercased as Python lowercases them (TfidfVectorizer's lowercase=True): words that become equal
    share a code."""
    words, merged = np.unique(np.array([word.lower() for word in tokens.words], dtype=object), return_inverse=True)
    return TokenCodes(tokens.lengths, merged[tokens.codes], words)


def ngrams(codes: np.ndarray, lengths: np.ndarray, n: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Every n-gram within a text: its key (its codes as the digits of a number in `base`) and its first token (32-bit
    where the positions fit, as they do for any part of the texts the pipeline holds at once)."""
    inside = np.ones(len(codes), bool)
    ends = np.cumsum(lengths)
    for back in range(1, n):  # the last n - 1 tokens of a text start no n-gram
        inside[(ends - back)[lengths >= back]] = False
    starts = np.flatnonzero(inside).astype(np.int32 if len(codes) < 2**31 else np.int64)
    del inside
    keys = codes[starts].astype(np.int64)
    for j in range(1, n):
        keys *= base
        keys += codes[starts + j]
    return keys, starts


def spelled(keys: np.ndarray, n: int, words: np.ndarray) -> list[str]:
    """The n-grams of these keys as TfidfVectorizer names them: their words joined by single spaces."""
    parts = []
    for _ in range(n):
        parts.append(words[keys % len(words)])
        keys = keys // len(words)
    return [" ".join(gram) for gram in zip(*reversed(parts), strict=True)]


class NgramFeatures:
    """The vocabulary of word n-grams (1 to `ngram_max` words) and their TF-IDF weighting, fitted on some texts."""

    def __init__(self, ngram_max: int, max_features: int) -> None:
        self.ngram_max, self.max_features = ngram_max, max_features

    def fit(self, tokens: TokenCodes) -> sparse.csr_matrix:
        """Fit on these texts; return their features."""
        tokens = lowered(tokens)
        texts = len(tokens.lengths)
        rows = np.repeat(np.arange(texts, dtype=np.int32), tokens.lengths)
        # Every n-gram that occurs in two texts or more is a candidate: its name, its count, and where it occurs.
        names, totals, found = [], [], []
        for n in range(1, self.ngram_max + 1):
            keys, starts = ngrams(tokens.codes, tokens.lengths, n, len(tokens.words))
            candidates, inverse, counts = grouped(keys)
            del keys
            in_text = inverse * texts
            in_text += rows[starts]
            documents = np.bincount(distinct(in_text) // texts, minlength=len(candidates))
            del in_text
            kept = np.flatnonzero(documents >= MIN_DF)
            names += spelled(candidates[kept], n, tokens.words)
            totals.append(counts[kept])
            found.append((starts, inverse.astype(np.int32) if len(candidates) < 2**31 else inverse, kept))
        # TfidfVectorizer orders its features by name, then keeps the most frequent, ties as NumPy's sort leaves them.
        by_name = np.argsort(np.array(names, dtype=object), kind="stable")
        frequencies = np.concatenate(totals)[by_name].astype(np.float32)
        if len(by_name) > self.max_features:
            by_name = by_name[np.sort((-frequencies).argsort()[: self.max_features])]
        column_of = np.full(len(names), -1, np.int64)
        column_of[by_name] = np.arange(len(by_name))
        self._vocabulary([names[i] for i in by_name])
        # The counts: each kept occurrence a one in its text's row and its feature's column, summed by SciPy.
        offset, at_rows, at_columns = 0, [], []
        for starts, inverse, kept in found:
            columns = np.full(inverse.max(initial=-1) + 1, -1, np.int32)
            columns[kept] = column_of[offset : offset + len(kept)]
            offset += len(kept)
            columns = columns[inverse]
            hit = columns >= 0
            at_rows.append(rows[starts[hit]])
            at_columns.append(columns[hit])
        del found, rows
        at_rows, at_columns = np.concatenate(at_rows), np.concatenate(at_columns)
        ones = np.ones(len(at_rows), np.float32)
        counted = sparse.coo_matrix((ones, (at_rows, at_columns)), shape=(texts, len(self.names))).tocsr()
        counted.sum_duplicates()
        self.transformer = TfidfTransformer(sublinear_tf=True).fit(counted)
        return self.transformer.transform(counted)

    def _vocabulary(self, names: list[str]) -> None:
        """The features in their columns' order, and how to find them in other texts: the codes of their words, a
        column per word for the words, and the sorted keys of the longer n-grams with their columns."""
        self.names = names
        self.words = np.unique(np.array([word for name in names for word in name.split(" ")], dtype=object))
        self.word_code = {word: code for code, word in enumerate(self.words)}
        self.single = np.full(len(self.words), -1, np.int64)
        keys: dict[int, list[tuple[int, int]]] = {}
        for column, name in enumerate(names):
            codes = [self.word_code[word] for word in name.split(" ")]
            if len(codes) == 1:
                self.single[codes[0]] = column
                continue
            key = 0
            for code in codes:
                key = key * len(self.words) + code
            keys.setdefault(len(codes), []).append((key, column))
        self.keys = {
            n: tuple(np.array(values, np.int64) for values in zip(*sorted(found), strict=True))
            for n, found in keys.items()
        }

    def _matrix(self, lengths: np.ndarray, *parts: tuple) -> tuple[sparse.csr_matrix, Occurrences]:
        """The count of each feature in each text, from the occurrences of each n (first token, n, column), as a
        canonical CSR matrix; and the occurrences with their entries in it."""
        starts, n, columns = (np.concatenate(values) for values in zip(*parts, strict=True))
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)[starts]
        width = len(self.names)
        pairs, entries, counts = grouped(rows * width + columns)
        indptr = np.r_[0, np.cumsum(np.bincount(pairs // width, minlength=len(lengths)))]
        counted = sparse.csr_matrix(
            (counts.astype(np.float32), (pairs % width).astype(np.int32), indptr), shape=(len(lengths), width)
        )
        return counted, Occurrences(starts, n, columns, entries)

    def transform(self, tokens: TokenCodes) -> tuple[sparse.csr_matrix, Occurrences, np.ndarray]:
        """These texts' features, every occurrence of a feature in them, and how many times each entry occurs."""
        tokens = lowered(tokens)
        codes = np.array([self.word_code.get(word, -1) for word in tokens.words], dtype=np.int64)[tokens.codes]
        known = codes >= 0
        singles = np.flatnonzero(known)
        columns = self.single[codes[singles]]
        parts = [(singles[columns >= 0], np.ones((columns >= 0).sum(), np.int64), columns[columns >= 0])]
        for n, (keys, found) in self.keys.items():
            grams, starts = ngrams(np.maximum(codes, 0), tokens.lengths, n, len(self.words))
            inside = np.ones(len(starts), bool)
            for j in range(n):
                inside &= known[starts + j]
            grams, starts = grams[inside], starts[inside]
            at = np.minimum(np.searchsorted(keys, grams), len(keys) - 1)
            hit = keys[at] == grams
            parts.append((starts[hit], np.full(hit.sum(), n), found[at[hit]]))
        counted, occurrences = self._matrix(tokens.lengths, *parts)
        return self.transformer.transform(counted), occurrences, counted.data
