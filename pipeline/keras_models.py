"""Keras models behind the one model interface (pipeline/classifier.py): those trained here, which read the
pipeline's token ids, and those a user brings as a .keras file, which read strings (a TextVectorization layer
inside) or token ids (with their vocabulary file and tokenizer settings).

Integrated gradients work on any of them without cutting the model apart: while the gradients are taken, the
embedding layer's call returns the point on the path instead of looking tokens up, and a softmax or sigmoid
output layer is made linear, so the target is the logits. Padding keeps its own embedding all along the path;
only the text's tokens move from zero to their embedding.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import zipfile
from pathlib import Path

from pipeline import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pipeline.classifier import Classifier, Corpus, Scores, align  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.registry import ModelSpec  # noqa: E402
from pipeline.text import OOV  # noqa: E402

LENGTH_STEP = 16  # batches of a model that takes any length are cut to their longest text, rounded up to this


def load(spec: ModelSpec, path: Path, corpus: Corpus) -> KerasClassifier:
    settings = spec.settings
    if spec.kind == "trained":
        return TrainedClassifier(spec, keras.models.load_model(path), corpus)
    where = f"model {spec.name} ({settings['file']})"
    for module in settings["modules"]:
        try:
            importlib.import_module(module)
        except Exception as e:  # noqa: BLE001 - the user's module, any error
            raise PipelineError(
                f"{where}: cannot import module {module!r} ({first_line(e)}); check [{spec.name}] modules"
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
        raise PipelineError(f"{where}: cannot load it ({first_line(e)})") from None
    return BroughtClassifier(spec, model, corpus)


def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


@contextlib.contextmanager
def _replaced(layer: keras.layers.Layer, name: str, value) -> None:
    """Set an attribute of a layer for the duration of the block."""
    original = getattr(layer, name)
    setattr(layer, name, value)
    try:
        yield
    finally:
        setattr(layer, name, original)


class KerasClassifier(Classifier):
    """What every Keras model shares: batches, predictions, latent vectors and integrated gradients. A subclass
    says how texts become the model's inputs and token ids."""

    def __init__(self, spec: ModelSpec, model: keras.Model, corpus: Corpus) -> None:
        self.name, self.kind, self.settings, self.model = spec.name, spec.kind, spec.settings, model
        self.labels = corpus.labels
        self.batch_size = 256

    # --- what a subclass says -----------------------------------------------------------------------------------

    embedding: keras.layers.Embedding | None
    output_layer: keras.layers.Layer
    latent_layer: keras.layers.Layer  # its output is the latent vector, or its input where latent_is_input
    latent_is_input: bool = False
    order: np.ndarray  # order[i]: the output column of the data's class i
    logits: bool = False  # whether the outputs are logits already

    def inputs(self, corpus: Corpus, rows: np.ndarray) -> tuple[object, np.ndarray]:
        """What the model takes for these texts, and their token ids (0: padding)."""
        raise NotImplementedError

    def model_tokens(self, ids: np.ndarray) -> list[str] | None:
        """The model's tokens for these ids (None: they are the pipeline's own, position by position)."""
        return None

    # --- the interface ------------------------------------------------------------------------------------------

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "architecture": self.settings["architecture"],
            "description": describe(self.model),
            "parameters": self.model.count_params(),
            "no_attributions": self.no_attributions,
        }

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """The model's outputs as every class's probability, in the data's label order."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.logits:
            outputs = 1 / (1 + np.exp(-outputs)) if outputs.shape[1] == 1 else _softmax(outputs)
        if outputs.shape[1] == 1:
            outputs = np.concatenate([1 - outputs, outputs], axis=1)
        return outputs[:, self.order]

    @functools.cached_property
    def _compiled_scored(self):
        """_scored compiled once for all the parts of the texts."""
        return tf.function(self._scored, reduce_retracing=True)

    def predict(self, corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
        probabilities, latent = [], []
        for start in range(0, len(corpus), self.batch_size):
            rows = np.arange(start, min(start + self.batch_size, len(corpus)))
            outputs, vectors = self._compiled_scored(self.inputs(corpus, rows)[0])
            probabilities.append(self.probabilities(outputs.numpy()))
            latent.append(vectors.numpy().reshape(len(rows), -1))
        return np.concatenate(probabilities), np.concatenate(latent).astype(np.float32)

    def _scored(self, inputs) -> tuple[tf.Tensor, tf.Tensor]:
        """The model's outputs and latent vectors. The latent layer's call is wrapped to keep what it takes or
        gives: that works in a model nested in another as well as in a flat one, Functional or Sequential."""
        kept = []
        call = self.latent_layer.call

        def keeping(*args, **kwargs):
            result = call(*args, **kwargs)
            kept.append(args[0] if self.latent_is_input else result)
            return result

        with _replaced(self.latent_layer, "call", keeping):
            outputs = self.model(inputs, training=False)
        return outputs, kept[-1]

    def check(self, corpus: Corpus) -> None:
        """Run the first batch, so that a model that cannot read the texts fails with its own error."""
        try:
            self._scored(self.inputs(corpus, np.arange(min(8, len(corpus))))[0])
        except Exception as e:  # noqa: BLE001 - the model's own error, whatever it is
            raise PipelineError(f"model {self.name}: failed on the first batch of texts ({first_line(e)})") from None

    def movable(self, ids: np.ndarray) -> np.ndarray:
        """The tokens that move along the path from the baseline (the others keep their embedding): all but
        padding (id 0)."""
        return ids != 0

    def on_words(self, corpus: Corpus, row: int, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The scores of text `row`'s movable tokens (`ids`) laid on the pipeline's words."""
        theirs = self.model_tokens(ids)
        return scores if theirs is None else align(corpus.words[row], theirs, scores)

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        run = self._integrated_gradients(steps)
        lengths = (corpus.tokens.sequences != 0).sum(axis=1)
        order = np.argsort(lengths, kind="stable")  # similar lengths batch together
        scores: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(order)
        k = len(self.labels) - 1
        at_review = np.zeros((len(order), k), dtype=np.float32)
        at_baseline = np.zeros((len(order), k), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            inputs, ids = self.inputs(corpus, rows)
            moving = self.movable(ids)
            batch_scores, review_target, baseline_target = (
                value.numpy() for value in run(inputs, tf.constant(ids), tf.constant(moving))
            )
            for i, row in enumerate(rows):
                scores[row] = self.on_words(corpus, row, ids[i][moving[i]], batch_scores[i][moving[i]])
            at_review[rows], at_baseline[rows] = review_target, baseline_target
        return Scores(scores, at_review, at_baseline)

    # --- integrated gradients -----------------------------------------------------------------------------------

    def _targets(self, outputs: tf.Tensor, linear: bool) -> tf.Tensor:
        """The centred logits of the data's classes 1 to n-1, from the outputs of the model (made linear, or not)."""
        if not linear and not self.logits:
            outputs = tf.math.log(tf.maximum(outputs, 1e-30))  # log-probabilities: logits up to a constant
        if outputs.shape[-1] == 1:
            outputs = tf.concat([tf.zeros_like(outputs), outputs], axis=-1)
        logits = tf.gather(outputs, self.order, axis=-1)
        return (logits - tf.reduce_mean(logits, axis=-1, keepdims=True))[:, 1:]

    @property
    def _swappable(self) -> bool:
        """Whether the output layer ends in a softmax or sigmoid that can be made linear, to give logits."""
        activation = getattr(getattr(self.output_layer, "activation", None), "__name__", "")
        return not self.logits and activation in ("softmax", "sigmoid")

    @functools.cache  # noqa: B019 - one compiled function per model and number of steps, for all parts of the texts
    def _integrated_gradients(self, steps: int):
        """A compiled function (inputs, token ids, which tokens move) -> (scores: texts x tokens x classes - 1, targets
        at the text and at the baseline: texts x classes - 1). Midpoints of `steps` equal intervals of the straight
        path; the tokens that do not move keep their embedding all along."""
        alphas = tf.constant((np.arange(steps) + 0.5) / steps, dtype=tf.float32)
        embedding, model, linear = self.embedding, self.model, self._swappable
        look_up = embedding.call

        def targets_at(inputs, embedded):
            made_linear = (
                _replaced(self.output_layer, "activation", keras.activations.linear)
                if linear
                else contextlib.nullcontext()
            )
            with _replaced(embedding, "call", lambda *args, **kwargs: embedded), made_linear:
                return self._targets(model(inputs, training=False), linear)

        @tf.function(reduce_retracing=True)
        def run(inputs, ids, movable):
            embedded = look_up(ids)
            real = tf.cast(movable, embedded.dtype)[..., None]
            batch, length, width = tf.shape(embedded)[0], tf.shape(embedded)[1], tf.shape(embedded)[2]
            moving = embedded * real
            path = tf.reshape(
                alphas[:, None, None, None] * moving[None] + (embedded - moving)[None], (-1, length, width)
            )
            tiled = tf.nest.map_structure(lambda x: tf.tile(x, [steps] + [1] * (len(x.shape) - 1)), inputs)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(path)
                targets = targets_at(tiled, path)
            scores = []
            for c in range(len(self.labels) - 1):
                # The gradient of class c's target alone: the others' outputs weigh nothing.
                weights = tf.one_hot(tf.fill([tf.shape(targets)[0]], c), len(self.labels) - 1)
                gradients = tf.reshape(
                    tape.gradient(targets, path, output_gradients=weights), (steps, batch, length, width)
                )
                scores.append(tf.reduce_sum(moving * tf.reduce_mean(gradients, axis=0), axis=-1))
            del tape
            return tf.stack(scores, axis=-1), targets_at(inputs, embedded), targets_at(inputs, embedded - moving)

        return run


class TrainedClassifier(KerasClassifier):
    """A model trained here (pipeline/models.py): it reads the pipeline's token ids, any number of them."""

    def __init__(self, spec: ModelSpec, model: keras.Model, corpus: Corpus) -> None:
        super().__init__(spec, model, corpus)
        self.embedding = model.get_layer("embedding")
        head = model.get_layer("head")
        self.output_layer, self.latent_layer = head.get_layer("output"), head.get_layer("latent")
        self.order = np.arange(len(self.labels))
        self.batch_size = 1024

    def inputs(self, corpus: Corpus, rows: np.ndarray) -> tuple[object, np.ndarray]:
        ids = _cut(corpus.tokens.sequences[rows])
        return tf.constant(ids), ids

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        if self.settings["architecture"] == "dense":
            return self._dense_exact(corpus.tokens.sequences)
        return super().attribute(corpus, steps, batch_size)

    def _dense_exact(self, sequences: np.ndarray) -> Scores:
        """The dense architecture averages a function of each token alone, so its target is a sum over tokens and
        its integrated gradients have a closed form: token t scores (g(e_t) - g(0)) / n, where g is the target a
        text made of that token only would get and n the text's length. Exact, for one pass over the vocabulary."""
        head = self.model.get_layer("head")
        table = self.embedding.get_weights()[0]
        kernel, bias = head.get_layer("dense").get_weights()
        out_kernel, out_bias = self.output_layer.get_weights()
        directions = (out_kernel - out_kernel.mean(axis=1, keepdims=True))[:, 1:]
        offsets = (out_bias - out_bias.mean())[1:]
        per_word = np.maximum(table @ kernel + bias, 0) @ directions  # g(e_w) - offset, for every word w and class
        at_zero = np.maximum(bias, 0) @ directions  # g(0) - offset
        lengths = (sequences != 0).sum(axis=1)
        scores = [
            ((per_word[row[:n]] - at_zero) / max(n, 1)).astype(np.float32)
            for row, n in zip(sequences, lengths, strict=True)
        ]
        sums = np.array([s.sum(axis=0) for s in scores]).reshape(len(scores), -1)
        return Scores(
            scores,
            (sums + at_zero + offsets).astype(np.float32),
            np.broadcast_to(at_zero + offsets, sums.shape).astype(np.float32),
        )


class BroughtClassifier(KerasClassifier):
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
            self.latent_layer = _layer(model, settings["latent_layer"], name, "latent_layer")
        else:
            self.latent_layer, self.latent_is_input = self.output_layer, True
        embeddings = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Embedding)]
        if settings["embedding_layer"]:
            self.embedding = _layer(model, settings["embedding_layer"], name, "embedding_layer")
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
            self.cut = self._padding_free(corpus)

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
        self.cut = False
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
        if self.cut:
            ids = _cut(ids)
        return tf.constant(ids.astype(np.int32)), ids

    def _padding_free(self, corpus: Corpus) -> bool:
        """Whether the model scores the first texts the same with their padding cut or lengthened."""
        if self.fixed:
            return False
        ids = self.inputs(corpus, np.arange(min(8, len(corpus))))[1]
        cut, longer = _cut(ids), np.pad(ids, ((0, 0), (0, LENGTH_STEP)))
        outputs = [self.model(tf.constant(x), training=False).numpy() for x in (cut, longer)]
        return bool(np.allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-6))

    def model_tokens(self, ids: np.ndarray) -> list[str] | None:
        if not self.strings and self.ours:
            return None
        return [self.vocabulary[i] if i < len(self.vocabulary) else "[UNK]" for i in ids]

    def attribute(self, corpus: Corpus, steps: int, batch_size: int) -> Scores:
        if self.embedding is None:
            raise PipelineError(f"model {self.name}: no attributions, {self.no_attributions}")
        return super().attribute(corpus, steps, batch_size)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _cut(ids: np.ndarray) -> np.ndarray:
    """Token ids cut to the batch's longest text (rounded up to LENGTH_STEP): padding changes nothing."""
    longest = int((ids != 0).sum(axis=1).max()) if len(ids) else 0
    return ids[:, : max(LENGTH_STEP, -(-longest // LENGTH_STEP) * LENGTH_STEP)]


def all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer, those of nested models too, in order."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(all_layers(layer))
    return found


def _layer(model: keras.Model, name: str, model_name: str, setting: str) -> keras.layers.Layer:
    for layer in all_layers(model):
        if layer.name == name:
            return layer
    names = ", ".join(layer.name for layer in all_layers(model))
    raise PipelineError(f"model {model_name}: no layer {name!r}; set [{model_name}] {setting} to one of {names}")


def describe(model: keras.Model) -> str:
    """The architecture in one line, e.g. 'Embedding(20000, 32) > Dense(32, relu) > ... > Dense(2, softmax)'."""
    parts = []
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.TextVectorization):
            parts.append(f"TextVectorization({layer.vocabulary_size()})")
        elif isinstance(layer, keras.layers.Embedding):
            parts.append(f"Embedding({layer.input_dim}, {layer.output_dim})")
        elif isinstance(layer, keras.layers.Conv1D):
            parts.append(f"Conv1D({layer.filters}, {layer.kernel_size[0]})")
        elif isinstance(layer, keras.layers.Dense):
            parts.append(f"Dense({layer.units}, {layer.activation.__name__})")
        elif isinstance(
            layer, (keras.layers.MaxPooling1D, keras.layers.GlobalMaxPooling1D, keras.layers.GlobalAveragePooling1D)
        ):
            parts.append(type(layer).__name__)
        elif not isinstance(layer, (keras.layers.InputLayer, keras.Model)) and layer.weights:
            parts.append(type(layer).__name__)
    return " > ".join(parts)
