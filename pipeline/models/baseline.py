"""The reference the other models are held against: TF-IDF over words and bigrams, logistic regression. It is
fitted, then analysed through the one model interface like every other model, attributions included: being
linear, its attributions are exact.

    python -m pipeline baseline --texts build/texts.parquet --tokens build/tokens.npz \
        --summary build/models/baseline.json --predictions build/predictions/baseline.parquet \
        --attributions build/attributions/baseline.parquet --fitted build/models/baseline.pkl
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline import cli
from pipeline.config import load_config
from pipeline.models import outputs
from pipeline.models.classifier import Classifier, Corpus, Scores
from pipeline.registry import BASELINE, ModelSpec

CHUNK = 10_000  # texts attributed at a time, which bounds the memory of their n-grams


class BaselineClassifier(Classifier):
    """TF-IDF and logistic regression behind the one model interface. A text's target for class c, its centred
    logit, is a sum over its n-gram features of coefficient times TF-IDF weight, plus the centred intercept (the
    target of the empty text, the baseline). Each occurrence of a feature gets an equal share of the feature's
    term and shares it equally among the tokens it spans, so the token scores add up to target(text) -
    target(baseline) exactly."""

    name, kind = BASELINE, "baseline"

    def __init__(self, vectorizer: TfidfVectorizer, model: LogisticRegression, labels: list[str], settings: dict):
        self.vectorizer, self.model, self.labels, self.settings = vectorizer, model, labels, settings
        self._cached: tuple[Corpus, sparse.csr_matrix] | None = None  # the last texts' features
        # Logits of every class of the data as a linear function of the features: absent classes get a very low one.
        coefficients = np.zeros((len(labels), model.coef_.shape[1]))
        intercepts = np.full(len(labels), -30.0)
        if len(model.classes_) == 2 and model.coef_.shape[0] == 1:
            coefficients[model.classes_[1]] = model.coef_[0]
            intercepts[model.classes_] = [0.0, model.intercept_[0]]
        else:
            coefficients[model.classes_] = model.coef_
            intercepts[model.classes_] = model.intercept_
        centred = coefficients - coefficients.mean(axis=0)
        self.directions = centred[1:].T.astype(np.float32)  # features x (classes - 1)
        self.offsets = (intercepts - intercepts.mean())[1:].astype(np.float32)

    @staticmethod
    def fit_rows(corpus: Corpus, sample: int, seed: int) -> np.ndarray:
        """The training texts it is fitted on: all of them, or a seeded sample of `sample` (0: all) past that."""
        rows = np.flatnonzero(corpus.tokens.subset == "train")
        if 0 < sample < len(rows):
            rows = np.sort(np.random.default_rng(seed).choice(rows, size=sample, replace=False))
        return rows

    @classmethod
    def fit(cls, corpus: Corpus, settings: dict, seed: int) -> BaselineClassifier:
        rows = cls.fit_rows(corpus, settings["fit_sample"], seed)
        texts = [" ".join(words) for words in corpus.part(rows).words]
        vectorizer = TfidfVectorizer(
            token_pattern=r"\S+",  # the texts are cleaned already: tokens are what lies between spaces
            ngram_range=(1, settings["ngram_max"]),
            max_features=settings["max_features"],
            min_df=2,
            sublinear_tf=True,
            dtype=np.float32,
        )
        train = vectorizer.fit_transform(texts)
        del texts
        # liblinear fits two classes fast; with more it would fit one against the rest, so lbfgs fits the softmax.
        solver = "liblinear" if len(corpus.labels) == 2 else "lbfgs"
        model = LogisticRegression(C=settings["C"], max_iter=1000, solver=solver, random_state=seed)
        model.fit(train, corpus.tokens.label[rows])
        return cls(vectorizer, model, corpus.labels, settings)

    def features(self, corpus: Corpus) -> sparse.csr_matrix:
        """The TF-IDF features of these texts, kept for the next call on the same texts (predict, then attribute)."""
        if self._cached is None or self._cached[0] is not corpus:
            self._cached = (corpus, self.vectorizer.transform([" ".join(words) for words in corpus.words]))
        return self._cached[1]

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "architecture": None,
            "description": f"TF-IDF (1 to {self.settings['ngram_max']}-grams, {len(self.vectorizer.vocabulary_):,} "
            f"features) > LogisticRegression(C={self.settings['C']})",
            "parameters": int(self.model.coef_.size + self.model.intercept_.size),
            "no_attributions": None,
        }

    def predict(self, corpus: Corpus) -> tuple[np.ndarray, None]:
        # Every class's column, also for a class the training texts lack (probability 0).
        probabilities = np.zeros((len(corpus), len(self.labels)))
        probabilities[:, self.model.classes_] = self.model.predict_proba(self.features(corpus))
        return probabilities, None

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        features, vocabulary = self.features(corpus), self.vectorizer.vocabulary_
        scores: list[np.ndarray] = []
        for start in range(0, len(corpus), CHUNK):
            words = corpus.words[start : start + CHUNK]
            lengths = np.array([len(w) for w in words])
            # Each distinct word, and each distinct n-gram, is looked up once: factorized to integers first.
            codes, distinct = pd.factorize(np.array([word for text in words for word in text], dtype=object))
            distinct = pd.Series(distinct, dtype=object).str.lower().to_numpy(dtype=object)  # as the vectorizer does
            text_of = np.repeat(np.arange(len(words)), lengths)
            position = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            chunk = np.zeros((len(codes), len(self.labels) - 1), dtype=np.float32)
            occurrences = []  # per n: (first token, feature) of every n-gram occurrence that is a feature
            for n in range(1, self.settings["ngram_max"] + 1):
                starts = np.flatnonzero(position + n <= np.repeat(lengths, lengths))
                grams, found = pd.factorize(codes[starts])
                strings = distinct[found]
                for j in range(1, n):
                    grams, found = pd.factorize(grams.astype(np.int64) * len(distinct) + codes[starts + j])
                    strings = strings[found // len(distinct)] + " " + distinct[found % len(distinct)]
                feature = pd.Series(strings, dtype=object).map(vocabulary).to_numpy(dtype=float)[grams]
                known = ~np.isnan(feature)
                occurrences.append((n, starts[known], feature[known].astype(np.int64)))
            # A feature's TF-IDF weight is shared by its occurrences in the text.
            rows = np.concatenate([text_of[first] for _, first, _ in occurrences])
            columns = np.concatenate([feature for _, _, feature in occurrences])
            key = rows * features.shape[1] + columns
            _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
            weight = np.asarray(features[start + rows, columns]).ravel() / counts[inverse]
            at = 0
            for n, first, feature in occurrences:
                share = (weight[at : at + len(first)] / n)[:, None] * self.directions[feature]
                at += len(first)
                for j in range(n):
                    chunk[first + j] += share  # for one n and j, no two occurrences land on one token
            bounds = np.cumsum(lengths)[:-1]
            scores.extend(np.split(chunk, bounds))
        sums = np.array([s.sum(axis=0) for s in scores]).reshape(len(scores), -1)
        at_baseline = np.broadcast_to(self.offsets, sums.shape).astype(np.float32)
        # The target at the text, computed from the features directly: completeness is checked against it.
        at_text = (features @ self.directions + self.offsets).astype(np.float32)
        return Scores(scores, np.asarray(at_text), at_baseline)


def save(classifier: BaselineClassifier, path: Path) -> None:
    """The fitted baseline, for the steps that run it on other texts (a pickle: a file of this build only, which
    `load` opens)."""
    cached, classifier._cached = classifier._cached, None  # the texts' features belong to this run
    try:
        with cli.atomic_output(path) as tmp, tmp.open("wb") as f:
            pickle.dump(classifier, f, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        classifier._cached = cached


def load(spec: ModelSpec, path: Path, corpus: Corpus) -> BaselineClassifier:
    """The baseline as `save` wrote it, behind the one model interface."""
    with open(path, "rb") as f:
        return pickle.load(f)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--summary", required=True, type=Path, help="JSON describing the model")
    p.add_argument("--predictions", required=True, type=Path)
    p.add_argument("--attributions", required=True, type=Path)
    p.add_argument("--fitted", required=True, type=Path, help="the fitted baseline (.pkl)")
    args = p.parse_args()
    config = load_config(args.config)
    corpus = Corpus.read(args.texts, args.tokens)

    start = time.perf_counter()
    classifier = BaselineClassifier.fit(corpus, config[BASELINE], config["seed"])
    cli.record_timing("baseline_fit", time.perf_counter() - start)
    save(classifier, args.fitted)
    # One pass over the texts for both: each part is tokenized and its features computed once.
    attributions = (config["attributions"], args.attributions)
    seconds = outputs.write_predictions(
        classifier, corpus, args.summary, args.predictions, None, attributions=attributions
    )
    cli.record_timing("baseline_attributions", seconds)
