"""Read the IMDB tarball as a stream into one table of reviews, checking its layout on the way.

python -m pipeline.ingest --data aclImdb_v1.tar.gz --out build/reviews.parquet
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import zlib
from collections import Counter
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from pipeline import cli
from pipeline.config import load_config
from pipeline.errors import PipelineError

# aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt; unsup/ and the .feat files are skipped.
REVIEW_PATH = re.compile(r"^aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
SPLITS = ("train", "test")
FOLDERS = {"neg": "negative", "pos": "positive"}
FIX_DATA = "download it again or pass a good copy with DATA="


def read_reviews(path: Path, reviews_per_folder: int) -> pd.DataFrame:
    """Every labeled review in the tarball at `path`, with split, label, rating, file id and text."""
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
    reviews = pd.DataFrame(rows).sort_values(["split", "label", "file_id"], key=_split_order)
    reviews.insert(0, "review_id", range(len(reviews)))
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
    # train before test, negative before positive, then by file id: the order of review_id.
    if column.name == "split":
        return column.map({"train": 0, "test": 1})
    return column


def sample(reviews: pd.DataFrame, per_folder: int) -> pd.DataFrame:
    """The first `per_folder` reviews of each split and label, renumbered; all of them if 0."""
    if per_folder <= 0:
        return reviews
    kept = reviews.groupby(["split", "label"], sort=False).head(per_folder).copy()
    kept["review_id"] = range(len(kept))
    return kept.reset_index(drop=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--data", required=True, type=Path, help="the aclImdb_v1.tar.gz tarball")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--dataset-info", required=True, type=Path, help="JSON with the tarball's name and checksum")
    args = p.parse_args()
    config = load_config(args.config)["data"]
    reviews = sample(read_reviews(args.data, config["reviews_per_folder"]), config["sample_per_folder"])
    with cli.atomic_output(args.dataset_info) as tmp:
        tmp.write_text(json.dumps({"file": args.data.name, "sha256": file_sha256(args.data), "reviews": len(reviews)}))
    with cli.atomic_output(args.out) as tmp:
        reviews.to_parquet(tmp, index=False)
    print(f"{args.out}: {len(reviews):,} reviews")


if __name__ == "__main__":
    cli.run("ingest", main)
