"""The one interface through which the pipeline analyses every model: trained here, given as a file, or the TF-IDF
baseline. A step asks a Classifier for the class probabilities and latent vectors of the texts (predict) and for
each token's attribution toward each class (attribute), and never touches Keras or scikit-learn itself: a model of
another framework is one more Classifier, which its kind's opener in pipeline/registry.py gives (`load`).

Attributions of every model follow one definition (see pipeline/per_text/attributions.py): toward classes 1 to n-1 of
the data's label set, with the class's centred logit as the target, summing to target(text) - target(baseline),
laid on the pipeline's own tokens, the words the pages show.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from pipeline import artifacts, cli, registry
from pipeline.config import load_config
from pipeline.data.text import TokenCodes, token_codes, tokenize_all
from pipeline.errors import PipelineError
from pipeline.registry import ModelSpec


class Corpus:
    """Every text, in text_id order, as each kind of model reads it; or a part of them (`part`, `parts`), which a
    step analyses one at a time so that its memory is bounded by the part, not by the data. The texts as written
    are read from the data on first use only: the models trained here never need them."""

    def __init__(self, texts: np.ndarray | Path, tokens: artifacts.Tokens, labels: list[str]) -> None:
        self._texts = texts  # as written in the data, or the texts file to read them from
        self.tokens = tokens  # the pipeline's encoding, which the models trained here read
        self.labels = labels  # the data's label set
        self.made_up = False  # other texts than the data's (of_texts): changed ones, words left out

    @classmethod
    def read(cls, texts: Path, tokens: Path) -> Corpus:
        found = artifacts.read_tokens(tokens)
        return cls(Path(texts), found, [str(label) for label in found.labels])

    def __len__(self) -> int:
        return len(self.tokens.text_id)

    @property
    def texts(self) -> np.ndarray:
        if isinstance(self._texts, Path):
            self._texts = artifacts.read_texts(self._texts, columns=["text"])["text"].to_numpy(dtype=object)
        return self._texts

    def part(self, rows: slice | np.ndarray) -> Corpus:
        """The texts of `rows` (a slice of text_id order, or row numbers), their token ids read into memory. Texts
        not read yet are read from the data for the part alone: memory holds the part's texts, not all."""
        texts = artifacts.read_text_rows(self._texts, rows) if isinstance(self._texts, Path) else self.texts[rows]
        return Corpus(texts, self.tokens.part(rows), self.labels)

    def parts(self, size: int, what: str, rows: np.ndarray | None = None) -> Iterator[tuple[slice, Corpus]]:
        """The corpus (or the texts of `rows`, in order) `size` texts at a time, with a bar that counts the texts
        done. Each part comes with its place: a slice of the corpus, or of `rows`."""
        total = len(self) if rows is None else len(rows)
        with tqdm(total=total, desc=what, unit=" texts", leave=False, mininterval=1) as bar:
            for start in range(0, total, size):
                where = slice(start, min(start + size, total))
                yield where, self.part(where if rows is None else rows[where])
                bar.update(where.stop - where.start)

    def of_texts(self, texts: list[str]) -> Corpus:
        """Other texts (e.g. the behavioural tests' changed ones), encoded as these were: same vocabulary and
        sequence length. Their labels are unknown (0)."""
        codes = token_codes(pd.Series(texts, dtype=object))
        sequences, n_oov = codes.encoded([str(w) for w in self.tokens.vocabulary], self.tokens.sequence_length)
        n = len(texts)
        tokens = artifacts.Tokens(
            text_id=np.arange(n, dtype=np.int32),
            label=np.zeros(n, dtype=np.int16),
            subset=np.full(n, "test"),
            sequences=sequences,
            n_tokens=codes.lengths,
            n_oov=n_oov,
            vocabulary=self.tokens.vocabulary,
            labels=self.tokens.labels,
        )
        corpus = Corpus(np.array(texts, dtype=object), tokens, self.labels)
        corpus.__dict__["codes"] = codes  # the cached property, already known
        corpus.made_up = True
        return corpus

    @cached_property
    def codes(self) -> TokenCodes:
        """Every text's tokens by the pipeline's own cleaning, as integer codes (for a part: a part's worth)."""
        return token_codes(pd.Series(self.texts, dtype=object))

    @cached_property
    def words(self) -> list[list[str]]:
        """Every text's tokens by the pipeline's own cleaning (the tokens() macro). For a part: a part's worth."""
        if "codes" in self.__dict__:  # known already: no need to tokenize again
            return self.codes.lists()
        return tokenize_all(pd.Series(self.texts, dtype=object))


