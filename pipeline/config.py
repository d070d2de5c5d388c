"""Settings and paths: the one place the pipeline reads hyperparameters and seeds from."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "pipeline" / "config.toml"
SCHEMA_SQL = ROOT / "sql" / "schema.sql"
SCHEMA_VERSION = 2


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


def load_config(path: Path | str | None = None) -> dict[str, Any]:
    """The default settings, with those of `path` (if any) laid over them."""
    config = _read_toml(DEFAULT_CONFIG)
    where = str(path or DEFAULT_CONFIG)
    if path and Path(path).resolve() != DEFAULT_CONFIG:
        override = _read_toml(Path(path))
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
    return config


def architectures(config: dict[str, Any]) -> list[str]:
    """The architectures models can be built from: the default tables that name themselves as one."""
    return [name for name, table in config.items() if isinstance(table, dict) and table.get("architecture") == name]


def config_digest(config: dict[str, Any]) -> str:
    """A short fingerprint of the settings, stored in the database's meta table."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
