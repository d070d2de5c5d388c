"""The models a run analyses, from the settings: the one list that Make, the pipeline, the database and the
pages follow.

Models are named by the `models` setting, each with a settings table that says its architecture: a head in
pipeline/models.py for a model trained here, or "keras" for a model file brought in (MODEL=). The TF-IDF
baseline is always there. Every model is then analysed through one interface, pipeline/adapters.py. Nothing
here imports Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.errors import PipelineError

BASELINE = "baseline"
BROUGHT_ARCHITECTURES = ("keras",)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # trained (Keras, here), brought (a file of the user's) or baseline (scikit-learn)
    architecture: str | None
    settings: dict[str, Any]


def _kind(table: dict[str, Any]) -> str:
    return "brought" if table["architecture"] in BROUGHT_ARCHITECTURES else "trained"


def models(config: dict[str, Any]) -> list[ModelSpec]:
    """Every model of the run: those of the models setting in its order, then the baseline."""
    specs = [
        ModelSpec(name, _kind(config[name]), config[name]["architecture"], config[name]) for name in config["models"]
    ]
    return specs + [ModelSpec(BASELINE, "baseline", None, config[BASELINE])]


def mapped(config: dict[str, Any]) -> list[str]:
    """The models with a latent space (every one but the baseline), which get maps and clusters."""
    return [model.name for model in models(config) if model.kind != "baseline"]


def of_kind(config: dict[str, Any], kind: str) -> list[str]:
    return [model.name for model in models(config) if model.kind == kind]


def spec(config: dict[str, Any], name: str) -> ModelSpec:
    found = [model for model in models(config) if model.name == name]
    if not found:
        raise PipelineError(f"no model {name!r} in the settings; the models are {', '.join(config['models'])}")
    return found[0]
