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
    p.add_argument("--brought", default="", help="model files or checkpoint folders, separated by commas (MODEL=)")
    p.add_argument("--predictions", default="", help="files of predictions made elsewhere, by commas (PREDICTIONS=)")
    p.add_argument("--out-dir", required=True, type=Path)
    args = p.parse_args()
    config = load_config(args.config, listed(args.brought), listed(args.predictions))
    for name, value in config.items():
        write_if_changed(args.out_dir / f"{name}.json", json.dumps(value, indent=2, sort_keys=True) + "\n")
    write_if_changed(args.out_dir / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    specs = registry.models(config)
    brought = [m for m in specs if m.kind == "brought"]
    makefile = (
        f"TRAINED := {' '.join(registry.of_kind(config, 'trained'))}\n"
        f"BROUGHT := {' '.join(m.name for m in brought if registry.runnable(m))}\n"
        f"ELSEWHERE := {' '.join(m.name for m in brought if not registry.runnable(m))}\n"
        f"MAPPED := {' '.join(registry.mapped(config))}\n"
        + "".join(f"SUFFIX_{m.name} := {registry.file_suffix(m)}\n" for m in specs if registry.runnable(m))
        + f"SETTING_NAMES := {' '.join(config)}\n"
        f"USER_TESTS := {config['behaviour']['tests']}\n"
    )
    write_if_changed(args.out_dir / "models.mk", makefile)


def listed(files: str) -> list[str]:
    return [file for file in files.split(",") if file.strip()]


if __name__ == "__main__":
    cli.run("settings", main)
