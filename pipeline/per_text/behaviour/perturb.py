"""The changes the behavioural tests make to a text (pipeline/per_text/behaviour/suite.py says which test makes
which). Each returns the changed text, or None when there is nothing to change, and leaves the rest of the text byte
for byte as it was. Words are counted as the pipeline counts them (sql/macros.sql): lowercase, HTML tags removed,
apostrophes dropped, every other run of characters other than letters and digits a separator."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence

import numpy as np

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

TAG = re.compile(r"<[^>]*>")  # as in sql/macros.sql: HTML residue such as <br /> is a separator
APOSTROPHES = "'’`"  # dropped by the pipeline, so they join the letters around them
ALNUM = r"[^\W_]"  # a letter or digit (Python's \w less the underscore), the pipeline's \pL\pN
# Ratings ("7/10", "8.5 / 10", "3 out of 10", "4 stars") carry sentiment: changing them is not an invariance.
RATING = re.compile(r"[0-9]+(?:\.[0-9]+)?\s*(?:/|out of)\s*[0-9]+|[0-9]+(?:\.[0-9]+)?\s*stars?\b", re.IGNORECASE)
NAME_PATTERN = re.compile(rf"(?<!{ALNUM})(?:{'|'.join(sorted(NAMES, key=len, reverse=True))})(?!{ALNUM})")


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
