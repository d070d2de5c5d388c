"""make bench's figures for fine-tuned transformer checkpoints (pipeline/models/transformer.py): how close their logits
are to Hugging Face's on the committed tiny checkpoints, and what a 4-layer, 256-wide BERT of random weights costs on
2,000 IMDB test texts at 256 subword tokens, beside keras-hub's own predict on the same batches."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import faithfulness
from pipeline import artifacts
from pipeline.config import ROOT, load_config
from pipeline.models.classifier import Corpus
from pipeline.registry import ModelSpec

CHECKPOINTS = ROOT / "tests" / "checkpoints"
LABEL_MAPS = {"roberta": [[f"LABEL_{i}", name] for i, name in enumerate(["billing", "delivery", "login"])]}


def spec(name: str, **settings) -> ModelSpec:
    return ModelSpec(name, "transformer", {**load_config()["transformer"], **settings})


def parity() -> dict:
    """The largest absolute difference from transformers' logits (and latent vectors) of each committed checkpoint."""
    from pipeline.models import transformer

    found = {}
    for folder in sorted(path for path in CHECKPOINTS.iterdir() if (path / "reference.json").is_file()):
        reference = json.loads((folder / "reference.json").read_text())
        corpus = _corpus(reference["texts"], ["billing", "delivery", "login"])
        model = transformer.load(spec(folder.name, label_map=LABEL_MAPS.get(folder.name, [])), folder, corpus)
        logits, latent = (v.numpy() for v in model._scored(model.inputs(corpus, np.arange(len(corpus)))[0]))
        found[folder.name] = {
            "max_logit_difference": float(np.abs(logits - np.array(reference["logits"])).max()),
            "max_latent_difference": float(np.abs(latent - np.array(reference["latent"])).max()),
            "texts": len(corpus),
        }
    return found


def _corpus(texts: list[str], labels: list[str]) -> Corpus:
    """Texts on their own, with the pipeline's words (a vocabulary of nothing: a transformer reads its own)."""
    tokens = artifacts.Tokens(
        text_id=np.arange(1), label=np.zeros(1, np.int16), subset=np.array(["test"]),
        sequences=np.zeros((1, 8), np.int32), n_tokens=np.ones(1, np.int32), n_oov=np.zeros(1, np.int32),
        vocabulary=np.array(["[PAD]", "[OOV]"]), labels=np.array(labels),
    )  # fmt: skip
    return Corpus(np.array(["x"], dtype=object), tokens, labels).of_texts(list(texts))


