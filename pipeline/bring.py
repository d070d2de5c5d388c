"""Copy a model brought in (MODEL=) beside the database, so that what was analysed stays with it: a .keras file, or
a fine-tuned transformer checkpoint's folder (checked first: config.json, safetensors weights, a tokenizer).

python -m pipeline.bring --model classifier --out build/models/classifier.keras
python -m pipeline.bring --model tickets_bert --out build/models/tickets_bert.checkpoint
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

from pipeline import checkpoints, cli, registry
from pipeline.config import file_sha256, folder_sha256, load_config
from pipeline.errors import PipelineError


def copy_folder(source: Path, out: Path, sha256: str) -> None:
    """The folder copied to `out`, through a temporary folder renamed into place."""
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(source, tmp)
        if folder_sha256(tmp) != sha256:
            raise PipelineError(f"{source}: changed while it was read; run make again")
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    spec = registry.spec(load_config(args.config), args.model)
    settings = spec.settings
    source = Path(settings["file"])
    if spec.architecture == "transformer":
        checkpoints.read_config(source, spec.name)
        copy_folder(source, args.out, settings["sha256"])
        return
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
