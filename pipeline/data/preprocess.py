"""Clean and tokenize every text, build the vocabulary on the training subset, encode fixed-length sequences.

python -m pipeline preprocess --texts build/texts.parquet --dataset-info build/dataset.json --out build/tokens.npz
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from pipeline import artifacts, cli
from pipeline.config import load_config
from pipeline.data.text import build_vocabulary, token_codes

CHUNK = 20_000  # texts tokenized at a time
LENGTH_QUANTILE = 0.95  # the sequence length from the data covers this share of the training texts whole


def sequence_length(n_tokens: np.ndarray, settings: dict) -> int:
    """The setting, or the 95th percentile of the training texts' token counts rounded up to a multiple of 8,
    at most max_sequence_length."""
    if settings["sequence_length"] > 0:
        return settings["sequence_length"]
    from_data = int(np.ceil(np.quantile(n_tokens, LENGTH_QUANTILE) / 8) * 8) if len(n_tokens) else 8
    return max(8, min(from_data, settings["max_sequence_length"]))


def text_batches(path: Path, n: int, what: str) -> Iterator[tuple[slice, pd.Series]]:
    """The n texts a batch at a time, each with its rows, and a bar."""
    start = 0
    for batch in tqdm(artifacts.column_batches(path, "text", CHUNK), desc=what, unit=" chunks", total=-(-n // CHUNK),
                      leave=False):  # fmt: skip
        yield slice(start, start + len(batch)), batch
        start += len(batch)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    settings = load_config(args.config)["text"]
    labels = artifacts.read_dataset_info(args.dataset_info).labels

    texts = artifacts.read_texts(args.texts, columns=["text_id", "subset", "label"])
    subset = texts["subset"].to_numpy()
    # One pass over the texts, a batch at a time, so that memory holds one batch's texts, not every text: DuckDB
    # tokenizes and Arrow encodes each batch, whose codes are kept (four bytes a token) for the encoding once the
    # vocabulary, which needs every training text, is known.
    counts, n_tokens, batches = Counter(), np.zeros(len(texts), dtype=np.int32), []
    for rows, batch in text_batches(args.texts, len(texts), "tokenizing"):
        codes = token_codes(batch)
        n_tokens[rows] = codes.lengths
        counts.update(codes.counts(subset[rows] == "train"))
        batches.append((rows, codes))
    vocabulary = build_vocabulary(counts, settings["max_features"])
    length = sequence_length(n_tokens[subset == "train"], settings)
    sequences = np.zeros((len(texts), length), dtype=np.int32)
    n_oov = np.zeros(len(texts), dtype=np.int32)
    for rows, codes in batches:
        sequences[rows], n_oov[rows] = codes.encoded(vocabulary, length)

    tokens = artifacts.Tokens(
        text_id=texts["text_id"].to_numpy(np.int32),
        label=texts["label"].map({label: i for i, label in enumerate(labels)}).to_numpy(np.int16),
        subset=subset.astype(str),
        sequences=sequences,
        n_tokens=n_tokens,
        n_oov=n_oov,
        vocabulary=np.array(vocabulary),
        labels=np.array(labels),
    )
    artifacts.write_tokens(args.out, tokens)
    print(f"{args.out}: {len(texts):,} sequences of {length} tokens, {len(vocabulary):,} words")
