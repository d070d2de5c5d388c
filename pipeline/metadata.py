"""What each review is like, beside what the models made of it: TextBlob sentiment and the count of
negation and contrast words. Length, out-of-vocabulary count and truncation come from preprocessing.

    python -m pipeline.metadata --reviews build/reviews.parquet --out build/metadata.parquet
"""

from __future__ import annotations

from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from textblob import TextBlob

from pipeline import artifacts, cli
from pipeline.text import tokenize_all

NEGATIONS = frozenset(
    "not no never nothing nobody none neither nor nowhere without dont doesnt didnt isnt wasnt arent werent "
    "cant cannot couldnt wont wouldnt shouldnt hasnt havent hadnt aint".split()
)
CONTRASTS = frozenset("but however although though yet despite nevertheless nonetheless whereas instead".split())
CHUNK = 500


def sentiment(texts: list[str]) -> list[tuple[float, float]]:
    # TextBlob's .sentiment only (the pattern lexicon it ships): no NLTK corpora needed.
    return [tuple(TextBlob(text.replace("<br />", "\n")).sentiment) for text in texts]


def sentiment_all(texts: pd.Series, jobs: int) -> np.ndarray:
    chunks = [texts.iloc[i : i + CHUNK].tolist() for i in range(0, len(texts), CHUNK)]
    with Pool(jobs) as pool:
        results = pool.map(sentiment, chunks)
    return np.array([pair for chunk in results for pair in chunk], dtype=np.float32).reshape(-1, 2)


def word_counts(token_lists: list[list[str]], words: frozenset[str]) -> np.ndarray:
    return np.array([sum(token in words for token in tokens) for tokens in token_lists], dtype=np.int32)


def metadata_table(reviews: pd.DataFrame, jobs: int) -> pd.DataFrame:
    token_lists = tokenize_all(reviews["text"])
    scores = sentiment_all(reviews["text"], jobs)
    return pd.DataFrame(
        {
            "review_id": reviews["review_id"].to_numpy(np.int32),
            "polarity": scores[:, 0],
            "subjectivity": scores[:, 1],
            "n_negations": word_counts(token_lists, NEGATIONS),
            "n_contrasts": word_counts(token_lists, CONTRASTS),
        }
    )


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--jobs", type=int, default=2, help="processes for the TextBlob pass")
    args = p.parse_args()
    table = metadata_table(artifacts.read_reviews(args.reviews, columns=["review_id", "text"]), args.jobs)
    artifacts.write_table(args.out, table)


if __name__ == "__main__":
    cli.run("metadata", main)
