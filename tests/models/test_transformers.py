"""Fine-tuned transformer checkpoints (MODEL=a folder), read without PyTorch: their logits against Hugging Face's own,
their tokenizers, their attributions, and every bad checkpoint. The reference files in tests/checkpoints/ were made
by tests/checkpoints/make_checkpoints.py with transformers on PyTorch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.models.classifier import Corpus
from pipeline.registry import ModelSpec
from tests.conftest import ROOT, last_error_line, make, tiny_settings_with
from tests.own_data import TICKETS

CHECKPOINTS = ROOT / "tests" / "checkpoints"
ARCHITECTURES = ("bert", "distilbert", "roberta")
LABELS = list(TICKETS)
# RoBERTa's checkpoint keeps transformers' default class names.
LABEL_MAP = {"roberta": [[f"LABEL_{i}", label] for i, label in enumerate(LABELS)]}
PARITY = 1e-4


def reference(architecture: str) -> dict:
    return json.loads((CHECKPOINTS / architecture / "reference.json").read_text())


def corpus_of(texts: list[str]) -> Corpus:
    """Texts with the pipeline's words, as the steps give them to a model (no vocabulary needed here)."""
    from pipeline.artifacts import Tokens

    base = Tokens(
        text_id=np.arange(1), label=np.zeros(1, np.int16), subset=np.array(["test"]),
        sequences=np.zeros((1, 8), np.int32), n_tokens=np.ones(1, np.int32), n_oov=np.zeros(1, np.int32),
        vocabulary=np.array(["[PAD]", "[OOV]"]), labels=np.array(LABELS),
    )  # fmt: skip
    return Corpus(np.array(["x"], dtype=object), base, LABELS).of_texts(texts)


def load(architecture: str, folder: Path | None = None, texts: list[str] = ("a",), name: str | None = None):
    """The checkpoint behind the one model interface, as the pipeline's steps load it."""
    from pipeline.models import transformer

    table = {**load_config()["transformer"], "label_map": LABEL_MAP.get(architecture, [])}
    spec = ModelSpec(name or architecture, "transformer", table)
    return transformer.load(spec, folder or CHECKPOINTS / architecture, corpus_of(texts))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_logits_and_latent_vectors_equal_hugging_faces(architecture):
    found = reference(architecture)
    corpus = corpus_of(found["texts"])
    model = load(architecture, texts=found["texts"])
    inputs, ids = model.inputs(corpus, np.arange(len(found["texts"])))
    # The checkpoint's own tokens, cut to its length (the last text is longer).
    for row, expected in zip(ids, found["input_ids"], strict=True):
        assert row[: len(expected)].tolist() == expected and (row[len(expected) :] == model.pad).all()
    logits, latent = (value.numpy() for value in model._scored(inputs))
    assert np.abs(logits - np.array(found["logits"])).max() < PARITY
    assert np.abs(latent - np.array(found["latent"])).max() < PARITY
    # The classes come back in the data's order, whatever the checkpoint's.
    probabilities, _ = model.predict(corpus)
    own = np.exp(found["logits"]) / np.exp(found["logits"]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, own[:, model.order], atol=1e-5)


def test_distilberts_classes_are_put_in_the_datas_order():
    # Its checkpoint names its outputs login, billing, delivery.
    assert load("distilbert").order.tolist() == [1, 2, 0]


