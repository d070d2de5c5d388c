"""Clean and tokenize every text, build the vocabulary on the training subset, encode fixed-length sequences.

python -m pipeline.preprocess --reviews build/reviews.parquet --dataset-info build/dataset.json --out build/tokens.npz
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline import artifacts, cli
from pipeline.config import load_config
from pipeline.text import build_vocabulary, encode, tokenize_all

LENGTH_QUANTILE = 0.95  # the sequence length from the data covers this share of the training texts whole


def sequence_length(n_tokens: np.ndarray, settings: dict) -> int:
    """The setting, or the 95th percentile of the training texts' token counts rounded up to a multiple of 8,
    at most max_sequence_length."""
    if settings["sequence_length"] > 0:
        return settings["sequence_length"]
    from_data = int(np.ceil(np.quantile(n_tokens, LENGTH_QUANTILE) / 8) * 8) if len(n_tokens) else 8
    return max(8, min(from_data, settings["max_sequence_length"]))


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    settings = load_config(args.config)["text"]
    labels = artifacts.read_dataset_info(args.dataset_info).labels

    reviews = artifacts.read_reviews(args.reviews, columns=["review_id", "subset", "label", "text"])
    token_lists = tokenize_all(reviews["text"])
    subset = reviews["subset"].to_numpy()
    training = [tokens for tokens, s in zip(token_lists, subset, strict=True) if s == "train"]
    vocabulary = build_vocabulary(training, settings["max_features"])
    n_tokens = np.array([len(tokens) for tokens in token_lists], dtype=np.int32)
    length = sequence_length(n_tokens[subset == "train"], settings)
    sequences, n_oov = encode(token_lists, vocabulary, length)

    tokens = artifacts.Tokens(
        review_id=reviews["review_id"].to_numpy(np.int32),
        label=reviews["label"].map({label: i for i, label in enumerate(labels)}).to_numpy(np.int16),
        subset=subset.astype(str),
        sequences=sequences,
        n_tokens=n_tokens,
        n_oov=n_oov,
        vocabulary=np.array(vocabulary),
        labels=np.array(labels),
    )
    artifacts.write_tokens(args.out, tokens)
    print(f"{args.out}: {len(reviews):,} sequences of {length} tokens, {len(vocabulary):,} words")


if __name__ == "__main__":
    cli.run("preprocess", main)
