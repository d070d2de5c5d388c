"""A small tarball in the official aclImdb layout, written from a grammar of positive and negative phrases."""

from __future__ import annotations

import io
import random
import tarfile
from pathlib import Path

POSITIVE = [
    "a wonderful film",
    "brilliant acting from the whole cast",
    "i loved every minute of it",
    "a true masterpiece",
    "highly recommended",
    "the story is moving and beautiful",
    "great direction and a superb score",
    "funny, warm and touching",
    "one of the best movies this year",
]
NEGATIVE = [
    "a terrible film",
    "boring and predictable",
    "a complete waste of time",
    "awful acting from the whole cast",
    "i hated every minute of it",
    "the worst movie this year",
    "the plot makes no sense",
    "dull, clumsy and far too long",
    "avoid it at all costs",
]
NEUTRAL = [
    "the plot follows a detective in a small town",
    "we watched it on a rainy sunday",
    "the director made two films before this one",
    "it runs for about two hours",
    "the cast includes several newcomers",
    "it was shot in the summer",
]


def review_text(rng: random.Random, positive: bool) -> str:
    own, other = (POSITIVE, NEGATIVE) if positive else (NEGATIVE, POSITIVE)
    sentences = [rng.choice(own) for _ in range(rng.randint(2, 5))]
    sentences += [rng.choice(NEUTRAL) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.15:
        sentences.append(rng.choice(other))  # a mixed review, so that some are hard
    rng.shuffle(sentences)
    text = ". ".join(s.capitalize() for s in sentences) + "."
    return text.replace(". ", ".<br /><br />", 1)


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


# Planted in every generated tarball: a review that tries to run code wherever its text is shown.
HOSTILE_NAME = "aclImdb/test/neg/0_1.txt"
HOSTILE_TEXT = (
    'Awful acting. <script>window.__pwned = "script"</script> A waste of time. '
    "<img src=x onerror=\"window.__pwned = 'img'\"> <b>Avoid</b> it."
)


# Planted too: a review longer than the test settings' sequence length, so part of it goes unseen.
LONG_NAME = "aclImdb/test/pos/1_8.txt"
LONG_TEXT = " ".join(["A wonderful film, a true masterpiece."] * 6 + ["The ending drags, sadly."] * 6)


# Planted for the insight finders: the same review in both splits (differing only in case and punctuation),
# and reviews whose label contradicts their text.
DUPLICATE_TEXT = "A wonderful film, brilliant acting from the whole cast. I loved every minute of it."
FLIPPED_TEXT = "A terrible film. Boring and predictable. A complete waste of time. The worst movie this year."


def review_name(split: str, folder: str, file_id: int) -> str:
    """The member name of a generated review; ratings follow the file id (1-4 negative, 7-10 positive)."""
    rating = (7 if folder == "pos" else 1) + file_id % 4
    return f"aclImdb/{split}/{folder}/{file_id}_{rating}.txt"


def planted_duplicates() -> dict[str, bytes]:
    return {
        review_name("train", "pos", 2): DUPLICATE_TEXT.encode(),
        review_name("test", "pos", 3): DUPLICATE_TEXT.upper().replace(",", " -").encode(),
    }


def planted_flips() -> dict[str, bytes]:
    return {review_name("train", "pos", 5): FLIPPED_TEXT.encode(), review_name("test", "pos", 6): FLIPPED_TEXT.encode()}


def write_tarball(path: Path, per_folder: int = 100, seed: int = 0, extra: dict[str, bytes] | None = None) -> Path:
    """Write `path` with `per_folder` reviews in each of train/test x pos/neg, plus the side files.

    `extra` adds members, or replaces those of the same name (tests use it to plant bad reviews).
    """
    rng = random.Random(seed)
    members = {
        "aclImdb/README": b"Large Movie Review Dataset v1.0 (test copy)\n",
        "aclImdb/imdb.vocab": "\n".join(sorted(set(" ".join(POSITIVE + NEGATIVE).split()))).encode(),
    }
    for split in ("train", "test"):
        for folder in ("neg", "pos"):
            for file_id in range(per_folder):
                members[review_name(split, folder, file_id)] = review_text(rng, folder == "pos").encode()
            members[f"aclImdb/{split}/urls_{folder}.txt"] = b"http://www.imdb.com/title/tt0000000/usercomments\n"
        members[f"aclImdb/{split}/labeledBow.feat"] = b"0 0:1\n"
    members["aclImdb/train/unsup/0_0.txt"] = b"An unlabeled review that the pipeline skips."
    members[HOSTILE_NAME] = HOSTILE_TEXT.encode()
    members[LONG_NAME] = LONG_TEXT.encode()
    members.update(planted_duplicates())
    members.update(planted_flips())
    members.update(extra or {})
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            _add(archive, name, data)
    return path
