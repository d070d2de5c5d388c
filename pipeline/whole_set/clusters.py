"""k-means clusters of one model's latent space, and the words over-represented in each cluster.

    python -m pipeline clusters --latent build/latent/dense.npy --tokens build/tokens.npz \
        --out build/clusters/dense.parquet --words build/clusters/dense_words.parquet
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.cluster import KMeans, MiniBatchKMeans
from tqdm import tqdm

from pipeline import artifacts, cli
from pipeline.config import load_config
from pipeline.data.text import OOV, PAD

WORDS_PER_CLUSTER = 15
STARTS = 3  # k-means starts, the best kept
BATCH = 10_000  # texts per mini-batch
EPOCHS = 3  # passes of mini-batch k-means over the texts
CHUNK = 50_000  # texts whose words are counted at a time
PRIOR_WEIGHT = 1000.0  # pseudo-counts spread over the words in proportion to their overall frequency


def cluster_count(k: int, texts: int) -> int:
    """The setting, or about log2(texts / 50) between 2 and 20: 2 for 200 texts, 10 for IMDB's 50,000, 14 for
    a million. Never more clusters than texts."""
    if k <= 0:
        k = int(np.clip(round(np.log2(max(texts, 1) / 50)), 2, 20))
    return max(1, min(k, texts))


def cluster_labels(latent: np.ndarray, k: int, seed: int, minibatch_above: int) -> np.ndarray:
    """k-means, the best of a few seeded starts; past `minibatch_above` texts, mini-batch k-means, which reads
    the texts a batch at a time and grows linearly with them."""
    k = cluster_count(k, len(latent))
    if len(latent) <= minibatch_above:
        best = None
        for start in tqdm(range(STARTS), desc=f"k-means, {k} clusters", unit=" starts", leave=False):
            fitted = KMeans(n_clusters=k, n_init=1, random_state=seed + start).fit(latent)
            if best is None or fitted.inertia_ < best.inertia_:
                best = fitted
        return best.labels_.astype(np.int16)
    model = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=BATCH)
    order = np.random.default_rng(seed).permutation(len(latent))
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    for batch in tqdm(batches * EPOCHS, desc=f"mini-batch k-means, {k} clusters", unit=" batches", leave=False):
        model.partial_fit(latent[np.sort(batch)])
    return np.concatenate([model.predict(latent[i : i + BATCH]) for i in range(0, len(latent), BATCH)]).astype(np.int16)


def word_counts(labels: np.ndarray, sequences: np.ndarray, vocabulary_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster (in sorted order), the texts each word occurs in, as the models saw them; and the texts of each
    cluster. Counted a chunk of texts at a time, so memory does not grow with the data."""
    clusters, members = np.unique(labels, return_inverse=True)
    inside = np.zeros((len(clusters), vocabulary_size))
    for start in range(0, len(sequences), CHUNK):
        chunk = np.asarray(sequences[start : start + CHUNK])
        rows = np.repeat(np.arange(len(chunk)), chunk.shape[1])
        words = chunk.ravel()
        keep = (words != PAD) & (words != OOV)
        presence = sparse.csr_matrix(
            (np.ones(keep.sum(), dtype=np.float32), (rows[keep], words[keep])), shape=(len(chunk), vocabulary_size)
        )
        presence.data[:] = 1.0  # duplicates were summed: back to presence
        part = members[start : start + CHUNK]
        membership = sparse.csr_matrix(
            (np.ones(len(part)), (part, np.arange(len(part)))), shape=(len(clusters), len(part))
        )
        inside += (membership @ presence).toarray()
    return inside, np.bincount(members, minlength=len(clusters))


def over_represented_words(labels: np.ndarray, sequences: np.ndarray, vocabulary: np.ndarray) -> pd.DataFrame:
    """Per cluster, the words most over-represented against the other texts.

    Ranked by the z-score of the log-odds ratio with an informative Dirichlet prior (Monroe et al., 2008,
    "Fightin' Words"): unlike a plain ratio, it does not crown words seen in three texts.
    """
    clusters = np.unique(labels)
    inside, sizes = word_counts(labels, sequences, len(vocabulary))
    total = inside.sum(axis=0)
    prior = PRIOR_WEIGHT * (total + 1) / (total + 1).sum()
    frames = []
    for i, cluster in enumerate(clusters):
        df_in, df_out = inside[i], total - inside[i]
        n_in, n_out = df_in.sum(), df_out.sum()
        delta = np.log((df_in + prior) / (n_in + PRIOR_WEIGHT - df_in - prior)) - np.log(
            (df_out + prior) / (n_out + PRIOR_WEIGHT - df_out - prior)
        )
        z = delta / np.sqrt(1 / (df_in + prior) + 1 / (df_out + prior))
        z[[PAD, OOV]] = -np.inf  # padding and out-of-vocabulary are not words
        top = np.argsort(-z, kind="stable")[:WORDS_PER_CLUSTER]
        frames.append(
            pd.DataFrame(
                {
                    "cluster": cluster,
                    "rank": np.arange(1, len(top) + 1),
                    "word": vocabulary[top],
                    "share_in_cluster": (df_in[top] / sizes[i]).astype(np.float32),
                    "share_elsewhere": (df_out[top] / max(len(labels) - sizes[i], 1)).astype(np.float32),
                    "z_score": z[top].astype(np.float32),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--latent", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--words", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    tokens = artifacts.read_tokens(args.tokens)

    settings = config["clusters"]
    labels = cluster_labels(
        artifacts.read_array(args.latent), settings["k"], config["seed"], settings["minibatch_above"]
    )
    words = over_represented_words(labels, tokens.sequences, tokens.vocabulary)
    clusters = pd.DataFrame({"text_id": tokens.text_id, "cluster": labels})
    artifacts.write_clusters(args.out, args.words, clusters, words)
