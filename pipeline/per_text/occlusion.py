"""Heat maps without gradients, for any model that can be run on new texts (an ONNX graph, a served model, an LLM): the
model is called on the text with words left out, through the one model interface (Classifier.predict), so no model needs
anything more than its predictions.

The target for class c is its centred log-probability, log p(c) minus the mean over the classes: the centred logit when
the model has logits, as for integrated gradients (pipeline/per_text/attributions.py), so both heat maps read the same
way. A text's words are its whitespace-separated pieces, as written (HTML tags made spaces); a long text's are grouped
into phrases of neighbouring words, so that a text never costs more than `max_calls` model calls. Two ways:

- occlusion: each word (phrase) left out in turn; its score is the target of the whole text minus the target without it.
  Cheap (a call per word, and one for the whole), but the scores need not sum to the change from the empty text.
- partition: a partition-SHAP estimate (Owen values on a binary tree of the text's halves, then halves of those, as
  shap's PartitionExplainer builds it for text). A node's share of its parent's score is half the parent's, plus a
  quarter of the difference between its own and its sibling's effect, taken with the rest of the text absent and with it
  present. Two calls per node (about four per word); the scores sum exactly to the target of the whole text minus the
  target of the empty one.

Each word's score is shared among the pipeline's words it holds and laid on them (classifier.align), as a transformer's
subword scores are, so the pages show them on the same words as every other model.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.data.text import tokenize_all
from pipeline.models.classifier import Classifier, Corpus, Scores, align
from pipeline.registry import ModelSpec

WORD = re.compile(r"\S+")
TAG = re.compile(r"<[^>]*>")  # HTML residue (IMDB's <br />): a space, as the pipeline's cleaning makes it
TEXTS_AT_ONCE = 64  # texts whose variants are predicted together
EPSILON = 1e-7


def targets(probabilities: np.ndarray) -> np.ndarray:
    """The centred log-probabilities of classes 1 to n-1."""
    logs = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1.0))
    return (logs - logs.mean(axis=1, keepdims=True))[:, 1:]


def phrases(n_words: int, units: int) -> np.ndarray:
    """The unit of each word: words grouped into at most `units` runs of neighbouring words of near-equal size."""
    units = max(1, min(units, n_words))
    return (np.arange(n_words) * units) // max(n_words, 1)


def unit_budget(method: str, max_calls: int) -> int:
    """How many units a text may have within max_calls: occlusion, one call each and one for the whole text;
    partition, two calls for each node of the tree (about 2 x 2 units) and two for the whole and the empty text."""
    return max(1, max_calls - 1) if method == "occlusion" else max(1, (max_calls + 2) // 4)


def tree(units: int) -> list[tuple[int, int, int, int]]:
    """The binary tree of halves over units 0..units-1, as (start, stop, split, parent index) for every inner node,
    parents before children; the root's parent is -1."""
    nodes, stack = [], [(0, units, -1)]
    while stack:
        start, stop, parent = stack.pop()
        if stop - start < 2:
            continue
        split = (start + stop) // 2
        nodes.append((start, stop, split, parent))
        here = len(nodes) - 1
        stack.extend([(split, stop, here), (start, split, here)])
    return nodes


class Plan:
    """The texts one text's heat map needs: kept[i] says which of its units text i keeps."""

    def __init__(self, method: str, units: int) -> None:
        self.method, self.units = method, units
        full, empty = np.ones(units, bool), np.zeros(units, bool)
        if method == "occlusion":
            self.kept = np.vstack([full, ~np.eye(units, dtype=bool)]) if units else full[None]
            self.nodes = []
        else:
            self.nodes = tree(units)
            rows = [full, empty]
            for start, stop, split, _ in self.nodes:
                for a, b in ((start, split), (split, stop)):
                    only = empty.copy()
                    only[a:b] = True
                    rows += [only, ~only]  # the half alone; the whole text without the half
            self.kept = np.vstack(rows)

    def scores(self, values: np.ndarray) -> np.ndarray:
        """Each unit's score (units x classes - 1) from the targets of the planned texts (rows of kept)."""
        if self.method == "occlusion":
            return values[0] - values[1:]
        whole, none = values[0], values[1]
        share = np.zeros((len(self.nodes), 2, values.shape[1]))
        leaf = np.zeros((self.units, values.shape[1]))
        for index, (start, stop, split, parent) in enumerate(self.nodes):
            if parent < 0:
                total = whole - none
            else:
                p_start, _, p_split, _ = self.nodes[parent]
                total = share[parent, 0 if start == p_start and stop == p_split else 1]
            base = 2 + 4 * index
            left_alone, without_left, right_alone, without_right = values[base : base + 4]
            # Half the parent's score each, and a quarter of the difference of their effects in both contexts.
            left = total / 2 + ((left_alone - right_alone) + (without_right - without_left)) / 4
            share[index] = left, total - left
            for half, (a, b) in enumerate(((start, split), (split, stop))):
                if b - a == 1:
                    leaf[a] = share[index, half]
        if self.units == 1:
            leaf[0] = whole - none
        return leaf


