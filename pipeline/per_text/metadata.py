"""What each text is like, beside what the models made of it: TextBlob sentiment (computed by
pipeline.per_text.sentiment, with TextBlob's numbers) and the count of negation and contrast words. Length,
out-of-vocabulary count and truncation come from preprocessing.

    python -m pipeline metadata --texts build/texts.parquet --out build/metadata.parquet
"""

from __future__ import annotations

import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from pipeline import artifacts, cli
from pipeline.data.text import word_counts
from pipeline.per_text.sentiment import lexicon, sentiment

NEGATIONS = frozenset(
    "not no never nothing nobody none neither nor nowhere without dont doesnt didnt isnt wasnt arent werent "
    "cant cannot couldnt wont wouldnt shouldnt hasnt havent hadnt aint".split()
)
CONTRASTS = frozenset("but however although though yet despite nevertheless nonetheless whereas instead".split())
CHUNK = 500  # texts per task of the sentiment pool


def sentiment_all(texts: pd.Series, jobs: int) -> np.ndarray:
    """(polarity, subjectivity) of every text, as float32, in chunks over `jobs` processes, with a progress bar."""
    chunks = [texts.iloc[i : i + CHUNK].tolist() for i in range(0, len(texts), CHUNK)]
    results = []
    with tqdm(total=len(texts), desc="sentiment", unit=" texts", file=sys.stderr, mininterval=1, leave=False) as bar:
        if jobs > 1 and len(chunks) > 1:
            lexicon()  # read once, before the workers fork
            with Pool(jobs) as pool:
                for scores in pool.imap(sentiment, chunks):
                    results.append(scores)
                    bar.update(len(scores))
        else:
            for chunk in chunks:
                results.append(sentiment(chunk))
                bar.update(len(chunk))
    return np.concatenate(results).astype(np.float32) if results else np.empty((0, 2), dtype=np.float32)


def metadata_table(texts: pd.DataFrame, jobs: int) -> pd.DataFrame:
    scores = sentiment_all(texts["text"], jobs)
    counts = word_counts(texts["text"], {"negations": NEGATIONS, "contrasts": CONTRASTS})
    return pd.DataFrame(
        {
            "text_id": texts["text_id"].to_numpy(np.int32),
            "polarity": scores[:, 0],
            "subjectivity": scores[:, 1],
            "n_negations": counts["negations"],
            "n_contrasts": counts["contrasts"],
        }
    )


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--jobs", type=int, default=2, help="processes for the sentiment pass")
    args = p.parse_args()
    table = metadata_table(artifacts.read_texts(args.texts, columns=["text_id", "text"]), args.jobs)
    artifacts.write_table(args.out, table)
