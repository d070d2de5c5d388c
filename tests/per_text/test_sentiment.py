"""The fast sentiment against TextBlob's own, bit for bit, on generated texts full of the cases its rules single out."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from textblob import TextBlob
from textblob import _text as textblob_text
from textblob.en import parser
from textblob.en import sentiment as textblob_sentiment

from pipeline.per_text import metadata
from pipeline.per_text import sentiment as fast
from pipeline.per_text.sentiment import sentiment, tokens

N_TEXTS = 10_000

SENTENCES = [
    "This movie was good.",
    "This movie was not good.",
    "This movie was not bad at all!",
    "It was very very good!!!",
    "Really not good, honestly.",
    "I didn't like it, but it wasn't bad. However, never again.",
    "I don't think it's terrible; it's just dull.",
    "The acting is n't great.",
    "Not a good film, not a bad film either.",
    "A truly, deeply, unbelievably awful mess :-(",
    "What a wonderful surprise :)",
    "Loved it <3 <3",
    "Best. Movie. Ever.",
    "Worst movie ever... seriously...",
    "It's a 10/10 for me, 7.5 out of 10 for the plot (1998).",
    "Mr. Smith and Dr. Jones went to Washington, D.C. in the U.S. e.g. last year, etc.",
    "The plot (if you can call it that!) was thin (!) and silly ( ! )",
    "\"Great\" acting, 'great' music, great-looking sets.",
    "“Quoted” ‘nicely’ isn’t it’s own thing.",
    "WOW!!! AMAZING!!! NOT BAD!!!",
    "The film is extremely boring and terribly slow.",
    "Sadly, the happy ending felt forced.",
    "No, no, no. Never. Not once.",
    "It was okay-ish, so-so, meh.",
    "Amélie is charmante, naïve and très belle; Ørsted — Кино хороший!",
    "ΟΔΟΣ ΣΑΣ ΚΑΛΗ; ΣΙΓΜΑΣ.",
    "The director's cut wasn't any better, was it?",
    "I'd say it's the best thing I've seen; you'll love it, they're great, we've enjoyed it.",
    "Incredibly dumb :-/ but kinda fun xD",
    "An overlong, over-the-top, mind-boggling, thought-provoking epic.",
    "Absolutely not the worst :P",
    "gasp :o) what a twist :c) hmm :o :c",
    "So... it was: fine? Good? Bad?!",
    "(Really good.) [Very bad.] {Quite nice.}",
    "The end.)",
    "Hmm.,.!?",
    "#1 film @ the box-office & a $100 budget ^^ ~~ __ ++ == ||",
    "i.e. a b c. d.e.f. Mrs. Mt. TV. X. y.",
    "The movie was GREAT!!!!!!!",
    "It's not that it's bad, it's that it's not good.",
    "Never have I seen such a beautiful, moving, heartbreaking story.",
    "Very not good. Really not bad. Quite not funny. Very very not.",
    "the really very good good movie !",
    "8) 8-) B-) x-D X-D XD =D =-D :-D :D >:D",
    "o_O o.O °o° °O° >.> :'( :'''( ;'(",
    ": ) : - ) x D X D o . O 8 - ) > : D ( ! ) (! ) ( !)",
    "yay:)yay :)) ((:",
    "Ha :- ) ha :-)) ha :)!",
    "The best\n\nThe worst\r\n\r\nThe middle\n",
    "Line one<br />line two<br /><br />line three<br /><br /><br />end",
    "A fine film.<br /><br />Not a great one though.",
]

SMALL = "a an the is it was this that i of to and in on so".split()
MODIFIERS = "very really quite extremely too so truly pretty rather absolutely terribly incredibly".split()
NEGATION_WORDS = ["not", "no", "never", "n't", "don't", "isn't", "wasn't", "didn't", "can't", "won't", "Not", "NEVER"]
PUNCTUATION = list(".,;:!?()[]{}\"'-") + ["!!", "!!!", "?!", "...", "....", "..", "(!)", "( ! )", "--", "*", "&"]
EXTRAS = [
    "<br />",
    "<br /><br />",
    "\n",
    "\n\n",
    "10/10",
    "7.5",
    "(1998)",
    "1998)",
    "3",
    "#1",
    "etc.",
    "Mr.",
    "U.S.",
    "e.g.",
    "Dr.",
    "vs.",
    "café",
    "naïve",
    "ΣΑΣ",
    "Кино",
    "“",
    "”",
    "’",
    "‘",
    "—",
    "END-OF-SENTENCE",
    "well-made",
    "so-called",
    "f*cking",
    "isn't",
    "it's",
    "I'm",
    "we'll",
    "they're",
    "you've",
    "he'd",
]
SEPARATORS = [" "] * 12 + ["", "  ", "\n", "\n\n", "\t", "<br />", "<br /><br />"]
COVERED = ["not good", "very ", "!", ":)", ": )", ":-(", "(!)", "( ! )", "n't", "-", "<br /><br />", "é", "Σ", "’"]
SPECIAL = ["", " ", "\n\n", "!", "!!!", "...", "?!?!", "(!)", ":)", ":-(", "<br /><br />", "'", '"', "''", "(((", ")))"]


def textblob(text: str) -> tuple[float, float]:
    return tuple(TextBlob(text.replace("<br />", "\n")).sentiment)


def vocabulary() -> list[str]:
    """Every word of TextBlob's sentiment lexicon, the adverbs it derives included, in a fixed order."""
    len(textblob_sentiment)  # loads it
    return sorted(dict.keys(textblob_sentiment))


