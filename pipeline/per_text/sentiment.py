"""TextBlob's `.sentiment` (polarity, subjectivity), the same numbers, computed many times faster.

This mirrors the PatternAnalyzer of TextBlob 0.20.1 (`TextBlob(text).sentiment`, that is `textblob.en.sentiment`,
the `Sentiment` class of `textblob/_text.py`): the same tokenizer (`find_tokens`), the same lexicon
(`en/en-sentiment.xml` of the installed textblob, averaged the same way, with the same "-ly" adverbs added), the same
handling of negations, modifiers ("very"), "!", "(!)" and emoticons, and the same means, every float computed by the
same operations in the same order: the results are bit-identical (tests/per_text/test_sentiment.py checks this). Only
`.sentiment`: no part-of-speech tags, no NLTK corpora, and textblob is not imported (only its lexicon file is read).

Where the time goes instead: the lexicon is read once into a dict of (polarity, subjectivity, intensity,
is-modifier) tuples; each run of non-whitespace is tokenized once and cached ("film." -> ("film", ".")), so a text
costs a str.split and one C-level dict lookup per run; the sentence splitting and the emoticon and "(!)" regular
expressions only run for texts where they could change something (a quick check says); and the assessment visits
only the words that can matter (known words, negations, "!", emoticons), with plain lists for its chunks.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Sequence
from itertools import chain, compress, islice
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

TEXTBLOB_VERSION = "0.20.1"

# --- Tokenizer constants, as in textblob/_text.py -------------------------------------------------------------------

PUNCTUATION = ".,;:!?()[]{}`''\"@#$^&*+-|=~_"
LEADING = frozenset(PUNCTUATION.replace(".", ""))  # split off the start of a token (find_tokens drops the period)
TRAILING = frozenset(PUNCTUATION)  # split off the end of a token
ABBREVIATIONS = frozenset(
    "a. adj. adv. al. a.m. c. cf. comp. conf. def. ed. e.g. esp. etc. ex. f. fig. gen. id. i.e. int. l. m. Med. "
    "Mil. Mr. n. n.q. orig. pl. pred. pres. p.m. ref. v. vs. w/".split()
)
RE_ABBR1 = re.compile(r"^[A-Za-z]\.$")  # single letter, "T. De Smedt"
RE_ABBR2 = re.compile(r"^([A-Za-z]\.)+$")  # alternating letters, "U.S."
# Capital followed by consonants, "Mr.": TextBlob builds the class with "|".join, so "|" is in it too, and the
# final "." is unescaped (any character). Kept as is.
RE_ABBR3 = re.compile("^[A-Z][" + "|".join("bcdfghjklmnpqrstvwxz") + "]+.$")
CONTRACTIONS = ("'d", "'m", "'s", "'ll", "'re", "'ve", "n't")  # each gets a space before it, in this order
QUOTES = frozenset("“”‘’'\"")  # each becomes a token of its own
EOS = "END-OF-SENTENCE"  # what two or more line breaks become
RE_LINEBREAKS = re.compile(r"\n{2,}")
ENDS_SENTENCE = frozenset(("...", ".", "!", "?", EOS))
# Tokens that stay with the sentence after its end. TextBlob also lists the quotes ' and " here, but only when they
# are unbalanced in a sentence list that, at that point, is always still empty: so a quote always starts the next
# sentence, and they are left out.
CLOSES_SENTENCE = frozenset(("”", "’", "...", ".", "!", "?", ")", EOS))

EMOTICONS = {  # (facial expression, sentiment): emoticons, in TextBlob's order
    ("love", +1.00): ("<3", "♥"),
    ("grin", +1.00): (">:D", ":-D", ":D", "=-D", "=D", "X-D", "x-D", "XD", "xD", "8-D"),
    ("taunt", +0.75): (">:P", ":-P", ":P", ":-p", ":p", ":-b", ":b", ":c)", ":o)", ":^)"),
    ("smile", +0.50): (">:)", ":-)", ":)", "=)", "=]", ":]", ":}", ":>", ":3", "8)", "8-)"),
    ("wink", +0.25): (">;]", ";-)", ";)", ";-]", ";]", ";D", ";^)", "*-)", "*)"),
    ("gasp", +0.05): (">:o", ":-O", ":O", ":o", ":-o", "o_O", "o.O", "°O°", "°o°"),
    ("worry", -0.25): (">:/", ":-/", ":/", ":\\", ">:\\", ":-.", ":-s", ":s", ":S", ":-S", ">.>"),
    ("frown", -0.75): (">:[", ":-(", ":(", "=(", ":-[", ":[", ":{", ":-<", ":c", ":-c", "=/"),
    ("cry", -1.00): (":'(", ":'''(", ";'("),
}
# find_tokens joins emoticons that the punctuation splitting tore apart (": )" -> ":)"). TextBlob keeps each
# expression's emoticons in a set, so the order of the alternatives within one expression follows the hash seed;
# it cannot change a match, since no emoticon is the start of another of the same expression (the two that are the
# start of another, ":o" and ":c", come after ":o)" and ":c)" in every order).
RE_EMOTICONS = re.compile(
    "(" + "|".join(r" ?".join(re.escape(c) for c in e) for group in EMOTICONS.values() for e in group) + r")($|\s)"
)
RE_SARCASM = re.compile(r"\( ?\! ?\)")
# Those two regular expressions only change the tokens where a match spans a space. RE_SPLIT finds any place where
# that can happen, in the lowercased pieces that tokens() joins: an emoticon (lowercased) or "(!)" written with one
# or more spaces inside, the emoticon followed by whitespace or the end. It is a trie of alternatives, each starting
# with a plain character, which re searches quickly.


def _spaced(chars: str) -> list[str]:
    """`chars` with a space or nothing between each two of them, at least one space."""
    variants = [chars[0]]
    for char in chars[1:]:
        variants = [v + gap + char for v in variants for gap in ("", " ")]
    return [v for v in variants if " " in v]


def _trie_pattern(strings: dict[str, str]) -> str:
    """A regular expression that matches each given string followed by its given pattern, a space by any whitespace."""
    trie: dict = {}
    for string, after in strings.items():
        node = trie
        for char in string:
            node = node.setdefault(char, {})
        node[""] = after  # the end of a string

    def pattern(node: dict) -> str:
        branches = [node[""]] if "" in node else []
        for char, child in sorted(node.items()):
            if char:
                branches.append((r"\s+" if char == " " else re.escape(char)) + pattern(child))
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return pattern(trie)


RE_SPLIT = re.compile(
    _trie_pattern(
        {v: r"(?!\S)" for group in EMOTICONS.values() for e in group for v in _spaced(e.lower())}
        | dict.fromkeys(_spaced("(!)"), "")
    )
)

# --- Assessment constants, as in textblob/en/__init__.py and _text.py ---------------------------------------------

NEGATIONS = frozenset(("no", "not", "n't", "never"))
# Unknown tokens that count as emoticons: the first expression (in order) that has the lowercased token; TextBlob
# only looks for tokens that are not all letters, at most 5 long and not a substring of PUNCTUATION.
EMOTICON_POLARITY: dict[str, float] = {}
for (_, _polarity), _group in EMOTICONS.items():
    for _e in _group:
        _e = _e.lower()
        if _e.isalpha() is False and len(_e) <= 5 and _e not in PUNCTUATION:
            EMOTICON_POLARITY.setdefault(_e, _polarity)
# Unknown tokens that do something even when no negation or modifier is pending.
ACTIVE_UNKNOWN = NEGATIONS | {"!", "(!)"} | EMOTICON_POLARITY.keys()


def _avg(values) -> float:
    # textblob._text.avg, used to average the lexicon's senses.
    return sum(values) / float(len(values) or 1)


def lexicon_path() -> Path:
    """en-sentiment.xml of the installed textblob, found without importing textblob (which imports NLTK)."""
    spec = importlib.util.find_spec("textblob")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("textblob is not installed: its sentiment lexicon is needed")
    return Path(next(iter(spec.submodule_search_locations))) / "en" / "en-sentiment.xml"


@functools.cache
def lexicon() -> dict[str, tuple[float, float, float, bool]]:
    """word -> (polarity, subjectivity, intensity, is a modifier), as TextBlob's Sentiment.load builds it."""
    # textblob._text.Sentiment.load: every sense of a word, averaged per part of speech, then over them.
    words: dict[str, dict] = {}
    for element in ElementTree.parse(lexicon_path()).getroot().findall("word"):
        attrib = element.attrib
        form, pos = attrib.get("form"), attrib.get("pos")
        psi = (
            float(attrib.get("polarity", 0.0)),
            float(attrib.get("subjectivity", 0.0)),
            float(attrib.get("intensity", 1.0)),
        )
        if form:
            words.setdefault(form, {}).setdefault(pos, []).append(psi)
    for form in words:
        words[form] = {pos: [_avg(each) for each in zip(*psi, strict=True)] for pos, psi in words[form].items()}
    for form, by_pos in list(words.items()):
        words[form][None] = [_avg(each) for each in zip(*by_pos.values(), strict=True)]
    # textblob.en.Sentiment.load: every adjective also gives an adverb ("terrible" -> "terribly").
    for form, by_pos in list(words.items()):
        if "JJ" in by_pos:
            if form.endswith("y"):
                form = form[:-1] + "i"
            if form.endswith("le"):
                form = form[:-2]
            p, s, i = by_pos["JJ"]
            entry = words.setdefault(form + "ly", {})
            entry["RB"] = entry[None] = (p, s, i)
    # With no part-of-speech tags, TextBlob reads the averaged entry (None) and calls a word a modifier when it has
    # an adverb (RB) sense.
    return {form: (*by_pos[None], "RB" in by_pos) for form, by_pos in words.items()}


