"""Run one model on the behavioural test cases (pipeline/cases.py) and say which it fails.

    python -m pipeline.behaviour --model cnn --weights build/models/cnn.keras --reviews build/reviews.parquet \
        --tokens build/tokens.npz --predictions build/predictions/cnn.parquet \
        --cases build/behaviour/cases.parquet --out build/behaviour/cnn.parquet

Only the changed texts are predicted: a case's text before the change is a text of the data, whose
probabilities the model's predictions already hold. A case fails when
- invariance: the predicted class changes;
- direction: the probability of the case's class moves against the expectation by more than the tolerance;
- template: the predicted class is not the case's label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import adapters, artifacts, cli


def verdicts(
    cases: pd.DataFrame, before: np.ndarray | None, after: np.ndarray, labels: list[str], tolerance: float
) -> np.ndarray:
    """Whether the model fails each case, from its probabilities before (rows of cases; NaN for templates) and
    after the change."""
    index = cases["label"].map({label: i for i, label in enumerate(labels)}).fillna(0).astype(int).to_numpy()
    rows = np.arange(len(cases))
    expect = cases["expect"].to_numpy()
    moved = after[rows, index] - before[rows, index]
    return np.select(
        [expect == "same", expect == "up", expect == "down", expect == "label"],
        [
            before.argmax(axis=1) != after.argmax(axis=1),
            moved < -tolerance,
            moved > tolerance,
            after.argmax(axis=1) != index,
        ],
        default=False,
    )


def main() -> None:
    p = adapters.parser(__doc__)
    p.add_argument("--predictions", required=True, type=Path, help="the model's predictions of the data")
    p.add_argument("--cases", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config, spec, corpus, model = adapters.opened(args)
    cases = artifacts.read_table(args.cases)
    k = len(corpus.labels)
    after = model.predict(corpus.of_texts(list(cases["after"])))[0] if len(cases) else np.zeros((0, k))
    predictions = artifacts.read_predictions(args.predictions).set_index("review_id")["probabilities"]
    before = np.full((len(cases), k), np.nan)
    known = cases["review_id"].notna().to_numpy()
    if known.any():
        before[known] = np.stack(predictions.loc[cases.loc[known, "review_id"].astype(int)].to_numpy())
    failed = verdicts(cases, before, after, corpus.labels, config["behaviour"]["tolerance"])
    artifacts.write_table(
        args.out,
        pd.DataFrame(
            {
                "case_id": cases["case_id"].to_numpy(np.int32),
                "model": spec.name,
                "probabilities_before": [None if np.isnan(row).any() else row.astype(np.float32) for row in before],
                "probabilities_after": list(after.astype(np.float32)),
                "failed": failed,
            }
        ),
    )
    print(f"{args.out}: {spec.name} fails {int(failed.sum()):,} of {len(cases):,} cases")


if __name__ == "__main__":
    cli.run("behaviour", main)
