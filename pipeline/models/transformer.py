"""Fine-tuned transformer checkpoints behind the one model interface (pipeline/models/classifier.py), read locally from
their folder (pipeline/models/checkpoints.py), without PyTorch.

The backbone is built and its weights ported by keras-hub's converter for the architecture; the classification
head, which the converter leaves out, is ported here; what a converter gets wrong is put right here too (BERT's exact
GELU, which keras-hub approximates; RoBERTa's token-type embedding, which it leaves out), and
tests/models/test_transformers.py holds the logits to Hugging Face's own within 1e-4. Texts are tokenized by the
checkpoint's own tokenizer (tokenizer.json, or its vocabulary files), so the model reads exactly its own tokens.

Integrated gradients run on the token embeddings, the special tokens held fixed; a word's subword scores are summed
and laid on the pipeline's words (classifier.align), so a text's scores still sum to the change in the target.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import quiet_tensorflow
from pipeline.errors import PipelineError
from pipeline.models.checkpoints import MAX_LENGTH, SUPPORTED, class_order, head_width, read_config, read_tokenizer
from pipeline.models.classifier import Corpus, align
from pipeline.registry import ModelSpec

quiet_tensorflow()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from pipeline.models.keras_classifier import LENGTH_STEP, KerasClassifier  # noqa: E402

# The feed-forward activations of the checkpoints, by their names in config.json.
ACTIVATIONS = {
    "gelu": lambda x: keras.activations.gelu(x, approximate=False),
    "gelu_new": lambda x: keras.activations.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: keras.activations.gelu(x, approximate=True),
    "relu": keras.activations.relu,
}


class TransformerClassifier(KerasClassifier):
    """A BERT, DistilBERT or RoBERTa checkpoint fine-tuned for sequence classification."""

    logits = True

    def __init__(self, spec: ModelSpec, folder: Path, corpus: Corpus) -> None:
        super().__init__(spec, None, corpus)
        config = read_config(folder, spec.name)
        self.config, self.model_type = config, config["model_type"]
        width = head_width(folder, self.model_type, spec.name)
        self.order = class_order(config, width, corpus.labels, spec.settings, spec.name)
        self.batch_size = spec.settings["batch_size"]
        limit = config.get("max_position_embeddings", MAX_LENGTH) - (2 if self.model_type == "roberta" else 0)
        self.length = min(spec.settings["sequence_length"] or MAX_LENGTH, limit, MAX_LENGTH)
        self.tokenizer = read_tokenizer(folder)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.length)
        self.pad = int(config.get("pad_token_id") or 0)
        self.special = np.array(sorted({self.pad, *self.tokenizer.get_added_tokens_decoder()}), dtype=np.int32)
        self.backbone = self._backbone(folder, config)
        self.model, self.latent_layer, self.output_layer = self._with_head(folder)
        self.latent_is_input = True
        self.embedding = self.backbone.token_embedding

    # --- the model: keras-hub's backbone, put right, and the checkpoint's head ------------------------------------

    def _backbone(self, folder: Path, config: dict) -> keras.Model:
        from keras_hub.src.utils.transformers import convert_bert, convert_distilbert, convert_roberta
        from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

        converter = {"bert": convert_bert, "distilbert": convert_distilbert, "roberta": convert_roberta}[
            self.model_type
        ]
        extra = {"num_segments": config.get("type_vocab_size", 2)} if self.model_type == "bert" else {}
        backbone = converter.backbone_cls(**converter.convert_backbone_config(config), **extra)
        with SafetensorLoader(str(folder)) as loader:
            converter.convert_weights(backbone, loader, config)
            if self.model_type == "roberta" and self._has(loader, "embeddings.token_type_embeddings.weight"):
                # RoBERTa adds token type 0's embedding to every token; keras-hub leaves it out. Every position gets
                # it instead, which sums the same and leaves the token embeddings (and their attributions) as they are.
                positions = backbone.embeddings.position_embedding.position_embeddings
                types = loader.get_tensor("embeddings.token_type_embeddings.weight")
                positions.assign(positions.numpy() + types[0])
        # keras-hub's BERT uses the tanh approximation of GELU; the checkpoint says which it was trained with.
        activation = config.get("hidden_act", config.get("activation", "gelu"))
        if activation not in ACTIVATIONS:
            raise PipelineError(
                f"model {self.name}: activation {activation!r} is not supported; it reads {', '.join(ACTIVATIONS)}"
            )
        for layer in backbone.transformer_layers:
            layer._feedforward_intermediate_dense.activation = ACTIVATIONS[activation]
        # keras-hub fixes each architecture's layer-norm epsilon; the checkpoint's own is the one it was trained with.
        epsilon = config.get("layer_norm_eps", backbone.embeddings_layer_norm.epsilon)
        norms = [backbone.embeddings_layer_norm]
        for layer in backbone.transformer_layers:
            norms += [layer._self_attention_layer_norm, layer._feedforward_layer_norm]
        for norm in norms:
            norm.epsilon = epsilon
        return backbone

    @staticmethod
    def _has(loader, key: str) -> bool:
        try:
            loader.get_tensor(key)
        except Exception:  # noqa: BLE001 - the loader raises what the file format raises
            return False
        return True

    def _with_head(self, folder: Path) -> tuple[keras.Model, keras.layers.Layer, keras.layers.Layer]:
        """The backbone with the checkpoint's classification head: (model to logits, latent layer, output layer).
        The latent vector is the head's input, as transformers draws the line: BERT's pooled output, DistilBERT's
        and RoBERTa's first token."""
        from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

        classes = len(self.order)
        inputs = dict(self.backbone.input)
        outputs = self.backbone(inputs)
        with SafetensorLoader(str(folder)) as loader:

            def dense(units: int, key: str, activation=None) -> keras.layers.Dense:
                layer = keras.layers.Dense(units, activation=activation, name=key.replace(".", "_"))
                layer.build((None, self.backbone.hidden_dim))
                layer.kernel.assign(loader.get_tensor(f"{key}.weight").T)
                layer.bias.assign(loader.get_tensor(f"{key}.bias"))
                return layer

            hidden = self.backbone.hidden_dim
            if self.model_type == "bert":
                output = dense(classes, "classifier")
                latent_layer, logits = output, output(outputs["pooled_output"])
            elif self.model_type == "distilbert":
                pre, output = dense(hidden, "pre_classifier", "relu"), dense(classes, "classifier")
                latent_layer, logits = pre, output(pre(outputs[:, 0, :]))
            else:
                pre, output = dense(hidden, "classifier.dense", "tanh"), dense(classes, "classifier.out_proj")
                latent_layer, logits = pre, output(pre(outputs[:, 0, :]))
        return keras.Model(inputs, logits, name=self.name), latent_layer, output

    # --- the interface --------------------------------------------------------------------------------------------

    def describe(self) -> dict:
        config = self.config
        layers = config.get("num_hidden_layers", config.get("n_layers"))
        width = config.get("hidden_size", config.get("dim"))
        return {
            "kind": self.kind,
            "architecture": self.architecture,
            "description": f"{SUPPORTED[self.model_type]}: {layers} layers, {width} wide, {self.length} tokens at most",
            "parameters": self.model.count_params(),
            "no_attributions": None,
        }

    def encode(self, texts: list[str]):
        return self.tokenizer.encode_batch([str(text) for text in texts])

    def inputs(self, corpus: Corpus, rows: np.ndarray) -> tuple[object, np.ndarray]:
        encodings = self.encode(corpus.texts[rows])
        longest = max((len(e.ids) for e in encodings), default=1)
        # Rounded up to a step, so that few shapes are compiled, but never past the positions the model has.
        width = min(max(LENGTH_STEP, -(-longest // LENGTH_STEP) * LENGTH_STEP), self.length)
        ids = np.full((len(rows), width), self.pad, dtype=np.int32)
        mask = np.zeros((len(rows), width), dtype=np.int32)
        for i, encoding in enumerate(encodings):
            ids[i, : len(encoding.ids)] = encoding.ids
            mask[i, : len(encoding.ids)] = 1
        inputs = {"token_ids": tf.constant(ids), "padding_mask": tf.constant(mask)}
        if self.model_type == "bert":
            inputs["segment_ids"] = tf.zeros_like(inputs["token_ids"])
        return inputs, ids

    def movable(self, ids: np.ndarray) -> np.ndarray:
        """Tokens that move along the path: every token but the special ones and padding."""
        return ~np.isin(ids, self.special)

    def on_words(self, corpus: Corpus, row: int, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The scores of one text's tokens (ids, scores: its movable tokens) laid on the pipeline's words: each
        model word's subwords summed, the word cleaned as the pipeline cleans, and aligned."""
        from pipeline.data.text import tokenize_all

        text = str(corpus.texts[row])
        encoding = self.encode([text])[0]
        kept = self.movable(np.array(encoding.ids, dtype=np.int32))
        words, sums = [], []
        for word, (start, end), score in zip(
            np.array(encoding.word_ids, dtype=object)[kept], np.array(encoding.offsets)[kept], scores, strict=True
        ):
            if words and word == words[-1][0]:
                words[-1][2] = max(words[-1][2], end)
                sums[-1] = sums[-1] + score
            else:
                words.append([word, start, end])
                sums.append(score.astype(np.float64))
        theirs, laid = [], []
        for pieces, score in zip(
            tokenize_all(pd.Series([text[s:e] for _, s, e in words], dtype=object)), sums, strict=True
        ):
            for piece in pieces or [""]:  # a word the cleaning removes (punctuation) still keeps its score
                theirs.append(piece)
                laid.append(score / max(len(pieces), 1))
        if not theirs:
            return np.zeros((0, scores.shape[1]), np.float32)
        return align(corpus.words[row], theirs, np.array(laid, dtype=np.float32))


def load(spec: ModelSpec, folder: Path, corpus: Corpus) -> TransformerClassifier:
    classifier = TransformerClassifier(spec, Path(folder), corpus)
    classifier.check(corpus)
    return classifier
