"""Findings about where the models fail, computed once and ranked by how much loss they account for.

    python -m pipeline.insights --reviews build/reviews.parquet --tokens build/tokens.npz \
        --metadata build/metadata.parquet --predictions build/predictions/dense.parquet ... \
        --clusters build/clusters/dense.parquet ... --out build/insights.parquet \
        --members build/insight_reviews.parquet --correlations build/correlations.parquet

Kinds of finding, each with the reviews it is about:
- cluster: a cluster whose test loss is well above the model's, with the metadata that sets it apart;
- range: a range of one metadata feature (a decile) whose test loss is well above the model's;
- mislabelled: reviews both models reject confidently (confident learning's off-diagonal);
- duplicates: reviews whose cleaned text is identical, flagged when they cross the train/test boundary.
Also the rank correlation of every feature with the loss, with a bootstrap confidence interval.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from pipeline import cli
from pipeline.config import load_config
from pipeline.text import clean_all

# Features as the dashboard names them: column of the joined review table.
FEATURES = {
    "length_tokens": "n_tokens",
    "length_chars": "n_chars",
    "oov_count": "n_oov",
    "oov_rate": "oov_rate",
    "polarity": "polarity",
    "polarity_strength": "polarity_strength",
    "subjectivity": "subjectivity",
    "confidence": "confidence",
    "rating": "rating",
    "negations": "n_negations",
    "contrasts": "n_contrasts",
}
SUBSETS = ("train", "validation", "test", "all")
HIGH_LOSS = 1.5  # a group is notable when its mean loss is at least this many times the model's
MIN_SHARE = 0.01  # ... and it holds at least this share of the test reviews


def review_table(reviews: Path, tokens: Path, metadata: Path) -> pd.DataFrame:
    table = pd.read_parquet(reviews).merge(pd.read_parquet(metadata), on="review_id")
    found = np.load(tokens)
    table["subset"], table["n_tokens"], table["n_oov"] = found["subset"], found["n_tokens"], found["n_oov"]
    table["n_chars"] = table["text"].str.len()
    table["oov_rate"] = table["n_oov"] / table["n_tokens"].clip(lower=1)
    table["polarity_strength"] = table["polarity"].abs()
    return table


def spearman_with_interval(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, resamples: int) -> tuple:
    """Spearman's rho and a 95% bootstrap interval (resampling reviews, ranks computed once)."""
    rx, ry = rankdata(x), rankdata(y)
    rho = np.corrcoef(rx, ry)[0, 1] if rx.std() > 0 else 0.0
    draws = []
    for _ in range(resamples):
        rows = rng.integers(0, len(rx), len(rx))
        a, b = rx[rows], ry[rows]
        draws.append(np.corrcoef(a, b)[0, 1] if a.std() > 0 else 0.0)
    low, high = np.quantile(draws, [0.025, 0.975])
    return float(rho), float(low), float(high)


def correlations(joined: pd.DataFrame, seed: int, resamples: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for (model, subset), group in _by_model_and_subset(joined):
        for feature, column in FEATURES.items():
            rho, low, high = spearman_with_interval(
                group[column].to_numpy(float), group["loss"].to_numpy(), rng, resamples
            )
            rows.append({"model": model, "subset": subset, "feature": feature, "spearman": rho, "ci_low": low,
                         "ci_high": high, "reviews": len(group)})  # fmt: skip
    return pd.DataFrame(rows)


def _by_model_and_subset(joined: pd.DataFrame):
    for model, group in joined.groupby("model", sort=True):
        for subset in SUBSETS:
            yield (model, subset), group if subset == "all" else group[group["subset"] == subset]


def cluster_findings(test: pd.DataFrame, model: str, overall: float) -> list[dict]:
    findings = []
    for cluster, group in test.groupby("cluster"):
        ratio = group["loss"].mean() / overall
        if ratio < HIGH_LOSS or len(group) < MIN_SHARE * len(test):
            continue
        # The features whose mean in the cluster sits furthest from the rest, in standard deviations.
        shifts = {
            feature: (group[column].mean() - test[column].mean()) / (test[column].std() or 1)
            for feature, column in FEATURES.items()
            if feature != "confidence"
        }
        top = sorted(shifts, key=lambda f: -abs(shifts[f]))[:2]
        described = ", ".join(f"{f.replace('_', ' ')} {'high' if shifts[f] > 0 else 'low'}" for f in top)
        findings.append(_finding(model, "cluster", f"Cluster {cluster}: loss {ratio:.1f}x the mean ({described})",
                                 group, test, overall))  # fmt: skip
    return findings


def range_findings(test: pd.DataFrame, model: str, overall: float) -> list[dict]:
    findings = []
    for feature, column in FEATURES.items():
        if feature == "confidence":
            continue  # low confidence meaning high loss says nothing new
        values = test[column]
        edges = np.unique(np.quantile(values, np.linspace(0, 1, 11)))
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, max(len(edges) - 2, 0))
        for index in np.unique(bins):
            group = test[bins == index]
            ratio = group["loss"].mean() / overall
            if ratio < HIGH_LOSS or len(group) < MIN_SHARE * len(test):
                continue
            low, high = group[column].min(), group[column].max()
            span = f"{_number(low)}" if low == high else f"{_number(low)} to {_number(high)}"
            title = f"Reviews with {feature.replace('_', ' ')} {span}: loss {ratio:.1f}x the mean"
            findings.append(_finding(model, "range", title, group, test, overall))
    return findings


