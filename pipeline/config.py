"""Settings and paths: the one place the pipeline reads hyperparameters and seeds from, and the files of the project
that are not modules (sql/), which a step names here so that make follows them."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

from pipeline import registry
from pipeline.errors import PipelineError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "pipeline" / "config.toml"
SCHEMA_VERSION = 10
# Where the per-text tables go ([database] per_text): the one DuckDB file, or Parquet parts beside it.
PER_TEXT_STORAGE = ("file", "parquet")
# The files of the project other than modules that this process has read (sql_file): with its modules, what a
# step's dependency file lists (pipeline/cli.py).
SOURCES: set[Path] = set()


def sql_file(name: str) -> Path:
    """A file of sql/ that this process reads."""
    path = ROOT / "sql" / name
    SOURCES.add(path)
    return path


def sql_literal(value: str | Path) -> str:
    """A string as an SQL literal."""
    return "'" + str(value).replace("'", "''") + "'"


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


def load_config(path: Path | str | None = None, given: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The default settings, with those of `path` (if any) laid over them, and a table for each model `given` by
    make variable (MODEL=: a .keras file or a transformer checkpoint's folder; PREDICTIONS=: a file of predictions
    made elsewhere). A .json path is a resolved config that pipeline.settings wrote: it is read as it is."""
    if path and Path(path).suffix == ".json":
        try:
            return json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise PipelineError(f"{path}: cannot read ({e}); run make again") from None
    config = _read_toml(DEFAULT_CONFIG)
    where = str(path or DEFAULT_CONFIG)
    override = _read_toml(Path(path)) if path and Path(path).resolve() != DEFAULT_CONFIG else {}
    if any((given or {}).values()):
        override = with_given(override, given, config)
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
    database = config["database"]
    if database["per_text"] not in PER_TEXT_STORAGE:
        raise PipelineError(
            f"{where}: [database] per_text = {database['per_text']!r}; use one of "
            f"{', '.join(map(repr, PER_TEXT_STORAGE))}"
        )
    if database["part_rows"] < 1:
        raise PipelineError(f"{where}: [database] part_rows = {database['part_rows']}; give a number of rows above 0")
    for spec in registry.models(config):
        if spec.settings.get("heat_maps", "occlusion") not in registry.HEAT_MAPS:
            raise PipelineError(
                f"{where}: [{spec.name}] heat_maps = {spec.settings['heat_maps']!r}; use one of "
                f"{', '.join(map(repr, registry.HEAT_MAPS))}"
            )
        if spec.given:
            config[spec.name] = _given_file(spec.name, config[spec.name])
    return config


def _given_file(name: str, table: dict[str, Any]) -> dict[str, Any]:
    """A given model's table with its file's (or folder's) full path and checksum, a new file being a new model, and
    what its kind reads from the file itself."""
    kind = registry.kind(table["architecture"])
    if kind.address:
        return _given_address(name, kind, table)
    path = Path(table["file"]).expanduser()
    if not table["file"] or not (path.is_dir() if kind.folder else path.is_file()):
        raise PipelineError(f"model {name}: no {'folder' if kind.folder else 'file'} {table['file']!r}; {kind.hint}")
    checksum = folder_sha256(path) if kind.folder else file_sha256(path)
    found = {**table, "file": str(path.resolve()), "sha256": checksum}
    if table.get("dynamics"):  # its training dynamics, brought with it: a new file is analysed anew
        dynamics = Path(table["dynamics"]).expanduser()
        if not dynamics.is_file():
            raise PipelineError(
                f"model {name}: no dynamics file {table['dynamics']!r}; give a file of the data's id, epoch and "
                "prob_<class> columns, or leave dynamics empty"
            )
        found |= {"dynamics": str(dynamics.resolve()), "dynamics_sha256": file_sha256(dynamics)}
    return {**found, **registry.call(kind.inspect, path, found)} if kind.inspect else found


def _given_address(name: str, kind: registry.Kind, table: dict[str, Any]) -> dict[str, Any]:
    """A model called at an address: its url checked, and a checksum of what makes it this model (the address, the
    model's name, the prompt, the label order, its version), so that another is analysed anew. A secret is never a
    setting: the settings name the environment variable that holds it."""
    url = table["url"]
    if not re.match(r"https?://[^/\s]+", url or ""):
        raise PipelineError(f"model {name}: url {url!r} is not an http:// or https:// address; {kind.hint}")
    secret = table.get("token_env")
    if secret and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", secret):
        raise PipelineError(
            f"model {name}: token_env must name an environment variable (e.g. MY_TOKEN), not hold the token itself"
        )
    what = {key: table.get(key) for key in ("url", "model", "system", "prompt", "labels", "column", "version")}
    checksum = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()
    return {**table, "file": url, "sha256": checksum}


def given_name(given: str, kind: registry.Kind) -> str:
    """The name of a model given by a make variable: its file's name without the suffix; a model called at an address,
    the last part of its path before /invocations (Databricks and SageMaker name the endpoint there), else the kind's
    name and the port."""
    if kind.address:
        parts = urllib.parse.urlsplit(given)
        named = [part for part in parts.path.split("/") if part and part != "invocations"]
        stem = named[-1] if named else f"{kind.name}_{parts.port or parts.hostname}"
    else:
        stem = Path(given).name.split(".")[0]
    return re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_") or "model"


def with_given(override: dict[str, Any], given: dict[str, list[str]], defaults: dict[str, Any]) -> dict[str, Any]:
    """The settings with a model table for each file given by a make variable (MODEL=: a .keras file, or a folder, a
    transformer checkpoint; PREDICTIONS=: a predictions file), named after it, over the table of that name in the
    settings if there is one; its kind is the registry's for that variable and path."""
    override = dict(override)
    models = list(override.get("models", defaults["models"]))
    for variable, files in given.items():
        for file in files:
            kind = registry.given_kind(file, variable)
            name = given_name(file, kind)
            table = override.get(name, {})
            if name in defaults or name in models or name == "config" or not isinstance(table, dict):
                rename = (
                    f'name it in CONFIG= instead: [my_{name}] architecture = "{kind.name}", url = "{file}"'
                    if kind.address
                    else f"rename the file, e.g. my_{Path(file).name}"
                )
                raise PipelineError(f"{variable}={file}: the name {name!r} is taken; {rename}")
            override[name] = {"architecture": kind.name, **table, ("url" if kind.address else "file"): file}
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
