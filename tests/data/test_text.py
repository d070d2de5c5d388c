"""Cleaning, tokenization and encoding on hand-made texts."""

from collections import Counter

import numpy as np
import pandas as pd

from pipeline.data.text import OOV, PAD, build_vocabulary, clean_all, token_codes, tokenize_all


def tokenize(text: str) -> list[str]:
    return tokenize_all(pd.Series([text]))[0]


def encode(token_lists: list[list[str]], vocabulary: list[str], sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
    """The encoding, one text at a time: each token's id (OOV outside the vocabulary), the ids padded with 0 or cut
    to the sequence length, and each text's count of tokens outside the vocabulary."""
    index = {word: i for i, word in enumerate(vocabulary)}
    sequences = np.zeros((len(token_lists), sequence_length), dtype=np.int32)
    oov = np.zeros(len(token_lists), dtype=np.int32)
    for row, tokens in enumerate(token_lists):
        ids = [index.get(word, OOV) for word in tokens]
        oov[row] = ids.count(OOV)
        sequences[row, : min(len(ids), sequence_length)] = ids[:sequence_length]
    return sequences, oov


def test_clean_strips_html_punctuation_and_case():
    assert tokenize("Great film!<br /><br />The END... (really)") == ["great", "film", "the", "end", "really"]


def test_apostrophes_join_words_and_other_punctuation_splits_them():
    assert tokenize("Don't miss it: well-made, 10/10 ½ snake_case") == [
        "dont", "miss", "it", "well", "made", "10", "10", "½", "snake", "case",
    ]  # fmt: skip


def test_letters_of_any_alphabet_are_kept():
    assert tokenize("Amélie, Léon & Ørsted — Кино!") == ["amélie", "léon", "ørsted", "кино"]


def test_empty_and_markup_only_texts_have_no_tokens():
    assert tokenize_all(pd.Series(["", "<br /><br />", "..."])) == [[], [], []]


def test_clean_keeps_no_markup_and_single_spaces():
    assert clean_all(pd.Series(["<i>Italic</i>  and <a href='x'>a   link</a>"])) == ["italic and a link"]


def test_vocabulary_orders_by_frequency_then_alphabet_after_reserved_ids():
    vocabulary = build_vocabulary(Counter(["b", "a", "c", "b", "a", "b"]), max_features=4)
    assert vocabulary == ["[PAD]", "[OOV]", "b", "a"]


def test_encode_pads_truncates_and_counts_oov():
    vocabulary = ["[PAD]", "[OOV]", "good", "film"]
    texts = pd.Series(["Good film, zzz!", "good qqq film; GOOD www"], dtype=object)
    sequences, oov = token_codes(texts).encoded(vocabulary, 4)
    assert sequences.tolist() == [[2, 3, OOV, PAD], [2, OOV, 3, 2]]
    # OOV counts the whole text, also the part cut off by truncation.
    assert oov.tolist() == [1, 2]
    assert sequences.dtype == np.int32


def test_word_counts_count_each_tokens_set_membership():
    from pipeline.data.text import word_counts

    texts = pd.Series(["I don't like it, not at all. No!", "But though, however...", ""], dtype=object)
    sets = {"negations": frozenset({"dont", "not", "no"}), "contrasts": frozenset({"but", "though"})}
    found = word_counts(texts, sets)
    assert found["negations"].tolist() == [3, 0, 0] and found["contrasts"].tolist() == [0, 2, 0]


# Texts of every kind the batched DuckDB passes must treat as the one-text-at-a-time functions do.
MIXED = pd.Series(
    ["Good film, good acting!", "", "<br /><br />", "Amélie — Кино, zzz qqq good", "film " * 30, "The END... film?"],
    dtype=object,
)


def test_duckdb_counts_and_encoding_equal_the_python_ones():
    counted = np.array([True, True, False, True, True, False])
    codes = token_codes(MIXED)
    words = tokenize_all(MIXED)
    assert codes.lengths.tolist() == [len(w) for w in words]
    assert codes.lists() == words
    assert [codes.part(slice(i, i + 1)).lists()[0] for i in range(len(MIXED))] == words
    counts = codes.counts(counted)
    assert counts == Counter(word for w, c in zip(words, counted, strict=True) if c for word in w)
    vocabulary = build_vocabulary(counts, max_features=6)
    sequences, oov = codes.encoded(vocabulary, 8)
    expected_sequences, expected_oov = encode(words, vocabulary, 8)
    np.testing.assert_array_equal(sequences, expected_sequences)
    np.testing.assert_array_equal(oov, expected_oov)
    assert sequences.dtype == oov.dtype == np.int32 and oov.tolist()[4] == 0 and sequences[4].tolist() == [2] * 8