def emoticons() -> list[str]:
    return [emoticon for group in textblob_text.EMOTICONS.values() for emoticon in sorted(group)]


def piece(rng: random.Random, words: list[str], faces: list[str]) -> str:
    kind = rng.random()
    if kind < 0.35:
        word = rng.choice(words)
    elif kind < 0.45:
        word = rng.choice(MODIFIERS)
    elif kind < 0.52:
        word = rng.choice(NEGATION_WORDS)
    elif kind < 0.65:
        word = rng.choice(SMALL)
    elif kind < 0.77:
        word = rng.choice(PUNCTUATION)
    elif kind < 0.85:
        word = rng.choice(faces)
    elif kind < 0.93:
        word = rng.choice(EXTRAS)
    else:
        word = rng.choice(SENTENCES)
    case = rng.random()
    if case < 0.08:
        word = word.upper()
    elif case < 0.14:
        word = word.title()
    return word


def generated_texts(n: int, seed: int = 0) -> list[str]:
    """Short texts (8 to 30 pieces) recombined from the lexicon, modifiers, negations, punctuation, emoticons
    (some torn apart by spaces), markup, numbers, abbreviations, non-ASCII words and the sentences above; a few
    special texts and a few long ones."""
    rng = random.Random(seed)
    words = vocabulary()
    faces = emoticons() + [" ".join(face) for face in emoticons()]
    texts = list(SPECIAL) + list(SENTENCES)
    while len(texts) < n - 4:
        parts = [piece(rng, words, faces) for _ in range(rng.randint(8, 30))]
        texts.append("".join(part + rng.choice(SEPARATORS) for part in parts).strip(rng.choice(["", " ", "\n"])))
    for _ in range(4):
        texts.append(" ".join(piece(rng, words, faces) for _ in range(1000)))
    return texts


def find_words(text: str) -> list[str]:
    """The words TextBlob's Sentiment assesses: find_tokens' tokens, lowercased."""
    return [word.lower() for word in " ".join(parser.find_tokens(text)).split()]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return generated_texts(N_TEXTS)


def test_generated_texts_cover_the_tricky_cases(texts):
    joined = "\n".join(texts)
    assert len(texts) == N_TEXTS and len(set(texts)) > 0.99 * N_TEXTS
    for case in COVERED:
        assert case in joined, case
    assert "" in texts and "..." in texts and max(map(len, texts)) > 5000


def test_equals_textblob_bit_for_bit(texts):
    expected = np.array([textblob(text) for text in texts])
    got = sentiment(texts)
    assert got.dtype == np.float64 and got.shape == (len(texts), 2)
    differ = np.nonzero((got != expected).any(axis=1))[0]
    assert len(differ) == 0, [(texts[i], got[i].tolist(), expected[i].tolist()) for i in differ[:5]]
    # Not all neutral: the texts exercise the scores.
    assert (expected[:, 0] != 0).mean() > 0.5 and (expected[:, 0] < 0).any() and (expected[:, 1] == 1).any()


def test_words_equal_textblob_tokenizer(texts):
    for text in texts[:2000]:
        text = text.replace("<br />", "\n")
        assert tokens(text) == find_words(text), text


def test_hand_picked_cases():
    for text in ["good", "not good", "very good", "very very good", "not very good", "really not good", "good!"]:
        assert tuple(sentiment([text])[0]) == textblob(text)
    assert sentiment([]).shape == (0, 2)
    assert sentiment(["", "...", "<br /><br />"]).tolist() == [[0.0, 0.0]] * 3
    # ":o)" is the taunt (+0.75), not the gasp ":o" (+0.05) then ")", in TextBlob whatever its hash seed.
    assert tuple(sentiment(["the film :o)"])[0]) == textblob("the film :o)") == (0.75, 1.0)


def test_constants_equal_textblob():
    assert fast.PUNCTUATION == textblob_text.PUNCTUATION
    assert fast.ABBREVIATIONS == textblob_text.ABBREVIATIONS
    assert [fast.RE_ABBR1.pattern, fast.RE_ABBR2.pattern, fast.RE_ABBR3.pattern] == [
        textblob_text.RE_ABBR1.pattern,
        textblob_text.RE_ABBR2.pattern,
        textblob_text.RE_ABBR3.pattern,
    ]
    assert fast.CONTRACTIONS == tuple(textblob_text.replacements)
    assert {key: set(group) for key, group in fast.EMOTICONS.items()} == textblob_text.EMOTICONS
    assert list(fast.EMOTICONS) == list(textblob_text.EMOTICONS)
    assert fast.NEGATIONS == set(textblob_sentiment.negations)
    assert fast.lexicon_path().samefile(textblob_sentiment.path)
    len(textblob_sentiment)  # loads it
    assert fast.lexicon() == {word: (*by_pos[None], "RB" in by_pos) for word, by_pos in dict.items(textblob_sentiment)}


def test_metadata_scores_equal_textblob(monkeypatch):
    texts = SENTENCES[:6] + ["A fine film.<br /><br />Not a great one though :-("]
    frame = pd.DataFrame({"text_id": range(len(texts)), "text": texts})
    expected = np.array([textblob(text) for text in texts], dtype=np.float32)
    for jobs in (1, 2):
        monkeypatch.setattr(metadata, "CHUNK", 2)  # several chunks, so that jobs=2 takes the pool
        table = metadata.metadata_table(frame, jobs=jobs)
        assert table["polarity"].dtype == np.float32 and table["subjectivity"].dtype == np.float32
        assert np.array_equal(table[["polarity", "subjectivity"]].to_numpy(), expected)
