"""Analyse one Keras model, trained here or brought in, through the one model interface: every class's
probability and the latent vector of every text, and the model's summary.

    python -m pipeline.score --model dense --weights build/models/dense.keras --reviews build/reviews.parquet \
        --tokens build/tokens.npz --history build/training/dense.json --summary build/models/dense.json \
        --predictions build/predictions/dense.parquet --latent build/latent/dense.npy
"""

from __future__ import annotations

from pathlib import Path

from pipeline import adapters, analysis, artifacts, classifier, cli, registry
from pipeline.config import load_config


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--weights", required=True, type=Path, help="the model's .keras file")
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--history", required=True, type=Path, help="training history, read for a model trained here")
    p.add_argument("--summary", required=True, type=Path, help="JSON with the architecture and history")
    p.add_argument("--predictions", required=True, type=Path)
    p.add_argument("--latent", required=True, type=Path, help="the latent vector of every text (.npy)")
    args = p.parse_args()
    config = load_config(args.config)
    spec = registry.spec(config, args.model)
    corpus = classifier.Corpus.read(args.reviews, args.tokens)

    model = adapters.load(spec, args.weights, corpus)
    if spec.kind == "trained":
        extra = artifacts.read_summary(args.history)
    else:
        extra = {"file": spec.settings["file"], "sha256": spec.settings["sha256"]}
    analysis.write_predictions(model, corpus, args.summary, args.predictions, args.latent, extra)


if __name__ == "__main__":
    cli.run("score", main)
