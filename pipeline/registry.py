"""The kinds of model there are, and the models a run analyses: the one list that Make, the settings, the copy step, the
pipeline, the database and the pages follow.

A kind says how a model is given (MODEL= or PREDICTIONS=, in the settings, or built in), how a given path or address is
recognised, where its file goes beside the database, what opens it behind the one model interface
(pipeline/models/classifier.py) and what it can have. Adding a kind is one module that opens it and one entry in KINDS
(and its settings table in pipeline/config.toml). Models are named by the `models` setting, each with a settings table
that says its architecture: dense or cnn (pipeline/models/architectures.py) for a model trained here, or the kind's name
for a model given by the user. The TF-IDF baseline is always there. Nothing here imports Keras.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

BASELINE = "baseline"
# Heat maps made by calling a model, as its settings name them (heat_maps) and as the pages say them.
HEAT_MAPS = {"occlusion": "occlusion", "partition": "partition SHAP"}
NOT_A_MODEL = "its predictions were made elsewhere (PREDICTIONS=): there is no model here to run"
TRAINED_ELSEWHERE = "trained elsewhere: give its per-epoch probabilities with a dynamics file to see them"


@dataclass(frozen=True)
class Kind:
    """A kind of model."""

    name: str
    title: str  # where such a model comes from, as the pages say it
    given_with: str = ""  # the make variable that gives one (MODEL, PREDICTIONS); empty: built in
    recognise: Callable[[str], bool] = lambda given: True  # whether a path or address given with that variable is one
    folder: bool = False  # given as a folder, not a file
    address: bool = False  # called at an address (url), not read from a file: its settings are what is copied
    hint: str = ""  # what to give instead, when the given file is not there
    suffix: str = ""  # its copy beside the database, build/models/<model>.<suffix>; empty: no file to copy
    opener: str = ""  # "module:function(spec, path, corpus)" giving its Classifier; empty: it cannot be run
    check: str = ""  # "module:function(path, name, settings)" that checks a given file before it is copied
    inspect: str = ""  # "module:function(path, settings) -> dict": settings read from a given file itself
    attributions: bool = True  # it can have heat maps (a model may still lack them: its summary says why)
    latent: bool = True  # it gives latent vectors (predictions made elsewhere: when the file has embeddings)
    why_not_run: str = ""  # why it has no behavioural tests, when it cannot be run (and no heat maps, when it has none)
    compared: bool = True  # compared with the other models (the baseline is the reference they are held against)
    no_dynamics: str = ""  # why it has no training dynamics; empty: trained here, it has them
    heat_maps: str = "integrated gradients"  # how its heat maps are made, unless its settings say (heat_maps)

    @property
    def runnable(self) -> bool:
        """Whether it can be run on new texts: attributions, behavioural tests."""
        return bool(self.opener)


def _is_address(given: str) -> bool:
    return given.startswith(("http://", "https://"))


def _is_onnx_folder(given: str) -> bool:
    """An ONNX export: a folder with a .onnx file."""
    folder = Path(given)
    return folder.is_dir() and any(folder.glob("*.onnx"))


KINDS = (
    Kind("trained", "trained here", suffix="keras", opener="pipeline.models.trained:load"),
    Kind(
        "served",
        "a served model",
        given_with="MODEL",
        recognise=_is_address,
        address=True,
        hint="give the address of its scoring endpoint, e.g. http://127.0.0.1:5000/invocations",
        suffix="endpoint",
        opener="pipeline.models.served:load",
        latent=False,
        no_dynamics=TRAINED_ELSEWHERE,
    ),
    Kind(
        "onnx",
        "an ONNX model",
        given_with="MODEL",
        recognise=_is_onnx_folder,
        folder=True,
        hint="give the folder of an ONNX export: model.onnx, tokenizer.json and config.json",
        suffix="onnx",
        opener="pipeline.models.onnx:load",
        check="pipeline.models.onnx:check",
        inspect="pipeline.models.onnx:inspect",
        no_dynamics=TRAINED_ELSEWHERE,
    ),
    Kind(
        "keras",
        "a Keras model",
        given_with="MODEL",
        recognise=lambda given: not Path(given).is_dir(),
        hint="give the path of a saved .keras model",
        suffix="keras",
        opener="pipeline.models.keras_file:load",
        check="pipeline.models.keras_file:check",
        no_dynamics=TRAINED_ELSEWHERE,
    ),
    Kind(
        "transformer",
        "a transformer checkpoint",
        given_with="MODEL",
        recognise=lambda given: Path(given).is_dir(),
        folder=True,
        hint="give the folder that save_pretrained wrote",
        suffix="checkpoint",
        opener="pipeline.models.transformer:load",
        check="pipeline.models.checkpoints:read_config",
        no_dynamics=TRAINED_ELSEWHERE,
    ),
    Kind(
        "chat",
        "an LLM classifier",
        address=True,
        hint='give its OpenAI-compatible endpoint, e.g. url = "http://127.0.0.1:8000/v1"',
        suffix="endpoint",
        opener="pipeline.models.llm:load",
        latent=False,
        no_dynamics=TRAINED_ELSEWHERE,
    ),
    Kind(
        "predictions",
        "predictions made elsewhere",
        given_with="PREDICTIONS",
        hint="give a .csv, .parquet or .jsonl file of predictions",
        inspect="pipeline.models.import_predictions:inspect",
        attributions=False,
        why_not_run=NOT_A_MODEL,
        no_dynamics=TRAINED_ELSEWHERE,
    ),
    Kind(
        "baseline",
        "the TF-IDF baseline",
        suffix="pkl",
        opener="pipeline.models.baseline:load",
        latent=False,
        compared=False,
        no_dynamics="fitted once, not over epochs",
        heat_maps="exact",
    ),
)


def call(reference: str, *args: Any) -> Any:
    """Call a kind's "module:function", importing the module only now."""
    module, _, function = reference.partition(":")
    return getattr(importlib.import_module(module), function)(*args)