# --- Tokenizer ------------------------------------------------------------------------------------------------------


def _split_punctuation(token: str) -> list[str]:
    """The inner loop of find_tokens on one token: split punctuation off its ends, but not an abbreviation's period.

    find_tokens also leaves alone tokens in its table of contractions, but these all hold a "'", and by then every
    "'" stands alone, so no token is one of them."""
    out = []
    while token and token[0] in LEADING:
        out.append(token[0])
        token = token[1:]
    tail = []
    while token and token[-1] in TRAILING:
        if token[-1] in LEADING:
            tail.append(token[-1])
            token = token[:-1]
        if token.endswith("..."):
            tail.append("...")
            token = token[:-3].rstrip(".")
        if token.endswith("."):
            if (
                token in ABBREVIATIONS
                or RE_ABBR1.match(token) is not None
                or RE_ABBR2.match(token) is not None
                or RE_ABBR3.match(token) is not None
            ):
                break
            tail.append(token[-1])
            token = token[:-1]
    if token != "":
        out.append(token)
    out.extend(reversed(tail))
    return out


def _pieces(token: str) -> list[str]:
    """find_tokens on one run of non-whitespace: contractions and quotes spaced out, then punctuation split off.

    find_tokens does the replacements on the whole string, but none of them matches across whitespace, nor across
    its line-break handling, so they can as well be done on each run of non-whitespace, after it."""
    if "'" in token:
        for contraction in CONTRACTIONS:
            token = token.replace(contraction, " " + contraction)
    token = (
        token.replace("“", " “ ")
        .replace("”", " ” ")
        .replace("‘", " ‘ ")
        .replace("’", " ’ ")
        .replace("'", " ' ")
        .replace('"', ' " ')
    )
    return [
        piece
        for part in token.split()
        for piece in (_split_punctuation(part) if part[0] in LEADING or part[-1] in TRAILING else (part,))
    ]


