"""The reference the neural models are held against: TF-IDF over words and bigrams, logistic regression.

    python -m pipeline.baseline --reviews build/reviews.parquet --tokens build/tokens.npz \
        --summary build/models/baseline.json --predictions build/predictions/baseline.parquet
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline import cli
from pipeline.config import load_config
from pipeline.predictions import prediction_table
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

    texts = pd.Series(clean_all(pd.read_parquet(args.reviews, columns=["text"])["text"]))
    tokens = np.load(args.tokens)
    train_rows = tokens["subset"] == "train"
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
    classifier = LogisticRegression(C=settings["C"], max_iter=1000, solver="liblinear", random_state=config["seed"])
    classifier.fit(features[: train_rows.sum()], tokens["label"][train_rows])
    order = np.concatenate([np.flatnonzero(train_rows), np.flatnonzero(~train_rows)])
    probabilities = np.empty(len(texts))
    probabilities[order] = classifier.predict_proba(features)[:, 1]

    summary = {
        "model": "baseline",
        "kind": "baseline",
        "description": f"TF-IDF (1 to {settings['ngram_max']}-grams, {len(vectorizer.vocabulary_):,} features)"
        f" > LogisticRegression(C={settings['C']})",
        "parameters": int(classifier.coef_.size + classifier.intercept_.size),
    }
    with cli.atomic_output(args.summary) as tmp:
        tmp.write_text(json.dumps(summary))
    with cli.atomic_output(args.predictions) as tmp:
        prediction_table("baseline", tokens["review_id"], tokens["label"], probabilities).to_parquet(tmp, index=False)


if __name__ == "__main__":
    cli.run("baseline", main)
