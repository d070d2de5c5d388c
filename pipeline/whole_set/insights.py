"""Findings about where the models fail, computed once and ranked by how much loss they account for.

    python -m pipeline insights --texts build/texts.parquet --dataset-info build/dataset.json \
        --tokens build/tokens.npz \
        --metadata build/metadata.parquet --predictions build/predictions/dense.parquet ... baseline.parquet \
        --clusters build/clusters/dense.parquet ... --out build/insights.parquet \
        --insight-texts build/insight_texts.parquet --correlations build/correlations.parquet \
        --slices build/slices.parquet --label-quality build/label_quality.parquet

Kinds of finding, each with the texts it is about:
- cluster: a cluster whose test loss is well above the model's, with the metadata that sets it apart;
- range: a range of one numeric feature (a decile) whose test loss is well above the model's;
- category: a value of a category column of the data whose test loss is well above the model's;
- mislabelled: the texts that label quality flags (pipeline/whole_set/label_quality.py);
- duplicates: texts whose cleaned text is identical, flagged when they cross the train/test boundary;
- slice: a conjunction of up to three simple facts about the texts (a quartile of a numeric feature, a category
  value, a negation word or none, a frequent word) under which the model errs far more often than overall
  (pipeline/whole_set/slices.py, in the manner of SliceLine). Every slice found is kept, the best of each model
  ranked here.
Also the rank correlation of every feature with the loss, with a bootstrap confidence interval.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from tqdm import tqdm

from pipeline import artifacts, cli, registry
from pipeline.config import load_config
from pipeline.data import imdb
from pipeline.data.text import clean_all, clean_hashes
from pipeline.whole_set.features import Feature, features, text_table, values
from pipeline.whole_set.slices import Predicate, search

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
    groups = tqdm(list(_by_model_and_subset(joined)), desc="correlations (bootstrap)", unit=" subsets", leave=False)
    for (model, subset), group in groups:
        if group.empty:
            continue
        for feature in (f.name for f in numeric):
            column = feature
            present = group[column].notna().to_numpy()  # a data column may have gaps
            rho, low, high = spearman_with_interval(
                group[column].to_numpy(float)[present], group["loss"].to_numpy()[present], rng, resamples
            )
            rows.append({"model": model, "subset": subset, "feature": feature, "spearman": rho, "ci_low": low,
                         "ci_high": high, "texts": int(present.sum())})  # fmt: skip
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


def mislabelled_findings(joined: pd.DataFrame, quality: pd.DataFrame, noun: str) -> list[dict]:
    """The texts that label quality flags (pipeline/whole_set/label_quality.py): training texts from evidence that no
    model memorised, test texts from the final models; the least likely label first."""
    flagged = quality[quality["flagged"]].sort_values("label_quality", kind="stable")
    if joined.empty or flagged.empty:
        return []
    members = [int(text_id) for text_id in flagged["text_id"]]
    training = int((flagged["evidence"] == "training").sum())
    loss = joined[joined["text_id"].isin(members)]
    title = (
        f"{len(members):,} {noun} are likely mislabelled: the evidence gives them another label "
        f"({training:,} training, {len(members) - training:,} test)"
    )
    return [{"model": None, "kind": "mislabelled", "title": title, "texts": len(members),
             "mean_loss": float(loss["loss"].mean()), "loss_ratio": float(loss["loss"].mean() / joined["loss"].mean()),
             "importance": float(loss["loss"].sum() / joined["loss"].sum()), "members": members}]  # fmt: skip


def duplicate_findings(texts: pd.DataFrame, noun: str) -> list[dict]:
    """Texts whose cleaned text another has. The cleaned texts are hashed first: only those whose hash repeats are
    compared as text, so the cost stays linear in the texts."""
    hashes = pd.Series(clean_hashes(texts["text"]), index=texts.index)
    candidates = texts[hashes.duplicated(keep=False)]
    cleaned = pd.Series(clean_all(candidates["text"]), index=candidates.index, dtype=object)
    groups = candidates.assign(cleaned=cleaned)[cleaned.duplicated(keep=False)]
    if groups.empty:
        return []
    findings = []
    crossing = groups[groups.groupby("cleaned")["split"].transform("nunique") > 1]
    for members, title in (
        (crossing, f"{noun} appear in both the train and the test split (same text once cleaned)"),
        (groups, f"{noun} have a duplicate (same text once cleaned)"),
    ):
        if members.empty or (members is groups and len(groups) == len(crossing)):
            continue  # nothing, or nothing beyond the duplicates across splits
        ordered = members.sort_values(["cleaned", "text_id"])["text_id"].tolist()
        findings.append({"model": None, "kind": "duplicates", "title": f"{len(ordered):,} {title}",
                         "texts": len(ordered), "mean_loss": None, "loss_ratio": None,
                         "importance": len(ordered) / len(texts), "members": ordered})  # fmt: skip
    return findings


def slice_predicates(
    test: pd.DataFrame,
    cleaned: pd.Series,
    numeric: list[Feature],
    categories: list[Feature],
    settings: dict,
    min_size: int,
) -> list[Predicate]:
    """The simple facts that slices are made of, over the test texts (`cleaned`: their cleaned text): each
    numeric feature's quartiles (merged where values repeat), each category value, having a negation word or none,
    and having each of the most frequent words that are not stop words."""
    found = []
    for feature in _described(numeric):
        values = test[feature.name].to_numpy(float)
        known = ~np.isnan(values)
        if not known.any():
            continue
        edges = np.unique(np.quantile(values[known], np.linspace(0, 1, settings["quantiles"] + 1)))
        for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            last = i == len(edges) - 2
            mask = known & (values >= low) & ((values <= high) if last else (values < high))
            if not mask.any():
                continue
            shown_low, shown_high = values[mask].min(), values[mask].max()
            span = _number(shown_low) if shown_low == shown_high else f"{_number(shown_low)} to {_number(shown_high)}"
            bracket = "]" if last else ")"
            found.append(Predicate(feature.name, f"{feature.name} in [{float(low)!r}, {float(high)!r}{bracket}",
                                   f"{feature.title} {span}", mask))  # fmt: skip
    for feature in categories:
        column = test[feature.name].astype(str)
        for value in sorted(column.unique()):
            found.append(Predicate(feature.name, f"{feature.name} = {value}", f"{feature.title} {value}",
                                   (column == value).to_numpy()))  # fmt: skip
    negated = test["negations"].to_numpy() > 0
    found.append(Predicate("negations", "negations > 0", "a negation word", negated))
    found.append(Predicate("negations", "negations = 0", "no negation word", ~negated))
    if settings["words"] and len(cleaned):
        vectorizer = CountVectorizer(token_pattern=r"\S+", binary=True, min_df=min(min_size, len(cleaned)),
                                     max_df=0.5, stop_words=sorted(ENGLISH_STOP_WORDS))  # fmt: skip
        try:
            present = vectorizer.fit_transform(cleaned).tocsc()
        except ValueError:  # no word is frequent enough
            return found
        counts = np.asarray(present.sum(axis=0)).ravel()
        vocabulary = vectorizer.get_feature_names_out()
        for column in sorted(np.argsort(-counts, kind="stable")[: settings["words"]], key=lambda c: vocabulary[c]):
            mask = np.zeros(len(cleaned), bool)
            mask[present[:, column].indices] = True
            word = vocabulary[column]
            found.append(Predicate(f"word:{word}", f"word:{word}", f'the word "{word}"', mask))
    return found


def slices(test: pd.DataFrame, model: str, predicates: list[Predicate], settings: dict, min_size: int) -> pd.DataFrame:
    """The model's slices of the test split, best first, with the error rate it has overall."""
    found = search(predicates, ~test["correct"].to_numpy(), test["loss"].to_numpy(), min_size,
                   settings["max_predicates"], settings["top"])  # fmt: skip
    found["text_ids"] = [test["text_id"].to_numpy()[rows] for rows in found["rows"]]
    return found.drop(columns=["rows"]).assign(model=model, model_error_rate=1 - test["correct"].mean())


