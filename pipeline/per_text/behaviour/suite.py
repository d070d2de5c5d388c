"""Behavioural tests in the manner of CheckList (Ribeiro et al., ACL 2020): accuracy alone does not say whether a
model ignores what it should ignore and reacts to what it should react to. This module says which tests there are:
the built-in suite (suite.toml beside it) and the user's own, both read by one reader. The cases step makes their
cases (pipeline/per_text/behaviour/cases.py, with the changes of perturb.py) and the verdicts step scores them.

Three kinds of test:

- invariance: a text is changed in a way that should not matter (a typo, another first name, another number,
  a bland sentence appended); a case fails when the predicted class changes (expect "same").
- direction: a text is changed in a way that should move one class's probability one way only ("up": must not go
  down; "down": must not go up); e.g. "not" put before the word that pushes the text hardest toward a class.
- template: short sentences filled in from a template and word lists, each with a known label (expect "label").

The built-in suite (`builtin_tests`, from suite.toml) runs the invariance tests for any label set, and the direction
and template tests only for sentiment label sets (a negative and a positive class, found by name).

Users add tests in a TOML file (`read_user_tests`), one [[test]] table each:

    [[test]]
    name = "refund wording"
    kind = "invariance"                    # replacement pairs applied to the sampled texts; fails when the
    replace = [["refund", "reimbursement"], ["cancel", "stop"]]   # predicted class changes

    [[test]]
    name = "urgent means urgent"
    kind = "direction"
    replace = [["soon", "immediately"]]
    label = "urgent"                       # the class whose probability ...
    expect = "up"                          # ... must not go down ("up") or must not go up ("down")

    [[test]]
    name = "billing questions"
    kind = "template"
    template = "I was charged {amount} twice for my {plan}."
    label = "billing"                      # the label every filled sentence should get
    [test.words]                           # one list per {placeholder}; every combination is a case
    amount = ["$10", "$25"]
    plan = ["subscription", "order"]

A test may also have a `description` (one line for the page); otherwise one is written from its settings.
Replacements match whole words, ignoring case, and keep a leading capital ("Refund" -> "Reimbursement").
"""

from __future__ import annotations

import dataclasses
import string
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError, first_line
from pipeline.per_text.behaviour.perturb import fill

BUILT_IN = Path(__file__).with_name("suite.toml")
BUILT_IN_SOURCE = "built-in"
KINDS = ("invariance", "direction", "template")
EXPECTS = ("up", "down")
NEGATIVE_NAMES = ("neg", "negative")
POSITIVE_NAMES = ("pos", "positive")
# How a test changes a text (pipeline/per_text/behaviour/perturb.py): your tests replace words, or fill a template;
# the built-in ones may also say one of the others.
CHANGES = ("replace", "template", "typos", "names", "numbers", "sentence", "negation", "intensifier")
# A template that makes more sentences than this is almost surely a mistake (and would swamp the scoring).
MAX_TEMPLATE_CASES = 10_000
ALLOWED_KEYS = {
    "invariance": {"name", "kind", "description", "replace"},
    "direction": {"name", "kind", "description", "replace", "label", "expect"},
    "template": {"name", "kind", "description", "template", "words", "label"},
}
REQUIRED_KEYS = {
    "invariance": ("replace",),
    "direction": ("replace", "label", "expect"),
    "template": ("template", "label"),
}
# What only a built-in test may say: how it changes a text, the sentences it appends (a list, or one per class), and
# that it needs a negative and a positive class ("sentiment"), whose labels it names "negative" and "positive".
BUILT_IN_KEYS = {"change", "sentences", "needs"}
FORMAT_HINT = "see pipeline/per_text/behaviour/suite.py for the format"


@dataclass(frozen=True)
class Test:
    """One behavioural test: what the page shows about it, and what the case generator needs to make its cases."""

    __test__ = False  # not a pytest test class, despite its name

    name: str  # unique, short, shown on the page
    kind: str  # "invariance" | "direction" | "template"
    description: str  # one plain line for the page
    source: str  # "built-in" or the user's file name
    # How cases are made from a sampled text: "typos", "names", "numbers", "sentence", "negation", "intensifier",
    # "replace" (the `replace` pairs) or "template" (no sampled text: `template` filled from `words`).
    perturbation: str = ""
    replace: tuple[tuple[str, str], ...] = ()
    sentences: tuple[str, ...] = ()  # "sentence": one is appended, picked at random
    # "intensifier": sentences by class name; a text gets one of the class the caller says it belongs to.
    class_sentences: tuple[tuple[str, tuple[str, ...]], ...] = ()
    template: str = ""
    words: tuple[tuple[str, tuple[str, ...]], ...] = ()  # placeholder -> its words, in the order given
    # Template: the label every sentence should get. Direction: the class whose probability the expectation is
    # about; None for the built-in ones, where it is the class the caller gives for each text.
    label: str | None = None
    expect: str | None = None  # direction: "up" (must not go down) or "down" (must not go up)
    needs_sentiment: bool = False  # a built-in test that needs a negative and a positive class


