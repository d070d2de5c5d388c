"""What every Keras model shares behind the one model interface (pipeline/models/classifier.py): batches,
predictions, latent vectors and integrated gradients. A subclass says how texts become the model's inputs and token
ids: pipeline/models/trained.py for the models trained here, pipeline/models/keras_file.py for a user's .keras file,
pipeline/models/transformer.py for a transformer checkpoint.

Integrated gradients work on any of them without cutting the model apart: while the gradients are taken, the
embedding layer's call returns the point on the path instead of looking tokens up, and a softmax or sigmoid
output layer is made linear, so the target is the logits. Padding keeps its own embedding all along the path;
only the text's tokens move from zero to their embedding.
"""

from __future__ import annotations

import contextlib
import functools

from pipeline import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pipeline.errors import PipelineError, first_line  # noqa: E402
from pipeline.models.classifier import Classifier, Corpus, Scores, align  # noqa: E402
from pipeline.registry import ModelSpec  # noqa: E402

LENGTH_STEP = 16  # batches of a model that takes any length are cut to their longest text, rounded up to this


@contextlib.contextmanager
def replaced(layer: keras.layers.Layer, name: str, value) -> None:
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
        self.architecture = spec.architecture
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
            "architecture": self.architecture,
            "description": describe(self.model),
            "parameters": self.model.count_params(),
            "no_attributions": self.no_attributions,
        }

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """The model's outputs as every class's probability, in the data's label order."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.logits:
            outputs = 1 / (1 + np.exp(-outputs)) if outputs.shape[1] == 1 else softmax(outputs)
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

        with replaced(self.latent_layer, "call", keeping):
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
        at_text = np.zeros((len(order), k), dtype=np.float32)
        at_baseline = np.zeros((len(order), k), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            inputs, ids = self.inputs(corpus, rows)
            moving = self.movable(ids)
            batch_scores, text_target, baseline_target = (
                value.numpy() for value in run(inputs, tf.constant(ids), tf.constant(moving))
            )
            for i, row in enumerate(rows):
                scores[row] = self.on_words(corpus, row, ids[i][moving[i]], batch_scores[i][moving[i]])
            at_text[rows], at_baseline[rows] = text_target, baseline_target
        return Scores(scores, at_text, at_baseline)

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
                replaced(self.output_layer, "activation", keras.activations.linear)
                if linear
                else contextlib.nullcontext()
            )
            with replaced(embedding, "call", lambda *args, **kwargs: embedded), made_linear:
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


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cut(ids: np.ndarray) -> np.ndarray:
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


def layer_named(model: keras.Model, name: str, model_name: str, setting: str) -> keras.layers.Layer:
    for layer in all_layers(model):
        if layer.name == name:
            return layer
    names = ", ".join(layer.name for layer in all_layers(model))
    raise PipelineError(f"model {model_name}: no layer {name!r}; set [{model_name}] {setting} to one of {names}")


def main_path(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers from the input to the output along each layer's first input, through nested models: the path a
    reader would draw, without side branches such as the trained models' padding masks. Every layer, in order, for
    a model with no graph to follow."""
    path: list[keras.layers.Layer] = []
    try:
        tensor = model.outputs[0]
        while True:
            layer, node_index, _ = tensor._keras_history
            if layer is None or isinstance(layer, keras.layers.InputLayer):
                break
            path.extend(reversed(main_path(layer)) if isinstance(layer, keras.Model) else [layer])
            inputs = layer._inbound_nodes[node_index].input_tensors
            if not inputs:
                break
            tensor = inputs[0]
    except (AttributeError, IndexError, TypeError, ValueError):
        return all_layers(model)
    return path[::-1]


def describe(model: keras.Model) -> str:
    """The architecture in one line, e.g. 'Embedding(20000, 32) > Dense(32, relu) > ... > Dense(2, softmax)'."""
    parts = []
    for layer in main_path(model):
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
