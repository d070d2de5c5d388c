"""ONNX exports of any architecture (MODEL=a folder): tiny BERT, DeBERTa-v3 and ModernBERT classifiers (and
XLM-RoBERTa and ELECTRA where they were exported), exported once by tests/onnx/make_onnx.py with the logits and head
inputs PyTorch computed; reviewlens's run through ONNX Runtime must give the same, one text at a time and batched,
and a build on the tickets analyses one like any other model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pipeline import registry
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.models.onnx import OnnxClassifier
from tests.conftest import ROOT, make, run_page, tiny_settings_with
from tests.models.test_doors import _corpus
from tests.own_data import TICKETS
from viewer.database import open_database

FOLDERS = ROOT / "tests" / "onnx"
ARCHITECTURES = sorted(path.name for path in FOLDERS.iterdir() if (path / "reference.json").is_file())
LABELS = list(TICKETS)


def opened(folder, **settings) -> OnnxClassifier:
    config = load_config(None, {"MODEL": [str(folder)]})
    name = config["models"][-1]
    spec = registry.ModelSpec(name, "onnx", {**config[name], **settings})
    return OnnxClassifier(spec, folder, _corpus(["a"]))


def test_every_required_architecture_is_there():
    assert {"bert", "deberta_v3", "modernbert"} <= set(ARCHITECTURES)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_logits_equal_pytorch_within_1e_4(architecture):
    folder = FOLDERS / architecture
    reference = json.loads((folder / "reference.json").read_text())
    model = opened(folder, latent_output="" if architecture == "bert" else "pooled")
    config = json.loads((folder / "config.json").read_text())
    order = [int(k) for k, v in sorted(config["id2label"].items(), key=lambda kv: LABELS.index(kv[1]))]
    expected = np.array(reference["logits"])[:, order]
    expected = np.exp(expected - expected.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    texts = reference["texts"]
    # The model's own tokens, as transformers made them.
    assert [e.ids for e in model.tokenizer.encode_batch(texts)] == reference["input_ids"]
    batched, latent = model.predict(_corpus(texts))
    one_by_one = np.vstack([model.predict(_corpus([text]))[0] for text in texts])
    logits = np.log(batched)
    logits -= logits.mean(axis=1, keepdims=True)
    theirs = np.array(reference["logits"])[:, order]
    theirs -= theirs.mean(axis=1, keepdims=True)
    assert np.abs(logits - theirs).max() < 1e-4
    assert np.abs(one_by_one - expected).max() < 1e-4
    if architecture == "bert":
        assert latent is None  # exported as Optimum does: logits alone
    else:
        assert np.abs(latent - np.array(reference["latent"])).max() < 1e-4


def test_a_build_analyses_an_onnx_model_with_its_map_and_heat_maps(tmp_path, tickets_csv, monkeypatch):
    folder = shutil.copytree(FOLDERS / "deberta_v3", tmp_path / "tickets_deberta")
    settings = """
models = []
[data]
text_column = "body"
label_column = "category"
id_column = "ticket_no"
[tickets_deberta]
latent_output = "pooled"
attribute_errors = 4
attribute_sample = 3
"""
    config = tiny_settings_with(tmp_path / "settings.toml", settings)
    result = make(tmp_path / "build", "all", data=tickets_csv, config=config, models=[folder])
    assert result.returncode == 0, result.stderr[-3000:]
    database = tmp_path / "build" / "reviewlens.duckdb"
    with open_database(database) as con:
        row = con.execute(
            "select kind, mapped, attributed, attributed_texts, heat_maps, calls_per_text, tested, latent_dim "
            "from models where model = 'tickets_deberta'"
        ).fetchone()
        mapped = con.execute("select count(*) from latent_space where model = 'tickets_deberta'").fetchone()[0]
    assert row[:3] == ("onnx", True, True) and row[3] >= 3 and row[4] == "occlusion" and row[5] > 1 and row[6]
    assert row[7] == 32 and mapped == 360
    run_page(monkeypatch, database, "population")


def test_bad_onnx_folders_say_what_to_do(tmp_path, tickets_csv):
    # An export whose graph has another name than the settings say, and a folder with neither weights nor a graph.
    quantized = shutil.copytree(FOLDERS / "bert", tmp_path / "quantized")
    (quantized / "model.onnx").rename(quantized / "model_quantized.onnx")
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    (empty / "config.json").write_text('{"model_type": "bert"}')
    config = tiny_settings_with(tmp_path / "settings.toml", '[data]\ntext_column = "body"\nlabel_column = "category"\n')
    for folder, said in (
        (quantized, "no model.onnx (it has model_quantized.onnx: name one in [quantized] onnx_file); export one with"),
        (empty, "no model.safetensors and no model.onnx; save the model with model.save_pretrained(folder), or export"),
    ):
        result = make(tmp_path / "build", "all", data=tickets_csv, config=config, models=[folder])
        # One line, though another step's progress bar, running beside it, may share it.
        line = next((line for line in result.stderr.splitlines() if said in line), "")
        assert result.returncode != 0 and f"error: model {folder.name} ({folder}): {said}" in line, result.stderr
    # A graph of three classes against data of two.
    config = load_config(None, {"MODEL": [str(FOLDERS / "bert")]})
    corpus = _corpus(["a"])
    corpus.labels = ["billing", "login"]
    with pytest.raises(PipelineError, match=r"the graph's logits output has 3 outputs .* but the data has 2 labels"):
        OnnxClassifier(registry.ModelSpec("bert", "onnx", config["bert"]), FOLDERS / "bert", corpus)
    with pytest.raises(PipelineError, match=r"no output 'hidden'; set \[bert\] latent_output to one of logits"):
        opened(FOLDERS / "bert", latent_output="hidden")
