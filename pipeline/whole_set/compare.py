"""Two builds compared, or two models of one build: what a change fixed and what it broke.

The base is another reviewlens file (make all BASE=path/to/reviewlens.duckdb), attached read-only beside this build's;
without one, each two of this build's compared models are held against each other the same way. Texts are matched by
the data's id, or by the text itself where the data has none; models by name, by the pairs the settings name, or,
where each build has one model the user brought, those two. What does not match is counted (texts added, removed,
relabelled, changed), not dropped silently. Every paired figure is measured on the test texts that both builds hold
with the same label ("paired texts"): the base model's verdict is "before", this build's is "after".

Per pair: accuracy, macro-F1, loss and ECE before and after, overall and per class, each difference with a paired
bootstrap 95% interval (the same Poisson draws of texts for both sides); McNemar's exact test; the negative flip rate
(right before, wrong after; Yan et al., 2021) and the positive one with Wilson intervals; the flipped texts; the slice
search on "broken" against the rest of the texts right before; the clusters and categories whose error rate moved;
each behavioural test's failure rate before and after (Newcombe's interval of the difference). Across builds also the
likely mislabelled texts that appeared or went away, and, when the data changed, each feature's shift (two-sample
tests with effect sizes), and the base's heat maps of the flipped texts, so the file shows both sides on its own.

build_db writes the tables into the file (fill); `python -m pipeline check` recomputes the figures its gates read.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse, stats

from pipeline import cli, registry
from pipeline.data.text import clean_all
from pipeline.database.base_file import BASE, attach
from pipeline.errors import PipelineError
from pipeline.whole_set.calibration import MAX_PER_CLASS, ece_of, poisson_weights
from pipeline.whole_set.features import Feature
from pipeline.whole_set.insights import slice_predicates
from pipeline.whole_set.slices import Predicate, search, wilson

ECE_BINS = 15
# The tables only a comparison across builds fills: within one build they are empty.
ACROSS_BUILDS = ("comparison_mislabelled", "comparison_features", "comparison_heatmaps")
HOW = "fix it in your CONFIG file under [compare]"


# --- matching ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sides:
    """Where the two sides' tables are: this build's catalog, and the base's (the same within one build)."""

    this: str
    base: str

    @property
    def within(self) -> bool:
        return self.this == self.base

    def table(self, side: str, name: str) -> str:
        return f'"{getattr(self, side)}".{name}'


@dataclass
class Matched:
    texts: pd.DataFrame  # every text in both: text_id, base_text_id, label, base_label, paired (test, same label)
    summary: dict  # how they were matched and how many added, removed, relabelled, changed
    label_map: dict[str, str]  # base's label -> this build's


def _texts(con, sides: Sides, side: str) -> pd.DataFrame:
    return con.execute(
        f"select text_id, source_id, subset, label, md5(text) as digest from {sides.table(side, 'texts')} "
        "order by text_id"
    ).df()


def _labels(con, sides: Sides, side: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(f"select label from {sides.table(side, 'labels')} order by label_index").fetchall()
    ]


def _name_pairs(value) -> bool:
    """Whether a setting is a list of [name, name] pairs, as label_map and pairs are."""
    return all(isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair) for pair in value)


def label_map(settings: dict, base_labels: list[str], labels: list[str], base: str) -> dict[str, str]:
    """The base's labels in this build's names: the label_map setting, checked, over the names that are the same."""
    pairs = settings["label_map"]
    if not _name_pairs(pairs):
        raise PipelineError(f'[compare] label_map must be [base label, label] pairs, e.g. [["neg", "negative"]]; {HOW}')
    mapping = {label: label for label in base_labels} | {old: new for old, new in pairs if old in base_labels}
    mapped = {mapping[label] for label in base_labels}
    only_here, only_base = sorted(set(labels) - mapped), sorted(mapped - set(labels))
    if only_here or only_base:
        raise PipelineError(
            f"BASE={base}: the label sets differ (only in this build: {', '.join(only_here) or 'none'}; only in the "
            f"base: {', '.join(only_base) or 'none'}); map the base's to this build's with [compare] label_map = "
            '[["base label", "label"]] in your CONFIG file'
        )
    return mapping


