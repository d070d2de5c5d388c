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
SCHEMA_VERSION = 1

MODELS = ("dense", "cnn")

# Test accuracy and loss reported by the Tensorleap IMDB study (dense after 5 epochs, CNN after 3).
SEED_FIGURES = {"dense": (0.89, 0.26), "cnn": (0.89, 0.28)}


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
    if path and Path(path).resolve() != DEFAULT_CONFIG:
        config = _merge(config, _read_toml(Path(path)), str(path))
    return config


def config_digest(config: dict[str, Any]) -> str:
    """A short fingerprint of the settings, stored in the database's meta table."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
