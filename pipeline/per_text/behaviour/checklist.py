"""Behavioural test cases in the manner of CheckList (Ribeiro et al., ACL 2020): accuracy alone does not say
whether a model ignores what it should ignore and reacts to what it should react to, so this module makes cases
that ask exactly that. It only makes them; another step scores them with every model and decides failures.

Three kinds of test:

- invariance: a text is changed in a way that should not matter (a typo, another first name, another number,
  a bland sentence appended); a case fails when the predicted class changes (expect "same").
- direction: a text is changed in a way that should move one class's probability one way only ("up": must not go
  down; "down": must not go up); e.g. "not" put before the word that pushes the text hardest toward a class.
- template: short sentences filled in from a template and word lists, each with a known label (expect "label").

The built-in suite (`builtin_tests`) runs the invariance tests for any label set, and the direction and template
tests only for sentiment label sets (a negative and a positive class, found by name).

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

Words are counted as the pipeline counts them (sql/macros.sql): lowercase, HTML tags removed, apostrophes
dropped, every other run of characters other than letters and digits a separator.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError

KINDS = ("invariance", "direction", "template")
EXPECTS = ("up", "down")
NEGATIVE_NAMES = ("neg", "negative")
POSITIVE_NAMES = ("pos", "positive")
# A template that makes more sentences than this is almost surely a mistake (and would swamp the scoring).
MAX_TEMPLATE_CASES = 10_000

# Unambiguous first names only: "Will", "May", "Mark" or "Rose" are also ordinary words. Two lists, so that a
# name is replaced by one of the same list and the text's pronouns still fit.
MALE_NAMES = (
    "James", "John", "Robert", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Charles",
    "Christopher", "Daniel", "Matthew", "Anthony", "Steven", "Paul", "Andrew", "Joshua", "Kenneth", "Kevin",
    "Brian", "George", "Edward", "Ronald", "Timothy", "Jason", "Jeffrey", "Ryan", "Jacob", "Nicholas",
)  # fmt: skip
FEMALE_NAMES = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Nancy", "Lisa", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle", "Dorothy",
    "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Laura", "Sharon", "Cynthia", "Kathleen", "Angela",
)  # fmt: skip
NAMES = MALE_NAMES + FEMALE_NAMES

NEUTRAL_SENTENCES = (
    "This was written on a Tuesday.",
    "I wrote this in the afternoon.",
    "It was raining outside at the time.",
    "I am typing this on a laptop.",
    "That is all for now.",
)
POSITIVE_SENTENCES = ("It was truly wonderful.", "It was really excellent.", "Overall, it was absolutely great.")
NEGATIVE_SENTENCES = ("It was truly awful.", "It was really terrible.", "Overall, it was absolutely dreadful.")

THINGS = ("acting", "plot", "story", "music", "ending", "service", "food", "product")
POSITIVE_ADJECTIVES = (
    "good", "great", "excellent", "wonderful", "amazing", "fantastic", "brilliant", "superb", "delightful", "enjoyable",
)  # fmt: skip
NEGATIVE_ADJECTIVES = (
    "bad", "terrible", "awful", "horrible", "poor", "boring", "dreadful", "disappointing", "mediocre", "weak",
)  # fmt: skip

TAG = re.compile(r"<[^>]*>")  # as in sql/macros.sql: HTML residue such as <br /> is a separator
APOSTROPHES = "'’`"  # dropped by the pipeline, so they join the letters around them
ALNUM = r"[^\W_]"  # a letter or digit (Python's \w less the underscore), the pipeline's \pL\pN
# Ratings ("7/10", "8.5 / 10", "3 out of 10", "4 stars") carry sentiment: changing them is not an invariance.
RATING = re.compile(r"[0-9]+(?:\.[0-9]+)?\s*(?:/|out of)\s*[0-9]+|[0-9]+(?:\.[0-9]+)?\s*stars?\b", re.IGNORECASE)
NAME_PATTERN = re.compile(rf"(?<!{ALNUM})(?:{'|'.join(sorted(NAMES, key=len, reverse=True))})(?!{ALNUM})")


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


# ---------------------------------------------------------------------------------------------------------------
# Words as the pipeline sees them


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Each pipeline token with where it lies in the raw text, so a change can be put at the right place while
    the rest of the text stays byte-for-byte as it was."""
    separator = [False] * len(text)
    for match in TAG.finditer(text):
        separator[match.start() : match.end()] = [True] * (match.end() - match.start())
    spans = []
    start = None
    for i, char in enumerate([*text, " "]):
        inside = i < len(text) and not separator[i] and (char.isalnum() or char in APOSTROPHES)
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            token = "".join(c for c in text[start:i] if c.isalnum()).lower()
            if token:
                spans.append((token, start, i))
            start = None
    return spans