def kind(name: str) -> Kind:
    return next(found for found in KINDS if found.name == name)


def given_kind(given: str, variable: str) -> Kind:
    """The kind of a model given with MODEL= or PREDICTIONS= at `given`, a path or an address."""
    return next(found for found in KINDS if found.given_with == variable and found.recognise(given))


def given_variables() -> list[str]:
    """The make variables that give models: MODEL, PREDICTIONS."""
    return list(dict.fromkeys(found.given_with for found in KINDS if found.given_with))


@dataclass(frozen=True)
class ModelSpec:
    """One model of the run: its name, its kind and its settings table."""

    name: str
    kind: str
    settings: dict[str, Any]

    @property
    def architecture(self) -> str | None:
        """dense, cnn or another architecture for a model trained here; None for the others."""
        return self.settings["architecture"] if self.kind == "trained" else None

    @property
    def runnable(self) -> bool:
        return kind(self.kind).runnable

    @property
    def given(self) -> bool:
        """Whether the user gave it (MODEL=, PREDICTIONS=, or an endpoint in the settings)."""
        return bool(kind(self.kind).given_with) or kind(self.kind).address

    @property
    def heat_maps(self) -> str:
        """How its heat maps are made: integrated gradients, exact, occlusion or partition SHAP (a setting)."""
        return HEAT_MAPS.get(self.settings.get("heat_maps", ""), kind(self.kind).heat_maps)

    @property
    def has_latent(self) -> bool:
        """Whether it gives latent vectors: the map, the clusters and similar texts follow from them."""
        return kind(self.kind).latent and bool(self.settings.get("embeddings", True))

    @property
    def file_suffix(self) -> str:
        """The suffix of its file in build/models/ (empty: it has none)."""
        return kind(self.kind).suffix


def _kind_of(table: dict[str, Any]) -> str:
    names = {found.name for found in KINDS}
    return table["architecture"] if table["architecture"] in names else "trained"


def models(config: dict[str, Any]) -> list[ModelSpec]:
    """Every model of the run: those of the models setting in its order, then the baseline."""
    specs = [ModelSpec(name, _kind_of(config[name]), config[name]) for name in config["models"]]
    return specs + [ModelSpec(BASELINE, "baseline", config[BASELINE])]


def compared(config: dict[str, Any]) -> list[str]:
    """The models compared with each other: all but the baseline, the reference they are held against."""
    return [model.name for model in models(config) if kind(model.kind).compared]


def mapped(config: dict[str, Any]) -> list[str]:
    """The models with a latent space, which get maps and clusters."""
    return [model.name for model in models(config) if model.has_latent]


def spec(config: dict[str, Any], name: str) -> ModelSpec:
    found = [model for model in models(config) if model.name == name]
    if not found:
        raise PipelineError(f"no model {name!r} in the settings; the models are {', '.join(config['models'])}")
    return found[0]


def make_lists(config: dict[str, Any]) -> dict[str, list[str]]:
    """The lists of models that Make's rules follow (build/settings/models.mk)."""
    specs = models(config)
    return {
        "MODELS": [m.name for m in specs],
        "TRAINED": [m.name for m in specs if m.kind == "trained"],
        # Given as a file or a folder: copied beside the database first.
        "COPIED": [m.name for m in specs if m.given and m.file_suffix],
        "IMPORTED": [m.name for m in specs if m.given and not m.runnable],
        "RUN": [m.name for m in specs if m.runnable],
        "MAPPED": [m.name for m in specs if m.has_latent],
    }
