"""Data maps and label quality: what each model did with each training text while it learned, and how likely each
text's label is to be wrong.

    python -m pipeline label_quality --texts build/texts.parquet --tokens build/tokens.npz \
        --dynamics build/dynamics/dense.npz build/dynamics/cnn.npz --predictions build/predictions/dense.parquet ... \
        --epochs build/dynamics/epochs.parquet --maps build/dynamics/maps.parquet --out build/label_quality.parquet

Per text, model and epoch (from the training dynamics, pipeline/models/dynamics.py, or a file of them brought with a
model): the probability of the given label, the margin (log-probability of the given label minus that of the
likeliest other class: the logit margin, as the softmax's logits differ from its log-probabilities by one constant
per text), and whether the model was right. Per text and model, its place on the data map (Swayamdipta et al.,
2020): confidence (mean probability of the given label), variability (its standard deviation), correctness (share of
epochs right), forgetting events (right at one epoch, wrong at the next; Toneva et al., 2019), the area under the
margin (mean margin; Pleiss et al., 2020) and the region: ambiguous, easy to learn or hard to learn.

Label quality, a score from 0 (the label is likely wrong) to 1. A model trained on a text has learned its label, so
on the training texts it comes from evidence that was not memorised, as a weighted mean of probability vectors: the
out-of-sample probabilities of two cheap models of different kinds cross-validated over the training texts (k folds:
the TF-IDF baseline, and complement naive Bayes on its features), and the models' probabilities over their epochs of
early learning (up to the lowest validation loss: past it, a model fits the labels it could not learn; Arpit et al.,
2017; Liu et al., 2020). On the test split, which no model learned from, from the final models' probabilities. A
text is flagged as likely mislabelled by confident learning (Northcutt et al., 2021) on those same probabilities:
another class reaches its own average probability, the highest such class not being the label, and the label is not
the likeliest class. Measured with 10% of the training labels flipped (make bench, label_noise; bench/label_noise.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB

from pipeline import artifacts, cli, registry
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.models.baseline import BaselineClassifier
from pipeline.models.classifier import Corpus
from pipeline.sampling import seeded_sample

# The regions of a data map, as the pages name them.
REGIONS = ("easy to learn", "ambiguous", "hard to learn")
TINY = 1e-12  # probabilities are clipped here before their logarithm


def confident_learning(probabilities: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Which texts confident learning flags: another class's probability reaches that class's average over the texts
    labelled with it (its threshold), the highest such class is not the label, and neither is the likeliest class."""
    classes = probabilities.shape[1]
    thresholds = np.array([probabilities[given == j, j].mean() if (given == j).any() else 1.0 for j in range(classes)])
    confident = np.where(probabilities >= thresholds, probabilities, -1.0)
    return (confident.max(axis=1) >= 0) & (confident.argmax(axis=1) != given) & (probabilities.argmax(axis=1) != given)


def curves(probabilities: np.ndarray, given: np.ndarray) -> dict[str, np.ndarray]:
    """Per epoch and text (epochs x texts): the probability of the given label, the margin and whether it was
    right."""
    rows = np.arange(probabilities.shape[1])
    at_given = probabilities[:, rows, given]
    others = probabilities.copy()
    others[:, rows, given] = -1.0
    margin = np.log(np.maximum(at_given, TINY)) - np.log(np.maximum(others.max(axis=2), TINY))
    return {"probability": at_given, "margin": margin, "correct": probabilities.argmax(axis=2) == given}


def data_map(curve: dict[str, np.ndarray], settings: dict) -> pd.DataFrame:
    """Each text's place on the data map, from its curves."""
    probability, correct = curve["probability"], curve["correct"]
    confidence, variability = probability.mean(axis=0), probability.std(axis=0)
    # As the paper selects its regions: shares of the texts, so that a map of 3 epochs and one of 13 read alike.
    ambiguous = variability >= np.quantile(variability, 1 - settings["ambiguous_share"])
    hard = ~ambiguous & (confidence < np.quantile(confidence, settings["hard_share"]))
    region = np.where(ambiguous, REGIONS[1], np.where(hard, REGIONS[2], REGIONS[0]))
    return pd.DataFrame(
        {
            "confidence": confidence.astype(np.float32),
            "variability": variability.astype(np.float32),
            "correctness": correct.mean(axis=0).astype(np.float32),
            "forgetting": (correct[:-1] & ~correct[1:]).sum(axis=0).astype(np.int16),
            "aum": curve["margin"].mean(axis=0).astype(np.float32),
            "region": region,
        }
    )


