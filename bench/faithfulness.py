"""How faithful the stored attributions are: completeness and a deletion test, for `make bench`.

Completeness: a text's scores toward a class should sum to target(text) - target(baseline).
Deletion: removing the 5 words that push a text most toward its predicted class should lower the
probability of that class more than removing 5 words at random.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from pipeline import artifacts  # noqa: E402

REMOVED = 5


def completeness_error(attributions: artifacts.Attributions) -> np.ndarray:
    """Per text and stored class, |sum of scores - change in target| / |change in target|."""
    change = attributions.at_text - attributions.at_baseline
    return (np.abs(attributions.score_sum - change) / np.maximum(np.abs(change), 1e-6)).ravel()


def without(sequence: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The sequence with the tokens at `positions` deleted, the rest moved up, padding at the end."""
    kept = np.delete(sequence[sequence != 0], positions)
    return np.concatenate([kept, np.zeros(len(sequence) - len(kept), dtype=sequence.dtype)])


def deletion_test(
    model: keras.Model, sequences: np.ndarray, attributions: artifacts.Attributions, rows: np.ndarray, seed: int
) -> dict:
    rng = np.random.default_rng(seed)
    before = model.predict(sequences[rows], batch_size=512, verbose=0)
    predicted = before.argmax(axis=1)
    top, random = [], []
    for row, target in zip(rows, predicted, strict=True):
        scores = attributions.by_class(row)[:, target]
        top.append(without(sequences[row], np.argsort(-scores, kind="stable")[:REMOVED]))
        random.append(without(sequences[row], rng.choice(len(scores), REMOVED, replace=False)))
    picked = np.arange(len(rows)), predicted
    after_top = model.predict(np.array(top), batch_size=512, verbose=0)[picked]
    after_random = model.predict(np.array(random), batch_size=512, verbose=0)[picked]
    drop_top, drop_random = before[picked] - after_top, before[picked] - after_random
    return {
        "texts": len(rows),
        "mean_drop_top5": round(float(drop_top.mean()), 4),
        "mean_drop_random5": round(float(drop_random.mean()), 4),
        "share_top5_drops_more": round(float((drop_top > drop_random).mean()), 4),
    }


def measure(build: Path, sample: int = 2000, seed: int = 0) -> dict:
    tokens = artifacts.read_tokens(build / "tokens.npz")
    lengths = (tokens.sequences != 0).sum(axis=1)
    candidates = np.flatnonzero((tokens.subset == "test") & (lengths >= 4 * REMOVED))
    rows = np.random.default_rng(seed).choice(candidates, size=min(sample, len(candidates)), replace=False)
    report = {}
    for path in sorted((build / "attributions").glob("*.parquet")):
        attributions = artifacts.read_attributions(path)
        if not len(attributions.values):  # a model analysed without attributions
            continue
        errors = completeness_error(attributions)
        report[path.stem] = {
            "completeness_error_median": round(float(np.median(errors)), 5),
            "completeness_error_p90": round(float(np.quantile(errors, 0.9)), 5),
            "completeness_error_max_abs": round(
                float(np.abs(attributions.score_sum - attributions.at_text + attributions.at_baseline).max()), 7
            ),
        }
        # The deletion test edits the pipeline's token ids: for the models trained here, which read them.
        if (build / "training" / f"{path.stem}.json").exists() and len(rows):
            model = keras.models.load_model(build / "models" / f"{path.stem}.keras")
            report[path.stem]["deletion"] = deletion_test(model, tokens.sequences, attributions, rows, seed)
    return report
