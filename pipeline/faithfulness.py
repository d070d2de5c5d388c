"""How faithful the stored attributions are: completeness and a deletion test, for `make bench`.

Completeness: a review's scores should sum to margin(review) - margin(baseline).
Deletion: removing a review's 5 most positively attributed words should lower its probability of
positive more than removing 5 words at random.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

REMOVED = 5


def completeness_error(attributions: dict) -> np.ndarray:
    """Per review, |sum of scores - change in margin| / |change in margin|."""
    change = attributions["at_review"] - attributions["at_baseline"]
    return np.abs(attributions["score_sum"] - change) / np.maximum(np.abs(change), 1e-6)


def ragged_scores(attributions: dict) -> list[np.ndarray]:
    values, offsets, scale = attributions["values"], attributions["offsets"], attributions["scale"]
    return [values[offsets[i] : offsets[i + 1]] * scale[i] for i in range(len(scale))]


def without(sequence: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The sequence with the tokens at `positions` deleted, the rest moved up, padding at the end."""
    kept = np.delete(sequence[sequence != 0], positions)
    return np.concatenate([kept, np.zeros(len(sequence) - len(kept), dtype=sequence.dtype)])


def deletion_test(
    model: keras.Model, sequences: np.ndarray, scores: list[np.ndarray], rows: np.ndarray, seed: int
) -> dict:
    rng = np.random.default_rng(seed)
    top, random = [], []
    for row in rows:
        order = np.argsort(-scores[row], kind="stable")
        top.append(without(sequences[row], order[:REMOVED]))
        random.append(without(sequences[row], rng.choice(len(scores[row]), REMOVED, replace=False)))
    before = model.predict(sequences[rows], batch_size=512, verbose=0)[:, 1]
    after_top = model.predict(np.array(top), batch_size=512, verbose=0)[:, 1]
    after_random = model.predict(np.array(random), batch_size=512, verbose=0)[:, 1]
    drop_top, drop_random = before - after_top, before - after_random
    return {
        "reviews": len(rows),
        "mean_drop_top5": round(float(drop_top.mean()), 4),
        "mean_drop_random5": round(float(drop_random.mean()), 4),
        "share_top5_drops_more": round(float((drop_top > drop_random).mean()), 4),
    }


def measure(build: Path, sample: int = 2000, seed: int = 0) -> dict:
    tokens = np.load(build / "tokens.npz")
    sequences = tokens["sequences"]
    lengths = (sequences != 0).sum(axis=1)
    candidates = np.flatnonzero((tokens["subset"] == "test") & (lengths >= 4 * REMOVED))
    rows = np.random.default_rng(seed).choice(candidates, size=min(sample, len(candidates)), replace=False)
    report = {}
    for path in sorted((build / "attributions").glob("*.npz")):
        attributions = dict(np.load(path))
        errors = completeness_error(attributions)
        model = keras.models.load_model(build / "models" / f"{path.stem}.keras")
        report[path.stem] = {
            "completeness_error_median": round(float(np.median(errors)), 5),
            "completeness_error_p90": round(float(np.quantile(errors, 0.9)), 5),
            "deletion": deletion_test(model, sequences, ragged_scores(attributions), rows, seed),
        }
    return report