def attribute(model: Classifier, corpus: Corpus, method: str, max_calls: int) -> tuple[Scores, np.ndarray]:
    """Every text's heat map by occlusion or partition SHAP, and the model calls each took."""
    k = len(corpus.labels) - 1
    scores: list[np.ndarray] = []
    at_text, at_baseline = np.zeros((len(corpus), k), np.float32), np.zeros((len(corpus), k), np.float32)
    calls = np.zeros(len(corpus), np.int32)
    budget = unit_budget(method, max_calls)
    empty = targets(model.predict(corpus.of_texts([""]))[0])[0]  # the target with every word left out
    for start in range(0, len(corpus), TEXTS_AT_ONCE):
        rows = range(start, min(start + TEXTS_AT_ONCE, len(corpus)))
        words = [WORD.findall(TAG.sub(" ", str(corpus.texts[row]))) for row in rows]
        plans, variants = [], []
        for row, its_words in zip(rows, words, strict=True):
            if not its_words:  # nothing to leave out: the text is the empty one
                plans.append(None)
                variants.append("")
                calls[row] = 1
                continue
            unit = phrases(len(its_words), budget)
            plan = Plan(method, int(unit.max()) + 1)
            plans.append((plan, unit))
            variants += [" ".join(w for w, u in zip(its_words, unit, strict=True) if keep[u]) for keep in plan.kept]
            calls[row] = len(plan.kept)
        values = targets(model.predict(corpus.of_texts(variants))[0])
        pieces = tokenize_all(pd.Series([w for its_words in words for w in its_words], dtype=object))
        offset, piece = 0, 0
        for row, planned in zip(rows, plans, strict=True):
            mine = values[offset : offset + calls[row]]
            offset += calls[row]
            at_text[row], at_baseline[row] = mine[0], empty
            if planned is None:
                scores.append(np.zeros((0, k), np.float32))
                continue
            plan, unit = planned
            per_unit = plan.scores(mine) / np.bincount(unit)[:, None]  # a phrase's score shared by its words
            theirs, laid = [], []
            for u in unit:
                cleaned = pieces[piece] or [""]  # a word the cleaning removes still keeps its score
                piece += 1
                theirs += cleaned
                laid += [per_unit[u] / len(cleaned)] * len(cleaned)
            scores.append(align(corpus.words[row], theirs, np.array(laid, dtype=np.float32)))
    return Scores(scores, at_text, at_baseline), calls


class WithoutGradients(Classifier):
    """A model whose heat maps are made by calling it (its settings say how: heat_maps, max_calls)."""

    def __init__(self, spec: ModelSpec, corpus: Corpus) -> None:
        self.name, self.kind, self.settings, self.labels = spec.name, spec.kind, spec.settings, corpus.labels
        self.method, self.max_calls = self.settings["heat_maps"], self.settings["max_calls"]
        self.heat_maps = spec.heat_maps  # as the pages say it

    def what(self) -> str:
        """The model in a few words, for its description."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "architecture": None,
            "description": f"{self.what()}; heat maps by {self.heat_maps}",
            "parameters": None,
            "no_attributions": self.no_attributions,
            "no_probabilities": self.no_probabilities,
        }

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        scores, calls = attribute(self, corpus, self.method, self.max_calls)
        self.calls = calls if self.calls is None else np.concatenate([self.calls, calls])
        return scores
