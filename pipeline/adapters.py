"""The adapter that analyses each kind of model behind the one model interface (pipeline/classifier.py).

The baseline is fitted and analysed in its own step (pipeline/baseline.py), which saves it for later steps;
every model is loaded here.
Each adapter's module is imported only when a model of its kind is analysed.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

from pipeline import cli, registry
from pipeline.classifier import Classifier, Corpus
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.registry import ModelSpec


def parser(description: str) -> argparse.ArgumentParser:
    """The arguments of a step that analyses one model: its name and file, and the texts."""
    p = cli.parser(description)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--weights", required=True, type=Path, help="the model's .keras file or checkpoint folder")
    p.add_argument("--reviews", required=True, type=Path)
    p.add_argument("--tokens", required=True, type=Path)
    return p


def opened(args: argparse.Namespace) -> tuple[dict, ModelSpec, Corpus, Classifier]:
    """The settings, the model's entry, the texts, and the model behind the interface, from those arguments."""
    config = load_config(args.config)
    spec = registry.spec(config, args.model)
    corpus = Corpus.read(args.reviews, args.tokens)
    return config, spec, corpus, load(spec, args.weights, corpus)


def load(spec: ModelSpec, path: Path, corpus: Corpus) -> Classifier:
    """The Classifier of a model trained here or brought in, read from its file."""
    if spec.architecture == "transformer":
        from pipeline import transformer_models

        return transformer_models.load(spec, path, corpus)
    if spec.kind in ("trained", "brought") and registry.runnable(spec):
        from pipeline import keras_models

        return keras_models.load(spec, path, corpus)
    if spec.kind == "baseline":
        # Saved by pipeline.baseline, which fitted it: unpickling imports that module.
        with open(path, "rb") as f:
            return pickle.load(f)
    raise PipelineError(f"model {spec.name}: no adapter reads {spec.kind} models")
