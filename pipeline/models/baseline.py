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
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from pipeline import cli
from pipeline.config import load_config
from pipeline.models import outputs
from pipeline.models.classifier import Classifier, Corpus, Scores
from pipeline.models.ngrams import NgramFeatures, Occurrences
from pipeline.registry import BASELINE, ModelSpec
from pipeline.sampling import seeded_sample


class BaselineClassifier(Classifier):
    """TF-IDF and logistic regression behind the one model interface. A text's target for class c, its centred
    logit, is a sum over its n-gram features of coefficient times TF-IDF weight, plus the centred intercept (the
    target of the empty text, the baseline). Each occurrence of a feature gets an equal share of the feature's
    term and shares it equally among the tokens it spans, so the token scores add up to target(text) -
    target(baseline) exactly."""

    name, kind = BASELINE, "baseline"

    def __init__(self, features: NgramFeatures, model: LogisticRegression, labels: list[str], settings: dict):
        self.ngrams, self.model, self.labels, self.settings = features, model, labels, settings
        self._cached: tuple | None = None  # the last texts' features
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
        return rows[seeded_sample(len(rows), sample, seed)]

    @classmethod
    def fit(cls, corpus: Corpus, settings: dict, seed: int, rows: np.ndarray | None = None) -> BaselineClassifier:
        """Fitted on the texts of `rows`; without them, on the training texts (fit_rows)."""
        rows = cls.fit_rows(corpus, settings["fit_sample"], seed) if rows is None else rows
        features = NgramFeatures(settings["ngram_max"], settings["max_features"])
        train = features.fit(corpus.part(rows).codes)
        # liblinear fits two classes fast; with more it would fit one against the rest, so lbfgs fits the softmax.
        solver = "liblinear" if len(corpus.labels) == 2 else "lbfgs"
        model = LogisticRegression(C=settings["C"], max_iter=1000, solver=solver, random_state=seed)
        model.fit(train, corpus.tokens.label[rows])
        return cls(features, model, corpus.labels, settings)

    def features(self, corpus: Corpus) -> tuple[sparse.csr_matrix, Occurrences, np.ndarray]:
        """The TF-IDF features of these texts, where each occurs and how often in each text, kept for the next call
        on the same texts (predict, then attribute)."""
        if self._cached is None or self._cached[0] is not corpus:
            self._cached = (corpus, *self.ngrams.transform(corpus.codes))
        return self._cached[1:]

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "architecture": None,
            "description": f"TF-IDF (1 to {self.settings['ngram_max']}-grams, {len(self.ngrams.names):,} "
            f"features) > LogisticRegression(C={self.settings['C']})",
            "parameters": int(self.model.coef_.size + self.model.intercept_.size),
            "no_attributions": None,
        }

    def predict(self, corpus: Corpus) -> tuple[np.ndarray, None]:
        # Every class's column, also for a class the training texts lack (probability 0).
        probabilities = np.zeros((len(corpus), len(self.labels)))
        probabilities[:, self.model.classes_] = self.model.predict_proba(self.features(corpus)[0])
        return probabilities, None

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        weights, found, counts = self.features(corpus)
        lengths = corpus.codes.lengths
        # An entry's TF-IDF weight is shared by its occurrences in the text, and an occurrence's share by its tokens.
        share = (weights.data[found.entries] / counts[found.entries] / found.n)[:, None]
        share = share * self.directions[found.columns]
        scores = np.zeros((int(lengths.sum()), len(self.labels) - 1), dtype=np.float32)
        for n in np.unique(found.n):
            of_n = found.n == n
            for j in range(n):
                scores[found.starts[of_n] + j] += share[of_n]  # for one n and j, no two occurrences share a token
        by_text = np.split(scores, np.cumsum(lengths)[:-1])
        sums = np.array([s.sum(axis=0) for s in by_text]).reshape(len(by_text), -1)
        at_baseline = np.broadcast_to(self.offsets, sums.shape).astype(np.float32)
        # The target at the text, computed from the features directly: completeness is checked against it.
        at_text = (weights @ self.directions + self.offsets).astype(np.float32)
        return Scores(by_text, np.asarray(at_text), at_baseline)


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
    scoring = outputs.Scoring(classifier, corpus, args.config, args.fitted, args.texts, args.tokens,
                              attributions=config["attributions"], step="baseline")  # fmt: skip
    seconds = outputs.write_predictions(scoring, args.summary, args.predictions, None, attributions=args.attributions)
    cli.record_timing("baseline_attributions", seconds)
