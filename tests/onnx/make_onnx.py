"""Make the tiny ONNX text classifiers of tests/onnx/, folders as `optimum-cli export onnx --task text-classification`
writes them, and their reference outputs, with Hugging Face transformers on PyTorch. The tests need neither: they
compare reviewlens's numbers with the files this writes, which are committed. Run it again only after changing it:

    python3.11 -m venv /tmp/onnxref
    /tmp/onnxref/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    /tmp/onnxref/bin/pip install transformers==5.25.0 onnx==1.23.2 onnxruntime==1.32.0 pandas==3.1.2
    /tmp/onnxref/bin/python tests/onnx/make_onnx.py [architecture ...]

(with tokenizers 0.23.3, the one transformers 5.25.0 brought, and numpy 2.4.6; pandas only because tests/own_data.py
imports it). Another run writes other files, equally good: tokenizers' WordPiece and Unigram trainers do not give the
same vocabulary twice (their ties fall as a Rust hash map iterates), and ModernBERT's two rotary tables may swap
places in the graph (a Python set's order).

For each architecture: a tokenizer of the architecture's kind trained on support tickets (tests/own_data.py), a model
of 2 layers and 32 dimensions, trained for a few hundred steps on the tickets' three classes (so that its classes
differ), and in tests/onnx/<architecture>/:

- model.onnx, exported by torch.onnx.export's TorchScript exporter (dynamo=False), opset 17, with Optimum's names:
  inputs input_ids, attention_mask and, where the architecture has token types, token_type_ids (int64, dynamic axes
  batch_size and sequence_length); first output logits (batch_size, 3). Every graph but bert's also gives `pooled`
  (batch_size, 32), the input of the classification head's last Linear layer; bert's is exported as Optimum exports
  it, logits alone;
- tokenizer.json and tokenizer_config.json, saved by save_pretrained; config.json, the model's (id2label naming the
  ticket classes, in another order than the data's for deberta_v3), but no weights beside the graph;
- reference.json: for REFERENCE_TEXTS, the ids the tokenizer gives (cut at the model's 64 tokens), and the logits and
  latent vectors (the input of the head's last Linear layer) that transformers computes from the saved model on
  PyTorch, one text at a time, not ONNX Runtime's.

It then checks each folder as reviewlens will read it: ONNX Runtime on model.onnx, fed the ids of tokenizer.json
read by `tokenizers`, all texts in one padded batch and one at a time, must give reference.json's logits (and latent
vectors) within 1e-4.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import tokenizers
import torch
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.own_data import HUGE_TEXT, TICKETS, ticket_text  # noqa: E402

# As tests/checkpoints/make_checkpoints.py, copied rather than imported: importing it needs PyTorch, which the
# project's environment (whose tests import every module that a file of tests/ imports from) does not have.
LABELS = list(TICKETS)  # billing, delivery, login
MAX_LENGTH = 64
REFERENCE_TEXTS = [
    "I was charged twice. Please refund my payment.",
    "My parcel has not arrived, tracking says delivered but nothing came!",
    "I cannot sign in to my account; the password reset email never comes.",
    "Hello team, order 1234: the package arrived damaged and the invoice shows the wrong amount.",
    "Ça ne marche pas 🙁 — two factor code is rejected, sent from my phone",
    "",
    HUGE_TEXT[:2000],  # cut to the model's length
]
OPSET = 17
TOLERANCE = 1e-4
SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
BERT_NAMES = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]",
              "mask_token": "[MASK]"}  # fmt: skip
ROBERTA_NAMES = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                 "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}  # fmt: skip


def training_texts(seed: int, per_class: int = 150) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for index, label in enumerate(LABELS):
        for _ in range(per_class):
            texts.append(ticket_text(rng, label))
            labels.append(index)
    return texts, labels


def word_piece(texts: list[str]) -> Tokenizer:
    """BERT's and ELECTRA's tokenizer."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=300, special_tokens=special))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return tokenizer