def sentiment_classes(labels: Sequence[str]) -> tuple[str, str] | None:
    """The (negative, positive) class names, found by name ignoring case, or None for a label set without both."""
    negative = next((label for label in labels if label.lower() in NEGATIVE_NAMES), None)
    positive = next((label for label in labels if label.lower() in POSITIVE_NAMES), None)
    return (negative, positive) if negative is not None and positive is not None else None


def not_applicable(test: Test, labels: Sequence[str]) -> str | None:
    """Why the test cannot run on this label set (a short sentence), or None when it can."""
    if test.needs_sentiment and sentiment_classes(labels) is None:
        return f"needs a negative and a positive class; the labels are {', '.join(labels)}"
    if test.label is not None and test.label not in labels:
        return f"its label {test.label} is not one of the labels {', '.join(labels)}"
    return None


def builtin_tests(labels: list[str]) -> list[tuple[Test, str | None]]:
    """The built-in suite, each test with the reason it does not apply to these labels (None when it does)."""
    return [(test, not_applicable(test, labels)) for test in read_tests(BUILT_IN, labels, builtin=True)]


def _fail(where: str, message: str) -> PipelineError:
    return PipelineError(" ".join(f"{where}: {message}".split("\n")))


def read_user_tests(path: Path, labels: list[str]) -> list[Test]:
    """The tests of a user's TOML file, checked so that every mistake is a one-line error naming the file, the
    test and the fix, before any model is run; their names are not those of the built-in tests."""
    taken = {test.name.lower() for test, _ in builtin_tests(labels)}
    tests = read_tests(path, labels)
    for test in tests:
        if test.name.lower() in taken:
            raise _fail(f"{path}: test {test.name!r}", "the name is already taken; give each test its own name")
    return tests


