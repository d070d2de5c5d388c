"""Download the official IMDB tarball with a progress bar, and check what arrived.

python -m pipeline download --out build/aclImdb_v1.tar.gz
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from pipeline import cli
from pipeline.config import load_config
from pipeline.data.imdb import read_reviews
from pipeline.errors import PipelineError

# Tests point this at a local server; users never need it.
URL_ENV = "REVIEWLENS_DATA_URL"
CHUNK = 1 << 16
OFFLINE_HINT = "check your connection, or download it yourself and run make all DATA=path/to/aclImdb_v1.tar.gz"


def download(url: str, out: Path, reviews_per_folder: int) -> None:
    with cli.atomic_output(out) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as f:
                expected = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=expected, unit="B", unit_scale=True, desc=f"downloading {out.name}") as bar:
                    while chunk := response.read(CHUNK):
                        f.write(chunk)
                        bar.update(len(chunk))
        except urllib.error.HTTPError as e:
            raise PipelineError(f"{url}: download failed (HTTP {e.code} {e.reason}); {OFFLINE_HINT}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", None) or e
            raise PipelineError(f"{url}: download failed ({reason}); {OFFLINE_HINT}") from None
        received = tmp.stat().st_size
        if expected is not None and received != expected:
            raise PipelineError(f"{url}: download stopped at {received:,} of {expected:,} bytes; run make all again")
        # Only a tarball with the full aclImdb layout is renamed into place.
        try:
            read_reviews(tmp, reviews_per_folder)
        except PipelineError as e:
            problem = str(e).split(": ", 1)[-1]
            raise PipelineError(f"{url}: what arrived is not the IMDB tarball: {problem}") from None


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)["data"]
    download(os.environ.get(URL_ENV, config["url"]), args.out, config["reviews_per_folder"])
    print(f"{args.out}: downloaded and checked")
