"""The models a run analyses, from the settings: the one list that Make, the pipeline, the database and the
pages follow.

Neural models are named by the `models` setting, each with a settings table that says its architecture
(a head in pipeline/models.py); the TF-IDF baseline is always there. Nothing here imports Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.errors import PipelineError

BASELINE = "baseline"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # neural (Keras, trained here) or baseline (scikit-learn)
    architecture: str | None
    settings: dict[str, Any]


def neural(config: dict[str, Any]) -> list[str]:
    """The neural models' names, in the order of the `models` setting."""
    return list(config["models"])


def models(config: dict[str, Any]) -> list[ModelSpec]:
    """Every model of the run: the neural ones, then the baseline."""
    specs = [ModelSpec(name, "neural", config[name]["architecture"], config[name]) for name in neural(config)]
    return specs + [ModelSpec(BASELINE, "baseline", None, config[BASELINE])]


def spec(config: dict[str, Any], name: str) -> ModelSpec:
    found = [model for model in models(config) if model.name == name]
    if not found:
        raise PipelineError(f"no model {name!r} in the settings; the models are {', '.join(neural(config))}")
    return found[0]
