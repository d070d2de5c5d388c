"""The baseline's TF-IDF features, counted on integer codes of the tokens: the vocabulary and the matrix are those of
scikit-learn's TfidfVectorizer on the same texts, and the attributions still add up to the change in the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.data.text import token_codes, tokenize_all
from pipeline.models.ngrams import NgramFeatures, grouped

# Words that lowercase to one another as Python lowercases them, a Greek final sigma, digits, and texts of no token.
TEXTS = [
    "The plot was great, the acting GREAT. Not great at all? Great!",
    "ΟΔΟΣ and οδος, straße and STRASSE: 2 films in 1998",
    "!!!",
    "",
    "the the the the plot plot was was",
    "I didn't like it.<br /><br />The acting was great, but the plot was weak and slow.",
]


def vectorizer(ngram_max: int, max_features: int) -> TfidfVectorizer:
    return TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, ngram_max), max_features=max_features, min_df=2,
                           sublinear_tf=True, dtype=np.float32)  # fmt: skip


@pytest.mark.parametrize(("ngram_max", "max_features"), [(1, 1000), (2, 1000), (2, 40), (3, 25)])
def test_the_features_are_tfidfvectorizers(texts_of_the_build, ngram_max, max_features):
    fitted_on, other = texts_of_the_build
    theirs = vectorizer(ngram_max, max_features)
    expected = theirs.fit_transform([" ".join(words) for words in tokenize_all(fitted_on)])
    expected_other = theirs.transform([" ".join(words) for words in tokenize_all(other)])
    ours = NgramFeatures(ngram_max, max_features)
    found = ours.fit(token_codes(fitted_on))
    found_other, _, _ = ours.transform(token_codes(other))
    assert ours.names == sorted(theirs.vocabulary_, key=theirs.vocabulary_.get)
    for mine, reference in ((found, expected), (found_other, expected_other)):
        reference = reference.copy()
        reference.sort_indices()  # scikit-learn leaves a row's columns unsorted; the values are the same
        assert np.array_equal(mine.indptr, reference.indptr) and np.array_equal(mine.indices, reference.indices)
        assert np.array_equal(mine.data, reference.data)


@pytest.fixture(scope="module")
def texts_of_the_build(build_dir) -> tuple[pd.Series, pd.Series]:
    """The generated texts' training split and all of them, with the hand-made hard cases."""
    texts = pd.read_parquet(build_dir / "texts.parquet", columns=["text", "subset"])
    extra = pd.Series(TEXTS * 2, dtype=object)
    return pd.concat([texts.loc[texts["subset"] == "train", "text"], extra]), pd.concat([texts["text"], extra])


def test_an_occurrence_knows_its_entry_in_the_matrix():
    ours = NgramFeatures(2, 100)
    ours.fit(token_codes(pd.Series(TEXTS * 2)))
    weights, found, counts = ours.transform(token_codes(pd.Series(TEXTS)))
    rows = np.repeat(np.arange(len(TEXTS)), np.diff(weights.indptr))
    assert np.array_equal(weights.indices[found.entries], found.columns)
    assert np.array_equal(np.bincount(found.entries, minlength=weights.nnz), counts)
    lengths = token_codes(pd.Series(TEXTS)).lengths
    text_of_token = np.repeat(np.arange(len(TEXTS)), lengths)
    assert np.array_equal(rows[found.entries], text_of_token[found.starts])


def test_grouped_is_numpys_unique():
    values = np.random.default_rng(0).integers(0, 50, 1000)
    for found, expected in zip(grouped(values), np.unique(values, return_inverse=True, return_counts=True),
                               strict=True):  # fmt: skip
        assert np.array_equal(found, expected)
