"""Settings and paths: the one place the pipeline reads hyperparameters and seeds from."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "pipeline" / "config.toml"
SCHEMA_SQL = ROOT / "sql" / "schema.sql"
SCHEMA_VERSION = 6


def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key not in base:
            raise PipelineError(f"{where}: unknown setting '{key}'; see pipeline/config.toml for the names")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise PipelineError(f"{where}: '{key}' must be a table; see pipeline/config.toml")
            merged[key] = _merge(base[key], value, where)
        elif not _same_kind(value, base[key]):
            raise PipelineError(
                f"{where}: '{key}' must be {type(base[key]).__name__} like its default {base[key]!r}, "
                f"not {value!r}; fix the file"
            )
        else:
            merged[key] = value
    return merged


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return type(value) is type(default)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise PipelineError(f"{path}: config file not found; pass an existing file with CONFIG=") from None
    except tomllib.TOMLDecodeError as e:
        raise PipelineError(f"{path}: not valid TOML ({e}); fix the file") from None


def load_config(path: Path | str | None = None, brought: list[str] = (), predictions: list[str] = ()) -> dict[str, Any]:
    """The default settings, with those of `path` (if any) laid over them, and a table for each model `brought` in
    (MODEL=: a .keras file or a transformer checkpoint's folder) and each file of `predictions` made elsewhere
    (PREDICTIONS=). A .json path is a resolved config that pipeline.settings wrote: it is read as it is."""
    if path and Path(path).suffix == ".json":
        try:
            return json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise PipelineError(f"{path}: cannot read ({e}); run make again") from None
    config = _read_toml(DEFAULT_CONFIG)
    where = str(path or DEFAULT_CONFIG)
    override = _read_toml(Path(path)) if path and Path(path).resolve() != DEFAULT_CONFIG else {}
    if brought or predictions:
        override = bring(override, list(brought), list(predictions), config)
    if override:
        new = {k: v for k, v in override.items() if k not in config and isinstance(v, dict) and "architecture" in v}
        config = _merge(config, {k: v for k, v in override.items() if k not in new}, where)
        for key, table in new.items():
            # A new model: its settings start from those of its architecture's table, as laid over here.
            if table["architecture"] not in architectures(config):
                raise PipelineError(
                    f"{where}: [{key}] has architecture {table['architecture']!r}; "
                    f"use one of {', '.join(architectures(config))}"
                )
            config = _merge({**config, key: config[table["architecture"]]}, {key: table}, where)
    for name in config["models"]:
        if not isinstance(config.get(name), dict) or "architecture" not in config[name]:
            raise PipelineError(
                f"{where}: model {name!r} has no settings table; add [{name}] with architecture = "
                f"{' or '.join(repr(a) for a in architectures(config))}"
            )
    if not config["models"]:
        raise PipelineError(f'{where}: models is empty; name at least one, e.g. models = ["dense"]')
    for name in config["models"]:
        if config[name]["architecture"] in BROUGHT:
            config[name] = _model_file(name, config[name])
    return config


# What a brought model's `file` is, by architecture: (a folder or not, what to give instead).
BROUGHT = {
    "keras": (False, "give the path of a saved .keras model"),
    "transformer": (True, "give the folder that save_pretrained wrote"),
    "predictions": (False, "give a .csv, .parquet or .jsonl file of predictions"),
}


def _model_file(name: str, table: dict[str, Any]) -> dict[str, Any]:
    """A brought model's table with its file's (or folder's) full path and checksum: a new file is a new model."""
    folder, what = BROUGHT[table["architecture"]]
    path = Path(table["file"]).expanduser()
    if not table["file"] or not (path.is_dir() if folder else path.is_file()):
        raise PipelineError(f"model {name}: no {'folder' if folder else 'file'} {table['file']!r}; {what}")
    found = {**table, "file": str(path.resolve()), "sha256": folder_sha256(path) if folder else file_sha256(path)}
    if table["architecture"] == "predictions":
        from pipeline.formats import column_names

        found["embeddings"] = table["embedding_column"] in column_names(path, table["encoding"])
    return found


def bring(
    override: dict[str, Any], files: list[str], predictions: list[str], defaults: dict[str, Any]
) -> dict[str, Any]:
    """The settings with a model table for each file (MODEL=: a .keras file, or a folder, a transformer
    checkpoint) and each predictions file (PREDICTIONS=), named after it, over the table of that name in the
    settings if there is one."""
    override = dict(override)
    models = list(override.get("models", defaults["models"]))
    for file, variable in [(file, "MODEL") for file in files] + [(file, "PREDICTIONS") for file in predictions]:
        path = Path(file)
        name = re.sub(r"[^a-z0-9_]+", "_", path.name.split(".")[0].lower()).strip("_") or "model"
        table = override.get(name, {})
        if name in defaults or name in models or name == "config" or not isinstance(table, dict):
            raise PipelineError(f"{variable}={file}: the name {name!r} is taken; rename the file, e.g. my_{path.name}")
        architecture = "predictions" if variable == "PREDICTIONS" else "transformer" if path.is_dir() else "keras"
        override[name] = {"architecture": architecture, **table, "file": file}
        models.append(name)
    override["models"] = models
    return override


def folder_sha256(folder: Path) -> str:
    """A checksum of every file in a folder, their names included: a checkpoint changed anywhere is another model."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def architectures(config: dict[str, Any]) -> list[str]:
    """The architectures models can be built from: the default tables that name themselves as one."""
    return [name for name, table in config.items() if isinstance(table, dict) and table.get("architecture") == name]


def config_digest(config: dict[str, Any]) -> str:
    """A short fingerprint of the settings, stored in the database's meta table."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