def out_of_sample(corpus: Corpus, rows: np.ndarray, settings: dict, folds: int, seed: int) -> list[np.ndarray]:
    """Two models' probabilities of every class for the texts of `rows`, each from a fit on the other folds: the
    baseline (TF-IDF, logistic regression), and complement naive Bayes on the same features (Rennie et al., 2003), a
    model of another kind whose errors differ, at almost no cost."""
    given = corpus.tokens.label[rows]
    found = [np.zeros((len(rows), len(corpus.labels)), dtype=np.float32) for _ in range(2)]
    k = min(folds, max(2, int(np.bincount(given).max())))
    split = StratifiedKFold(k, shuffle=True, random_state=seed) if np.bincount(given).min() >= k else None
    parts = split.split(rows, given) if split else np.array_split(np.random.default_rng(seed).permutation(len(rows)), k)
    for part in parts:
        fit, held = part if split else (np.setdiff1d(np.arange(len(rows)), part), part)
        fit = fit[seeded_sample(len(fit), settings["fit_sample"], seed)]  # capped as the baseline itself is
        baseline = BaselineClassifier.fit(corpus, settings, seed, rows=rows[fit])
        bayes = ComplementNB().fit(baseline.ngrams.transform(corpus.part(rows[fit]).codes)[0], given[fit])
        texts = corpus.part(rows[held])
        found[0][held] = baseline.predict(texts)[0]
        each = np.zeros((len(held), len(corpus.labels)), dtype=np.float32)
        each[:, bayes.classes_] = bayes.predict_proba(baseline.features(texts)[0])
        found[1][held] = each
    return found


def brought_dynamics(spec: registry.ModelSpec, config: dict, texts: pd.DataFrame, training: np.ndarray,
                     labels: list[str]) -> artifacts.Dynamics:  # fmt: skip
    """A given model's training dynamics from the file its `dynamics` setting names: one row per text and epoch, with
    the data's id, `epoch` and a probability column per class, read as a predictions file is ([predictions]
    id_column, probability_prefix and encoding, or the model's own). Rows of test texts are left out; every epoch
    must hold the same texts."""
    # Imported here: a build without such a file does not depend on the readers of files (nor reruns when they change).
    from pipeline.data.formats import read_predictions_file
    from pipeline.models import import_predictions

    path = Path(spec.settings["dynamics"])
    settings = {key: spec.settings.get(key, value) for key, value in config["predictions"].items()}
    id_column = settings["id_column"]
    table = read_predictions_file(path, settings["encoding"], [id_column, "epoch"])
    for column in (id_column, "epoch"):
        if column not in table.column_names:
            raise PipelineError(f"{path}: no column {column!r}; give the data's id and the epoch on every row")
    ids = import_predictions.as_text(table[id_column])
    text_of = pd.Series(texts["text_id"].to_numpy(), index=texts["source_id"].astype("string").to_numpy())
    unknown = ids[~ids.isin(text_of.index)]
    if len(unknown):
        raise PipelineError(f"{path}: {len(unknown):,} ids are not in the data ({', '.join(unknown[:3])}); give "
                            "the data's ids")  # fmt: skip
    # Read as text, as ids are: the number each holds.
    epoch = pd.to_numeric(pd.Series(table["epoch"].to_numpy(zero_copy_only=False)), errors="coerce")
    if epoch.isna().any() or (epoch % 1 != 0).any() or (epoch < 1).any():
        raise PipelineError(f"{path}: column 'epoch' must hold whole numbers from 1 on every row")
    epoch = epoch.astype(int)
    rows = pd.DataFrame({"text_id": text_of.loc[ids.to_numpy()].to_numpy(), "epoch": epoch, "row": range(len(ids))})
    rows = rows[np.isin(rows["text_id"], texts["text_id"].to_numpy()[training])]
    if rows.duplicated(["text_id", "epoch"]).any():
        twice = rows[rows.duplicated(["text_id", "epoch"])].iloc[0]
        raise PipelineError(f"{path}: text {twice.text_id} has two rows for epoch {twice.epoch}; give one")
    wide = rows.pivot(index="text_id", columns="epoch", values="row")
    if wide.isna().any().any():
        raise PipelineError(f"{path}: the epochs hold different texts; give every epoch a row for the same texts")
    found = [
        import_predictions.probabilities_of(path, table, labels, settings, wide[number].to_numpy(dtype=int))
        for number in wide.columns
    ]
    if found[0] is None:
        prefix = settings["probability_prefix"]
        raise PipelineError(f"{path}: no probability columns ({prefix}<class>); give one per class")
    return artifacts.Dynamics(wide.index.to_numpy(), np.stack(found).astype(np.float32), len(found))