def unigram(texts: list[str], special: list[str], mask: str, template: tuple[str, str], strip_whitespace: bool):
    """A SentencePiece-like tokenizer, as DeBERTa-v3's and XLM-RoBERTa's tokenizer.json are: Unigram pieces after a
    Metaspace ("▁" for a space), [CLS]/<s> ... [SEP]/</s> added around the text, the mask token last. The trainer
    seeds only substrings found twice among the distinct words, so on the tickets' few words it keeps about 150
    pieces, most of them shorter than a word, whatever vocab_size asks: texts take 30 to 60 tokens, and characters
    it never saw (Ç, 🙁, —) are [UNK]/<unk>."""
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    metaspace = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), metaspace]) if strip_whitespace else metaspace
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=special, unk_token=special[3])
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.add_special_tokens([mask])
    cls, sep = template
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B:1 {sep}:1" if cls == "[CLS]" else f"{cls} $A {sep} {sep} $B {sep}",
        special_tokens=[(cls, tokenizer.token_to_id(cls)), (sep, tokenizer.token_to_id(sep))],
    )
    return tokenizer


def deberta_v3_tokenizer(texts: list[str]) -> Tokenizer:
    return unigram(texts, ["[PAD]", "[CLS]", "[SEP]", "[UNK]"], "[MASK]", ("[CLS]", "[SEP]"), strip_whitespace=True)


def xlm_roberta_tokenizer(texts: list[str]) -> Tokenizer:
    return unigram(texts, ["<s>", "<pad>", "</s>", "<unk>"], "<mask>", ("<s>", "</s>"), strip_whitespace=False)


def modernbert_tokenizer(texts: list[str]) -> Tokenizer:
    """Byte-level BPE as ModernBERT's (OLMo's) tokenizer, with BERT's special tokens after the pieces, as there: its
    padding id is not 0."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.add_special_tokens(["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"])
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return tokenizer


def deberta_v3_config(tokenizer: Tokenizer) -> dict:
    return {
        "relative_attention": True, "position_buckets": 16, "max_relative_positions": -1, "norm_rel_ebd": "layer_norm",
        "share_att_key": True, "pos_att_type": ["p2c", "c2p"], "position_biased_input": False, "type_vocab_size": 0,
        "hidden_act": "gelu", "pooler_hidden_size": 32, "pooler_hidden_act": "gelu", "layer_norm_eps": 1e-7,
        "pad_token_id": tokenizer.token_to_id("[PAD]"),
    }  # fmt: skip


def modernbert_config(tokenizer: Tokenizer) -> dict:
    """Layer 0 attends globally, layer 1 within a window of 16 tokens (8 on each side), so that long texts see it;
    the head pools the mean of the tokens, as ModernBERT-base's does."""
    ids = {f"{name}_token_id": tokenizer.token_to_id(f"[{name.upper()}]") for name in ("cls", "sep", "pad")}
    return {
        "global_attn_every_n_layers": 2, "local_attention": 16, "classifier_pooling": "mean",
        "hidden_activation": "gelu", "bos_token_id": ids["cls_token_id"], "eos_token_id": ids["sep_token_id"], **ids,
    }  # fmt: skip


def xlm_roberta_config(tokenizer: Tokenizer) -> dict:
    return {"hidden_act": "gelu", "type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
            "max_position_embeddings": MAX_LENGTH + 2}  # fmt: skip


