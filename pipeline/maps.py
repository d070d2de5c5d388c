"""A 2-D t-SNE map of one model's latent space, every review a point.

python -m pipeline.maps --latent build/latent/dense.npy --out build/maps/dense.npy
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from openTSNE import TSNE

from pipeline import artifacts, cli
from pipeline.config import load_config

PERPLEXITY = 30.0


def perplexity(settings: dict, points: int) -> float:
    """The setting, or 30 where the data allows: openTSNE needs more than 3 x perplexity points."""
    if settings["perplexity"] > 0:
        return settings["perplexity"]
    return max(1.0, min(PERPLEXITY, (points - 1) / 3 - 1))


def tsne_map(latent: np.ndarray, settings: dict, seed: int) -> np.ndarray:
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity(settings, len(latent)),
        early_exaggeration_iter=settings["early_exaggeration_iter"],
        n_iter=settings["iterations"],
        exaggeration=settings["exaggeration"],
        initialization="pca",
        random_state=seed,
        n_jobs=settings["jobs"],
    )
    return np.asarray(tsne.fit(latent), dtype=np.float32)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--latent", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    artifacts.write_array(args.out, tsne_map(artifacts.read_array(args.latent), config["maps"], config["seed"]))


if __name__ == "__main__":
    cli.run("maps", main)