def read_tests(path: Path, labels: list[str], builtin: bool = False) -> list[Test]:
    """The tests of a TOML file: the user's, or (`builtin`) the built-in suite, which may say more of each test
    (BUILT_IN_KEYS)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise _fail(str(path), "tests file not found; give the path of an existing TOML file") from None
    except IsADirectoryError:
        raise _fail(str(path), "is a folder, not a tests file; give the path of a TOML file") from None
    except OSError as e:
        raise _fail(str(path), f"cannot read the tests file ({e.strerror}); check its permissions") from None
    except UnicodeDecodeError:
        raise _fail(str(path), "not valid TOML (not UTF-8 text); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise _fail(str(path), f"not valid TOML ({first_line(e)}); fix the file") from None
    entries = data.get("test")
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, dict) for entry in entries):
        raise _fail(str(path), f"no [[test]] entries; add at least one [[test]] table, {FORMAT_HINT}")
    taken, tests = set(), []
    for number, entry in enumerate(entries, start=1):
        test = _test(entry, number, path, labels, builtin)
        if test.name.lower() in taken:
            raise _fail(f"{path}: test {test.name!r}", "the name is already taken; give each test its own name")
        taken.add(test.name.lower())
        tests.append(test)
    return tests


def _test(entry: dict, number: int, path: Path, labels: list[str], builtin: bool = False) -> Test:
    """One [[test]] table checked and turned into a Test."""
    name = entry.get("name")
    if name is None:
        raise _fail(f"{path}: test {number}", 'no name; add one, e.g. name = "refund wording"')
    if not isinstance(name, str) or not name.strip() or "\n" in name or "\r" in name:
        raise _fail(f"{path}: test {number}", "name must be a non-empty one-line string; fix it")
    name = name.strip()
    where = f"{path}: test {name!r}"
    kind = entry.get("kind")
    if kind not in KINDS:
        shown = "no kind" if kind is None else f"unknown kind {kind!r}"
        raise _fail(where, f"{shown}; set kind to one of {', '.join(KINDS)}")
    allowed = ALLOWED_KEYS[kind] | (BUILT_IN_KEYS if builtin else set())
    unknown = sorted(set(entry) - allowed)
    if unknown:
        settings = ", ".join(sorted(allowed))
        raise _fail(where, f"{kind} tests have no setting {unknown[0]!r}; the settings are {settings}")
    change = entry.get("change", "template" if kind == "template" else "replace")
    if change not in CHANGES:
        raise _fail(where, f"unknown change {change!r}; use one of {', '.join(CHANGES)}")
    # A change of its own needs no replace pairs, and a direction test that follows the baseline no label.
    own_change = change not in ("replace", "template")
    for key in REQUIRED_KEYS[kind]:
        if key not in entry and not (own_change and key in ("replace", "label")):
            raise _fail(where, f"{kind} tests need {key!r}; add it, {FORMAT_HINT}")
    description = entry.get("description")
    if description is not None and (not isinstance(description, str) or "\n" in description):
        raise _fail(where, "description must be a one-line string; fix it")
    needs_sentiment = entry.get("needs") == "sentiment"
    label = entry.get("label")
    if needs_sentiment:
        label = dict(zip(("negative", "positive"), sentiment_classes(labels) or (None, None), strict=True)).get(label)
    elif label is not None and label not in labels:
        raise _fail(where, f"label {label!r} is not one of the labels: {', '.join(labels)}; use one of them")
    test = Test(name, kind, description or "", BUILT_IN_SOURCE if builtin else path.name, change, label=label,
                needs_sentiment=needs_sentiment)  # fmt: skip
    if kind == "template":
        template, words = _template(entry, where)
        sentences = fill(template, words)
        example = sentences[0] if sentences else template
        description = description or f'sentences like "{example}" should be labelled {label}'
        return dataclasses.replace(test, description=description, template=template, words=words)
    expect = entry.get("expect")
    if kind == "direction" and expect not in EXPECTS:
        raise _fail(where, f'expect is {expect!r}; set it to "up" (must not go down) or "down" (must not go up)')
    if own_change:
        return dataclasses.replace(test, expect=expect, **_sentences(entry.get("sentences", ()), labels))
    replace = _replace(entry["replace"], where)
    shown = ", ".join(f"{a} -> {b}" for a, b in replace[:3]) + (", ..." if len(replace) > 3 else "")
    if kind == "invariance":
        description = description or f"{shown} should not change the predicted class"
        return dataclasses.replace(test, description=description, replace=replace)
    change_of = "go down" if expect == "up" else "go up"
    description = description or f"{shown}: the probability of {label} must not {change_of}"
    return dataclasses.replace(test, description=description, replace=replace, expect=expect)


def _sentences(value: list | dict, labels: list[str]) -> dict:
    """A built-in test's sentences: a list, one of which is appended to a text; or one list per sentiment class,
    "negative" and "positive", of which a text gets one of the class the baseline predicts for it."""
    if not isinstance(value, dict):
        return {"sentences": tuple(value)}
    named = dict(zip(("negative", "positive"), sentiment_classes(labels) or (None, None), strict=True))
    return {"class_sentences": tuple((named[name], tuple(found)) for name, found in value.items() if named.get(name))}


def _replace(value: object, where: str) -> tuple[tuple[str, str], ...]:
    """A replace setting checked: a list of [from, to] string pairs, each `from` a different word."""
    example = 'write it like replace = [["refund", "reimbursement"]]'
    if not isinstance(value, list) or not value:
        raise _fail(where, f"replace must be a non-empty list of [from, to] string pairs; {example}")
    pairs, seen = [], set()
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(word, str) for word in pair)):
            raise _fail(where, f"replace holds {pair!r}, not a [from, to] string pair; {example}")
        source, target = pair
        if not source.strip():
            raise _fail(where, f"replace has an empty word to replace in {pair!r}; give it a word")
        if source.lower() == target.lower():
            raise _fail(where, f"replace turns {source!r} into itself; drop that pair")
        if source.lower() in seen:
            raise _fail(where, f"replace lists {source!r} twice; keep one pair for it")
        seen.add(source.lower())
        pairs.append((source, target))
    return tuple(pairs)


def _template(entry: dict, where: str) -> tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """A template and its word lists checked: every {placeholder} has a non-empty list and every list is used."""
    template = entry["template"]
    hint = "use {name} placeholders, and {{ and }} for braces"
    if not isinstance(template, str) or not template.strip():
        raise _fail(where, "template must be a non-empty string; fix it")
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)]
    except ValueError as e:
        raise _fail(where, f"the template is not valid ({e}); {hint}") from None
    placeholders = []
    for name, spec, conversion in fields:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise _fail(where, f"the template has the placeholder {shown}; {hint}")
        placeholders.append(name)
    words = entry.get("words", {})
    if not isinstance(words, dict):
        raise _fail(where, 'words must be a table of word lists; write [test.words] and then e.g. plan = ["order"]')
    for name in dict.fromkeys(placeholders):
        if name not in words:
            raise _fail(where, f"the template's {{{name}}} has no word list; add {name} = [...] under [test.words]")
    lists = []
    for name, value in words.items():
        if name not in placeholders:
            raise _fail(where, f"the word list {name!r} is not used by the template; add {{{name}}} or remove it")
        if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
            raise _fail(where, f"the word list {name!r} must be a list of strings; fix it")
        if not value:
            raise _fail(where, f"the word list {name!r} is empty; give it at least one word")
        lists.append((name, tuple(value)))
    total = int(np.prod([len(value) for _, value in lists])) if lists else 1
    if total > MAX_TEMPLATE_CASES:
        raise _fail(where, f"the template makes {total} sentences, over {MAX_TEMPLATE_CASES}; shorten the word lists")
    return template, tuple(lists)