def _tag_spans(text: str) -> list[tuple[int, int]]:
    """The tag spans of the text, to leave markup alone when changing words."""
    return [(m.start(), m.end()) for m in TAG.finditer(text)]


def _in_any(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _word_pattern(word: str) -> str:
    """A whole-word pattern: not glued to a letter or digit, directly or through an apostrophe (as "don't" is one
    word to the pipeline). A word that begins or ends with a symbol ("$10") needs no boundary on that side."""
    before = rf"(?<!{ALNUM})(?<!{ALNUM}['’`])" if word[:1].isalnum() else ""
    after = rf"(?!{ALNUM})(?!['’`]{ALNUM})" if word[-1:].isalnum() else ""
    return before + re.escape(word) + after


# ---------------------------------------------------------------------------------------------------------------
# Perturbations: each returns the changed text, or None when there is nothing to change


def typos(text: str, rng: np.random.Generator) -> str | None:
    """Two adjacent letters swapped in one or two words of at least 4 letters. The first letter stays (typos
    rarely hit it) and the swapped letters keep the case of their places, so "Great" becomes "Gerat"."""
    tags = _tag_spans(text)
    candidates = []  # (start of the word, its swappable positions)
    for match in re.finditer(r"[^\W\d_]{4,}", text):
        if _in_any(match.start(), tags):
            continue
        word = match.group()
        positions = [i for i in range(1, len(word) - 1) if word[i].lower() != word[i + 1].lower()]
        if positions:
            candidates.append((match.start(), word, positions))
    if not candidates:
        return None
    count = min(len(candidates), int(rng.integers(1, 3)))
    chosen = sorted(int(i) for i in rng.choice(len(candidates), size=count, replace=False))
    chars = list(text)
    for index in chosen:
        start, word, positions = candidates[index]
        i = positions[int(rng.integers(len(positions)))]
        a, b = word[i], word[i + 1]
        chars[start + i] = b.upper() if a.isupper() else b.lower()
        chars[start + i + 1] = a.upper() if b.isupper() else a.lower()
    return "".join(chars)


def replace_names(text: str, rng: np.random.Generator) -> str | None:
    """Every first name of the built-in list (capitalised, whole word) replaced by another of the same list; the
    same name gets the same replacement throughout, and two names never become one."""
    tags = _tag_spans(text)
    matches = [m for m in NAME_PATTERN.finditer(text) if not _in_any(m.start(), tags)]
    if not matches:
        return None
    found = list(dict.fromkeys(m.group() for m in matches))  # first appearance order, not set order
    replacement: dict[str, str] = {}
    for name in found:
        group = MALE_NAMES if name in MALE_NAMES else FEMALE_NAMES
        taken = set(found) | set(replacement.values())
        choices = [other for other in group if other not in taken]
        if not choices:  # a text with more names than the list has others: any other unused one
            choices = [other for other in group if other != name and other not in replacement.values()]
        if not choices:
            choices = [other for other in group if other != name]
        replacement[name] = choices[int(rng.integers(len(choices)))]
    return _splice(text, [(m.start(), m.end(), replacement[m.group()]) for m in matches])


def replace_numbers(text: str, rng: np.random.Generator) -> str | None:
    """Every number (run of digits) replaced by a different one of as many digits, with no leading zero unless
    the original had one; the same number gets the same replacement. Ratings ("7/10", "3 out of 10", "4 stars")
    are left alone: changing them changes the sentiment, which no invariance test may do."""
    skip = _tag_spans(text) + [(m.start(), m.end()) for m in RATING.finditer(text)]
    matches = [
        m
        for m in re.finditer(r"(?<![0-9])[0-9]+(?![0-9])", text)
        if not _in_any(m.start(), skip) and not _in_any(m.end() - 1, skip)
    ]
    if not matches:
        return None
    replacement: dict[str, str] = {}
    for digits in dict.fromkeys(m.group() for m in matches):
        while True:
            first = int(rng.integers(0 if digits[0] == "0" else 1, 10))
            new = str(first) + "".join(str(int(d)) for d in rng.integers(0, 10, size=len(digits) - 1))
            if new != digits:
                break
        replacement[digits] = new
    return _splice(text, [(m.start(), m.end(), replacement[m.group()]) for m in matches])


def add_sentence(text: str, sentence: str) -> str:
    """The sentence appended after one space (none when the text already ends in white space)."""
    separator = " " if text and not text[-1].isspace() else ""
    return text + separator + sentence


def replace_pairs(text: str, pairs: Sequence[tuple[str, str]]) -> str | None:
    """Each `from` word replaced by its `to`: whole words, ignoring case, keeping a leading capital. All pairs are
    applied at once, so [a, b] and [b, a] swap the two words instead of undoing each other."""
    pairs = [(source, target) for source, target in pairs if source]
    if not pairs:
        return None
    order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]))  # longest first: "log in" before "log"
    pattern = re.compile("|".join(f"(?P<p{i}>{_word_pattern(pairs[i][0])})" for i in order), re.IGNORECASE)
    tags = _tag_spans(text)
    edits = []
    for match in pattern.finditer(text):
        if _in_any(match.start(), tags):
            continue
        target = pairs[int(match.lastgroup[1:])][1]
        if match.group()[:1].isupper() and target:
            target = target[0].upper() + target[1:]
        edits.append((match.start(), match.end(), target))
    return _splice(text, edits)


