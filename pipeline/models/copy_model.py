"""Copy a model given with MODEL= beside the database, so that what was analysed stays with it: a file (a .keras
model) or a folder (a transformer checkpoint, an ONNX export), checked first by its kind's check
(pipeline/registry.py); for a model called at an address (served, an LLM), its settings, which say where and how.

    python -m pipeline copy_model --model classifier --out build/models/classifier.keras
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeline import cli, registry
from pipeline.config import file_sha256, folder_sha256, load_config
from pipeline.errors import PipelineError
from pipeline.models.remote import write_endpoint


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


def copy_file(source: Path, out: Path, sha256: str) -> None:
    with cli.atomic_output(out) as tmp:
        shutil.copyfile(source, tmp)
        if file_sha256(tmp) != sha256:
            raise PipelineError(f"{source}: changed while it was read; run make again")


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    spec = registry.spec(load_config(args.config), args.model)
    kind = registry.kind(spec.kind)
    if kind.address:
        with cli.atomic_output(args.out) as tmp:
            write_endpoint(spec.settings, tmp)
        return
    source = Path(spec.settings["file"])
    if kind.check:
        registry.call(kind.check, source, spec.name, spec.settings)
    (copy_folder if kind.folder else copy_file)(source, args.out, spec.settings["sha256"])
