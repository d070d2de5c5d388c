"""The models a run analyses, from the settings: the one list that Make, the pipeline, the database and the
pages follow.

Models are named by the `models` setting, each with a settings table that says its architecture: a head in
pipeline/models.py for a model trained here; "keras" for a model file brought in (MODEL=a.keras), "transformer"
for a fine-tuned checkpoint's folder (MODEL=folder), "predictions" for a table of predictions made elsewhere
(PREDICTIONS=file). The TF-IDF baseline is always there. Every model that can be run is analysed through one
interface, pipeline/adapters.py; predictions made elsewhere are read by pipeline/elsewhere.py. Nothing here imports
Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.errors import PipelineError

BASELINE = "baseline"
BROUGHT_ARCHITECTURES = ("keras", "transformer", "predictions")
# The file of a model that can be run, beside the database: by architecture (the trained ones are .keras files).
FILE_SUFFIXES = {"keras": "keras", "transformer": "checkpoint"}


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


def runnable(model: ModelSpec) -> bool:
    """Whether the model can be run on new texts (attributions, behavioural tests): every one but predictions made
    elsewhere."""
    return model.architecture != "predictions"


def has_latent(model: ModelSpec) -> bool:
    """Whether the model gives latent vectors: a neural model, or predictions made elsewhere with embeddings."""
    if model.kind == "baseline":
        return False
    return model.architecture != "predictions" or bool(model.settings["embeddings"])


def mapped(config: dict[str, Any]) -> list[str]:
    """The models with a latent space, which get maps and clusters."""
    return [model.name for model in models(config) if has_latent(model)]


def file_suffix(model: ModelSpec) -> str:
    """The suffix of the model's file in build/models/: .keras, .checkpoint (a folder) or, for the baseline, .pkl."""
    return "pkl" if model.kind == "baseline" else FILE_SUFFIXES.get(model.architecture, "keras")


def of_kind(config: dict[str, Any], kind: str) -> list[str]:
    return [model.name for model in models(config) if model.kind == kind]


def spec(config: dict[str, Any], name: str) -> ModelSpec:
    found = [model for model in models(config) if model.name == name]
    if not found:
        raise PipelineError(f"no model {name!r} in the settings; the models are {', '.join(config['models'])}")
    return found[0]