def slice_findings(found: pd.DataFrame, test: pd.DataFrame, overall: float, noun: str, shown: int) -> list[dict]:
    """The best slices as findings, their texts highest loss first."""
    findings = []
    for row in found.head(shown).itertuples():
        group = test[test["text_id"].isin(row.text_ids)]
        times = row.error_rate / row.model_error_rate
        title = (f"{noun.capitalize()} with {row.description}: {_percent(row.error_rate)} wrong, "
                 f"{times:.1f}x the model's {_percent(row.model_error_rate)}")  # fmt: skip
        findings.append(_finding(row.model, "slice", title, group, test, overall))
    return findings


def _finding(model: str, kind: str, title: str, group: pd.DataFrame, test: pd.DataFrame, overall: float) -> dict:
    excess = group["loss"].sum() - len(group) * overall
    return {"model": model, "kind": kind, "title": title, "texts": len(group),
            "mean_loss": float(group["loss"].mean()), "loss_ratio": float(group["loss"].mean() / overall),
            "importance": float(excess / test["loss"].sum()),
            "members": group.sort_values("loss", ascending=False)["text_id"].tolist()}  # fmt: skip


def _percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.1 else f"{share:.1%}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2f}"


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--metadata", required=True, type=Path)
    p.add_argument("--predictions", required=True, type=Path, nargs="+", help="<model>.parquet per model")
    p.add_argument("--clusters", required=True, type=Path, nargs="*", help="<model>.parquet per neural model")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--insight-texts", required=True, type=Path)
    p.add_argument("--correlations", required=True, type=Path)
    p.add_argument("--slices", required=True, type=Path)
    p.add_argument("--label-quality", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["insights"]
    info = artifacts.read_dataset_info(args.dataset_info)
    noun = imdb.noun(info.kind)
    found = features(info)
    numeric = [f for f in found if f.kind == "numeric"]
    categories = [f for f in found if f.kind == "category"]

    texts = text_table(args.texts, args.tokens, args.metadata)
    clusters = pd.concat(
        [artifacts.read_clusters(path).assign(model=path.stem) for path in args.clusters]
        or [pd.DataFrame({"text_id": [], "model": [], "cluster": []}).astype({"text_id": np.int32, "cluster": "Int64"})]
    )
    predictions = pd.concat([artifacts.read_predictions(path) for path in args.predictions], ignore_index=True)
    scored = (
        values(found, texts, predictions)
        .merge(predictions[["text_id", "model", "probabilities", "correct"]], on=["text_id", "model"])
        .merge(texts[["text_id", "split", "label"]], on="text_id")
    )
    # The compared models (not the baseline), with their clusters where they have a latent space (a served model,
    # an LLM have none).
    joined = scored[scored["model"].isin(registry.compared(config))].merge(
        clusters, on=["text_id", "model"], how="left"
    )
    joined["cluster"] = joined["cluster"].astype("Int64")

    # A model of predicted classes alone (made elsewhere) has no probabilities and no loss: only its errors count.
    with_loss = joined[joined["loss"].notna()]
    quality = artifacts.read_table(args.label_quality)
    findings = mislabelled_findings(with_loss, quality, noun) + duplicate_findings(texts, noun)
    sliced = config["slices"]
    test_ids = texts.loc[texts["subset"] == "test", "text_id"].to_numpy()
    min_size = max(10, min(sliced["min_size"], len(test_ids) // 10))  # small data sets: a tenth of the test split
    cleaned = pd.Series(clean_all(texts.set_index("text_id").loc[test_ids, "text"]))
    for model, group in with_loss.groupby("model"):
        test = group[group["subset"] == "test"]
        overall = test["loss"].mean()
        findings += (
            cluster_findings(test, model, overall, numeric)
            + range_findings(test, model, overall, numeric, noun)
            + category_findings(test, model, overall, categories, noun)
        )
    # Slices for every model, the baseline too, over the same facts: they are about the texts (the model's own
    # features, such as confidence, are left out), so they are made once.
    start = time.perf_counter()
    tests = {model: group.set_index("text_id").loc[test_ids].reset_index()  # the rows of `cleaned`
             for model, group in scored.groupby("model")}  # fmt: skip
    predicates = slice_predicates(next(iter(tests.values())), cleaned, numeric, categories, sliced, min_size)
    every_slice = []
    for model, test in tests.items():
        found_here = slices(test, model, predicates, sliced, min_size)
        if test["loss"].notna().all():  # ranked by the loss they account for
            findings += slice_findings(found_here, test, test["loss"].mean(), noun, sliced["in_insights"])
        every_slice.append(found_here)
    cli.record_timing("slices", time.perf_counter() - start)
    findings.sort(key=lambda f: -f["importance"])
    columns = ["model", "kind", "title", "texts", "mean_loss", "loss_ratio", "importance"]
    table = pd.DataFrame([{k: f[k] for k in columns} for f in findings], columns=columns)
    table.insert(0, "insight_id", np.arange(1, len(table) + 1, dtype=np.int32))
    members = pd.DataFrame(
        [(i + 1, r + 1, text_id) for i, f in enumerate(findings) for r, text_id in enumerate(f["members"])],
        columns=["insight_id", "rank", "text_id"],
    )
    artifacts.write_table(args.out, table)
    artifacts.write_table(args.insight_texts, members)
    artifacts.write_table(
        args.correlations, correlations(with_loss, numeric, config["seed"], settings["bootstrap_resamples"])
    )
    artifacts.write_table(args.slices, pd.concat(every_slice, ignore_index=True))
