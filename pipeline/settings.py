"""Split the settings into one JSON file per table, touching only the files whose content changed; write the
whole of them as config.json, which every later step reads; and write models.mk: the lists of models (from
pipeline/registry.py), settings files and user test file that Make's rules follow.

Make compares file times: a step that depends on settings/cnn.json reruns when a CNN setting
changes, and not when a dense one does. A given model's table holds its file's checksum, so a new file
is analysed anew; so does the base file given with BASE= (compare.json), which is checked here, before anything runs.

    python -m pipeline settings --config pipeline/config.toml --given MODEL=a.keras,ckpt PREDICTIONS=llm.csv \
        --base build/v1/reviewlens.duckdb --db build/reviewlens.duckdb --out-dir build/settings
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline import cli, registry
from pipeline.config import load_config
from pipeline.database.base_file import given_base


def write_if_changed(path: Path, text: str) -> None:
    with cli.atomic_output(path, keep_unchanged=True) as tmp:
        tmp.write_text(text)


def main() -> None:
    p = cli.parser(__doc__)
    variables = ", ".join(registry.given_variables())
    p.add_argument("--given", nargs="*", default=[], metavar="VARIABLE=FILES",
                   help=f"models given by make variable ({variables}), files separated by commas")  # fmt: skip
    p.add_argument("--base", default="", help="BASE=: the reviewlens file of a build to compare this one with")
    p.add_argument("--db", required=True, type=Path, help="the database this build writes")
    p.add_argument("--out-dir", required=True, type=Path)
    args = p.parse_args()
    given = {variable: listed(files) for variable, _, files in (item.partition("=") for item in args.given)}
    config = load_config(args.config, given)
    config["compare"] = given_base(config["compare"], args.base, args.db)
    for name, value in config.items():
        write_if_changed(args.out_dir / f"{name}.json", json.dumps(value, indent=2, sort_keys=True) + "\n")
    write_if_changed(args.out_dir / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    lists = registry.make_lists(config)
    makefile = "".join(f"{variable} := {' '.join(names)}\n" for variable, names in lists.items())
    makefile += "".join(
        f"SUFFIX_{spec.name} := {spec.file_suffix}\n" for spec in registry.models(config) if spec.file_suffix
    )
    makefile += f"SETTING_NAMES := {' '.join(config)}\nUSER_TESTS := {config['behaviour']['tests']}\n"
    write_if_changed(args.out_dir / "models.mk", makefile)


def listed(files: str) -> list[str]:
    return [file for file in files.split(",") if file.strip()]
