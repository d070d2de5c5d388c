"""Integrated gradients of one model for every text: how much each token pushes toward each class.

    python -m pipeline.attributions --model cnn --weights build/models/cnn.keras --reviews build/reviews.parquet \
        --tokens build/tokens.npz --out build/attributions/cnn.parquet

The target for class c is its centred logit, logit(c) minus the mean of all logits, taken with respect to
the embedding output, from the all-zero embedding of the text's tokens (the baseline) to the text's own. With
two classes it is half the margin logit(positive) - logit(negative), and a token's score toward one class is
minus its score toward the other. The centred logits of all classes sum to zero and integrated gradients are
linear in the target, so the scores toward class 0 are minus the sum of the others': only classes 1 to n-1 are
computed and stored. Scores sum to target(text) - target(baseline) (completeness).

Each model computes them through the one model interface (pipeline/classifier.py): the path integral with the
midpoint rule over `steps` points for a Keras model (pipeline/keras_models.py); exactly for the dense
architecture, which averages a function of each token alone, and for the linear baseline (pipeline/baseline.py).
"""

from __future__ import annotations

from pathlib import Path

from pipeline import adapters, analysis, cli


def main() -> None:
    p = adapters.parser(__doc__)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config, _, corpus, model = adapters.opened(args)
    if model.no_attributions:
        # The model is analysed without them; the database and the pages say why.
        analysis.write_no_attributions(corpus, args.out)
        return
    analysis.write_attributions(model, corpus, config["attributions"], args.out)


if __name__ == "__main__":
    cli.run("attributions", main)
