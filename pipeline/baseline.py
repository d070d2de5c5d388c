"""The reference the neural models are held against: TF-IDF over words and bigrams, logistic regression.

    python -m pipeline.baseline --reviews build/reviews.parquet --tokens build/tokens.npz \
        --summary build/models/baseline.json --predictions build/predictions/baseline.parquet
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline import artifacts, cli
from pipeline.config import load_config
from pipeline.predictions import prediction_table
from pipeline.registry import BASELINE
from pipeline.text import clean_all


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--summary", required=True, type=Path, help="JSON describing the model")
    p.add_argument("--predictions", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["baseline"]

    texts = pd.Series(clean_all(artifacts.read_reviews(args.reviews, columns=["text"])["text"]))
    tokens = artifacts.read_tokens(args.tokens)
    train_rows = tokens.subset == "train"
    vectorizer = TfidfVectorizer(
        token_pattern=r"\S+",  # the texts are cleaned already: tokens are what lies between spaces
        ngram_range=(1, settings["ngram_max"]),
        max_features=settings["max_features"],
        min_df=2,
        sublinear_tf=True,
        dtype=np.float32,
    )
    # Fit on the training reviews, then transform only the others: each text is tokenized once.
    features = sparse.vstack(
        [vectorizer.fit_transform(texts[train_rows]), vectorizer.transform(texts[~train_rows])], format="csr"
    )
    # liblinear fits two classes fast; with more it would fit one against the rest, so lbfgs fits the softmax.
    solver = "liblinear" if len(tokens.labels) == 2 else "lbfgs"
    classifier = LogisticRegression(C=settings["C"], max_iter=1000, solver=solver, random_state=config["seed"])
    classifier.fit(features[: train_rows.sum()], tokens.label[train_rows])
    order = np.concatenate([np.flatnonzero(train_rows), np.flatnonzero(~train_rows)])
    # Every class's column, also for a class the training rows lack (probability 0).
    probabilities = np.zeros((len(texts), len(tokens.labels)))
    probabilities[np.ix_(order, classifier.classes_)] = classifier.predict_proba(features)

    summary = {
        "model": BASELINE,
        "kind": "baseline",
        "description": f"TF-IDF (1 to {settings['ngram_max']}-grams, {len(vectorizer.vocabulary_):,} features)"
        f" > LogisticRegression(C={settings['C']})",
        "parameters": int(classifier.coef_.size + classifier.intercept_.size),
    }
    artifacts.write_summary(args.summary, summary)
    predictions = prediction_table(BASELINE, tokens.review_id, tokens.label, probabilities, list(tokens.labels))
    artifacts.write_predictions(args.predictions, predictions)


if __name__ == "__main__":
    cli.run("baseline", main)
