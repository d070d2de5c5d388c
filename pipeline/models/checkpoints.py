"""A fine-tuned transformer checkpoint's folder, as Hugging Face's save_pretrained writes it (config.json,
model.safetensors, the tokenizer's files): what it must hold, its classes, its tokenizer. Nothing here imports
TensorFlow; pipeline/models/transformer.py runs the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError

# model_type in config.json -> the classes of the head it was fine-tuned with.
SUPPORTED = {
    "bert": "BertForSequenceClassification",
    "distilbert": "DistilBertForSequenceClassification",
    "roberta": "RobertaForSequenceClassification",
}
# The weight of each head's last layer: its rows are the classes.
OUTPUT_WEIGHTS = {
    "bert": "classifier.weight",
    "distilbert": "classifier.weight",
    "roberta": "classifier.out_proj.weight",
}
# What save_pretrained writes for a tokenizer: tokenizer.json, or the vocabulary files of the older formats.
VOCABULARY_FILES = (("vocab.txt",), ("vocab.json", "merges.txt"))
MAX_LENGTH = 512


def read_config(folder: Path, name: str, settings: dict | None = None) -> dict:
    """The checkpoint's config.json, after the checks that need no weights: each failure is one line."""
    where = f"model {name} ({folder})"
    path = folder / "config.json"
    if not folder.is_dir():
        raise PipelineError(f"{where}: not a directory; give the folder that save_pretrained wrote")
    if not path.is_file():
        raise PipelineError(
            f"{where}: no config.json; give the folder that save_pretrained wrote, with config.json, "
            "model.safetensors and the tokenizer's files"
        )
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise PipelineError(f"{path}: cannot read it ({e}); give the config.json that save_pretrained wrote") from None
    model_type = config.get("model_type", "")
    if model_type not in SUPPORTED:
        raise PipelineError(
            f"{where}: architecture {model_type or 'unknown'!r} is not supported; reviewlens reads "
            f"{', '.join(SUPPORTED)} checkpoints (keras-hub has no converter for the others): export it to ONNX "
            "(optimum-cli export onnx --task text-classification) and give that folder"
        )
    heads = config.get("architectures") or []
    if heads and not any(head.endswith("ForSequenceClassification") for head in heads):
        raise PipelineError(
            f"{where}: a {', '.join(heads)} checkpoint, not a text classifier; bring one saved from "
            f"{SUPPORTED[model_type]}"
        )
    if not (folder / "model.safetensors").is_file() and not (folder / "model.safetensors.index.json").is_file():
        if (folder / "pytorch_model.bin").is_file():
            raise PipelineError(
                f"{where}: holds its weights as pytorch_model.bin only; reviewlens reads safetensors: save the model "
                "again with model.save_pretrained(folder, safe_serialization=True)"
            )
        raise PipelineError(
            f"{where}: no model.safetensors and no model.onnx; save the model with model.save_pretrained(folder), or "
            "export it to ONNX (optimum-cli export onnx --task text-classification)"
        )
    if not (folder / "tokenizer.json").is_file() and not any(
        all((folder / file).is_file() for file in files) for files in VOCABULARY_FILES
    ):
        raise PipelineError(
            f"{where}: no tokenizer files (tokenizer.json, vocab.txt, or vocab.json and merges.txt); "
            "save the tokenizer into the folder too: tokenizer.save_pretrained(folder)"
        )
    return config


def head_width(folder: Path, model_type: str, name: str) -> int:
    """The classes the checkpoint's classification head outputs, read from its weights."""
    from safetensors import safe_open

    key = OUTPUT_WEIGHTS[model_type]
    files = [folder / "model.safetensors"]
    if (folder / "model.safetensors.index.json").is_file():
        index = json.loads((folder / "model.safetensors.index.json").read_text())
        files = [folder / index["weight_map"][key]] if key in index.get("weight_map", {}) else []
    for file in files:
        with safe_open(str(file), framework="numpy") as weights:
            if key in weights.keys():
                return int(weights.get_slice(key).get_shape()[0])
    raise PipelineError(
        f"model {name} ({folder}): no classification head ({key}) in its weights; bring a checkpoint saved from "
        f"{SUPPORTED[model_type]}"
    )


def class_order(
    config: dict, width: int, labels: list[str], settings: dict, name: str, head: str = "its classification head"
) -> np.ndarray:
    """order[i]: the output column of the data's class i, from the model's id2label and label_map; its head has
    `width` outputs."""
    id2label = {int(k): str(v) for k, v in (config.get("id2label") or {}).items()}
    theirs = [id2label.get(i, f"LABEL_{i}") for i in range(width)]
    if width != len(labels):
        raise PipelineError(
            f"model {name}: {head} has {width} outputs ({', '.join(theirs)}) but the data has "
            f"{len(labels)} labels ({', '.join(labels)}); bring a model fine-tuned on this label set"
        )
    mapping = {str(pair[0]): str(pair[1]) for pair in settings["label_map"]}
    mapped = [mapping.get(label, label) for label in theirs]
    if sorted(mapped) != sorted(labels):
        raise PipelineError(
            f"model {name}: its labels ({', '.join(theirs)}) are not the data's ({', '.join(labels)}); "
            f'map them in [{name}] label_map, e.g. label_map = [["{theirs[0]}", "{labels[0]}"]]'
        )
    return np.array([mapped.index(label) for label in labels])


def read_tokenizer(folder: Path):
    """The checkpoint's own tokenizer: tokenizer.json, else its WordPiece (vocab.txt) or byte-level BPE (vocab.json
    and merges.txt) vocabulary files, with the special tokens of tokenizer_config.json."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    if (folder / "tokenizer.json").is_file():
        return Tokenizer.from_file(str(folder / "tokenizer.json"))
    path = folder / "tokenizer_config.json"
    settings = json.loads(path.read_text()) if path.is_file() else {}

    def token(name: str, default: str) -> str:
        value = settings.get(name, default)
        return value.get("content", default) if isinstance(value, dict) else str(value)

    if (folder / "vocab.txt").is_file():
        unk, cls, sep = token("unk_token", "[UNK]"), token("cls_token", "[CLS]"), token("sep_token", "[SEP]")
        tokenizer = Tokenizer(models.WordPiece.from_file(str(folder / "vocab.txt"), unk_token=unk))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=settings.get("do_lower_case", True))
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        special = [unk, cls, sep, token("pad_token", "[PAD]"), token("mask_token", "[MASK]")]
        tokenizer.post_processor = processors.BertProcessing(
            (sep, tokenizer.token_to_id(sep)), (cls, tokenizer.token_to_id(cls))
        )
    else:
        start, end = token("bos_token", "<s>"), token("eos_token", "</s>")
        tokenizer = Tokenizer(models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=settings.get("add_prefix_space", False))
        tokenizer.decoder = decoders.ByteLevel()
        special = [start, end, token("unk_token", "<unk>"), token("pad_token", "<pad>"), token("mask_token", "<mask>")]
        tokenizer.post_processor = processors.RobertaProcessing(
            (end, tokenizer.token_to_id(end)), (start, tokenizer.token_to_id(start))
        )
    tokenizer.add_special_tokens([name for name in special if tokenizer.token_to_id(name) is not None])
    return tokenizer