# Architecture -> (config class, its settings given the tokenizer, the tokenizer's maker, the names of its special
# tokens, how the checkpoint names its classes, the head's last Linear layer, whether the graph gives `pooled`,
# whether the model takes token_type_ids). Position embeddings are MAX_LENGTH long, 2 more for XLM-RoBERTa, whose
# positions start at padding_idx + 1.
ARCHITECTURES = {
    "bert": (
        transformers.BertConfig,
        lambda tokenizer: {"hidden_act": "gelu", "type_vocab_size": 2},
        word_piece,
        BERT_NAMES,
        dict(enumerate(LABELS)),
        lambda model: model.classifier,
        False,  # exported exactly as Optimum exports it: logits alone
        True,
    ),
    "deberta_v3": (
        transformers.DebertaV2Config,
        deberta_v3_config,
        deberta_v3_tokenizer,
        {**BERT_NAMES, "bos_token": "[CLS]", "eos_token": "[SEP]"},
        {0: "delivery", 1: "login", 2: "billing"},  # another order than the data's
        lambda model: model.classifier,
        True,
        False,  # type_vocab_size 0, as DeBERTa-v3's: Optimum leaves token_type_ids out of the graph
    ),
    "modernbert": (
        transformers.ModernBertConfig,
        modernbert_config,
        modernbert_tokenizer,
        BERT_NAMES,
        dict(enumerate(LABELS)),
        lambda model: model.classifier,
        True,
        False,
    ),
    "xlm_roberta": (
        transformers.XLMRobertaConfig,
        xlm_roberta_config,
        xlm_roberta_tokenizer,
        ROBERTA_NAMES,
        dict(enumerate(LABELS)),
        lambda model: model.classifier.out_proj,
        True,
        False,
    ),
    "electra": (
        transformers.ElectraConfig,
        lambda tokenizer: {"hidden_act": "gelu", "type_vocab_size": 2, "embedding_size": 16},  # projected to 32
        word_piece,
        BERT_NAMES,
        dict(enumerate(LABELS)),
        lambda model: model.classifier.out_proj,
        True,
        True,
    ),
}


def fast_tokenizer(architecture: str, tokenizer: Tokenizer) -> transformers.PreTrainedTokenizerFast:
    names, takes_types = ARCHITECTURES[architecture][3], ARCHITECTURES[architecture][7]
    inputs = ["input_ids", "token_type_ids", "attention_mask"] if takes_types else ["input_ids", "attention_mask"]
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, model_max_length=MAX_LENGTH, model_input_names=inputs, **names
    )