def match(this: pd.DataFrame, base: pd.DataFrame, mapping: dict[str, str], base_name: str) -> Matched:
    """Texts matched by the data's id where both builds have one for every text, else by the text itself (the n-th
    copy of a text with the n-th)."""
    by_id = all(side["source_id"].notna().all() and side["source_id"].is_unique for side in (this, base))
    key = "source_id" if by_id else "digest"

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(key=frame[key], nth=frame.groupby(key).cumcount())

    base = base.assign(label=base["label"].map(mapping))
    merged = keyed(this).merge(keyed(base), on=["key", "nth"], how="outer", suffixes=("", "_base"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    if both.empty:
        raise PipelineError(
            f"BASE={base_name}: no text in common with this build (matched by {'id' if by_id else 'text'}); "
            "compare builds of the same data, or of data that shares texts"
        )
    relabelled = both["label"] != both["label_base"]
    texts = pd.DataFrame(
        {
            "text_id": both["text_id"].astype(np.int32),
            "base_text_id": both["text_id_base"].astype(np.int32),
            "label": both["label"],
            "base_label": both["label_base"],
            "paired": (~relabelled & (both["subset"] == "test") & (both["subset_base"] == "test")).to_numpy(),
        }
    ).sort_values("text_id", ignore_index=True)
    summary = {
        "matched_by": "id" if by_id else "text",
        "matched": len(both),
        "added": int((merged["_merge"] == "left_only").sum()),
        "removed": int((merged["_merge"] == "right_only").sum()),
        "relabelled": int(relabelled.sum()),
        "changed": int((both["digest"] != both["digest_base"]).sum()) if by_id else 0,
        "paired_texts": int(texts["paired"].sum()),
    }
    if not summary["paired_texts"]:
        raise PipelineError(
            f"BASE={base_name}: no test text in common with the same label; compare builds whose test splits overlap"
        )
    return Matched(texts, summary, mapping)


def same_texts(con, sides: Sides) -> Matched:
    texts = _texts(con, sides, "this")
    labels = _labels(con, sides, "this")
    frame = pd.DataFrame(
        {
            "text_id": texts["text_id"].astype(np.int32),
            "base_text_id": texts["text_id"].astype(np.int32),
            "label": texts["label"],
            "base_label": texts["label"],
            "paired": (texts["subset"] == "test").to_numpy(),
        }
    )
    summary = {
        "matched_by": "the same texts",
        "matched": len(texts),
        "added": 0,
        "removed": 0,
        "relabelled": 0,
        "changed": 0,
        "paired_texts": int(frame["paired"].sum()),
    }
    return Matched(frame, summary, {label: label for label in labels})


def match_builds(con, sides: Sides, settings: dict) -> Matched:
    if sides.within:
        return same_texts(con, sides)
    mapping = label_map(settings, _labels(con, sides, "base"), _labels(con, sides, "this"), settings["base"])
    return match(_texts(con, sides, "this"), _texts(con, sides, "base"), mapping, settings["base"])


# --- pairing the models --------------------------------------------------------------------------------------------


def _models(con, sides: Sides, side: str) -> pd.DataFrame:
    return con.execute(
        "select model, kind, compared, mapped, attributed, tested, has_probabilities "
        f"from {sides.table(side, 'models')} "
        "order by rank"
    ).df()


def pair_models(settings: dict, this: pd.DataFrame, base: pd.DataFrame, within: bool) -> list[tuple[str, str, str]]:
    """(base model, model, how they were paired): the pairs the settings name; within one build, each two compared
    models in order; across builds, the models of the same name, and the two brought models where each build has one
    left."""
    where = "this build" if within else "the base"
    named = settings["pairs"]
    if named:
        if not _name_pairs(named):
            raise PipelineError(f'[compare] pairs must be [base model, model] pairs, e.g. [["v1", "v2"]]; {HOW}')
        for first, second in named:
            for name, models, side in ((first, base, where), (second, this, "this build")):
                if name not in set(models["model"]):
                    raise PipelineError(
                        f"[compare] pairs names {name!r}, which {side} has not "
                        f"(it has {', '.join(models['model'])}); {HOW}"
                    )
        return [(first, second, "settings") for first, second in named]
    if within:
        compared = list(this.loc[this["compared"], "model"])
        return [(first, second, "this build") for first, second in itertools.combinations(compared, 2)]
    pairs = [(name, name, "name") for name in this["model"] if name in set(base["model"])]
    paired = {name for pair in pairs for name in pair[:2]}
    brought_kinds = {kind.name for kind in registry.KINDS if kind.given_with}
    left = [
        list(side.loc[side["kind"].isin(brought_kinds) & ~side["model"].isin(paired), "model"]) for side in (base, this)
    ]
    if len(left[0]) == len(left[1]) == 1:
        pairs.append((left[0][0], left[1][0], "brought"))
    if not pairs:
        raise PipelineError(
            f"BASE={settings['base']}: no model of this build pairs with one of the base ({', '.join(base['model'])}); "
            'name them with [compare] pairs = [["base model", "model"]] in your CONFIG file'
        )
    return pairs


# --- one pair's figures --------------------------------------------------------------------------------------------


@dataclass
class PairData:
    """The paired texts' verdicts under both models, in this build's label order."""

    base_model: str
    model: str
    text_id: np.ndarray
    base_text_id: np.ndarray
    label: np.ndarray  # label index
    predicted: tuple[np.ndarray, np.ndarray]  # before, after
    loss: tuple[np.ndarray, np.ndarray] | None  # None where either side has no probabilities
    probabilities: tuple[np.ndarray, np.ndarray] | None

    @property
    def right(self) -> tuple[np.ndarray, np.ndarray]:
        return self.predicted[0] == self.label, self.predicted[1] == self.label


def pair_data(con, sides: Sides, matched: Matched, labels: list[str], base_model: str, model: str) -> PairData:
    index = {label: i for i, label in enumerate(labels)}
    paired = matched.texts[matched.texts["paired"]]
    frames = []
    for side, name, id_column in (("base", base_model, "base_text_id"), ("this", model, "text_id")):
        found = con.execute(
            f"select text_id, predicted_label, loss, probabilities from {sides.table(side, 'predictions')} "
            "where model = ? order by text_id",
            [name],
        ).df()
        frames.append(paired[[id_column]].merge(found, left_on=id_column, right_on="text_id", how="left"))
    before, after = frames
    scored = (before["predicted_label"].notna() & after["predicted_label"].notna()).to_numpy()
    before, after, texts = before[scored], after[scored], paired[scored]
    base_order = [labels.index(matched.label_map[label]) for label in _labels(con, sides, "base")]
    probabilities = None
    if before["probabilities"].notna().all() and after["probabilities"].notna().all():
        p0 = np.zeros((len(texts), len(labels)))
        p0[:, base_order] = np.stack(before["probabilities"].to_numpy())
        probabilities = (p0, np.stack(after["probabilities"].to_numpy()).astype(np.float64))
    loss = None
    if probabilities is not None:
        loss = (before["loss"].to_numpy(np.float64), after["loss"].to_numpy(np.float64))
    return PairData(
        base_model,
        model,
        texts["text_id"].to_numpy(),
        texts["base_text_id"].to_numpy(),
        texts["label"].map(index).to_numpy(),
        (
            before["predicted_label"].map(matched.label_map).map(index).to_numpy(),
            after["predicted_label"].map(index).to_numpy(),
        ),
        loss,
        probabilities,
    )


def _figures(data: PairData, labels: list[str], weights: np.ndarray, ece) -> dict[tuple[str, str | None], np.ndarray]:
    """Each figure of each side under each draw of weights (texts x draws): {(metric, class or None): 2 x draws}."""
    total = weights.sum(axis=0)
    onehot = np.eye(len(labels))[data.label]
    support = onehot.T @ weights
    found = {}
    for side, (predicted, right) in enumerate(zip(data.predicted, data.right, strict=True)):
        hits = (onehot * right[:, None]).T @ weights
        guessed = np.eye(len(labels))[predicted].T @ weights
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = 2 * hits / (support + guessed)
            recall = hits / support
            figures = {("accuracy", None): right.astype(float) @ weights / total}
            figures[("macro_f1", None)] = np.nanmean(np.where(support > 0, f1, np.nan), axis=0)
            for k, label in enumerate(labels):
                figures[("accuracy", label)], figures[("f1", label)] = recall[k], f1[k]
            if data.loss is not None:
                figures[("loss", None)] = data.loss[side] @ weights / total
                class_loss = (onehot * data.loss[side][:, None]).T @ weights / support
                for k, label in enumerate(labels):
                    figures[("loss", label)] = class_loss[k]
        for key, value in figures.items():
            found.setdefault(key, []).append(value)
    if ece is not None:  # views: top-label before, after, then each class's before, after
        errors = ece(weights)
        found[("ece", None)] = [errors[:, 0], errors[:, 1]]
        if len(labels) <= MAX_PER_CLASS:
            for k, label in enumerate(labels):
                found[("ece", label)] = [errors[:, 2 + 2 * k], errors[:, 3 + 2 * k]]
    return {key: np.array(value) for key, value in found.items()}


def _ece_views(data: PairData, labels: list[str]):
    if data.probabilities is None:
        return None
    rows = np.arange(len(data.label))
    views = [
        (p[rows, predicted], (predicted == data.label).astype(float))
        for p, predicted in zip(data.probabilities, data.predicted, strict=True)
    ]
    if len(labels) <= MAX_PER_CLASS:
        for k in range(len(labels)):
            truth = (data.label == k).astype(float)
            views += [(p[:, k], truth) for p in data.probabilities]
    return ece_of(views, ECE_BINS)


def _group_errors(groups: sparse.csr_matrix, wrong: tuple[np.ndarray, np.ndarray], weights: np.ndarray):
    """Each group's error rate before and after under each draw (groups x draws each)."""
    size = groups.T @ weights
    with np.errstate(divide="ignore", invalid="ignore"):
        return [(groups.T @ (weights * side[:, None])) / size for side in wrong]


def measure(data: PairData, labels: list[str], groups: sparse.csr_matrix, settings: dict, seed: int):
    """The pair's metrics (one row per metric and class) and its groups' error rates, each difference with its paired
    bootstrap interval."""
    n = len(data.label)
    ece = _ece_views(data, labels)
    wrong = tuple((~right).astype(float) for right in data.right)
    observed = _figures(data, labels, np.ones((n, 1)), ece)
    group_observed = _group_errors(groups, wrong, np.ones((n, 1)))
    draws, group_draws = {key: [] for key in observed}, []
    # Two models that predict alike (a model unchanged between builds) differ by 0 under every draw: none is drawn.
    alike = _alike(data)
    for weights in poisson_weights(n, 0 if alike else settings["bootstrap_resamples"], np.random.default_rng(seed)):
        for key, value in _figures(data, labels, weights, ece).items():
            draws[key].append(value[1] - value[0])
        before, after = _group_errors(groups, wrong, weights)
        group_draws.append(after - before)
    rows = []
    for (metric, label), value in observed.items():
        low, high = (0.0, 0.0) if alike else _interval(draws[(metric, label)])
        rows.append(
            {
                "metric": metric,
                "class": label,
                "before": value[0, 0],
                "after": value[1, 0],
                "difference": value[1, 0] - value[0, 0],
                "ci_low": low,
                "ci_high": high,
            }
        )
    before, after = (side[:, 0] for side in group_observed)
    low, high = (0.0, 0.0) if alike else _interval(group_draws, axis=1)
    return pd.DataFrame(rows), before, after, low, high


def _alike(data: PairData) -> bool:
    """Whether both models give the same predictions, and the same probabilities where both give them."""
    return np.array_equal(*data.predicted) and (data.probabilities is None or np.array_equal(*data.probabilities))


def _interval(draws: list[np.ndarray], axis: int = 0) -> tuple:
    if not draws:  # no draws (the setting is 0): no interval
        return (np.nan, np.nan)
    joined = np.concatenate(draws, axis=axis)
    with np.errstate(invalid="ignore"):
        return np.nanquantile(joined, 0.025, axis=axis), np.nanquantile(joined, 0.975, axis=axis)


def flip_summary(data: PairData) -> dict:
    """Texts broken (right before, wrong after) and fixed, their rates with Wilson intervals, and McNemar's exact
    test of the two models' error rates on the same texts."""
    before, after = data.right
    broken, fixed, n = int((before & ~after).sum()), int((~before & after).sum()), len(data.label)
    (nfr_low, nfr_high), (pfr_low, pfr_high) = wilson(broken, n), wilson(fixed, n)
    p = stats.binomtest(min(broken, fixed), broken + fixed, 0.5).pvalue if broken + fixed else 1.0
    return {
        "texts": n,
        "broken": broken,
        "fixed": fixed,
        "negative_flip_rate": broken / n,
        "nfr_low": nfr_low,
        "nfr_high": nfr_high,
        "positive_flip_rate": fixed / n,
        "pfr_low": pfr_low,
        "pfr_high": pfr_high,
        "mcnemar_p": float(min(p, 1.0)),
    }


def flips(data: PairData, labels: list[str]) -> pd.DataFrame:
    """One row per flipped text, worst first: the broken ones by their loss after (how sure the model is now of the
    wrong class), then the fixed ones by their loss before."""
    before, after = data.right
    flipped = before != after
    loss = data.loss or (np.full(len(before), np.nan), np.full(len(before), np.nan))
    frame = pd.DataFrame(
        {
            "text_id": data.text_id[flipped],
            "base_text_id": data.base_text_id[flipped],
            "direction": np.where(before[flipped], "broken", "fixed"),
            "label": np.asarray(labels)[data.label[flipped]],
            "predicted_before": np.asarray(labels)[data.predicted[0][flipped]],
            "predicted_after": np.asarray(labels)[data.predicted[1][flipped]],
            "loss_before": loss[0][flipped],
            "loss_after": loss[1][flipped],
        }
    )
    frame["badness"] = np.where(frame["direction"] == "broken", frame["loss_after"], frame["loss_before"])
    frame = frame.sort_values(["direction", "badness", "text_id"], ascending=[True, False, True], ignore_index=True)
    frame["rank"] = np.arange(1, len(frame) + 1, dtype=np.int32)
    return frame.drop(columns="badness").assign(base_model=data.base_model, model=data.model)


# --- where it regressed ----------------------------------------------------------------------------------------------


@dataclass
class TextFacts:
    """This build's facts about the paired texts: each feature's value, and the simple facts slices are made of
    (made once, over all paired texts, as the insights step makes them)."""

    frame: pd.DataFrame  # each feature's value, by text_id
    categories: list[Feature]
    predicates: list[Predicate]
    min_size: int


def text_facts(con, sides: Sides, text_ids: np.ndarray, slicing: dict) -> TextFacts:
    found = [
        Feature(f.feature, f.title, f.sql, kind=f.kind, source=f.source)
        for f in con.execute(f"select * from {sides.table('this', 'features')} order by rank").df().itertuples()
        if f.source != "model"
    ]
    con.register("wanted", pd.DataFrame({"text_id": text_ids}))
    columns = "".join(f", ({feature.sql}) as {feature.name}" for feature in found)
    frame = con.execute(
        f"select texts.text_id, texts.text{columns} from {sides.table('this', 'texts')} as texts "
        "join wanted using (text_id) order by texts.text_id"
    ).df()
    con.unregister("wanted")
    numeric, categories = ([f for f in found if f.kind == kind] for kind in ("numeric", "category"))
    min_size = max(10, min(slicing["min_size"], len(frame) // 10))
    cleaned = pd.Series(clean_all(frame["text"]))
    predicates = slice_predicates(frame, cleaned, numeric, categories, slicing, min_size)
    return TextFacts(frame.drop(columns="text").set_index("text_id"), categories, predicates, min_size)


def regression_slices(data: PairData, facts: TextFacts, slicing: dict) -> pd.DataFrame:
    """The slice search run on the texts broken against the rest of those right before (where a text could break)."""
    before, after = data.right
    rows = facts.frame.index.get_indexer(data.text_id[before])
    broken = ~after[before]
    if not broken.any():
        return pd.DataFrame()
    predicates = [Predicate(p.feature, p.name, p.text, p.mask[rows]) for p in facts.predicates]
    found = search(predicates, broken, np.zeros(len(rows)), facts.min_size, slicing["max_predicates"], slicing["top"])
    return (
        found.drop(columns=["rows", "mean_loss"])
        .rename(columns={"rank": "slice", "errors": "broken", "error_rate": "broken_rate"})
        .assign(base_model=data.base_model, model=data.model, overall_rate=float(broken.mean()))
    )


def group_matrix(con, sides: Sides, data: PairData, facts: TextFacts, model_is_mapped: bool):
    """The groups of the paired texts whose error rates are compared: this model's clusters and each category
    value. Returns the kinds, features and values of the groups and a texts x groups indicator matrix."""
    kinds, features, values, columns = [], [], [], []
    if model_is_mapped:
        clusters = (
            con.execute(
                f"select text_id, cluster from {sides.table('this', 'latent_space')} where model = ?", [data.model]
            )
            .df()
            .set_index("text_id")
            .reindex(data.text_id)["cluster"]
        )
        for cluster in sorted(clusters.dropna().unique()):
            kinds.append("cluster"), features.append(None), values.append(str(int(cluster)))
            columns.append((clusters == cluster).to_numpy())
    for feature in facts.categories:
        column = facts.frame[feature.name].reindex(data.text_id).astype(str)
        for value in sorted(column.unique()):
            kinds.append("category"), features.append(feature.name), values.append(value)
            columns.append((column == value).to_numpy())
    matrix = (
        sparse.csr_matrix(np.column_stack(columns).astype(float))
        if columns
        else sparse.csr_matrix((len(data.text_id), 0))
    )
    return kinds, features, values, matrix


def group_table(kinds, features, values, groups: sparse.csr_matrix, rates: tuple, names: dict) -> pd.DataFrame:
    """The groups' error rates before and after and the change's interval, those that gained or lost the most errors
    first (a few texts that all flipped do not outrank a large group)."""
    before, after, low, high = rates
    table = pd.DataFrame(
        {
            "kind": kinds,
            "feature": features,
            "value": values,
            "texts": np.asarray(groups.sum(axis=0)).ravel().astype(int),
            "error_before": before,
            "error_after": after,
            "difference": after - before,
            "ci_low": low,
            "ci_high": high,
            **names,
        }
    )
    moved = (table["difference"] * table["texts"]).abs().rename("moved")
    order = pd.concat([moved, table[["kind", "value"]]], axis=1).sort_values(
        ["moved", "kind", "value"], ascending=[False, True, True]
    )
    return table.loc[order.index].reset_index(drop=True).assign(rank=lambda f: np.arange(1, len(f) + 1))


# --- what else changed -------------------------------------------------------------------------------------------


def behaviour(con, sides: Sides, base_model: str, model: str) -> pd.DataFrame:
    """Each behavioural test's failure rate under both models (each on its own build's cases), with Newcombe's 95%
    interval of the difference."""
    rates = []
    for side, name in (("base", base_model), ("this", model)):
        rates.append(
            con.execute(
                f"select c.test, count(*) as cases, avg(r.failed::integer) as failure_rate "
                f"from {sides.table(side, 'behaviour_results')} r "
                f"join {sides.table(side, 'behaviour_cases')} c using (case_id) "
                "where r.model = ? group by c.test",
                [name],
            ).df()
        )
    if rates[0].empty or rates[1].empty:
        return pd.DataFrame()
    joined = rates[0].merge(rates[1], on="test", how="outer", suffixes=("_before", "_after"))
    n0, n1 = joined["cases_before"].fillna(0).to_numpy(), joined["cases_after"].fillna(0).to_numpy()
    p0, p1 = joined["failure_rate_before"].to_numpy(float), joined["failure_rate_after"].to_numpy(float)
    (l0, u0), (l1, u1) = wilson(np.nan_to_num(p0) * n0, n0), wilson(np.nan_to_num(p1) * n1, n1)
    difference = p1 - p0
    joined["difference"] = difference
    joined["ci_low"] = difference - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    joined["ci_high"] = difference + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return joined.assign(base_model=base_model, model=model)


def mislabelled(con, sides: Sides, matched: Matched) -> pd.DataFrame:
    """The texts found likely mislabelled in one build and not in the other, among the texts both hold."""
    query = "select t.text_id from {insights} i join {members} t using (insight_id) where i.kind = 'mislabelled'"
    found = [
        set(
            con.execute(
                query.format(insights=sides.table(side, "insights"), members=sides.table(side, "insight_texts"))
            ).df()["text_id"]
        )
        for side in ("base", "this")
    ]
    texts = matched.texts
    in_base, in_this = texts["base_text_id"].isin(found[0]), texts["text_id"].isin(found[1])
    changed = texts[in_base != in_this]
    return pd.DataFrame(
        {
            "text_id": changed["text_id"].to_numpy(),
            "base_text_id": changed["base_text_id"].to_numpy(),
            "status": np.where(in_this[in_base != in_this], "appeared", "went away"),
        }
    )


def feature_shift(con, sides: Sides) -> pd.DataFrame:
    """How each feature of the texts moved between the two builds' data: numeric ones by the two-sample
    Kolmogorov-Smirnov test with the standardised mean difference (Cohen's d), categories by the chi-square test of
    their counts with Cramér's V. Empty when the data file is the same."""
    shas = [
        con.execute(f"select value from {sides.table(side, 'meta')} where key = 'dataset_sha256'").fetchall()[0][0]
        for side in ("base", "this")
    ]
    if shas[0] == shas[1]:
        return pd.DataFrame()
    features = [
        con.execute(
            f"select feature, title, sql, kind from {sides.table(side, 'features')} "
            "where source != 'model' order by rank"
        ).df()
        for side in ("base", "this")
    ]
    common = features[1][features[1]["feature"].isin(features[0]["feature"])]
    rows = []
    for feature in common.itertuples():
        before, after = (
            con.execute(f"select ({feature.sql}) as value from {sides.table(side, 'texts')} as texts").df()["value"]
            for side in ("base", "this")
        )
        if feature.kind == "numeric":
            before, after = before.dropna().to_numpy(float), after.dropna().to_numpy(float)
            if not len(before) or not len(after):
                continue
            test = stats.ks_2samp(before, after)
            spread = np.sqrt((before.var() + after.var()) / 2)
            rows.append(
                {
                    "feature": feature.feature,
                    "title": feature.title,
                    "kind": "numeric",
                    "test": "Kolmogorov-Smirnov",
                    "statistic": test.statistic,
                    "p_value": test.pvalue,
                    "effect": "Cohen's d",
                    "effect_size": (after.mean() - before.mean()) / spread if spread else 0.0,
                    "before": before.mean(),
                    "after": after.mean(),
                }
            )
        else:
            counts = pd.concat([before.astype(str).value_counts(), after.astype(str).value_counts()], axis=1).fillna(0)
            if len(counts) < 2:
                continue
            chi2, p, _, _ = stats.chi2_contingency(counts.to_numpy())
            rows.append(
                {
                    "feature": feature.feature,
                    "title": feature.title,
                    "kind": "category",
                    "test": "chi-square",
                    "statistic": chi2,
                    "p_value": p,
                    "effect": "Cramér's V",
                    "effect_size": float(np.sqrt(chi2 / counts.to_numpy().sum())),
                    "before": None,
                    "after": None,
                }
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values("effect_size", key=np.abs, ascending=False, ignore_index=True).assign(
        rank=lambda f: np.arange(1, len(f) + 1)
    )


def base_heatmaps(con, sides: Sides, flipped: pd.DataFrame, matched: Matched, per_pair: int) -> str | None:
    """SQL for the base models' heat maps of the worst flipped texts of each pair (every token, every class, in this
    build's label names), so the file shows both sides without the base; None within one build."""
    if sides.within or flipped.empty:
        return None
    chosen = flipped[flipped["rank"] <= per_pair][["text_id", "base_text_id", "base_model"]].drop_duplicates()
    con.register("chosen_flips", chosen)
    con.register("label_names", pd.DataFrame(list(matched.label_map.items()), columns=["base_label", "label"]))
    return f"""
        with
        tokens as (
            select chosen.text_id, chosen.base_text_id, chosen.base_model,
                unnest(tokens(texts.text)) as token, generate_subscripts(tokens(texts.text), 1) as position
            from chosen_flips as chosen
            join {sides.table("base", "texts")} as texts on texts.text_id = chosen.base_text_id
            join {sides.table("base", "models")} as models on models.model = chosen.base_model and models.attributed
        ),
        scored as (
            select chosen.text_id, chosen.base_model, names.label, a.position, a.score,
                a.score / nullif(
                    max(abs(a.score)) over (partition by chosen.text_id, chosen.base_model, names.label), 0
                )
                    as relative
            from chosen_flips as chosen
            join {sides.table("base", "token_attributions")} as a
                on a.text_id = chosen.base_text_id and a.model = chosen.base_model
            join label_names as names on names.base_label = a.label
        )
        select tokens.text_id, tokens.base_model, names.label, tokens.position, tokens.token,
            scored.position is not null as seen, scored.score, scored.relative
        from tokens
        cross join label_names as names
        left join scored using (text_id, base_model, label, position)
        order by tokens.text_id, tokens.base_model, names.label, tokens.position
    """


# --- all of it ---------------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    summary: pd.DataFrame
    pairs: pd.DataFrame
    metrics: pd.DataFrame
    flips: pd.DataFrame
    behaviour: pd.DataFrame
    slices: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    mislabelled: pd.DataFrame | None = None
    features: pd.DataFrame | None = None
    heatmaps: str | None = None  # SQL over the base, run as the table is filled

    def tables(self) -> dict[str, list]:
        """The tables of the database's schema, each from its frame (or SQL)."""
        return {
            "comparison": [self.summary],
            "comparison_pairs": [self.pairs],
            "comparison_metrics": [self.metrics],
            "flips": [self.flips],
            "comparison_slices": [self.slices],
            "comparison_groups": [self.groups],
            "comparison_behaviour": [self.behaviour],
            "comparison_mislabelled": [self.mislabelled],
            "comparison_features": [self.features],
            "comparison_heatmaps": [self.heatmaps] if self.heatmaps else [],
        }


def compare(con, sides: Sides, config: dict, everything: bool = True) -> Comparison:
    """The comparison of this build with the base (or of this build's models with each other); `everything` False
    computes only what the gates read (pairs, metrics, flips, behaviour)."""
    settings = config["compare"]
    matched = match_builds(con, sides, settings)
    this_models, base_models = _models(con, sides, "this"), _models(con, sides, "base")
    pairs = pair_models(settings, this_models, base_models, sides.within)
    labels = _labels(con, sides, "this")
    paired = matched.texts.loc[matched.texts["paired"], "text_id"].to_numpy()
    facts = text_facts(con, sides, paired, config["slices"]) if everything else None
    found = {name: [] for name in ("pairs", "metrics", "flips", "behaviour", "slices", "groups")}
    mapped = dict(zip(this_models["model"], this_models["mapped"], strict=True))
    for rank, (base_model, model, paired_by) in enumerate(pairs, start=1):
        data = pair_data(con, sides, matched, labels, base_model, model)
        if not len(data.label):
            raise PipelineError(f"[compare] {base_model} and {model} scored no test text in common; {HOW}")
        names = {"base_model": base_model, "model": model}
        found["pairs"].append(pd.DataFrame([{**names, "rank": rank, "paired_by": paired_by, **flip_summary(data)}]))
        found["flips"].append(flips(data, labels))
        found["behaviour"].append(behaviour(con, sides, base_model, model))
        if everything:
            kinds, features, values, groups = group_matrix(con, sides, data, facts, mapped[model])
        else:
            kinds, features, values, groups = [], [], [], sparse.csr_matrix((len(data.label), 0))
        metrics, before, after, low, high = measure(data, labels, groups, settings, config["seed"] + rank)
        found["metrics"].append(metrics.assign(**names, texts=len(data.label)))
        if everything:
            found["slices"].append(regression_slices(data, facts, config["slices"]))
            found["groups"].append(group_table(kinds, features, values, groups, (before, after, low, high), names))
    frames = {name: pd.concat(rows, ignore_index=True) if rows else pd.DataFrame() for name, rows in found.items()}
    summary = pd.DataFrame([{**base_facts(con, sides, settings), **matched.summary}])
    comparison = Comparison(summary, frames["pairs"], frames["metrics"], frames["flips"], frames["behaviour"])
    if everything:
        comparison.slices, comparison.groups = frames["slices"], frames["groups"]
        within = sides.within
        comparison.mislabelled = pd.DataFrame() if within else mislabelled(con, sides, matched)
        comparison.features = pd.DataFrame() if within else feature_shift(con, sides)
        comparison.heatmaps = base_heatmaps(con, sides, comparison.flips, matched, settings["heatmaps"])
    return comparison


def base_facts(con, sides: Sides, settings: dict) -> dict:
    """What the comparison was made with: the base file of the settings and its facts, or this build itself."""
    facts = dict(con.execute(f"select key, value from {sides.table('base', 'meta')}").fetchall())
    return {
        "within": sides.within,
        "base_file": None if sides.within else settings["base"],
        "base_sha256": None if sides.within else settings["sha256"],
        "base_built_at": None if sides.within else facts["built_at"],
        "base_dataset_file": facts["dataset_file"],
        "base_dataset_sha256": facts["dataset_sha256"],
    }


def fill(con: duckdb.DuckDBPyConnection, config: dict) -> Comparison:
    """Compare the build being written (con's own catalog) with the base of the settings, or its models with each
    other: the tables of the schema's comparison part. Timed as the step `compare`."""
    start = time.perf_counter()
    this = con.execute("select current_database()").fetchall()[0][0]
    settings = config["compare"]
    if settings["base"]:
        attach(con, settings["base"])
    comparison = compare(con, Sides(this, BASE if settings["base"] else this), config)
    cli.record_timing("compare", time.perf_counter() - start)
    return comparison