class _LoweredPieces(dict):
    """Run of non-whitespace -> its pieces lowercased, EOS left out ("Film." -> ("film", ".")), filled as runs come.

    Most runs recur ("the", "it,", "film.", "don't"), so nearly every one costs a C-level dict lookup. Bounded: it
    starts again when full."""

    limit = 1 << 17  # about 30 MB

    def __missing__(self, token: str) -> tuple[str, ...]:
        if len(self) >= self.limit:
            self.clear()
        if token[0] in LEADING or token[-1] in TRAILING or not QUOTES.isdisjoint(token):
            lowered = tuple(piece.lower() for piece in _pieces(token) if piece != EOS)
        else:  # most runs are a plain word
            lowered = (token.lower(),) if token != EOS else ()
        self[token] = lowered
        return lowered


_LOWERED_PIECES = _LoweredPieces()


def _join_split_emoticons(tokens: list[str]) -> list[str]:
    """The end of find_tokens: sentences, then "( ! )" -> "(!)" and ": )" -> ":)" within each sentence."""
    parts = []
    closing = False  # after the end of a sentence, while tokens still belong to it
    for token in tokens:
        if closing and token not in CLOSES_SENTENCE:
            parts.append("\n")  # the regular expressions cannot match across this
            closing = False
        if token in ENDS_SENTENCE:
            closing = True
        if token != EOS:
            parts.append(token)
    string = RE_SARCASM.sub("(!)", " ".join(parts))
    string = RE_EMOTICONS.sub(lambda m: m.group(1).replace(" ", "") + m.group(2), string)
    return string.split()


