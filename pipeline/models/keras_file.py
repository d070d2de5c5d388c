"""A user's own Keras model, saved as a .keras file (MODEL=model.keras), behind the one model interface: it reads
strings (a TextVectorization layer inside) or token ids (with its vocabulary file and tokenizer settings), and gives
softmax, sigmoid or logits."""

from __future__ import annotations

import importlib
import re
import zipfile
from pathlib import Path

import numpy as np

from pipeline.data.text import OOV
from pipeline.errors import PipelineError, first_line
from pipeline.models.classifier import Corpus, Scores
from pipeline.models.keras_classifier import LENGTH_STEP, KerasClassifier, all_layers, cut, keras, layer_named, tf
from pipeline.registry import ModelSpec


def check(path: Path, name: str, settings: dict | None = None) -> None:
    """A .keras file is a zip archive; anything else is not a saved Keras model."""
    if not zipfile.is_zipfile(path):
        raise PipelineError(f"{path}: not a Keras model; save yours with model.save('name.keras') and bring that file")


def load(spec: ModelSpec, path: Path, corpus: Corpus) -> KerasFileClassifier:
    settings = spec.settings
    where = f"model {spec.name} ({settings['file']})"
    for module in settings["modules"]:
        try:
            importlib.import_module(module)
        except Exception as e:  # noqa: BLE001 - the user's module, any error
            problem = first_line(e, with_type=True)
            raise PipelineError(
                f"{where}: cannot import module {module!r} ({problem}); check [{spec.name}] modules"
            ) from None
    if not zipfile.is_zipfile(path):
        raise PipelineError(f"{where}: not a Keras model; save yours with model.save('name.keras') and bring that file")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - Keras raises many kinds
        missing = sorted(set(re.findall(r"Could not locate (?:class|function) '([^']+)'", str(e))))
        if missing:
            raise PipelineError(
                f"{where}: needs custom objects {', '.join(missing)}; decorate them with "
                f"@keras.saving.register_keras_serializable() in a module and name it in [{spec.name}] modules"
            ) from None
        raise PipelineError(f"{where}: cannot load it ({first_line(e, with_type=True)})") from None
    return KerasFileClassifier(spec, model, corpus)


