"""The adapter that analyses each kind of model behind the one model interface (pipeline/classifier.py).

The baseline is fitted and analysed in its own step (pipeline/baseline.py); every other model is loaded here.
Each adapter's module is imported only when a model of its kind is analysed.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.classifier import Classifier, Corpus
from pipeline.errors import PipelineError
from pipeline.registry import ModelSpec


def load(spec: ModelSpec, path: Path, corpus: Corpus) -> Classifier:
    """The Classifier of a model trained here or brought in, read from its file."""
    if spec.kind in ("trained", "brought"):
        from pipeline import keras_models

        return keras_models.load(spec, path, corpus)
    raise PipelineError(f"model {spec.name}: no adapter reads {spec.kind} models")