def random_bert(folder: Path, texts: list[str], layers: int = 4, width: int = 256, seed: int = 0) -> Path:
    """A BertForSequenceClassification checkpoint of random weights as save_pretrained writes it (config.json,
    model.safetensors, tokenizer.json), with a WordPiece tokenizer trained on `texts`; no PyTorch needed."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=8000, special_tokens=special))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    vocabulary, positions, inner = tokenizer.get_vocab_size(), 512, 4 * width
    rng = np.random.default_rng(seed)

    def normal(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.02, shape).astype(np.float32)

    weights = {
        "bert.embeddings.word_embeddings.weight": normal(vocabulary, width),
        "bert.embeddings.position_embeddings.weight": normal(positions, width),
        "bert.embeddings.token_type_embeddings.weight": normal(2, width),
        "bert.embeddings.LayerNorm.weight": np.ones(width, np.float32),
        "bert.embeddings.LayerNorm.bias": np.zeros(width, np.float32),
        "bert.pooler.dense.weight": normal(width, width),
        "bert.pooler.dense.bias": np.zeros(width, np.float32),
        "classifier.weight": normal(2, width),
        "classifier.bias": np.zeros(2, np.float32),
    }
    for i in range(layers):
        prefix = f"bert.encoder.layer.{i}"
        for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            weights[f"{prefix}.{part}.weight"], weights[f"{prefix}.{part}.bias"] = normal(width, width), normal(width)
        weights[f"{prefix}.intermediate.dense.weight"], weights[f"{prefix}.intermediate.dense.bias"] = (
            normal(inner, width), normal(inner))  # fmt: skip
        weights[f"{prefix}.output.dense.weight"], weights[f"{prefix}.output.dense.bias"] = (
            normal(width, inner),
            normal(width),
        )
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{prefix}.{norm}.weight"] = np.ones(width, np.float32)
            weights[f"{prefix}.{norm}.bias"] = np.zeros(width, np.float32)
    save_file(weights, str(folder / "model.safetensors"))
    config = {
        "architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": vocabulary,
        "hidden_size": width, "num_hidden_layers": layers, "num_attention_heads": width // 64,
        "intermediate_size": inner, "hidden_act": "gelu", "max_position_embeddings": positions,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "id2label": {"0": "negative", "1": "positive"}, "label2id": {"negative": 0, "positive": 1},
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    return folder


def speed(build: Path, texts: int = 2000, length: int = 256, attributed: int = 20, seed: int = 0) -> dict:
    """Texts per second of predictions and latent vectors (tokenizing included) beside keras-hub's own classifier
    on the same token batches; integrated gradients' seconds per text and their completeness."""
    import keras_hub

    from pipeline.models import transformer

    every = artifacts.read_texts(build / "texts.parquet", columns=["subset", "text", "label"])
    labels = artifacts.read_dataset_info(build / "dataset.json").labels
    test = every[every["subset"] == "test"].sample(n=texts, random_state=seed)
    train = every.loc[every["subset"] == "train", "text"].head(5000).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        folder = random_bert(Path(tmp) / "bert", train)
        corpus = _corpus(test["text"].tolist(), labels)
        model = transformer.load(spec("random_bert", sequence_length=length), folder, corpus)
        batches = [np.arange(i, min(i + model.batch_size, texts)) for i in range(0, texts, model.batch_size)]
        model.predict(corpus.part(slice(0, 2 * model.batch_size)))  # compiled once, for both
        start = time.perf_counter()
        model.predict(corpus)
        ours = time.perf_counter() - start
        theirs_model = keras_hub.models.BertTextClassifier(backbone=model.backbone, num_classes=2, preprocessor=None)
        inputs = [model.inputs(corpus, rows)[0] for rows in batches]
        for batch in inputs[:2]:
            theirs_model.predict_on_batch(batch)
        start = time.perf_counter()
        for batch in inputs:
            theirs_model.predict_on_batch(batch)
        theirs = time.perf_counter() - start
        steps = load_config()["attributions"]["steps"]
        part = corpus.part(np.arange(attributed))
        start = time.perf_counter()
        scores = model.attribute(part, steps, 8)
        ig = (time.perf_counter() - start) / attributed
        found = artifacts.Attributions(
            np.zeros(0, np.int8), np.zeros(attributed + 1, np.int64), np.ones(attributed, np.float32),
            np.array([s.sum(axis=0) for s in scores.scores]), scores.at_text, scores.at_baseline,
        )  # fmt: skip
        errors = faithfulness.completeness_error(found)
    return {
        "texts": texts,
        "subword_tokens": length,
        "texts_per_second": round(texts / ours, 2),
        "keras_hub_texts_per_second": round(texts / theirs, 2),
        "overhead": round(ours / theirs - 1, 3),
        "integrated_gradients_seconds_per_text": round(ig, 2),
        "integrated_gradients_steps": steps,
        "completeness_error_median": round(float(np.median(errors)), 5),
        "completeness_error_p90": round(float(np.quantile(errors, 0.9)), 5),
    }


def figures(build: Path) -> dict:
    return {"parity": parity(), "random_bert": speed(build)}


if __name__ == "__main__":
    import sys

    print(json.dumps(figures(Path(sys.argv[1])), indent=1))
