"""Run one model, trained here or given as a file, through the one model interface: every class's probability, the
latent vector and the attributions of every text (a transformer's: of a chosen set, pipeline/per_text/attributions.py),
and the model's summary; in one pass over the texts, a part at a time.

    python -m pipeline predict --model dense --weights build/models/dense.keras --texts build/texts.parquet \
        --tokens build/tokens.npz --history build/training/dense.json --summary build/models/dense.json \
        --predictions build/predictions/dense.parquet --latent build/latent/dense.npy \
        --attributions build/attributions/dense.parquet
"""

from __future__ import annotations

from pathlib import Path

from pipeline import artifacts, cli
from pipeline.models import classifier, outputs
from pipeline.per_text.attributions import chosen_rows, of_every_text


def main() -> None:
    p = classifier.parser(__doc__)
    p.add_argument("--history", required=True, type=Path, help="training history, read for a model trained here")
    p.add_argument("--summary", required=True, type=Path, help="JSON with the architecture and history")
    p.add_argument("--predictions", required=True, type=Path)
    p.add_argument("--latent", required=True, type=Path, help="the latent vector of every text (.npy)")
    p.add_argument("--attributions", required=True, type=Path)
    args = p.parse_args()
    config, spec, corpus, model = classifier.opened(args)
    if spec.kind == "trained":
        extra = artifacts.read_summary(args.history)
    else:
        extra = {"file": spec.settings["file"], "sha256": spec.settings["sha256"]}
    paths = (args.summary, args.predictions, args.latent)
    settings = config["attributions"]
    opened = (model, corpus, args.config, args.weights, args.texts, args.tokens)
    if model.no_attributions or not of_every_text(spec.settings):
        # Without attributions (the database and the pages say why), or too slow for every text: a set chosen by the
        # predictions, attributed once they are known.
        outputs.write_predictions(outputs.Scoring(*opened), *paths, extra)
        if model.no_attributions:  # known once it has predicted, too: an endpoint that gives no log-probabilities
            outputs.write_no_attributions(corpus, args.attributions)
        else:
            rows = chosen_rows(args.predictions, corpus.tokens.subset, spec.settings, config["seed"])
            scoring = outputs.Scoring(*opened, attributions=settings, predict=False)
            cli.record_timing("attributions", outputs.write_attributions(scoring, args.attributions, rows))
    else:
        scoring = outputs.Scoring(*opened, attributions=settings)
        cli.record_timing("attributions", outputs.write_predictions(scoring, *paths, extra, args.attributions))
    if model.calls is not None and len(model.calls):  # heat maps made by calling the model: calls a text took
        found = artifacts.read_summary(args.summary)
        artifacts.write_summary(args.summary, {**found, "calls_per_text": float(model.calls.mean())})
