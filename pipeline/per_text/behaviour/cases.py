"""The behavioural test cases (pipeline/per_text/behaviour/checklist.py) for this data: the built-in suite that fits
its label set, and the user's own tests, on a seeded sample of the test split.

    python -m pipeline cases --texts build/texts.parquet --dataset-info build/dataset.json \
        --predictions build/predictions/baseline.parquet --attributions build/attributions/baseline.parquet \
        --cases build/behaviour/cases.parquet --tests build/behaviour/tests.parquet

Every model reads the same changed texts, so their verdicts can be compared case by case. The negation test
puts "not" before the word that pushes the baseline hardest toward its predicted class: the baseline's
attributions are exact and exist for any data, so the word does not depend on the model under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import artifacts, cli
from pipeline.config import load_config
from pipeline.data.text import tokenize_all
from pipeline.per_text.behaviour import checklist


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

    suite = [test for test, _ in checklist.builtin_tests(labels)]
    if settings["tests"]:
        suite += checklist.read_user_tests(Path(settings["tests"]), labels)
    texts = artifacts.read_texts(args.texts, columns=["text_id", "subset", "label", "text"])
    sample = sample_test_split(texts, settings["sample"], config["seed"])
    sample["label"] = sample["label"].astype(str)
    strongest = strongest_words(
        sample, artifacts.read_predictions(args.predictions), artifacts.read_attributions(args.attributions), labels
    )
    cases, tests = checklist.make_cases(suite, sample, labels, strongest, np.random.default_rng(config["seed"]))
    artifacts.write_table(args.cases, cases)
    artifacts.write_table(args.tests, tests)
    run = tests[tests["applicable"]]
    print(f"{args.cases}: {len(cases):,} cases of {len(run)} tests on {len(sample):,} test texts")
