"""Copy a model brought in (MODEL=) beside the database, so that what was analysed stays with it.

python -m pipeline.bring --model classifier --out build/models/classifier.keras
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from pipeline import cli, registry
from pipeline.config import file_sha256, load_config
from pipeline.errors import PipelineError


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    settings = registry.spec(load_config(args.config), args.model).settings
    source = Path(settings["file"])
    if not zipfile.is_zipfile(source):
        raise PipelineError(
            f"{source}: not a Keras model; save yours with model.save('name.keras') and bring that file"
        )
    with cli.atomic_output(args.out) as tmp:
        shutil.copyfile(source, tmp)
        if file_sha256(tmp) != settings["sha256"]:
            raise PipelineError(f"{source}: changed while it was read; run make again")


if __name__ == "__main__":
    cli.run("bring", main)