class KerasFileClassifier(KerasClassifier):
    """A model saved by its user: strings in (with a TextVectorization layer inside) or token ids in (with its
    vocabulary file and tokenizer settings), softmax, sigmoid or logits out."""

    def __init__(self, spec: ModelSpec, model: keras.Model, corpus: Corpus) -> None:
        super().__init__(spec, model, corpus)
        settings, name = self.settings, spec.name
        self.logits, self.batch_size = settings["logits"], settings["batch_size"]
        self.output_layer = all_layers(model)[-1]  # the last layer, in a nested model too
        width = model.outputs[0].shape[-1]
        classes = 2 if width == 1 else width
        if classes != len(self.labels):
            what = "1 unit (2 classes)" if width == 1 else f"{width} classes"
            raise PipelineError(
                f"model {name}: outputs {what} but the data has {len(self.labels)} labels "
                f"({', '.join(self.labels)}); bring a model trained on this label set"
            )
        own = [str(label) for label in settings["labels"]] or self.labels
        if sorted(own) != sorted(self.labels):
            raise PipelineError(
                f"model {name}: labels {own} are not the data's ({', '.join(self.labels)}); fix [{name}] labels"
            )
        self.order = np.array([own.index(label) for label in self.labels])
        if settings["latent_layer"]:
            self.latent_layer = layer_named(model, settings["latent_layer"], name, "latent_layer")
        else:
            self.latent_layer, self.latent_is_input = self.output_layer, True
        embeddings = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Embedding)]
        if settings["embedding_layer"]:
            self.embedding = layer_named(model, settings["embedding_layer"], name, "embedding_layer")
        else:
            self.embedding = embeddings[0] if embeddings else None
        if self.embedding is None:
            self.no_attributions = "it has no Embedding layer, which integrated gradients start from"
        self.strings = model.inputs[0].dtype == "string"
        if self.strings:
            found = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.TextVectorization)]
            self.vectorizer = found[0] if found else None
            if self.vectorizer is None and self.embedding is not None:
                self.embedding = None
                self.no_attributions = "it reads strings without a TextVectorization layer, so its tokens are unknown"
            self.vocabulary = list(self.vectorizer.get_vocabulary()) if self.vectorizer is not None else []
        else:
            self._ids_in(settings, name, corpus)
        self.check(corpus)
        if not self.strings:
            # A model that any length of padding leaves unchanged reads batches cut to their longest text: faster.
            self.cut_padding = self._padding_free(corpus)

    def _ids_in(self, settings: dict, name: str, corpus: Corpus) -> None:
        if not settings["vocabulary"]:
            raise PipelineError(
                f"model {name}: takes token ids, so it needs the vocabulary it was trained with; "
                f'set [{name}] vocabulary = "path/to/vocabulary.txt", one token per line'
            )
        path = Path(settings["vocabulary"]).expanduser()
        try:
            self.vocabulary = path.read_text(encoding="utf-8").split("\n")
        except OSError as e:
            raise PipelineError(
                f"model {name}: cannot read vocabulary {path} ({e.strerror}); fix [{name}] vocabulary"
            ) from None
        if self.vocabulary and self.vocabulary[-1] == "":
            self.vocabulary.pop()  # the file's final newline
        if self.embedding is not None and len(self.vocabulary) != self.embedding.input_dim:
            raise PipelineError(
                f"model {name}: vocabulary {path} has {len(self.vocabulary):,} tokens but the embedding layer "
                f"{self.embedding.name} takes {self.embedding.input_dim:,}; give the one the model was trained with"
            )
        fixed = self.model.inputs[0].shape[1] if len(self.model.inputs[0].shape) > 1 else None
        # Every text gets the same number of ids: the setting, the model's input length, or the data's.
        self.fixed = fixed
        self.length = settings["sequence_length"] or fixed or corpus.tokens.sequence_length
        self.cut_padding = False
        self.ours = settings["standardize"] == "reviewlens"
        if self.ours:
            self.index = {token: i for i, token in enumerate(self.vocabulary)}
            self.oov = self.index.get("[UNK]", 1)
            # The pipeline's token ids already hold the words: each of its vocabulary's words has an id here. A text
            # with a word outside the pipeline's vocabulary is read word by word, where the model knows such words.
            ours = [str(word) for word in corpus.tokens.vocabulary]
            self.translate = np.array([self.index.get(word, self.oov) for word in ours], dtype=np.int32)
            self.translate[0] = 0
            self.beyond = bool(set(self.index) - set(ours) - {"", "[UNK]"})
        else:
            self.vectorizer = keras.layers.TextVectorization(
                standardize=None if settings["standardize"] == "none" else settings["standardize"],
                split=settings["split"],
                vocabulary=self.vocabulary,
                output_sequence_length=self.length,
            )

    def inputs(self, corpus: Corpus, rows: np.ndarray) -> tuple[object, np.ndarray]:
        if self.strings:
            texts = tf.constant(list(corpus.texts[rows]), dtype=tf.string)
            if len(self.model.inputs[0].shape) == 2:
                texts = texts[:, None]
            ids = self.vectorizer(texts).numpy() if self.vectorizer is not None else np.zeros((len(rows), 1), np.int32)
            return texts, ids
        if self.ours:
            ids = np.zeros((len(rows), self.length), dtype=np.int32)
            known = corpus.tokens.sequences[rows, : self.length]
            ids[:, : known.shape[1]] = self.translate[known]
            words_needed = (known == OOV).any(axis=1) if self.beyond else np.zeros(len(rows), dtype=bool)
            if self.length > corpus.tokens.sequence_length:  # the model reads further than the pipeline kept
                words_needed |= corpus.tokens.sequences[rows, -1] != 0
            for i in np.flatnonzero(words_needed):
                found = [self.index.get(word, self.oov) for word in corpus.words[rows[i]][: self.length]]
                ids[i, : len(found)] = found
        else:
            ids = self.vectorizer(tf.constant(list(corpus.texts[rows]), dtype=tf.string)).numpy()
        if self.cut_padding:
            ids = cut(ids)
        return tf.constant(ids.astype(np.int32)), ids

    def _padding_free(self, corpus: Corpus) -> bool:
        """Whether the model scores the first texts the same with their padding cut or lengthened."""
        if self.fixed:
            return False
        ids = self.inputs(corpus, np.arange(min(8, len(corpus))))[1]
        shorter, longer = cut(ids), np.pad(ids, ((0, 0), (0, LENGTH_STEP)))
        outputs = [self.model(tf.constant(x), training=False).numpy() for x in (shorter, longer)]
        return bool(np.allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-6))

    def model_tokens(self, ids: np.ndarray) -> list[str] | None:
        if not self.strings and self.ours:
            return None
        return [self.vocabulary[i] if i < len(self.vocabulary) else "[UNK]" for i in ids]

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        if self.embedding is None:
            raise PipelineError(f"model {self.name}: no attributions, {self.no_attributions}")
        return super().attribute(corpus, steps, batch_size)
