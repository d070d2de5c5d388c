"""Findings about where the models fail, computed once and ranked by how much loss they account for.

    python -m pipeline.insights --reviews build/reviews.parquet --dataset-info build/dataset.json \
        --tokens build/tokens.npz \
        --metadata build/metadata.parquet --predictions build/predictions/dense.parquet ... \
        --clusters build/clusters/dense.parquet ... --out build/insights.parquet \
        --members build/insight_reviews.parquet --correlations build/correlations.parquet

Kinds of finding, each with the reviews it is about:
- cluster: a cluster whose test loss is well above the model's, with the metadata that sets it apart;
- range: a range of one numeric feature (a decile) whose test loss is well above the model's;
- category: a value of a category column of the data whose test loss is well above the model's;
- mislabelled: texts the models reject confidently (confident learning's off-diagonal, over n classes);
- duplicates: reviews whose cleaned text is identical, flagged when they cross the train/test boundary.
Also the rank correlation of every feature with the loss, with a bootstrap confidence interval.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from pipeline import artifacts, cli
from pipeline.config import load_config
from pipeline.features import Feature, features, review_table, values
from pipeline.text import clean_all

SUBSETS = ("train", "validation", "test", "all")
HIGH_LOSS = 1.5  # a group is notable when its mean loss is at least this many times the model's
MIN_SHARE = 0.01  # ... and it holds at least this share of the test texts


def spearman_with_interval(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, resamples: int) -> tuple:
    """Spearman's rho and a 95% bootstrap interval (resampling texts, ranks computed once)."""
    if len(x) < 3:
        return 0.0, 0.0, 0.0
    rx, ry = rankdata(x), rankdata(y)
    rho = np.corrcoef(rx, ry)[0, 1] if rx.std() > 0 else 0.0
    draws = []
    for _ in range(resamples):
        rows = rng.integers(0, len(rx), len(rx))
        a, b = rx[rows], ry[rows]
        draws.append(np.corrcoef(a, b)[0, 1] if a.std() > 0 else 0.0)
    low, high = np.quantile(draws, [0.025, 0.975])
    return float(rho), float(low), float(high)


def correlations(joined: pd.DataFrame, numeric: list[Feature], seed: int, resamples: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for (model, subset), group in _by_model_and_subset(joined):
        if group.empty:
            continue
        for feature in (f.name for f in numeric):
            column = feature
            present = group[column].notna().to_numpy()  # a data column may have gaps
            rho, low, high = spearman_with_interval(
                group[column].to_numpy(float)[present], group["loss"].to_numpy()[present], rng, resamples
            )
            rows.append({"model": model, "subset": subset, "feature": feature, "spearman": rho, "ci_low": low,
                         "ci_high": high, "reviews": int(present.sum())})  # fmt: skip
    return pd.DataFrame(rows)


def _by_model_and_subset(joined: pd.DataFrame):
    for model, group in joined.groupby("model", sort=True):
        for subset in SUBSETS:
            yield (model, subset), group if subset == "all" else group[group["subset"] == subset]


def _described(numeric: list[Feature]) -> list[Feature]:
    # Low confidence meaning high loss says nothing new.
    return [f for f in numeric if f.source != "model"]


def cluster_findings(test: pd.DataFrame, model: str, overall: float, numeric: list[Feature]) -> list[dict]:
    findings = []
    for cluster, group in test.groupby("cluster"):
        ratio = group["loss"].mean() / overall
        if ratio < HIGH_LOSS or len(group) < MIN_SHARE * len(test):
            continue
        # The features whose mean in the cluster sits furthest from the rest, in standard deviations.
        shifts = {
            f.title: np.nan_to_num((group[f.name].mean() - test[f.name].mean()) / (test[f.name].std() or 1))
            for f in _described(numeric)
        }
        top = sorted(shifts, key=lambda f: -abs(shifts[f]))[:2]
        described = ", ".join(f"{f} {'high' if shifts[f] > 0 else 'low'}" for f in top)
        findings.append(_finding(model, "cluster", f"Cluster {cluster}: loss {ratio:.1f}x the mean ({described})",
                                 group, test, overall))  # fmt: skip
    return findings


def range_findings(test: pd.DataFrame, model: str, overall: float, numeric: list[Feature], noun: str) -> list[dict]:
    findings = []
    for feature in _described(numeric):
        column = feature.name
        values = test[column].dropna()
        edges = np.unique(np.quantile(values, np.linspace(0, 1, 11)))
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, max(len(edges) - 2, 0))
        for index in np.unique(bins):
            group = test.loc[values.index[bins == index]]
            ratio = group["loss"].mean() / overall
            if ratio < HIGH_LOSS or len(group) < MIN_SHARE * len(test):
                continue
            low, high = group[column].min(), group[column].max()
            span = f"{_number(low)}" if low == high else f"{_number(low)} to {_number(high)}"
            title = f"{noun.capitalize()} with {feature.title} {span}: loss {ratio:.1f}x the mean"
            findings.append(_finding(model, "range", title, group, test, overall))
    return findings


def category_findings(
    test: pd.DataFrame, model: str, overall: float, categories: list[Feature], noun: str
) -> list[dict]:
    """Values of a category column (from the data) whose test texts the model fails on far more than on the rest."""
    findings = []
    for feature in categories:
        for value, group in test.groupby(feature.name):
            ratio = group["loss"].mean() / overall
            if ratio < HIGH_LOSS or len(group) < MIN_SHARE * len(test):
                continue
            title = f"{noun.capitalize()} with {feature.title} {value}: loss {ratio:.1f}x the mean"
            findings.append(_finding(model, "category", title, group, test, overall))
    return findings


