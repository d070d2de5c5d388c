"""Can a model's confidence be trusted? Its calibration on every subset, before and after temperature scaling.

    python -m pipeline calibration --texts build/texts.parquet --predictions build/predictions/dense.parquet ... \
        --metrics build/calibration/metrics.parquet --reliability build/calibration/reliability.parquet \
        --calibrated build/calibration/probabilities.parquet

For every model and subset (train, validation, test, all): a reliability diagram (equal-width confidence bins,
each with its texts, mean confidence and accuracy), the expected calibration error (ECE: the bins' gaps between
accuracy and confidence, weighted by their texts) with a bootstrap interval, the maximum calibration error (MCE:
the largest gap), the Brier score and the log loss. Top-label (the confidence of the predicted class against
whether it is right) for any number of classes, and per class (its probability against whether the text has
it) for up to MAX_PER_CLASS classes.

Temperature scaling (Guo et al., 2017) divides a model's logits by one temperature, fitted on the validation
hold-out by minimizing the log loss; it changes no prediction, only the confidence. The logits are the log
probabilities: softmax(log p / T) is the same for any logits that give p. Each text's calibrated probabilities
are kept beside the raw ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from tqdm import tqdm

from pipeline import artifacts, cli
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.models.predictions import EPSILON

SUBSETS = ("train", "validation", "test", "all")
MAX_PER_CLASS = 10
TEMPERATURES = (0.05, 20.0)  # the range searched


def logits_of(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probabilities, EPSILON, 1.0))


def scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    return np.exp(log_softmax(logits_of(probabilities) / temperature, axis=1))


def fit_temperature(probabilities: np.ndarray, label: np.ndarray) -> float:
    """The temperature that minimizes the log loss of these texts; 1 when there are none."""
    if len(label) == 0:
        return 1.0
    logits = logits_of(probabilities)
    rows = np.arange(len(label))

    def log_loss(log_t: float) -> float:
        return -log_softmax(logits / np.exp(log_t), axis=1)[rows, label].mean()

    found = minimize_scalar(log_loss, bounds=np.log(TEMPERATURES), method="bounded", options={"xatol": 1e-5})
    return float(np.exp(found.x))


def _bins(confidence: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((confidence * bins).astype(np.int64), bins - 1)


def reliability(confidence: np.ndarray, outcome: np.ndarray, bins: int) -> pd.DataFrame:
    """One row per non-empty bin: its edges, texts, mean confidence and observed accuracy."""
    bin_of = _bins(confidence, bins)
    counts = np.bincount(bin_of, minlength=bins)
    present = np.flatnonzero(counts)
    mean_confidence = np.bincount(bin_of, weights=confidence, minlength=bins)[present] / counts[present]
    accuracy = np.bincount(bin_of, weights=outcome, minlength=bins)[present] / counts[present]
    return pd.DataFrame(
        {
            "bin": present.astype(np.int16),
            "lower": present / bins,
            "upper": (present + 1) / bins,
            "texts": counts[present].astype(np.int32),
            "confidence": mean_confidence,
            "accuracy": accuracy,
        }
    )


def ece_of(views: list[tuple[np.ndarray, np.ndarray]], bins: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function of weights (texts x draws) giving the ECE of each (confidence, outcome) view of the same texts
    under each draw (draws x views): one sparse product per block of draws."""
    n, slots = len(views[0][0]), len(views) * bins
    columns = np.concatenate([v * bins + _bins(confidence, bins) for v, (confidence, _) in enumerate(views)])
    rows = np.tile(np.arange(n), len(views))
    gap = np.concatenate([confidence - outcome for confidence, outcome in views])
    # texts x (view, bin): which bin each text falls in, and its gap there.
    member = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, slots)).T.tocsr()
    gaps = sparse.csr_matrix((gap, (rows, columns)), shape=(n, slots)).T.tocsr()

    def ece(weights: np.ndarray) -> np.ndarray:
        count = (member @ weights).T.reshape(-1, len(views), bins)
        total = (gaps @ weights).T.reshape(-1, len(views), bins)
        return np.abs(total).sum(axis=2) / np.maximum(count.sum(axis=2), 1e-12)

    return ece


