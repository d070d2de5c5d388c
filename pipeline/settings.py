"""Split the settings into one JSON file per table, touching only the files whose content changed; write the
whole of them as config.json, which every later step reads; and write models.mk: the models, settings
files and user test file that Make's rules follow.

Make compares file times: a step that depends on settings/cnn.json reruns when a CNN setting
changes, and not when a dense one does. A brought model's table holds its file's checksum, so a new file
is analysed anew.

    python -m pipeline.settings --config pipeline/config.toml --brought a.keras,b.keras --out-dir build/settings
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
    p.add_argument("--brought", default="", help="model files, separated by commas (MODEL=)")
    p.add_argument("--out-dir", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config, [file for file in args.brought.split(",") if file.strip()])
    for name, value in config.items():
        write_if_changed(args.out_dir / f"{name}.json", json.dumps(value, indent=2, sort_keys=True) + "\n")
    write_if_changed(args.out_dir / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    makefile = (
        f"TRAINED := {' '.join(registry.of_kind(config, 'trained'))}\n"
        f"BROUGHT := {' '.join(registry.of_kind(config, 'brought'))}\n"
        f"SETTING_NAMES := {' '.join(config)}\n"
        f"USER_TESTS := {config['behaviour']['tests']}\n"
    )
    write_if_changed(args.out_dir / "models.mk", makefile)


if __name__ == "__main__":
    cli.run("settings", main)
