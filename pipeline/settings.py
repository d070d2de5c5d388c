"""Split the settings into one JSON file per table, touching only the files whose content changed, and
write models.mk: the neural models and settings files that Make's rules follow.

Make compares file times: a step that depends on settings/cnn.json reruns when a CNN setting
changes, and not when a dense one does.

    python -m pipeline.settings --config pipeline/config.toml --out-dir build/settings
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline import cli, registry
from pipeline.config import load_config


def write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    with cli.atomic_output(path) as tmp:
        tmp.write_text(text)


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--out-dir", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config)
    for name, value in config.items():
        write_if_changed(args.out_dir / f"{name}.json", json.dumps(value, indent=2, sort_keys=True) + "\n")
    makefile = f"NEURAL := {' '.join(registry.neural(config))}\nSETTING_NAMES := {' '.join(config)}\n"
    write_if_changed(args.out_dir / "models.mk", makefile)


if __name__ == "__main__":
    cli.run("settings", main)