def poisson_weights(n: int, resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Bootstrap draws as Poisson(1) weights of the n texts (texts x draws), a block at a time: bounded memory at any
    size."""
    block = max(1, min(resamples, 20_000_000 // max(n, 1)))
    for start in range(0, resamples, block):
        yield rng.poisson(1.0, (n, min(block, resamples - start))).astype(np.float64)


def ece_with_interval(
    views: list[tuple[np.ndarray, np.ndarray]], bins: int, rng: np.random.Generator, resamples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ECE of each (confidence, outcome) view of the same texts, and its 95% bootstrap interval. Every view
    is resampled with the same texts (Poisson weights)."""
    n = len(views[0][0])
    ece = ece_of(views, bins)
    found = ece(np.ones((n, 1)))[0]
    if not resamples:
        return found, found, found
    draws = np.concatenate([ece(weights) for weights in poisson_weights(n, resamples, rng)])
    return found, np.quantile(draws, 0.025, axis=0), np.quantile(draws, 0.975, axis=0)


def views(probabilities: np.ndarray, label: np.ndarray, labels: list[str]):
    """(class or None, confidence, outcome, Brier score, log loss): top-label first, then each class."""
    rows = np.arange(len(label))
    onehot = np.eye(len(labels))[label]
    predicted = probabilities.argmax(axis=1)
    clipped = np.clip(probabilities, EPSILON, 1 - EPSILON)
    yield (
        None,
        probabilities[rows, predicted],
        (predicted == label).astype(np.float64),
        float(((probabilities - onehot) ** 2).sum(axis=1).mean()),
        float(-np.log(clipped[rows, label]).mean()),
    )
    if len(labels) > MAX_PER_CLASS:
        return
    for index, name in enumerate(labels):
        p, y = probabilities[:, index], onehot[:, index]
        log_loss = -(y * np.log(clipped[:, index]) + (1 - y) * np.log(1 - clipped[:, index])).mean()
        yield name, p, y, float(((p - y) ** 2).mean()), float(log_loss)


def calibrate(
    predictions: pd.DataFrame, subset: np.ndarray, label: np.ndarray, labels: list[str], settings: dict, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """One model's metrics and reliability bins, before and after scaling, and its calibrated probabilities.
    `predictions` is in text_id order, `subset` and `label` (indices) likewise."""
    rng = np.random.default_rng(seed)
    raw = np.stack(predictions["probabilities"].to_numpy()).astype(np.float64)
    validation = subset == "validation"
    temperature = fit_temperature(raw[validation], label[validation])
    calibrated = scaled(raw, temperature)
    model = predictions["model"].iloc[0]
    metrics, bins = [], []
    for name in SUBSETS:
        rows = np.ones(len(subset), bool) if name == "all" else subset == name
        if not rows.any():
            continue
        found = [
            ({"model": model, "subset": name, "scaled": is_scaled, "class": cls}, confidence, outcome, brier, log_loss)
            for is_scaled, probabilities in ((False, raw), (True, calibrated))
            for cls, confidence, outcome, brier, log_loss in views(probabilities[rows], label[rows], labels)
        ]
        ece, low, high = ece_with_interval(
            [(confidence, outcome) for _, confidence, outcome, _, _ in found],
            settings["bins"],
            rng,
            settings["bootstrap_resamples"],
        )
        for i, (key, confidence, outcome, brier, log_loss) in enumerate(found):
            table = reliability(confidence, outcome, settings["bins"])
            metrics.append(key | {"temperature": temperature, "texts": int(rows.sum()), "ece": ece[i],
                                  "ece_low": low[i], "ece_high": high[i],
                                  "mce": float(np.abs(table["accuracy"] - table["confidence"]).max()),
                                  "brier": brier, "log_loss": log_loss})  # fmt: skip
            bins.append(table.assign(**key))
    return pd.DataFrame(metrics), pd.concat(bins, ignore_index=True), calibrated


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--predictions", required=True, type=Path, nargs="+", help="<model>.parquet per model")
    p.add_argument("--metrics", required=True, type=Path)
    p.add_argument("--reliability", required=True, type=Path)
    p.add_argument("--calibrated", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    labels = artifacts.read_dataset_info(args.dataset_info).labels
    texts = artifacts.read_texts(args.texts, columns=["text_id", "subset", "label"])
    label = texts["label"].astype(str).map({name: i for i, name in enumerate(labels)}).to_numpy()
    metrics, bins, calibrated = [], [], []
    for path in tqdm(args.predictions, desc="calibration (bootstrap)", unit=" models", leave=False):
        predictions = artifacts.read_predictions(path)
        if not np.array_equal(predictions["text_id"].to_numpy(), texts["text_id"].to_numpy()):
            raise PipelineError(f"{path}: does not match {args.texts}; run make again")
        if predictions["probabilities"].isna().all():
            continue  # predicted classes alone (made elsewhere): nothing to calibrate
        found, reliability_bins, probabilities = calibrate(
            predictions, texts["subset"].to_numpy(), label, labels, config["calibration"], config["seed"]
        )
        metrics.append(found)
        bins.append(reliability_bins)
        calibrated.append(
            pd.DataFrame(
                {
                    "text_id": predictions["text_id"],
                    "model": predictions["model"],
                    "calibrated": list(probabilities.astype(np.float32)),
                }
            )
        )
    artifacts.write_table(args.metrics, pd.concat(metrics, ignore_index=True))
    artifacts.write_table(args.reliability, pd.concat(bins, ignore_index=True))
    artifacts.write_table(args.calibrated, pd.concat(calibrated, ignore_index=True))