@dataclass
class Scores:
    """Attributions of every text: scores[i] is tokens x (classes - 1), on the first tokens of text i."""

    scores: list[np.ndarray]
    at_text: np.ndarray  # texts x (classes - 1): the target at the text
    at_baseline: np.ndarray  # the same at the baseline


class Classifier:
    """A model, as the pipeline sees it."""

    name: str
    kind: str  # a kind of pipeline/registry.py: trained, keras, transformer, baseline
    # Why the model has no attributions, when it has none (the pages say it).
    no_attributions: str | None = None
    # Why it gives its predicted class alone, not probabilities (no loss, no calibration), when it does.
    no_probabilities: str | None = None
    # Model calls per text of the heat maps it made last, when they are made without gradients (occlusion).
    calls: np.ndarray | None = None

    def describe(self) -> dict:
        """kind, architecture, description and parameters, for the models table."""
        raise NotImplementedError

    def predict(self, corpus: Corpus) -> tuple[np.ndarray, np.ndarray | None]:
        """Every class's probability (texts x classes, in the data's label order) and the latent vectors, if any. A
        model of predicted classes alone (no_probabilities) gives 1 for its class and 0 for the others."""
        raise NotImplementedError

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        raise NotImplementedError


def align(ours: list[str], theirs: list[str], scores: np.ndarray) -> np.ndarray:
    """A model's scores on its own tokens (theirs: one row of `scores` each) laid on the pipeline's tokens (ours):
    matching tokens carry their scores over; a run of tokens that differ shares its scores evenly; a token of
    theirs with no counterpart gives its score to the token before. Sums are kept, so completeness holds.
    Returns a row per token of ours up to the last one the model read."""
    if theirs == ours[: len(theirs)]:
        return scores
    laid = np.zeros((len(ours), scores.shape[1]), dtype=np.float32)
    if not ours:
        return laid
    last = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ours, theirs, autojunk=False).get_opcodes():
        if op == "equal":
            laid[i1:i2] += scores[j1:j2]
        elif op == "replace":
            laid[i1:i2] += scores[j1:j2].sum(axis=0) / (i2 - i1)
        elif op == "insert":
            laid[max(i1 - 1, 0)] += scores[j1:j2].sum(axis=0)
        if op != "delete":
            last = max(last, i2, 1)
    return laid[:last]


def load(spec: ModelSpec, path: Path, corpus: Corpus) -> Classifier:
    """The Classifier of a model that can be run, opened from its file by its kind's opener."""
    kind = registry.kind(spec.kind)
    if not kind.runnable:
        raise PipelineError(f"model {spec.name}: {kind.why_not_run}")
    return registry.call(kind.opener, spec, path, corpus)


def parser(description: str) -> argparse.ArgumentParser:
    """The arguments of a step that analyses one model: its name and file, and the texts."""
    p = cli.parser(description)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--weights", required=True, type=Path, help="the model's file (.keras, .pkl) or checkpoint folder")
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    return p


def opened(args: argparse.Namespace) -> tuple[dict, ModelSpec, Corpus, Classifier]:
    """The settings, the model's entry, the texts, and the model behind the interface, from those arguments."""
    config = load_config(args.config)
    spec = registry.spec(config, args.model)
    corpus = Corpus.read(args.texts, args.tokens)
    return config, spec, corpus, load(spec, args.weights, corpus)