def negate(text: str, word: str, occurrence: int) -> str | None:
    """ "not " put before the `occurrence`-th (0-based) occurrence of the pipeline token `word` (so "dont" finds
    "don't" and "great" finds "Great"); None when the text has no such occurrence."""
    word = "".join(c for c in word if c.isalnum()).lower()
    starts = [start for token, start, _ in token_spans(text) if token == word]
    if not word or occurrence < 0 or occurrence >= len(starts):
        return None
    return _splice(text, [(starts[occurrence], starts[occurrence], "not ")])


def fill(template: str, words: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Every combination of the word lists put into the template's {placeholders} (a cartesian product, the
    first list varying slowest, each list in the order given)."""
    lists = list(words.items()) if isinstance(words, Mapping) else list(words)
    names = [name for name, _ in lists]
    return [
        template.format(**dict(zip(names, combo, strict=True))) for combo in itertools.product(*(w for _, w in lists))
    ]


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str | None:
    """The text with each (start, end, new) edit made, or None when nothing changed."""
    pieces, last = [], 0
    for start, end, new in sorted(edits):
        pieces += [text[last:start], new]
        last = end
    changed = "".join(pieces) + text[last:]
    return None if changed == text else changed


# ---------------------------------------------------------------------------------------------------------------
# The built-in suite


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
    negative, positive = sentiment_classes(labels) or (None, None)
    source = "built-in"
    sentiment = {"source": source, "needs_sentiment": True}
    tests = [
        Test("typos", "invariance", "two adjacent letters swapped in one or two words", source, "typos"),
        Test("person names", "invariance", "first names replaced by other first names", source, "names"),
        Test("numbers", "invariance", "numbers replaced by others of as many digits (not ratings)", source, "numbers"),
        Test(
            "neutral sentence",
            "invariance",
            "a bland sentence appended",
            source,
            "sentence",
            sentences=NEUTRAL_SENTENCES,
        ),
        Test(
            name="negation",
            kind="direction",
            description='"not" put before the word that pushes the baseline hardest toward the class it predicts; '
            "that class's probability must not go up",
            perturbation="negation",
            expect="down",
            **sentiment,
        ),
        Test(
            name="intensifier",
            kind="direction",
            description='a sentence of the class the baseline predicts appended ("It was truly wonderful."); '
            "that class's probability must not go down",
            perturbation="intensifier",
            class_sentences=((positive, POSITIVE_SENTENCES), (negative, NEGATIVE_SENTENCES)) if positive else (),
            expect="up",
            **sentiment,
        ),
        Test(
            name="positive adjectives",
            kind="template",
            description='"The plot was great." and the like should be positive',
            perturbation="template",
            template="The {thing} was {adjective}.",
            words=(("thing", THINGS), ("adjective", POSITIVE_ADJECTIVES)),
            label=positive,
            **sentiment,
        ),
        Test(
            name="negative adjectives",
            kind="template",
            description='"The plot was awful." and the like should be negative',
            perturbation="template",
            template="The {thing} was {adjective}.",
            words=(("thing", THINGS), ("adjective", NEGATIVE_ADJECTIVES)),
            label=negative,
            **sentiment,
        ),
        Test(
            name="negated positive",
            kind="template",
            description='"The plot was not great." and the like should be negative',
            perturbation="template",
            template="The {thing} was not {adjective}.",
            words=(("thing", THINGS), ("adjective", POSITIVE_ADJECTIVES)),
            label=negative,
            **sentiment,
        ),
    ]
    return [(test, not_applicable(test, labels)) for test in tests]


# ---------------------------------------------------------------------------------------------------------------
# User tests


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
FORMAT_HINT = "see pipeline/per_text/behaviour/checklist.py for the format"


def _fail(where: str, message: str) -> PipelineError:
    return PipelineError(" ".join(f"{where}: {message}".split("\n")))


def read_user_tests(path: Path, labels: list[str]) -> list[Test]:
    """The tests of a user's TOML file, checked so that every mistake is a one-line error naming the file, the
    test and the fix, before any model is run."""
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
        raise _fail(str(path), f"not valid TOML ({str(e).splitlines()[0]}); fix the file") from None
    entries = data.get("test")
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, dict) for entry in entries):
        raise _fail(str(path), f"no [[test]] entries; add at least one [[test]] table, {FORMAT_HINT}")
    taken = {test.name.lower() for test, _ in builtin_tests(labels)}
    tests = []
    for number, entry in enumerate(entries, start=1):
        test = _user_test(entry, number, path, labels)
        if test.name.lower() in taken:
            raise _fail(f"{path}: test {test.name!r}", "the name is already taken; give each test its own name")
        taken.add(test.name.lower())
        tests.append(test)
    return tests


def _user_test(entry: dict, number: int, path: Path, labels: list[str]) -> Test:
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
    unknown = sorted(set(entry) - ALLOWED_KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(ALLOWED_KEYS[kind]))
        raise _fail(where, f"{kind} tests have no setting {unknown[0]!r}; the settings are {allowed}")
    for key in REQUIRED_KEYS[kind]:
        if key not in entry:
            raise _fail(where, f"{kind} tests need {key!r}; add it, {FORMAT_HINT}")
    description = entry.get("description")
    if description is not None and (not isinstance(description, str) or "\n" in description):
        raise _fail(where, "description must be a one-line string; fix it")
    label = entry.get("label")
    if label is not None and label not in labels:
        raise _fail(where, f"label {label!r} is not one of the labels: {', '.join(labels)}; use one of them")
    source = path.name
    if kind == "template":
        template, words = _template(entry, where)
        sentences = fill(template, words)
        example = sentences[0] if sentences else template
        description = description or f'sentences like "{example}" should be labelled {label}'
        return Test(name, kind, description, source, "template", template=template, words=words, label=label)
    replace = _replace(entry["replace"], where)
    shown = ", ".join(f"{a} -> {b}" for a, b in replace[:3]) + (", ..." if len(replace) > 3 else "")
    if kind == "invariance":
        description = description or f"{shown} should not change the predicted class"
        return Test(name, kind, description, source, "replace", replace=replace)
    expect = entry["expect"]
    if expect not in EXPECTS:
        raise _fail(where, f'expect is {expect!r}; set it to "up" (must not go down) or "down" (must not go up)')
    change = "go down" if expect == "up" else "go up"
    description = description or f"{shown}: the probability of {label} must not {change}"
    return Test(name, kind, description, source, "replace", replace=replace, label=label, expect=expect)


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


# ---------------------------------------------------------------------------------------------------------------
# Cases


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