def mislabelled_findings(joined: pd.DataFrame) -> list[dict]:
    """Confident learning on the neural models' averaged probabilities: a review labelled i whose probability
    of the other label reaches that label's own average (its per-class threshold) is a likely label error."""
    wide = joined.pivot_table(index="review_id", columns="model", values="p_positive")
    labels = joined.drop_duplicates("review_id").set_index("review_id").loc[wide.index]
    p_positive = wide[["dense", "cnn"]].mean(axis=1)
    positive = labels["label"] == "positive"
    threshold_positive = p_positive[positive].mean()
    threshold_negative = (1 - p_positive[~positive]).mean()
    flagged = (positive & (1 - p_positive >= threshold_negative) & (p_positive < 0.5)) | (
        ~positive & (p_positive >= threshold_positive) & (p_positive >= 0.5)
    )
    members = labels[flagged].assign(p_true=np.where(positive[flagged], p_positive[flagged], 1 - p_positive[flagged]))
    if members.empty:
        return []
    members = members.reset_index()
    title = f"{len(members):,} reviews are likely mislabelled: both models confidently give them the other label"
    loss = joined[joined["review_id"].isin(members["review_id"]) & joined["model"].isin(["dense", "cnn"])]
    return [{"model": None, "kind": "mislabelled", "title": title, "reviews": len(members),
             "mean_loss": float(loss["loss"].mean()), "loss_ratio": float(loss["loss"].mean() / joined["loss"].mean()),
             "importance": float(loss["loss"].sum() / joined.loc[joined["model"].isin(["dense", "cnn"]), "loss"].sum()),
             "members": members.sort_values("p_true")["review_id"].tolist()}]  # fmt: skip


def duplicate_findings(reviews: pd.DataFrame) -> list[dict]:
    cleaned = pd.Series(clean_all(reviews["text"]), index=reviews.index)
    groups = reviews.assign(cleaned=cleaned).groupby("cleaned").filter(lambda g: len(g) > 1)
    if groups.empty:
        return []
    findings = []
    crossing = groups.groupby("cleaned").filter(lambda g: g["split"].nunique() > 1)
    for members, title in (
        (crossing, "reviews appear in both the train and the test split (same text once cleaned)"),
        (groups, "reviews have a duplicate (same text once cleaned)"),
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
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--metadata", required=True, type=Path)
    p.add_argument("--predictions", required=True, type=Path, nargs="+")
    p.add_argument("--clusters", required=True, type=Path, nargs="+", help="<model>.parquet per neural model")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--members", required=True, type=Path)
    p.add_argument("--correlations", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["insights"]

    reviews = review_table(args.reviews, args.tokens, args.metadata)
    clusters = pd.concat([pd.read_parquet(path).assign(model=path.stem) for path in args.clusters])
    predictions = pd.concat([pd.read_parquet(path) for path in args.predictions])
    neural = predictions[predictions["model"].isin(clusters["model"].unique())]
    joined = neural.merge(reviews.drop(columns=["text"]), on="review_id").merge(clusters, on=["review_id", "model"])

    findings = mislabelled_findings(joined) + duplicate_findings(reviews)
    for model, group in joined.groupby("model"):
        test = group[group["subset"] == "test"]
        overall = test["loss"].mean()
        findings += cluster_findings(test, model, overall) + range_findings(test, model, overall)
    findings.sort(key=lambda f: -f["importance"])
    columns = ["model", "kind", "title", "reviews", "mean_loss", "loss_ratio", "importance"]
    table = pd.DataFrame([{k: f[k] for k in columns} for f in findings], columns=columns)
    table.insert(0, "insight_id", np.arange(1, len(table) + 1, dtype=np.int32))
    members = pd.DataFrame(
        [(i + 1, r + 1, review) for i, f in enumerate(findings) for r, review in enumerate(f["members"])],
        columns=["insight_id", "rank", "review_id"],
    )

    with cli.atomic_output(args.out) as tmp:
        table.to_parquet(tmp, index=False)
    with cli.atomic_output(args.members) as tmp:
        members.to_parquet(tmp, index=False)
    with cli.atomic_output(args.correlations) as tmp:
        correlations(joined, config["seed"], settings["bootstrap_resamples"]).to_parquet(tmp, index=False)


if __name__ == "__main__":
    cli.run("insights", main)
