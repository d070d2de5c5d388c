"""Clean and tokenize every text, build the vocabulary on the training subset, encode fixed-length sequences.

python -m pipeline preprocess --texts build/texts.parquet --dataset-info build/dataset.json --out build/tokens.npz
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import artifacts, cli, parts
from pipeline.config import load_config
from pipeline.data.text import TokenCodes, build_vocabulary, token_codes

LENGTH_QUANTILE = 0.95  # the sequence length from the data covers this share of the training texts whole


def sequence_length(n_tokens: np.ndarray, settings: dict) -> int:
    """The setting, or the 95th percentile of the training texts' token counts rounded up to a multiple of 8,
    at most max_sequence_length."""
    if settings["sequence_length"] > 0:
        return settings["sequence_length"]
    from_data = int(np.ceil(np.quantile(n_tokens, LENGTH_QUANTILE) / 8) * 8) if len(n_tokens) else 8
    return max(8, min(from_data, settings["max_sequence_length"]))


class Tokenizing(parts.Work):
    """The texts a part at a time, in two passes: first each text's tokens (their count, and the training texts'
    words counted for the vocabulary); then, once the vocabulary is known, each text encoded. Here the first pass's
    codes are kept for the second (four bytes a token), so that each text is tokenized once."""

    step = "preprocess"

    def __init__(self, texts: Path) -> None:
        self.texts, self.vocabulary, self.length = Path(texts).resolve(), None, 0
        self._codes: dict[int, TokenCodes] = {}

    def open(self) -> None:
        self._train = artifacts.read_texts(self.texts, columns=["subset"])["subset"].to_numpy() == "train"

    def __call__(self, rows: slice) -> dict[str, np.ndarray]:
        codes = getattr(self, "_codes", {}).pop(rows.start, None)
        if codes is None:
            codes = token_codes(pd.Series(artifacts.read_text_rows(self.texts, rows), dtype=object))
        if self.vocabulary is None:
            if hasattr(self, "_codes"):
                self._codes[rows.start] = codes
            counts = codes.counts(self._train[rows])
            return {"n_tokens": codes.lengths, "words": np.array(list(counts), dtype=str),
                    "counts": np.fromiter(counts.values(), np.int64, len(counts))}  # fmt: skip
        sequences, n_oov = codes.encoded(self.vocabulary, self.length)
        return {"sequences": sequences, "n_oov": n_oov}


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["text"]
    labels = artifacts.read_dataset_info(args.dataset_info).labels

    texts = artifacts.read_texts(args.texts, columns=["text_id", "subset", "label"])
    subset = texts["subset"].to_numpy()
    # Memory holds a part's texts, not every text: DuckDB tokenizes and Arrow encodes each part; the vocabulary needs
    # every training text's words, so the texts are encoded in a second pass.
    rows = parts.split(config, len(texts))
    work, counts = Tokenizing(args.texts), Counter()
    found = list(parts.run(work, rows, "tokenizing", config))
    for part in found:
        counts.update(dict(zip(part["words"].tolist(), part["counts"].tolist(), strict=True)))
    n_tokens = np.concatenate([part["n_tokens"] for part in found]).astype(np.int32)
    work.vocabulary = build_vocabulary(counts, settings["max_features"])
    work.length = sequence_length(n_tokens[subset == "train"], settings)
    sequences = np.zeros((len(texts), work.length), dtype=np.int32)
    n_oov = np.zeros(len(texts), dtype=np.int32)
    for where, part in zip(rows, parts.run(work, rows, "encoding", config), strict=True):
        sequences[where], n_oov[where] = part["sequences"], part["n_oov"]
    vocabulary, length = work.vocabulary, work.length

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
