"""A 2-D t-SNE map of one model's latent space, every text a point.

python -m pipeline maps --latent build/latent/dense.npy --out build/maps/dense.npy

Up to `fit_sample` texts (all of IMDB's 50,000) are mapped by t-SNE itself; past that, t-SNE is fitted on a seeded
sample and every other text is placed on that map with openTSNE's `transform`, a part at a time ([cluster]
part_size texts), on a Ray cluster where RAY_ADDRESS is set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from openTSNE import TSNE
from tqdm import tqdm

from pipeline import artifacts, cli, parts
from pipeline.config import load_config
from pipeline.sampling import seeded_sample

PERPLEXITY = 30.0
REPORT_EVERY = 25  # iterations between two updates of the progress bar


def perplexity(settings: dict, points: int) -> float:
    """The setting, or 30 where the data allows: openTSNE needs more than 3 x perplexity points."""
    if settings["perplexity"] > 0:
        return settings["perplexity"]
    return max(1.0, min(PERPLEXITY, (points - 1) / 3 - 1))


def progressed(bar: tqdm) -> bool:
    """Move the bar on. False: openTSNE stops optimizing when a callback returns True, and tqdm's update returns
    True whenever it redraws, which depends on the clock: the map would end after a varying number of iterations."""
    bar.update(REPORT_EVERY)
    return False


def tsne_map(
    latent: np.ndarray, settings: dict, seed: int, config: dict | None = None, path: Path | None = None
) -> np.ndarray:
    """Every text's point: t-SNE of a seeded sample, the other texts placed on its map, a part at a time (`config`:
    the whole settings, for [cluster]; `path`: the latent vectors' file, which a cluster's workers read)."""
    config = config or load_config()
    rows = seeded_sample(len(latent), settings["fit_sample"], seed)  # the texts t-SNE is fitted on
    iterations = settings["early_exaggeration_iter"] + settings["iterations"]
    with tqdm(total=iterations, desc=f"t-SNE of {len(rows):,} texts", unit=" iterations", leave=False) as bar:
        tsne = TSNE(
            n_components=2,
            perplexity=perplexity(settings, len(rows)),
            early_exaggeration_iter=settings["early_exaggeration_iter"],
            n_iter=settings["iterations"],
            exaggeration=settings["exaggeration"],
            initialization="pca",
            random_state=seed,
            # Exact neighbours, by scikit-learn's brute force: twice as fast as openTSNE's Annoy on a 32-wide latent
            # space (5 s against 12 s for 50,000 texts), and no approximation.
            neighbors="exact",
            knn_kwargs={"algorithm": "brute"},
            n_jobs=settings["jobs"],
            callbacks=lambda iteration, error, embedding: progressed(bar),
            callbacks_every_iters=REPORT_EVERY,
        )
        embedding = tsne.fit(latent[rows])
    embedding.gradient_descent_params["callbacks"] = (
        None  # the bar's: placing the others has none, and is sent as it is
    )
    points = np.empty((len(latent), 2), dtype=np.float32)
    points[rows] = embedding
    rest = np.setdiff1d(np.arange(len(latent)), rows)
    placing = Placing(embedding, path, settings["place_iterations"], latent)
    chunks = parts.split(config, rest)
    for chunk, found in zip(chunks, parts.run(placing, chunks, "placing the other texts", config), strict=True):
        points[chunk] = found["points"]
    return points


class Placing(parts.Work):
    """Texts placed on a fitted map (openTSNE's transform), a part at a time: each by its neighbours among the texts
    the map was fitted on, independently of the others."""

    step = "maps"

    def __init__(self, embedding, path: Path | None, iterations: int, latent: np.ndarray) -> None:
        self.embedding, self.path, self.iterations = embedding, path and Path(path).resolve(), iterations
        self._latent = latent

    def open(self) -> None:
        if getattr(self, "_latent", None) is None:
            self._latent = artifacts.read_array(self.path)

    def __call__(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "points": np.asarray(
                self.embedding.transform(self._latent[rows].astype(np.float64), n_iter=self.iterations)
            )
        }


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--latent", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    points = tsne_map(artifacts.read_array(args.latent), config["maps"], config["seed"], config, args.latent)
    artifacts.write_array(args.out, points)