def final_probabilities(predictions: list[Path], mapped: list[str], test: np.ndarray, classes: int) -> np.ndarray:
    """The test texts' probabilities, averaged over the final models with a latent space (`mapped`: those the
    mislabelled finding always read), or over every model with probabilities where none of them has any."""
    frames = [artifacts.read_predictions(path) for path in predictions]
    usable = [f for f in frames if f["probabilities"].notna().all()]
    neural = [f for f in usable if f["model"].iloc[0] in mapped] or usable
    total = np.zeros((len(test), classes))
    for frame in neural:
        frame = frame.set_index("text_id").loc[test]
        total += np.stack(frame["probabilities"].to_numpy())
    return total / len(neural)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--dynamics", nargs="*", default=[], type=Path, help="<model>.npz per model trained here")
    p.add_argument("--predictions", required=True, nargs="+", type=Path, help="<model>.parquet per model")
    p.add_argument("--epochs", required=True, type=Path)
    p.add_argument("--maps", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["dynamics"]
    corpus = Corpus.read(args.texts, args.tokens)
    tokens, labels = corpus.tokens, corpus.labels
    texts = artifacts.read_texts(args.texts, columns=["text_id", "source_id"])

    training = np.flatnonzero(tokens.subset != "test")
    every = {path.stem: artifacts.read_dynamics(path) for path in args.dynamics}
    for spec in registry.models(config):
        if spec.given and spec.settings.get("dynamics"):
            every[spec.name] = brought_dynamics(spec, config, texts, training, labels)
    every = {model: seen for model, seen in every.items() if len(seen.probabilities)}  # record = false: none
    epochs, maps, learned = [], [], []
    baseline, bayes = out_of_sample(corpus, training, config[registry.BASELINE], settings["folds"], config["seed"])
    for model, seen in every.items():
        rows = np.searchsorted(tokens.text_id, seen.text_id)
        given = tokens.label[rows]
        curve = curves(seen.probabilities, given)
        count, texts_seen = curve["probability"].shape
        epochs.append(
            pd.DataFrame(
                {
                    "model": model,
                    "text_id": np.tile(seen.text_id, count),
                    "epoch": np.repeat(np.arange(1, count + 1, dtype=np.int16), texts_seen),
                    **{name: values.ravel() for name, values in curve.items()},
                }
            )
        )
        maps.append(data_map(curve, settings).assign(model=model, text_id=seen.text_id))
        # Its mean probabilities over the epochs of early learning, for the training texts it saw.
        mean = np.full((len(training), len(labels)), np.nan, dtype=np.float32)
        mean[np.searchsorted(training, rows)] = seen.probabilities[: seen.early].mean(axis=0)
        learned.append(mean)
    # The sources, each a probability vector per text, and their weights; a text outside every model's sample of
    # dynamics has the cross-validated models alone.
    early = np.full((len(training), len(labels)), np.nan, dtype=np.float32)
    if learned:
        stacked = np.stack(learned)
        seen_by = (~np.isnan(stacked[..., 0])).sum(axis=0)
        early = np.where(seen_by[:, None] > 0, np.nansum(stacked, axis=0) / np.maximum(seen_by, 1)[:, None], np.nan)
    sources = [
        (baseline, settings["baseline_weight"]),
        (bayes, settings["naive_bayes_weight"]),
        (early, settings["dynamics_weight"]),
    ]
    weights = np.stack([np.where(np.isnan(p).any(axis=1), 0.0, w) for p, w in sources])
    combined = sum(np.nan_to_num(p) * w[:, None] for (p, _), w in zip(sources, weights, strict=True))
    combined = combined / weights.sum(axis=0)[:, None]
    test = np.flatnonzero(tokens.subset == "test")
    final = final_probabilities(args.predictions, registry.mapped(config), tokens.text_id[test], len(labels))
    quality = []
    signals = {"out_of_sample": baseline, "naive_bayes": bayes, "early_learning": early}
    for rows, probabilities, source, each in (
        (training, combined, "training", signals),
        (test, final, "final models", {}),
    ):
        if not len(rows):
            continue
        label = tokens.label[rows]
        at = np.arange(len(rows))
        others = probabilities.copy()
        others[at, label] = -1.0
        quality.append(
            pd.DataFrame(
                {
                    "text_id": tokens.text_id[rows],
                    "label_quality": probabilities[at, label].astype(np.float32),
                    "likely_label": np.asarray(labels, dtype=object)[others.argmax(axis=1)],
                    "flagged": confident_learning(probabilities, label),
                    **{name: each[name][at, label] if each else np.nan for name in signals},
                    "evidence": source,
                }
            )
        )
    columns = ["model", "text_id", "epoch", "probability", "margin", "correct"]
    artifacts.write_table(
        args.epochs, pd.concat(epochs, ignore_index=True) if epochs else pd.DataFrame(columns=columns)
    )
    map_columns = ["model", "text_id", "confidence", "variability", "correctness", "forgetting", "aum", "region"]
    artifacts.write_table(
        args.maps, pd.concat(maps, ignore_index=True)[map_columns] if maps else pd.DataFrame(columns=map_columns)
    )
    artifacts.write_table(args.out, pd.concat(quality, ignore_index=True).sort_values("text_id"))
    flagged = sum(int(frame["flagged"].sum()) for frame in quality)
    print(f"{args.out}: label quality of {len(tokens.text_id):,} texts, {flagged:,} likely mislabelled")
