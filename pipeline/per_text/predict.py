"""Analyse one Keras model, trained here or brought in, through the one model interface: every class's
probability and the latent vector of every text, and the model's summary.

    python -m pipeline predict --model dense --weights build/models/dense.keras --texts build/texts.parquet \
        --tokens build/tokens.npz --history build/training/dense.json --summary build/models/dense.json \
        --predictions build/predictions/dense.parquet --latent build/latent/dense.npy
"""

from __future__ import annotations

from pathlib import Path

from pipeline import artifacts
from pipeline.models import classifier, outputs


def main() -> None:
    p = classifier.parser(__doc__)
    p.add_argument("--history", required=True, type=Path, help="training history, read for a model trained here")
    p.add_argument("--summary", required=True, type=Path, help="JSON with the architecture and history")
    p.add_argument("--predictions", required=True, type=Path)
    p.add_argument("--latent", required=True, type=Path, help="the latent vector of every text (.npy)")
    args = p.parse_args()
    _, spec, corpus, model = classifier.opened(args)
    if spec.kind == "trained":
        extra = artifacts.read_summary(args.history)
    else:
        extra = {"file": spec.settings["file"], "sha256": spec.settings["sha256"]}
    outputs.write_predictions(model, corpus, args.summary, args.predictions, args.latent, extra)
