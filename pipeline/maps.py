"""A 2-D t-SNE map of one model's latent space, every review a point.

python -m pipeline.maps --latent build/latent/dense.npy --out build/maps/dense.npy
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from openTSNE import TSNE

from pipeline import cli
from pipeline.config import load_config


def tsne_map(latent: np.ndarray, settings: dict, seed: int) -> np.ndarray:
    tsne = TSNE(
        n_components=2,
        perplexity=settings["perplexity"],
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
    coordinates = tsne_map(np.load(args.latent), config["maps"], config["seed"])
    with cli.atomic_output(args.out) as tmp, tmp.open("wb") as f:
        np.save(f, coordinates)


if __name__ == "__main__":
    cli.run("maps", main)
