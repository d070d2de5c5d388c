"""Clean and tokenize every review, build the vocabulary on training reviews, encode fixed-length sequences.

python -m pipeline.preprocess --reviews build/reviews.parquet --out build/tokens.npz
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import cli
from pipeline.config import load_config
from pipeline.text import build_vocabulary, encode, tokenize_all

SUBSETS = ("train", "validation", "test")


def assign_subsets(reviews: pd.DataFrame, validation_fraction: float, seed: int) -> np.ndarray:
    """'test' for the test split; the train split cut into 'train' and a stratified 'validation' hold-out."""
    rng = np.random.default_rng(seed)
    subset = np.where(reviews["split"] == "test", "test", "train").astype(object)
    for label in ("negative", "positive"):
        rows = np.flatnonzero((reviews["split"] == "train") & (reviews["label"] == label))
        held_out = rng.choice(rows, size=round(len(rows) * validation_fraction), replace=False)
        subset[held_out] = "validation"
    return subset


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["text"]

    reviews = pd.read_parquet(args.reviews)
    token_lists = tokenize_all(reviews["text"])
    subset = assign_subsets(reviews, settings["validation_fraction"], config["seed"])
    vocabulary = build_vocabulary(
        (tokens for tokens, s in zip(token_lists, subset, strict=True) if s == "train"), settings["max_features"]
    )
    sequences, n_oov = encode(token_lists, vocabulary, settings["sequence_length"])
    n_tokens = np.array([len(tokens) for tokens in token_lists], dtype=np.int32)

    with cli.atomic_output(args.out) as tmp, tmp.open("wb") as f:
        np.savez(
            f,
            review_id=reviews["review_id"].to_numpy(np.int32),
            label=(reviews["label"] == "positive").to_numpy(np.int8),
            subset=subset.astype(str),
            sequences=sequences,
            n_tokens=n_tokens,
            n_oov=n_oov,
            vocabulary=np.array(vocabulary),
        )
    print(f"{args.out}: {len(reviews):,} sequences of {settings['sequence_length']} tokens, {len(vocabulary):,} words")


if __name__ == "__main__":
    cli.run("preprocess", main)