def mislabelled_findings(joined: pd.DataFrame, labels: list[str], noun: str) -> list[dict]:
    """Confident learning (Northcutt et al., 2021) on the neural models' averaged probabilities: a text whose
    probability of another class reaches that class's own average (its threshold), the highest such class not
    being its label, and which the models get wrong, is a likely label error."""
    average = joined.groupby("review_id")["probabilities"].apply(lambda rows: np.mean(np.stack(rows), axis=0))
    probabilities = np.stack(average.to_numpy())
    first = joined.drop_duplicates("review_id").set_index("review_id").loc[average.index]
    given = first["label"].map({label: i for i, label in enumerate(labels)}).to_numpy()
    rows = np.arange(len(given))
    thresholds = np.array(
        [probabilities[given == j, j].mean() if (given == j).any() else 1.0 for j in range(len(labels))]
    )
    confident = np.where(probabilities >= thresholds, probabilities, -1.0)
    likely = confident.argmax(axis=1)
    flagged = (confident.max(axis=1) >= 0) & (likely != given) & (probabilities.argmax(axis=1) != given)
    if not flagged.any():
        return []
    p_true = probabilities[rows, given]
    members = [int(r) for r in first.index[flagged][np.argsort(p_true[flagged], kind="stable")]]
    loss = joined[joined["review_id"].isin(members)]
    title = f"{len(members):,} {noun} are likely mislabelled: the models confidently give them another label"
    return [{"model": None, "kind": "mislabelled", "title": title, "reviews": len(members),
             "mean_loss": float(loss["loss"].mean()), "loss_ratio": float(loss["loss"].mean() / joined["loss"].mean()),
             "importance": float(loss["loss"].sum() / joined["loss"].sum()), "members": members}]  # fmt: skip


def duplicate_findings(reviews: pd.DataFrame, noun: str) -> list[dict]:
    cleaned = pd.Series(clean_all(reviews["text"]), index=reviews.index)
    groups = reviews.assign(cleaned=cleaned).groupby("cleaned").filter(lambda g: len(g) > 1)
    if groups.empty:
        return []
    findings = []
    crossing = groups.groupby("cleaned").filter(lambda g: g["split"].nunique() > 1)
    for members, title in (
        (crossing, f"{noun} appear in both the train and the test split (same text once cleaned)"),
        (groups, f"{noun} have a duplicate (same text once cleaned)"),
    ):
        if members.empty or (members is groups and len(groups) == len(crossing)):
            continue  # nothing, or nothing beyond the duplicates across splits
        ordered = members.sort_values(["cleaned", "review_id"])["review_id"].tolist()
        findings.append({"model": None, "kind": "duplicates", "title": f"{len(ordered):,} {title}",
                         "reviews": len(ordered), "mean_loss": None, "loss_ratio": None,
                         "importance": len(ordered) / len(reviews), "members": ordered})  # fmt: skip
    return findings


def _finding(model: str, kind: str, title: str, group: pd.DataFrame, test: pd.DataFrame, overall: float) -> dict:
    excess = group["loss"].sum() - len(group) * overall
    return {"model": model, "kind": kind, "title": title, "reviews": len(group),
            "mean_loss": float(group["loss"].mean()), "loss_ratio": float(group["loss"].mean() / overall),
            "importance": float(excess / test["loss"].sum()),
            "members": group.sort_values("loss", ascending=False)["review_id"].tolist()}  # fmt: skip


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2f}"


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--metadata", required=True, type=Path)
    p.add_argument("--predictions", required=True, type=Path, nargs="+", help="<model>.parquet per neural model")
    p.add_argument("--clusters", required=True, type=Path, nargs="+", help="<model>.parquet per neural model")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--members", required=True, type=Path)
    p.add_argument("--correlations", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["insights"]
    info = artifacts.read_dataset_info(args.dataset_info)
    noun = "reviews" if info.kind == "imdb" else "texts"
    found = features(info)
    numeric = [f for f in found if f.kind == "numeric"]
    categories = [f for f in found if f.kind == "category"]

    reviews = review_table(args.reviews, args.tokens, args.metadata)
    clusters = pd.concat([artifacts.read_clusters(path).assign(model=path.stem) for path in args.clusters])
    predictions = pd.concat([artifacts.read_predictions(path) for path in args.predictions], ignore_index=True)
    joined = (
        values(found, reviews, predictions)
        .merge(predictions[["review_id", "model", "probabilities"]], on=["review_id", "model"])
        .merge(reviews[["review_id", "split", "label"]], on="review_id")
        .merge(clusters, on=["review_id", "model"])
    )

    findings = mislabelled_findings(joined, info.labels, noun) + duplicate_findings(reviews, noun)
    for model, group in joined.groupby("model"):
        test = group[group["subset"] == "test"]
        overall = test["loss"].mean()
        findings += (
            cluster_findings(test, model, overall, numeric)
            + range_findings(test, model, overall, numeric, noun)
            + category_findings(test, model, overall, categories, noun)
        )
    findings.sort(key=lambda f: -f["importance"])
    columns = ["model", "kind", "title", "reviews", "mean_loss", "loss_ratio", "importance"]
    table = pd.DataFrame([{k: f[k] for k in columns} for f in findings], columns=columns)
    table.insert(0, "insight_id", np.arange(1, len(table) + 1, dtype=np.int32))
    members = pd.DataFrame(
        [(i + 1, r + 1, review) for i, f in enumerate(findings) for r, review in enumerate(f["members"])],
        columns=["insight_id", "rank", "review_id"],
    )
    artifacts.write_table(args.out, table)
    artifacts.write_table(args.members, members)
    artifacts.write_table(
        args.correlations, correlations(joined, numeric, config["seed"], settings["bootstrap_resamples"])
    )


if __name__ == "__main__":
    cli.run("insights", main)