def tokens(text: str) -> list[str]:
    """The lowercased words that TextBlob's Sentiment assesses for `text`: the tokens of find_tokens."""
    # find_tokens collapses whitespace, then takes each run of non-whitespace: str.split splits on the same
    # characters as re's \s. Its line breaks (two or more) become EOS tokens, which only matter to the sentences
    # and are dropped from them: here they are left out from the start (they are whitespace).
    runs = text.split()
    words = list(chain.from_iterable(map(_LOWERED_PIECES.__getitem__, runs)))
    # Sentences only matter to the joining of "(!)" and emoticons, which can only change anything where a match
    # spans a space. Where one might, find_tokens' sentences are followed to the letter.
    if RE_SPLIT.search(" ".join(words)) is not None:
        if "\n" in text:
            runs = RE_LINEBREAKS.sub(f" {EOS} ", text.replace("\r\n", "\n")).split()
        pieces = [piece for run in runs for piece in _pieces(run)]
        return [word.lower() for word in _join_split_emoticons(pieces)]
    return words


# --- Assessment -----------------------------------------------------------------------------------------------------


@functools.cache
def _relevant() -> frozenset[str]:
    """Words that do something even when no modifier or negation is pending: known words and ACTIVE_UNKNOWN."""
    return frozenset(lexicon()) | ACTIVE_UNKNOWN


def _unknown_word(word: str, modifier: str | None, negation: str | None, chunks: list[list]):
    """TextBlob's handling of a word not in the lexicon; returns the new (modifier, negation)."""
    if word in NEGATIONS:
        negation = word
    elif negation is not None and len(word.strip("'")) > 1:
        negation = None  # a negation carries over small words only ("not a good")
    if negation is not None and modifier is not None and modifier.endswith("ly"):
        chunks[-1][3] = True  # "really not good": the adverb's chunk is negated
        negation = None
    elif modifier is not None and len(word) > 2:
        modifier = None  # a modifier carries over small words only ("really is a good")
    if word == "!" and chunks:
        chunks[-1][0] = max(-1.0, min(chunks[-1][0] * 1.25, +1.0))
    if word == "(!)":
        chunks.append([0.0, 1.0, 1.0, False])
    if word in EMOTICON_POLARITY:
        chunks.append([EMOTICON_POLARITY[word], 1.0, 1.0, False])
    return modifier, negation


def assess(words: list[str]) -> tuple[float, float]:
    """TextBlob's Sentiment.assessments and their means, for lowercased words."""
    lex = lexicon()
    # One [polarity, subjectivity, intensity, negated] per assessed chunk ("good", "very good", "not good", ":)").
    chunks: list[list] = []
    modifier = None  # preceding known word with an adverb sense ("very")
    negation = None  # preceding negation ("not")
    # Other words do nothing unless a modifier or negation is pending, so only the relevant words are visited, and
    # the words after each only until nothing is pending.
    hits = compress(range(len(words)), map(_relevant().__contains__, words))
    previous = -1
    for index in chain(hits, (len(words),)):
        if modifier is not None or negation is not None:
            for word in islice(words, previous + 1, index):
                modifier, negation = _unknown_word(word, modifier, negation, chunks)
                if modifier is None and negation is None:
                    break
        if index == len(words):
            break
        previous = index
        word = words[index]
        entry = lex.get(word)
        if entry is None:
            modifier, negation = _unknown_word(word, modifier, negation, chunks)
            continue
        p, s, i, is_modifier = entry
        if modifier is None:
            chunk = [p, s, i, False]
            chunks.append(chunk)
        else:  # "very good": the modifier's chunk takes the word, scaled by the modifier's intensity
            chunk = chunks[-1]
            chunk[0] = max(-1.0, min(p * chunk[2], +1.0))
            chunk[1] = max(-1.0, min(s * chunk[2], +1.0))
            chunk[2] = i
        if negation is not None:  # "not good", "not very good"
            chunk[2] = 1.0 / chunk[2]
            chunk[3] = True
        modifier = word if is_modifier else None
        negation = word if word in NEGATIONS else None
    # The plain means, summed left to right like TextBlob's loop (not numpy's pairwise sum, nor 3.12's sum()).
    polarity = subjectivity = 0
    for p, s, _, negated in chunks:
        polarity += p * -0.5 if negated else p  # "not good" is slightly bad, "not bad" slightly good
        subjectivity += s
    return polarity / float(len(chunks) or 1), subjectivity / float(len(chunks) or 1)


def sentiment(texts: Sequence[str]) -> np.ndarray:
    """(polarity, subjectivity) of each text, as TextBlob(text.replace("<br />", "\\n")).sentiment, shape (n, 2)."""
    scores = [assess(tokens(text.replace("<br />", "\n"))) for text in texts]
    return np.array(scores, dtype=np.float64).reshape(len(texts), 2)