def make(architecture: str, seed: int = 0) -> None:
    config_class, extra, make_tokenizer, _, id2label, _, _, _ = ARCHITECTURES[architecture]
    texts, labels = training_texts(seed)
    backend = make_tokenizer(texts)
    tokenizer = fast_tokenizer(architecture, backend)
    config = config_class(
        vocab_size=backend.get_vocab_size(),
        **{"max_position_embeddings": MAX_LENGTH, **extra(backend)},
        num_labels=len(LABELS),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
        **SIZES,
    )
    torch.manual_seed(seed)
    model = transformers.AutoModelForSequenceClassification.from_config(config, attn_implementation="eager")
    # A checkpoint's labels may come in any order: train on the checkpoint's own indices.
    own = {name: index for index, name in id2label.items()}
    target = torch.tensor([own[LABELS[label]] for label in labels])
    encoded = tokenizer(texts, truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    generator = torch.Generator().manual_seed(seed)
    for _ in range(300):
        rows = torch.randint(0, len(texts), (32,), generator=generator)
        batch = {key: value[rows] for key, value in encoded.items()}
        loss = model(**batch, labels=target[rows]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(architecture, "last training loss", round(loss.item(), 4))
    folder = HERE / architecture
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as saved:
        # The weights go in the graph alone: the folder holds what Optimum writes, no model.safetensors.
        model.save_pretrained(saved)
        tokenizer.save_pretrained(folder)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(saved, attn_implementation="eager")
    model.config.save_pretrained(folder)
    reference(folder, architecture, model.eval())
    export(folder, architecture, model)


def reference(folder: Path, architecture: str, model: transformers.PreTrainedModel) -> None:
    """The logits and latent vectors of the saved model, read back by transformers, one text at a time."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    captured = []
    hook = ARCHITECTURES[architecture][5](model).register_forward_hook(
        lambda module, args, output: captured.append(args[0])
    )
    logits, latent, ids = [], [], []
    with torch.no_grad():
        for text in REFERENCE_TEXTS:
            encoded = tokenizer(text, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            logits.append(model(**encoded).logits[0].tolist())
            latent.append(captured[-1][0].tolist())
            ids.append(encoded["input_ids"][0].tolist())
    hook.remove()
    found = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "onnx": onnx.__version__,
        "opset": OPSET,
        "max_length": MAX_LENGTH,
        "texts": REFERENCE_TEXTS,
        "input_ids": ids,
        "logits": logits,
        "latent": latent,
    }
    (folder / "reference.json").write_text(json.dumps(found, indent=1) + "\n")


class Graph(torch.nn.Module):
    """What the graph computes: the logits, and with `pooled` the input of the head's last Linear layer too, taken
    by a forward hook."""

    def __init__(self, model: transformers.PreTrainedModel, head: torch.nn.Linear | None):
        super().__init__()
        self.model = model
        self.captured: list[torch.Tensor] = []
        if head is not None:
            head.register_forward_hook(lambda module, args, output: self.captured.append(args[0]))
        self.pooled = head is not None

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        self.captured.clear()
        logits = self.model(**inputs).logits
        return (logits, self.captured[-1]) if self.pooled else logits


def export(folder: Path, architecture: str, model: transformers.PreTrainedModel) -> None:
    _, _, _, _, _, head, pooled, takes_types = ARCHITECTURES[architecture]
    graph = Graph(model, head(model) if pooled else None).eval()
    # Traced on a padded batch of texts of other lengths, so that the graph keeps the attention mask.
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    encoded = tokenizer(REFERENCE_TEXTS[:3], truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])
    args = tuple(encoded[name] if name in encoded else torch.zeros_like(encoded["input_ids"]) for name in names)
    outputs = ["logits", "pooled"] if pooled else ["logits"]
    axes = {name: {0: "batch_size", 1: "sequence_length"} for name in names}
    axes.update({name: {0: "batch_size"} for name in outputs})
    with torch.no_grad():
        torch.onnx.export(
            graph,
            args,
            str(folder / "model.onnx"),
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    onnx.checker.check_model(str(folder / "model.onnx"))


def check(architecture: str) -> dict:
    """ONNX Runtime on model.onnx with the ids of tokenizer.json, against reference.json: the greatest differences
    of the logits (and latent vectors) over REFERENCE_TEXTS, in one padded batch and one at a time."""
    folder = HERE / architecture
    found = json.loads((folder / "reference.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_LENGTH)
    pad = config["pad_token_id"]
    tokenizer.enable_padding(pad_id=pad, pad_token=tokenizer.id_to_token(pad))
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [node.name for node in session.get_inputs()]
    outputs = [node.name for node in session.get_outputs()]

    def run(texts: list[str]) -> list[np.ndarray]:
        encodings = tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.zeros((len(texts), len(encodings[0].ids)), dtype=np.int64),
        }
        return session.run(None, {name: feeds[name] for name in names})

    ids = [tokenizer.encode(text).ids for text in REFERENCE_TEXTS]  # one at a time: no padding
    assert ids == found["input_ids"], f"{architecture}: tokenizer.json's ids differ from transformers'"
    logits, latent = np.array(found["logits"]), np.array(found["latent"])
    batched = run(REFERENCE_TEXTS)
    alone = [run([text]) for text in REFERENCE_TEXTS]
    result = {
        "inputs": names,
        "outputs": outputs,
        "logits batched": float(np.abs(batched[0] - logits).max()),
        "logits alone": max(float(np.abs(out[0][0] - logits[i]).max()) for i, out in enumerate(alone)),
    }
    if "pooled" in outputs:
        result["pooled batched"] = float(np.abs(batched[1] - latent).max())
        result["pooled alone"] = max(float(np.abs(out[1][0] - latent[i]).max()) for i, out in enumerate(alone))
    assert all(value <= TOLERANCE for key, value in result.items() if key.endswith(("batched", "alone"))), result
    return result


if __name__ == "__main__":
    for name in sys.argv[1:] or ARCHITECTURES:
        make(name)
        print(name, sorted(f"{path.name} {path.stat().st_size}" for path in (HERE / name).iterdir()))
        print(name, check(name))
