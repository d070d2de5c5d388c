"""The behavioural test cases for this data: the built-in suite that fits its label set and the user's own tests
(pipeline/per_text/behaviour/suite.py), made on a seeded sample of the test split with the changes of
pipeline/per_text/behaviour/perturb.py.

    python -m pipeline cases --texts build/texts.parquet --dataset-info build/dataset.json \
        --predictions build/predictions/baseline.parquet --attributions build/attributions/baseline.parquet \
        --cases build/behaviour/cases.parquet --tests build/behaviour/tests.parquet

Every model reads the same changed texts, so their verdicts can be compared case by case. The negation test
puts "not" before the word that pushes the baseline hardest toward its predicted class: the baseline's
attributions are exact and exist for any data, so the word does not depend on the model under test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import artifacts, cli
from pipeline.config import load_config
from pipeline.data.text import tokenize_all
from pipeline.per_text.behaviour.perturb import (
    add_sentence,
    fill,
    negate,
    replace_names,
    replace_numbers,
    replace_pairs,
    typos,
)
from pipeline.per_text.behaviour.suite import Test, builtin_tests, not_applicable, read_user_tests

CASE_COLUMNS = ["case_id", "test", "text_id", "before", "after", "label", "expect"]
TEST_COLUMNS = ["test", "kind", "description", "source", "applicable", "reason", "cases", "skipped"]


def _stable_int(text: str) -> int:
    """A hash of the text that is the same in every process (Python's own hash() is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def make_cases(
    tests: list[Test],
    sample: pd.DataFrame,
    labels: list[str],
    strongest: pd.DataFrame | None,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every test's cases, and one row per test with how many cases it made and how many sampled texts it could
    not change (those are counted, not stored: an unchanged text tests nothing).

    One draw from `rng` seeds a generator per test and text, so a text's case does not depend on which other
    tests or texts were asked for.
    """
    names = [test.name for test in tests]
    if len(set(names)) != len(names):
        raise ValueError(f"test names must be unique: {names}")
    missing = {"text_id", "text"} - set(sample.columns)
    if missing:
        raise ValueError(f"sample lacks columns {sorted(missing)}")
    base = int(rng.integers(2**63))
    by_text = _strongest_by_text(strongest, labels)
    cases, rows = [], []
    for test in tests:
        reason = not_applicable(test, labels)
        made = skipped = 0
        if reason is None and test.perturbation == "template":
            for sentence in fill(test.template, test.words):
                cases.append((test.name, None, None, sentence, test.label, "label"))
                made += 1
        elif reason is None:
            for text_id, text in zip(sample["text_id"], sample["text"], strict=True):
                seed = [base, _stable_int(test.name), int(text_id) & (2**63 - 1)]
                case = _perturb(test, text, by_text.get(int(text_id)), np.random.default_rng(seed))
                if case is None or case[0] == text:
                    skipped += 1
                    continue
                after, label, expect = case
                cases.append((test.name, int(text_id), text, after, label, expect))
                made += 1
        rows.append((test.name, test.kind, test.description, test.source, reason is None, reason, made, skipped))
    table = pd.DataFrame(cases, columns=CASE_COLUMNS[1:])
    table.insert(0, "case_id", np.arange(1, len(table) + 1, dtype=np.int64))
    table = table.astype({"text_id": "Int64", "test": "str", "before": "str", "after": "str", "label": "str"})
    table = table.astype({"expect": "str"})
    summary = pd.DataFrame(rows, columns=TEST_COLUMNS).astype(
        {
            **dict.fromkeys(["test", "kind", "description", "source", "reason"], "str"),
            "applicable": "bool",
            "cases": "int64",
            "skipped": "int64",
        }
    )
    return table, summary


def _strongest_by_text(strongest: pd.DataFrame | None, labels: list[str]) -> dict[int, tuple[str, int, str]]:
    """Each text's (word, occurrence, class), its first row when there are several."""
    if strongest is None or strongest.empty:
        return {}
    unknown = sorted(set(strongest["label"].dropna()) - set(labels))
    if unknown:
        raise ValueError(f"strongest names classes not in the labels: {unknown}")
    found: dict[int, tuple[str, int, str]] = {}
    for text_id, word, occurrence, label in zip(
        strongest["text_id"], strongest["word"], strongest["occurrence"], strongest["label"], strict=True
    ):
        if pd.isna(text_id) or pd.isna(word) or pd.isna(occurrence) or pd.isna(label):
            continue
        found.setdefault(int(text_id), (str(word), int(occurrence), str(label)))
    return found


def _perturb(
    test: Test, text: object, strongest: tuple[str, int, str] | None, rng: np.random.Generator
) -> tuple[str, str | None, str] | None:
    """One sampled text's case: (the changed text, the class the expectation is about, expect), or None."""
    if not isinstance(text, str):
        return None
    kind = test.perturbation
    if kind == "typos":
        after = typos(text, rng)
    elif kind == "names":
        after = replace_names(text, rng)
    elif kind == "numbers":
        after = replace_numbers(text, rng)
    elif kind == "sentence":
        after = add_sentence(text, test.sentences[int(rng.integers(len(test.sentences)))])
    elif kind == "replace":
        after = replace_pairs(text, test.replace)
    elif kind == "negation":
        if strongest is None:
            return None
        word, occurrence, label = strongest
        after = negate(text, word, occurrence)
        return None if after is None else (after, label, test.expect or "down")
    elif kind == "intensifier":
        if strongest is None:
            return None
        label = strongest[2]
        sentences = dict(test.class_sentences).get(label)
        if not sentences:  # a class with no sentences of its own (neither the negative nor the positive one)
            return None
        after = add_sentence(text, sentences[int(rng.integers(len(sentences)))])
        return after, label, test.expect or "up"
    else:
        raise ValueError(f"test {test.name!r}: unknown perturbation {kind!r}")
    if after is None:
        return None
    if test.kind == "direction":
        return after, test.label, test.expect
    return after, None, "same"


def sample_test_split(texts: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """A seeded sample of the test texts, in text_id order; all of them when size is 0 or more than there are."""
    test = texts[texts["subset"] == "test"]
    if 0 < size < len(test):
        test = test.sample(n=size, random_state=seed).sort_values("text_id")
    return test.reset_index(drop=True)


def strongest_words(
    sample: pd.DataFrame, predictions: pd.DataFrame, attributions: artifacts.Attributions, labels: list[str]
) -> pd.DataFrame:
    """For each sampled text: the token that pushes the baseline hardest toward the class it predicts, which
    occurrence of that token it is, and the class. Texts where no token pushes toward it are left out."""
    predicted = predictions.set_index("text_id").loc[sample["text_id"], "probabilities"]
    words = tokenize_all(sample["text"])
    rows = []
    for text_id, tokens, probabilities in zip(sample["text_id"], words, predicted, strict=True):
        i = int(text_id)  # text ids are the row numbers of every per-text file
        target = int(np.argmax(probabilities))
        toward = attributions.by_class(i)[:, target]
        if not len(toward) or toward.max() <= 0:
            continue
        position = int(np.argmax(toward))
        word = tokens[position]
        rows.append({"text_id": i, "word": word, "occurrence": tokens[:position].count(word),
                     "label": labels[target]})  # fmt: skip
    return pd.DataFrame(rows, columns=["text_id", "word", "occurrence", "label"])


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--texts", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path)
    p.add_argument("--predictions", required=True, type=Path, help="the baseline's predictions")
    p.add_argument("--attributions", required=True, type=Path, help="the baseline's attributions")
    p.add_argument("--cases", required=True, type=Path)
    p.add_argument("--tests", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    settings = config["behaviour"]
    labels = artifacts.read_dataset_info(args.dataset_info).labels

    tests = [test for test, _ in builtin_tests(labels)]
    if settings["tests"]:
        tests += read_user_tests(Path(settings["tests"]), labels)
    texts = artifacts.read_texts(args.texts, columns=["text_id", "subset", "label", "text"])
    sample = sample_test_split(texts, settings["sample"], config["seed"])
    sample["label"] = sample["label"].astype(str)
    strongest = strongest_words(
        sample, artifacts.read_predictions(args.predictions), artifacts.read_attributions(args.attributions), labels
    )
    cases, summary = make_cases(tests, sample, labels, strongest, np.random.default_rng(config["seed"]))
    artifacts.write_table(args.cases, cases)
    artifacts.write_table(args.tests, summary)
    run = summary[summary["applicable"]]
    print(f"{args.cases}: {len(cases):,} cases of {len(run)} tests on {len(sample):,} test texts")
