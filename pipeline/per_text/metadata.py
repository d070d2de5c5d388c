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

from pipeline import artifacts, cli, parts
from pipeline.config import load_config
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


COLUMNS = ("polarity", "subjectivity", "n_negations", "n_contrasts")


def described(texts: pd.Series, jobs: int) -> dict[str, np.ndarray]:
    """Each text's polarity and subjectivity, and its counts of negation and contrast words."""
    scores = sentiment_all(texts, jobs)
    counts = word_counts(texts, {"negations": NEGATIONS, "contrasts": CONTRASTS})
    return dict(zip(COLUMNS, (scores[:, 0], scores[:, 1], counts["negations"], counts["contrasts"]), strict=True))


def metadata_table(texts: pd.DataFrame, jobs: int) -> pd.DataFrame:
    return pd.DataFrame({"text_id": texts["text_id"].to_numpy(np.int32), **described(texts["text"], jobs)})


class Describing(parts.Work):
    """What each text is like, a part of the texts at a time."""

    step = "metadata"

    def __init__(self, texts: Path, jobs: int) -> None:
        self.texts, self.jobs = Path(texts).resolve(), jobs

    def __call__(self, rows: slice | np.ndarray) -> dict[str, np.ndarray]:
        return described(pd.Series(artifacts.read_text_rows(self.texts, rows), dtype=object), self.jobs)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--jobs", type=int, default=2, help="processes for the sentiment pass")
    args = p.parse_args()
    config = load_config(args.config)
    text_id = artifacts.read_texts(args.texts, columns=["text_id"])["text_id"].to_numpy(np.int32)
    rows = parts.split(config, len(text_id))
    found = list(parts.run(Describing(args.texts, args.jobs), rows, "metadata", config))
    columns = {name: np.concatenate([part[name] for part in found]) for name in COLUMNS}
    artifacts.write_table(args.out, pd.DataFrame({"text_id": text_id, **columns}))
