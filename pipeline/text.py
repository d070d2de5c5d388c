"""Text cleaning and tokenization, shared by the preprocessing step and the baseline."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

PAD, OOV = 0, 1
HTML_TAG = re.compile(r"<[^>]*>")
APOSTROPHE = re.compile(r"['’`]")
NOT_WORD = re.compile(r"[^\w\s]|_")


def clean(text: str) -> str:
    """Lowercase, with HTML residue (`<br />`) and punctuation turned into spaces.

    Apostrophes are dropped rather than spaced, so "don't" stays one word ("dont").
    """
    text = HTML_TAG.sub(" ", text.lower())
    return NOT_WORD.sub(" ", APOSTROPHE.sub("", text))


def tokenize(text: str) -> list[str]:
    return clean(text).split()


def build_vocabulary(token_lists: Iterable[list[str]], max_features: int) -> list[str]:
    """The most frequent words, ties broken alphabetically; index 0 is padding and 1 out-of-vocabulary."""
    counts = Counter(word for tokens in token_lists for word in tokens)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ["[PAD]", "[OOV]"] + [word for word, _ in ranked[: max_features - 2]]


def encode(
    token_lists: list[list[str]], vocabulary: list[str], sequence_length: int, keep: str = "start"
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded or cut to `sequence_length`, and each review's OOV count.

    A long review keeps its first tokens (`keep="start"`) or its last (`keep="end"`); padding always follows.
    """
    index = {word: i for i, word in enumerate(vocabulary)}
    sequences = np.zeros((len(token_lists), sequence_length), dtype=np.int32)
    oov = np.zeros(len(token_lists), dtype=np.int32)
    for row, tokens in enumerate(token_lists):
        ids = [index.get(word, OOV) for word in tokens]
        oov[row] = ids.count(OOV)
        kept = ids[:sequence_length] if keep == "start" else ids[-sequence_length:]
        sequences[row, : len(kept)] = kept
    return sequences, oov
