"""Everything particular to the IMDB study: reading its tarball as a stream (checking the layout on the way),
and the figures and findings the Tensorleap study reported, which the pages hold the models against.
"""

from __future__ import annotations

import re
import tarfile
import zlib
from collections import Counter
from pathlib import Path

import pandas as pd

from pipeline.errors import PipelineError

# aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt; unsup/ and the .feat files are skipped.
REVIEW_PATH = re.compile(r"^aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
SPLITS = ("train", "test")
FOLDERS = {"neg": "negative", "pos": "positive"}
FIX_DATA = "download it again or pass a good copy with DATA="
TARBALL = (".tar.gz", ".tgz")

# Test accuracy and loss reported by the Tensorleap IMDB study (dense after 5 epochs, CNN after 3).
SEED_FIGURES = {"dense": (0.89, 0.26), "cnn": (0.89, 0.28)}
# The study's five findings about metadata and loss: statement, feature, expected sign of its correlation.
SEED_FINDINGS = [
    ("The shorter the review, the higher the loss", "length_tokens", -1),
    ("The more out-of-vocabulary words, the higher the loss", "oov_count", 1),
    ("The more subjective the review (TextBlob), the lower the loss", "subjectivity", -1),
    ("The more confident the score, the lower the loss", "confidence", -1),
    ("Reviews of neutral TextBlob polarity have higher loss", "polarity_strength", -1),
]


def noun(data_kind: str) -> str:
    """What the texts are called on the pages and in the findings: reviews for IMDB, texts for anything else."""
    return "reviews" if data_kind == "imdb" else "texts"


def is_tarball(path: Path) -> bool:
    return Path(path).name.endswith(TARBALL)


def read_reviews(path: Path, reviews_per_folder: int) -> pd.DataFrame:
    """Every labeled review in the tarball at `path`, with split, label, rating, file id and text."""
    from tqdm import tqdm  # the pipeline's only: the viewer imports this module for `noun`

    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: data file not found; {FIX_DATA}")
    rows = []
    try:
        # "r|gz" reads the archive as a stream: nothing is extracted to disk.
        with (
            tarfile.open(path, mode="r|gz") as archive,
            tqdm(desc="reading reviews", unit=" files", leave=False) as bar,
        ):
            for member in archive:
                match = REVIEW_PATH.match(member.name)
                if not match:
                    continue
                rows.append(_review_row(path, archive, member, match))
                bar.update()
    except (tarfile.ReadError, tarfile.CompressionError) as e:
        if "unexpected end" in str(e) or "truncated" in str(e):
            raise PipelineError(f"{path}: the tarball is truncated; {FIX_DATA}") from None
        raise PipelineError(f"{path}: not a gzip-compressed tar file ({e}); {FIX_DATA}") from None
    except (EOFError, zlib.error, OSError) as e:
        if isinstance(e, PermissionError):
            raise PipelineError(f"{path}: cannot read the file ({e.strerror}); check its permissions") from None
        raise PipelineError(f"{path}: the tarball is truncated or corrupt ({e}); {FIX_DATA}") from None
    _check_layout(path, rows, reviews_per_folder)
    # The tarball's path is each review's own id; the star rating comes along as a feature of the data.
    reviews = pd.DataFrame(rows).sort_values(["split", "label", "file_id"], key=_split_order)
    reviews = reviews.rename(columns={"path": "source_id"})[["source_id", "split", "label", "text", "rating"]]
    return reviews.reset_index(drop=True)


def _review_row(path: Path, archive: tarfile.TarFile, member: tarfile.TarInfo, match: re.Match) -> dict:
    split, folder, file_id, rating = match.groups()
    where = f"{path}: review {member.name}"
    if not member.isfile():
        raise PipelineError(f"{where} is not a regular file; {FIX_DATA}")
    raw = archive.extractfile(member).read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PipelineError(f"{where} is not valid UTF-8 (byte {e.start}); {FIX_DATA}") from None
    rating = int(rating)
    label = FOLDERS[folder]
    if not (1 <= rating <= 10) or (label == "positive") != (rating >= 7):
        raise PipelineError(f"{where} has rating {rating}, which does not fit its {folder}/ folder; {FIX_DATA}")
    return {
        "split": split,
        "label": label,
        "rating": rating,
        "file_id": int(file_id),
        "path": member.name,
        "text": text,
    }


def _check_layout(path: Path, rows: list[dict], reviews_per_folder: int) -> None:
    if not rows:
        raise PipelineError(
            f"{path}: no aclImdb/{{train,test}}/{{pos,neg}}/*.txt reviews inside; is it the IMDB tarball? {FIX_DATA}"
        )
    counts = Counter((row["split"], row["label"]) for row in rows)
    for split in SPLITS:
        for folder, label in FOLDERS.items():
            found = counts[(split, label)]
            if found != reviews_per_folder:
                where = f"{path}: aclImdb/{split}/{folder}/"
                raise PipelineError(f"{where} holds {found} reviews, expected {reviews_per_folder}; {FIX_DATA}")


def _split_order(column: pd.Series) -> pd.Series:
    # train before test, negative before positive, then by file id: the order of text_id.
    if column.name == "split":
        return column.map({"train": 0, "test": 1})
    return column


def sample(reviews: pd.DataFrame, per_folder: int) -> pd.DataFrame:
    """The first `per_folder` reviews of each split and label; all of them if 0."""
    if per_folder <= 0:
        return reviews
    return reviews.groupby(["split", "label"], sort=False).head(per_folder).reset_index(drop=True)
