"""An ONNX export of a text classifier (MODEL=folder: model.onnx, tokenizer.json and config.json, as
`optimum-cli export onnx --task text-classification` writes them) behind the one model interface, run with ONNX
Runtime: any architecture that exports (DeBERTa-v3, ModernBERT, XLM-RoBERTa, ELECTRA as well as BERT and kin), on
this machine's CPU, or its GPU where onnxruntime-gpu is installed. The folder's own tokenizer reads the texts and its
config.json's id2label names the classes. The latent vector is the graph output the settings name (latent_output),
where the export exposes the head's input; heat maps are made by calling it (pipeline/per_text/occlusion.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError, first_line
from pipeline.models.checkpoints import MAX_LENGTH, class_order, read_tokenizer
from pipeline.models.classifier import Corpus
from pipeline.per_text.occlusion import WithoutGradients
from pipeline.registry import ModelSpec

EXPORT = "export one with optimum-cli export onnx --model <checkpoint> --task text-classification <folder>"


def check(folder: Path, name: str, settings: dict) -> None:
    """What the folder must hold, each missing part one line."""
    where = f"model {name} ({folder})"
    graph = settings["onnx_file"]
    if not (folder / graph).is_file():
        others = sorted(path.name for path in folder.glob("*.onnx"))
        also = f" (it has {', '.join(others)}: name one in [{name}] onnx_file)" if others else ""
        raise PipelineError(f"{where}: no {graph}{also}; {EXPORT}")
    if not (folder / "tokenizer.json").is_file():
        raise PipelineError(
            f"{where}: no tokenizer.json; save the tokenizer into the folder: tokenizer.save_pretrained"
        )
    if not (folder / "config.json").is_file():
        raise PipelineError(f"{where}: no config.json, which names the classes (id2label); {EXPORT}")


def session(path: Path, name: str):
    """An ONNX Runtime session on the GPU where one is there, else the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # Threads that wait by spinning lose on a few shared cores: 1.4x the texts a second without (4-layer BERT, 2 cores).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    available = onnxruntime.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=providers)
    except Exception as e:  # noqa: BLE001 - ONNX Runtime raises its own kinds
        raise PipelineError(f"model {name} ({path}): ONNX Runtime cannot load it ({first_line(e)})") from None


def inspect(folder: Path, settings: dict) -> dict:
    """What the settings learn from the graph itself (the registry's `inspect`): whether it gives the latent vector."""
    if not settings["latent_output"] or not (folder / settings["onnx_file"]).is_file():  # the copy step says why
        return {"embeddings": False}
    outputs = [output.name for output in session(folder / settings["onnx_file"], "given").get_outputs()]
    return {"embeddings": settings["latent_output"] in outputs}


class OnnxClassifier(WithoutGradients):
    def __init__(self, spec: ModelSpec, folder: Path, corpus: Corpus) -> None:
        super().__init__(spec, corpus)
        folder = Path(folder)
        check(folder, spec.name, self.settings)
        where = f"model {spec.name} ({folder})"
        try:
            self.config = json.loads((folder / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise PipelineError(f"{folder / 'config.json'}: cannot read it ({e}); {EXPORT}") from None
        self.session = session(folder / self.settings["onnx_file"], spec.name)
        self.input_names = [i.name for i in self.session.get_inputs()]
        outputs = {o.name: o for o in self.session.get_outputs()}
        logits, latent = self.settings["logits_output"], self.settings["latent_output"]
        if logits not in outputs:
            raise PipelineError(
                f"{where}: the graph has no output {logits!r}; set [{spec.name}] logits_output to one of "
                f"{', '.join(outputs)}"
            )
        if latent and latent not in outputs:
            raise PipelineError(
                f"{where}: the graph has no output {latent!r}; set [{spec.name}] latent_output to one of "
                f"{', '.join(outputs)}, or leave it empty"
            )
        self.wanted = [logits] + ([latent] if latent else [])
        if "input_ids" not in self.input_names:
            raise PipelineError(f"{where}: the graph takes {', '.join(self.input_names)}, not input_ids; {EXPORT}")
        width = outputs[logits].shape[-1]
        self.tokenizer = read_tokenizer(folder)
        self.tokenizer.no_padding()
        limit = self.config.get("max_position_embeddings", MAX_LENGTH)
        if self.config.get("model_type") in ("roberta", "xlm-roberta", "camembert"):
            limit -= 2  # their positions start after the padding index
        self.length = min(self.settings["sequence_length"] or MAX_LENGTH, limit, MAX_LENGTH)
        self.tokenizer.enable_truncation(self.length)
        self.pad = int(self.config.get("pad_token_id") or 0)
        if not isinstance(width, int):  # a symbolic width: read it off one text
            width = self._run(["a"])[0].shape[-1]
        self.order = class_order(self.config, width, self.labels, self.settings, spec.name, "the graph's logits output")

    def what(self) -> str:
        config = self.config
        layers = config.get("num_hidden_layers", config.get("n_layers"))
        width = config.get("hidden_size", config.get("dim"))
        shape = f"{layers} layers, {width} wide, " if layers and width else ""
        return f"ONNX {config.get('model_type', 'model')}: {shape}{self.length} tokens at most"

    def _run(self, texts: list[str]) -> list[np.ndarray]:
        encodings = self.tokenizer.encode_batch([str(text) for text in texts])
        longest = max((len(e.ids) for e in encodings), default=1)
        ids = np.full((len(texts), max(longest, 1)), self.pad, dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, encoding in enumerate(encodings):
            ids[i, : len(encoding.ids)] = encoding.ids
            mask[i, : len(encoding.ids)] = 1
        given = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        given["position_ids"] = np.broadcast_to(np.arange(ids.shape[1]), ids.shape).copy()
        missing = [name for name in self.input_names if name not in given]
        if missing:
            raise PipelineError(
                f"model {self.name}: the graph also takes {', '.join(missing)}, which reviewlens does not know how to "
                "fill; export the model with input_ids and attention_mask"
            )
        return self.session.run(self.wanted, {name: given[name] for name in self.input_names})

    def predict(self, corpus: Corpus) -> tuple[np.ndarray, np.ndarray | None]:
        texts = [str(text) for text in corpus.texts]
        # Texts of similar length together: less padding to run through the graph.
        order = np.argsort([len(text) for text in texts], kind="stable")
        probabilities = np.zeros((len(texts), len(self.labels)))
        latent = None
        size = self.settings["batch_size"]
        for start in range(0, len(texts), size):
            rows = order[start : start + size]
            found = self._run([texts[row] for row in rows])
            scores = np.asarray(found[0], dtype=np.float64)
            if not self.settings["probabilities"]:
                scores = np.exp(scores - scores.max(axis=1, keepdims=True))
                scores /= scores.sum(axis=1, keepdims=True)
            probabilities[rows] = scores[:, self.order]
            if len(found) > 1:
                vectors = np.asarray(found[1], dtype=np.float32)
                vectors = vectors[:, 0, :] if vectors.ndim == 3 else vectors.reshape(len(rows), -1)
                if latent is None:
                    latent = np.zeros((len(texts), vectors.shape[1]), np.float32)
                latent[rows] = vectors
        return probabilities, latent


def load(spec: ModelSpec, folder: Path, corpus: Corpus) -> OnnxClassifier:
    return OnnxClassifier(spec, Path(folder), corpus)