@pytest.mark.parametrize("architecture", ["bert", "roberta"])
def test_the_vocabulary_files_give_the_same_tokens_as_tokenizer_json(architecture, tmp_path):
    folder = tmp_path / architecture
    shutil.copytree(CHECKPOINTS / architecture, folder)
    saved = json.loads((folder / "tokenizer.json").read_text())["model"]
    vocabulary = sorted(saved["vocab"], key=saved["vocab"].get)
    if architecture == "bert":
        (folder / "vocab.txt").write_text("\n".join(vocabulary) + "\n")
    else:
        (folder / "vocab.json").write_text(json.dumps(saved["vocab"]))
        merges = [" ".join(pair) if isinstance(pair, list) else pair for pair in saved["merges"]]
        (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (folder / "tokenizer.json").unlink()
    found = reference(architecture)
    model = load(architecture, folder, texts=found["texts"])
    _, ids = model.inputs(corpus_of(found["texts"]), np.arange(len(found["texts"])))
    for row, expected in zip(ids, found["input_ids"], strict=True):
        assert row[: len(expected)].tolist() == expected


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_attributions_are_complete_hold_special_tokens_and_land_on_the_pipelines_words(architecture):
    texts = reference(architecture)["texts"][:5]
    corpus = corpus_of(texts)
    model = load(architecture, texts=texts)
    rough, fine = model.attribute(corpus, 4, 8), model.attribute(corpus, 256, 8)

    def error(scores) -> np.ndarray:
        change = scores.at_text - scores.at_baseline
        sums = np.array([s.sum(axis=0) for s in scores.scores])
        return np.abs(sums - change) / np.abs(change)

    # The midpoint rule converges to completeness: the scores sum to the change in the target.
    assert np.median(error(fine)) < min(5e-3, np.median(error(rough)) / 5)
    for words, scores in zip(corpus.words, fine.scores, strict=True):
        assert len(scores) <= len(words)  # one row per pipeline word read, the rest cut off
        assert scores.shape[1] == len(LABELS) - 1
    # Special tokens never move: their embeddings stay as they are along the path.
    inputs, ids = model.inputs(corpus, np.arange(len(texts)))
    movable = model.movable(ids)
    assert not movable[:, 0].any() and movable.sum(axis=1).min() > 0
    assert set(ids[~movable].tolist()) <= set(model.special.tolist())


def fewer_positions(folder: Path, positions: int) -> None:
    """The position table cut to `positions` rows, as a checkpoint trained on shorter texts would have it."""
    from safetensors.numpy import load_file, save_file

    weights = load_file(str(folder / "model.safetensors"))
    key = next(name for name in weights if name.endswith("embeddings.position_embeddings.weight"))
    weights[key] = weights[key][:positions]
    save_file(weights, str(folder / "model.safetensors"))
    edit_config(folder, max_position_embeddings=positions)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_checkpoint_of_a_length_that_is_no_multiple_of_the_batch_step(architecture, tmp_path):
    # 52 positions (50 usable by RoBERTa): batches of long texts used to be padded to 64 and fail.
    folder = checkpoint_like(tmp_path, architecture)
    fewer_positions(folder, 52)
    texts = reference(architecture)["texts"]
    short, long = texts[0], " ".join(texts) * 4
    corpus = corpus_of([short, long])
    model = load(architecture, folder, texts=[short, long])
    probabilities, latent = model.predict(corpus)
    assert np.isfinite(probabilities).all() and np.isfinite(latent).all()
    _, ids = model.inputs(corpus, np.arange(2))
    assert ids.shape[1] == model.length == (50 if architecture == "roberta" else 52)
    assert (ids[1] != model.pad).all()  # the long text is cut to the model's length
    # Positions past 50 never reach a short text: it scores as the full checkpoint scores it.
    full = load(architecture, texts=[short, long]).predict(corpus_of([short]))[0]
    np.testing.assert_allclose(probabilities[:1], full, atol=1e-5)
    attributions = model.attribute(corpus, 4, 2)
    assert all(np.isfinite(scores).all() for scores in attributions.scores)


def checkpoint_like(tmp_path: Path, architecture: str = "bert") -> Path:
    folder = tmp_path / f"{architecture}_copy"
    shutil.copytree(CHECKPOINTS / architecture, folder)
    return folder


def edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def narrow_head(folder: Path) -> None:
    """The head cut to two classes, as a checkpoint fine-tuned on two would have it."""
    from safetensors.numpy import load_file, save_file

    weights = load_file(str(folder / "model.safetensors"))
    weights["classifier.weight"], weights["classifier.bias"] = (
        weights["classifier.weight"][:2],
        weights["classifier.bias"][:2],
    )
    save_file(weights, str(folder / "model.safetensors"))
    edit_config(folder, id2label={"0": "billing", "1": "delivery"}, label2id={"billing": 0, "delivery": 1})


BAD = {
    "no config.json": (lambda f: (f / "config.json").unlink(), "no config.json; give the folder that save_pretrained"),
    "unsupported": (lambda f: edit_config(f, model_type="deberta-v2"),
                    "architecture 'deberta-v2' is not supported; reviewlens reads bert, distilbert, roberta"),
    "pytorch weights": (lambda f: (f / "model.safetensors").rename(f / "pytorch_model.bin"),
                        "pytorch_model.bin only; reviewlens reads safetensors"),
    "no tokenizer": (lambda f: (f / "tokenizer.json").unlink(), "no tokenizer files (tokenizer.json, vocab.txt"),
    "labels": (lambda f: edit_config(f, id2label={"0": "a", "1": "b", "2": "c"}),
               "its labels (a, b, c) are not the data's (billing, delivery, login); map them in [bert_copy] label_map"),
    "head width": (narrow_head, "its classification head has 2 outputs (billing, delivery) but the data has 3 labels"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_checkpoint_is_refused_in_one_line(case, tmp_path):
    folder = checkpoint_like(tmp_path)
    spoil, message = BAD[case]
    spoil(folder)
    with pytest.raises(PipelineError) as raised:
        load("bert", folder, name="bert_copy")
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def only_a_checkpoint(tmp_path_factory, tickets_csv):
    folder = tmp_path_factory.mktemp("only-checkpoint")
    return folder, tiny_settings_with(folder / "settings.toml", 'models = []\n[data]\ntext_column = "body"\n'
                                      'label_column = "category"\nid_column = "ticket_no"\n')  # fmt: skip


@pytest.mark.parametrize("case", ["no config.json", "pytorch weights", "labels"])
def test_make_all_stops_on_a_bad_checkpoint_and_keeps_the_database(case, only_a_checkpoint, tickets_csv, tmp_path):
    folder, config = only_a_checkpoint
    build = folder / "build"
    checkpoint = checkpoint_like(tmp_path)
    BAD[case][0](checkpoint)
    result = make(build, "all", data=tickets_csv, config=config, models=[checkpoint])
    assert result.returncode != 0
    assert BAD[case][1] in last_error_line(result)
    assert not (build / "reviewlens.duckdb").exists()


def test_a_checkpoint_folder_that_is_not_there(only_a_checkpoint, tickets_csv, tmp_path):
    folder, config = only_a_checkpoint
    result = make(folder / "build", "all", data=tickets_csv, config=config, models=[tmp_path / "nothing"])
    assert result.returncode != 0
    assert "no file" in last_error_line(result) or "no folder" in last_error_line(result)
