"""Make the tiny fine-tuned transformer checkpoints that tests/models/test_transformers.py reads, and their reference
outputs, with Hugging Face transformers on PyTorch. The tests need neither: they compare reviewlens's numbers with
the files this writes, which are committed. Run it again only after changing it:

    python3.11 -m venv /tmp/reference
    /tmp/reference/bin/pip install torch==2.13.0 transformers==5.25.0
    /tmp/reference/bin/python tests/checkpoints/make_checkpoints.py

For each architecture: a tokenizer trained on support tickets (tests/own_data.py), a model of 2 layers and 32
dimensions, trained for a few hundred steps on the tickets' three classes (so that its classes differ), both saved
with save_pretrained as it saves them today (tokenizer.json, no vocabulary file); and reference.json, the model's
logits and latent vectors (the input of its classification head) for REFERENCE_TEXTS, computed by transformers from
the saved files.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.own_data import HUGE_TEXT, TICKETS, ticket_text  # noqa: E402

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
# Architecture -> (its config, how the checkpoint names its classes). RoBERTa keeps transformers' default names
# (LABEL_0, ...), as a checkpoint saved without id2label does: the tests map them with label_map.
ARCHITECTURES = {
    "bert": (
        transformers.BertConfig,
        {"hidden_act": "gelu", "type_vocab_size": 2},
        {i: name for i, name in enumerate(LABELS)},
    ),
    "distilbert": (
        transformers.DistilBertConfig,
        {"activation": "gelu"},
        {0: "login", 1: "billing", 2: "delivery"},  # another order than the data's
    ),
    "roberta": (
        transformers.RobertaConfig,
        {"hidden_act": "gelu", "type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
        None,
    ),
}


def training_texts(seed: int, per_class: int = 150) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for index, label in enumerate(LABELS):
        for _ in range(per_class):
            texts.append(ticket_text(rng, label))
            labels.append(index)
    return texts, labels


def word_piece(texts: list[str]) -> Tokenizer:
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


def byte_level_bpe(texts: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True)
    return tokenizer


def fast_tokenizer(architecture: str, tokenizer: Tokenizer) -> transformers.PreTrainedTokenizerFast:
    if architecture == "roberta":
        names = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                 "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}  # fmt: skip
    else:
        names = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                 "mask_token": "[MASK]"}  # fmt: skip
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=MAX_LENGTH, **names)


def make(architecture: str, seed: int = 0) -> None:
    config_class, extra, id2label = ARCHITECTURES[architecture]
    texts, labels = training_texts(seed)
    tokenizer = fast_tokenizer(architecture, (byte_level_bpe if architecture == "roberta" else word_piece)(texts))
    sizes = (
        {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64}
        if architecture == "distilbert"
        else {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    )
    positions = MAX_LENGTH + 2 if architecture == "roberta" else MAX_LENGTH  # RoBERTa's start at padding_idx + 1
    config = config_class(
        vocab_size=tokenizer.backend_tokenizer.get_vocab_size(),
        max_position_embeddings=positions,
        num_labels=len(LABELS),
        **({"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}} if id2label else {}),
        **sizes,
        **extra,
    )
    torch.manual_seed(seed)
    model = transformers.AutoModelForSequenceClassification.from_config(config)
    # A checkpoint's labels may come in any order: train on the checkpoint's own indices.
    own = {name: index for index, name in (id2label or {i: n for i, n in enumerate(LABELS)}).items()}
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
    folder = HERE / architecture
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    reference(folder, architecture)


def reference(folder: Path, architecture: str) -> None:
    """The logits and latent vectors of the saved checkpoint, read back by transformers."""
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    captured = []
    head = {"bert": model.classifier if architecture == "bert" else None}.get(architecture)
    if architecture == "bert":
        hook = head.register_forward_hook(lambda module, args, output: captured.append(args[0]))
    elif architecture == "distilbert":
        hook = model.pre_classifier.register_forward_hook(lambda module, args, output: captured.append(args[0]))
    else:
        hook = model.classifier.register_forward_hook(lambda module, args, output: captured.append(args[0][:, 0]))
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
        "max_length": MAX_LENGTH,
        "texts": REFERENCE_TEXTS,
        "input_ids": ids,
        "logits": logits,
        "latent": latent,
    }
    (folder / "reference.json").write_text(json.dumps(found, indent=1) + "\n")


if __name__ == "__main__":
    for name in sys.argv[1:] or ARCHITECTURES:
        make(name)
        print(name, sorted(path.name for path in (HERE / name).iterdir()))
