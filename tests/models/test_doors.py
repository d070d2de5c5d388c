"""Models reviewlens can only call: a scikit-learn pipeline served over HTTP with MLflow's scoring protocol (MODEL=an
address) and an LLM classifier behind an OpenAI-compatible chat endpoint (a model in the settings), each served on
127.0.0.1 by the test itself (tests/serving.py); heat maps made by calling them (occlusion, partition SHAP); and every
bad endpoint, answer and secret."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from pipeline import registry
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.models.classifier import Classifier, Corpus
from pipeline.models.llm import LLMClassifier
from pipeline.models.served import ServedClassifier
from pipeline.per_text import occlusion
from tests.conftest import ROOT, copy_build, make, run_page, tiny_settings_with
from tests.own_data import TICKETS
from tests.serving import closed_port, mlflow_server, openai_server
from viewer.database import open_database
from viewer.pages import PAGES

LABELS = list(TICKETS)
SECRET = "s3cr3t-t0ken-never-stored"
SETTINGS = """
models = ["bot", "plain"]

[data]
text_column = "body"
label_column = "category"
id_column = "ticket_no"

[bot]
architecture = "chat"
url = "{openai}"
model = "tiny-classifier"
attribute_errors = 6
attribute_sample = 4

[plain]
architecture = "chat"
url = "{openai}"
model = "tiny-classifier"
logprobs = false

[served_{port}]
token_env = "REVIEWLENS_TEST_TOKEN"
attribute_errors = 6
attribute_sample = 4
heat_maps = "partition"
"""


@pytest.fixture(scope="module")
def tickets(tickets_csv) -> pd.DataFrame:
    return pd.read_csv(tickets_csv)


@pytest.fixture(scope="module")
def model(tickets):
    """The team's model: TF-IDF and logistic regression, fitted outside the pipeline."""
    fitted = make_pipeline(TfidfVectorizer(), LogisticRegression(C=4.0, max_iter=1000))
    fitted.fit(tickets["body"], tickets["category"])
    assert list(fitted.classes_) == LABELS
    return fitted


@pytest.fixture(scope="module")
def off_label(tickets) -> set[str]:
    return set(tickets["body"].iloc[[3, 11]])


@pytest.fixture(scope="module")
def served(tmp_path_factory, tickets_csv, model, off_label):
    """Both servers, and one build of the tickets with both models behind them (the served one behind a token)."""
    proba = model.predict_proba
    with (
        mlflow_server(proba, columns=LABELS, token=SECRET) as mlflow,
        openai_server(proba, LABELS, off_label=off_label) as openai,
    ):
        folder = tmp_path_factory.mktemp("doors")
        config = tiny_settings_with(folder / "settings.toml", SETTINGS.format(openai=openai.url, port=mlflow.port))
        build = folder / "build"
        result = make(
            build, "all", data=tickets_csv, config=config, models=[mlflow.url], env={"REVIEWLENS_TEST_TOKEN": SECRET}
        )
        assert result.returncode == 0, result.stderr[-3000:]
        yield {"build": build, "config": config, "mlflow": mlflow, "openai": openai, "data": tickets_csv}


def query(build, sql: str, *args) -> pd.DataFrame:
    with open_database(build / "reviewlens.duckdb") as con:
        return con.execute(sql, list(args)).df()


def test_served_and_llm_models_are_analysed_like_any_other(served, model, tickets, off_label):
    build, name = served["build"], f"served_{served['mlflow'].port}"
    models = query(build, "select * from models order by rank").set_index("model")
    assert list(models.index) == ["bot", "plain", name, "baseline"]
    assert models.loc[name, "kind"] == "served" and models.loc["bot", "kind"] == "chat"
    assert models.loc[name, "file"] == served["mlflow"].url
    assert models.loc[[name, "bot"], "tested"].all() and models.loc[[name, "bot"], "attributed"].all()
    assert models.loc[name, "heat_maps"] == "partition SHAP" and models.loc["bot", "heat_maps"] == "occlusion"
    assert not models.loc[[name, "bot"], "mapped"].any()

    # The served model's probabilities are the model's own; the LLM's, read from its answers' log-probabilities and
    # renormalised over the labels, are the same numbers (but for the texts it answered with no label).
    predictions = query(
        build, "select p.*, t.text from predictions p join texts t using (text_id) order by model, text_id"
    )
    for which in (name, "bot"):
        mine = predictions[predictions["model"] == which]
        theirs = model.predict_proba(mine["text"])
        got = np.stack(mine["probabilities"].to_numpy())
        answered = ~mine["text"].isin(off_label).to_numpy() if which == "bot" else np.ones(len(mine), bool)
        np.testing.assert_allclose(got[answered], theirs[answered], atol=1e-5)
    off = query(build, "select * from off_label_answers where model = 'bot'")
    texts = query(build, "select text_id, text from texts")
    assert models.loc["bot", "off_label"] == texts["text"].isin(off_label).sum() == len(off) > 0
    assert set(off["answer"]) == {"I cannot tell."}

    # Heat maps for the chosen texts, by calling each model; partition SHAP's sum to the whole change.
    heat = query(
        build,
        "select model, count(*) as texts, max(abs(score_sum[1] - (target_text[1] - target_baseline[1]))) as gap "
        "from attributions group by model",
    ).set_index("model")
    assert heat.loc[name, "texts"] == models.loc[name, "attributed_texts"] >= 4
    assert heat.loc[name, "gap"] < 1e-4
    assert models.loc[name, "calls_per_text"] > 1 and models.loc["bot", "calls_per_text"] > 1
    # Without log-probabilities, its classes alone: no loss and no heat maps, but behavioural tests on its classes.
    assert not models.loc["plain", "has_probabilities"] and not models.loc["plain", "attributed"]
    assert "logprobs = false" in models.loc["plain", "no_probabilities"] and pd.isna(models.loc["plain", "heat_maps"])
    assert models.loc["plain", "off_label"] == models.loc["bot", "off_label"]
    plain = predictions[predictions["model"] == "plain"]
    assert plain["probabilities"].isna().all() and plain["loss"].isna().all()
    answered = ~plain["text"].isin(off_label).to_numpy()
    expected = np.array(LABELS)[model.predict_proba(plain["text"]).argmax(axis=1)]
    assert (plain["predicted_label"].to_numpy()[answered] == expected[answered]).all()
    results = query(build, "select model, count(*) as cases from behaviour_results group by model").set_index("model")
    assert results.loc["plain", "cases"] == results.loc["bot", "cases"]
    assert (
        results.loc[name, "cases"] == results.loc["bot", "cases"] == len(query(build, "select * from behaviour_cases"))
    )


def test_the_secret_is_sent_and_stored_nowhere(served):
    build, mlflow = served["build"], served["mlflow"]
    assert all(headers.get("Authorization") == f"Bearer {SECRET}" for headers in mlflow.headers)
    for path in build.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_rebuild_sends_nothing_again(served, tmp_path):
    build = copy_build(served["build"], tmp_path / "build")
    before = served["mlflow"].requests, served["openai"].requests
    for path in [*build.glob("predictions/*.parquet"), *build.glob("behaviour/*.parquet")]:
        path.unlink()
    result = make(
        build, "all", data=served["data"], config=served["config"], models=[served["mlflow"].url],
        env={"REVIEWLENS_TEST_TOKEN": SECRET},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (served["mlflow"].requests, served["openai"].requests) == before


@pytest.mark.parametrize("page", [page.name for page in PAGES])
def test_every_page_opens_on_models_behind_a_door(served, monkeypatch, page):
    at = run_page(monkeypatch, served["build"] / "reviewlens.duckdb", page)
    if page == "overview":
        captions = " ".join(caption.value for caption in at.caption)
        assert "answered something that is no label for 2 texts" in captions
        assert "is an LLM classifier, called at" in captions


def test_a_text_page_says_how_its_heat_maps_were_made(served, monkeypatch):
    chosen = query(served["build"], "select text_id from attributions where model = 'bot' limit 1")["text_id"][0]
    at = run_page(monkeypatch, served["build"] / "reviewlens.duckdb", "samples", id=str(chosen))
    captions = " ".join(caption.value for caption in at.caption)
    assert "**bot** is called, not differentiated: occlusion" in captions
    assert "model calls a text" in captions


def test_an_endpoint_that_refuses_stops_the_build_and_keeps_the_database(served, tmp_path):
    build = copy_build(served["build"], tmp_path / "build")
    database = build / "reviewlens.duckdb"
    stamp = database.stat().st_mtime_ns
    port = closed_port()
    address = f"http://127.0.0.1:{port}/invocations"
    settings = SETTINGS.split("[served_")[0].format(openai=served["openai"].url)
    config = tiny_settings_with(
        tmp_path / "settings.toml", f"{settings}\n[served_{port}]\nretries = 1\nbackoff = 0.1\n"
    )
    result = make(build, "all", data=served["data"], config=config, models=[address])
    assert result.returncode != 0
    # One line, though another step's progress bar, running beside it, may share it.
    line = next((line for line in result.stderr.splitlines() if "cannot connect" in line), "")
    assert f"error: model served_{port} ({address}): cannot connect" in line and "after 2 tries" in line, result.stderr
    assert database.stat().st_mtime_ns == stamp


# --- bad endpoints and answers, in the process --------------------------------------------------------------------

FAST = {"timeout": 0.5, "retries": 1, "backoff": 0.01}


@pytest.fixture(scope="module")
def corpus(tickets) -> Corpus:
    return _corpus(list(tickets["body"].iloc[:10]))


def _corpus(texts: list[str]) -> Corpus:
    """The texts as a corpus of the pipeline, with the tickets' labels."""
    from pipeline import artifacts

    tokens = artifacts.Tokens(
        text_id=np.arange(len(texts), dtype=np.int32),
        label=np.zeros(len(texts), dtype=np.int16),
        subset=np.full(len(texts), "test"),
        sequences=np.zeros((len(texts), 1), np.int32),
        n_tokens=np.ones(len(texts), np.int32),
        n_oov=np.zeros(len(texts), np.int32),
        vocabulary=np.array(["", "[UNK]"]),
        labels=np.array(LABELS),
    )
    return Corpus(np.array(texts, dtype=object), tokens, LABELS)


def served_model(url: str, **settings) -> ServedClassifier:
    config = load_config()
    spec = registry.ModelSpec("team", "served", {**config["served"], "url": url, "sha256": "x", **FAST, **settings})
    return ServedClassifier(spec, None, _corpus(["a"]))


def llm_model(url: str, **settings) -> LLMClassifier:
    config = load_config()
    table = {**config["chat"], "url": url, "model": "tiny", "sha256": "x", **FAST, **settings}
    return LLMClassifier(registry.ModelSpec("bot", "chat", table), None, _corpus(["a"]))


@pytest.mark.parametrize(
    "fault, said",
    [
        ("error", 'the model failed on purpose"} after 2 tries'),
        ("slow", "no answer within 0.5 s after 2 tries"),
        ("shape", "answered 2 probabilities a text, the data has 3 labels"),
        ("rows", "answered 9 rows for 10 texts"),
        ("sum", "answered probabilities that sum to 1.5"),
        ("junk", "the answer is not JSON"),
    ],
)
def test_every_bad_answer_is_one_line_that_names_the_endpoint(model, corpus, fault, said):
    with mlflow_server(model.predict_proba, fault=fault) as server:
        with pytest.raises(PipelineError) as error:
            served_model(server.url).predict(corpus)
    message = str(error.value)
    assert message.startswith(f"model team ({server.url}): ") and said in message and "\n" not in message


def test_a_flaky_endpoint_is_tried_again(model, corpus):
    with mlflow_server(model.predict_proba, fault="flaky") as server:
        got = served_model(server.url, retries=2, batch_size=100, concurrency=1).predict(corpus)[0]
    assert server.requests == 3
    np.testing.assert_allclose(got, model.predict_proba(list(corpus.texts)), atol=1e-6)


def test_a_served_model_in_another_label_order(model, corpus):
    """Its probabilities come in its own order ([name] labels); they are laid in the data's."""
    reverse = LABELS[::-1]
    with mlflow_server(lambda texts: model.predict_proba(texts)[:, ::-1]) as server:
        got = served_model(server.url, labels=reverse).predict(corpus)[0]
    np.testing.assert_allclose(got, model.predict_proba(list(corpus.texts)), atol=1e-6)
    with pytest.raises(PipelineError, match=r"labels \(a, b, c\) are not the data's \(billing, delivery, login\)"):
        served_model("http://127.0.0.1:1/invocations", labels=["a", "b", "c"])


def test_batches_and_the_request_cap(model, corpus):
    with mlflow_server(model.predict_proba) as server:
        served_model(server.url, batch_size=3, concurrency=2).predict(corpus)
        assert server.requests == 4 and sorted(len(b["dataframe_split"]["data"]) for b in server.bodies) == [1, 3, 3, 3]
        with pytest.raises(PipelineError, match=r"reached max_requests \(2\)"):
            served_model(server.url, batch_size=3, max_requests=2).predict(corpus)


def test_a_refused_connection_and_a_missing_or_wrong_secret(model, corpus, monkeypatch):
    refused = f"http://127.0.0.1:{closed_port()}/invocations"
    with pytest.raises(PipelineError, match="cannot connect .* after 2 tries; check that it is up"):
        served_model(refused).predict(corpus)
    monkeypatch.delenv("REVIEWLENS_MISSING", raising=False)
    with pytest.raises(
        PipelineError, match=r"the environment variable REVIEWLENS_MISSING \(\[team\] token_env\) is not set"
    ):
        served_model(refused, token_env="REVIEWLENS_MISSING")
    monkeypatch.setenv("REVIEWLENS_WRONG", "not-it")
    with mlflow_server(model.predict_proba, token=SECRET) as server:
        with pytest.raises(PipelineError, match=r"answered 401 .*check the token in \$REVIEWLENS_WRONG"):
            served_model(server.url, token_env="REVIEWLENS_WRONG").predict(corpus)


def test_a_heat_map_method_and_a_secret_are_checked_settings(tmp_path):
    config = tmp_path / "method.toml"
    config.write_text(
        'models = ["bot"]\n[bot]\narchitecture = "chat"\nurl = "http://127.0.0.1:1/v1"\nheat_maps = "shap"\n'
    )
    with pytest.raises(PipelineError, match=r"\[bot\] heat_maps = 'shap'; use one of 'occlusion', 'partition'"):
        load_config(config)
    config = tmp_path / "leak.toml"
    config.write_text(
        'models = ["bot"]\n[bot]\narchitecture = "chat"\nurl = "http://127.0.0.1:1/v1"\ntoken_env = "sk-abc 123"\n'
    )
    with pytest.raises(PipelineError, match="token_env must name an environment variable"):
        load_config(config)


def test_an_llm_without_log_probabilities_gives_its_classes_alone(model, corpus):
    with openai_server(model.predict_proba, LABELS, logprobs=False) as server:
        bot = llm_model(server.url)
        probabilities = bot.predict(corpus)[0]
    assert bot.no_probabilities and bot.no_attributions
    expected = model.predict_proba(list(corpus.texts)).argmax(axis=1)
    np.testing.assert_array_equal(probabilities, np.eye(3)[expected])
    assert server.bodies[0]["temperature"] == 0 and "logprobs" in server.bodies[0]


def test_an_llm_prompt_lists_the_labels_and_holds_the_text(model, corpus):
    with openai_server(model.predict_proba, LABELS) as server:
        llm_model(server.url).predict(corpus.part(slice(0, 1)))
    user = server.bodies[0]["messages"][-1]["content"]
    assert all(label in user for label in LABELS) and str(corpus.texts[0]) in user
    with pytest.raises(PipelineError, match=r"the prompt has no \{text\}"):
        llm_model(server.url, prompt="Labels: {labels}")


# --- heat maps by calling the model ------------------------------------------------------------------------------


class Additive(Classifier):
    """A model whose centred log-probabilities add up over its words: each word's push is known exactly."""

    def __init__(self, weights: dict[str, list[float]]) -> None:
        self.weights, self.labels = weights, LABELS

    def predict(self, corpus: Corpus):
        logits = np.array(
            [
                np.sum([self.weights.get(w, [0, 0, 0]) for w in str(t).split()] + [[0, 0, 0]], axis=0)
                for t in corpus.texts
            ]
        )
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True), None


WEIGHTS = {"refund": [2.0, 0.0, -1.0], "parcel": [-1.0, 3.0, 0.0], "password": [0.0, -0.5, 2.5]}


@pytest.mark.parametrize("method", ["occlusion", "partition"])
def test_each_word_gets_its_own_push_from_an_additive_model(method):
    texts = ["please refund my parcel", "password parcel refund now please", "", "refund"]
    model = Additive(WEIGHTS)
    scores, calls = occlusion.attribute(model, _corpus(texts), method, max_calls=64)
    centred = {w: (np.array(v) - np.mean(v))[1:] for w, v in WEIGHTS.items()}
    for row in range(len(texts)):
        words = _corpus(texts).words[row]
        expected = np.array([centred.get(w, np.zeros(2)) for w in words]).reshape(-1, 2)
        np.testing.assert_allclose(scores.scores[row], expected, atol=1e-6)
    if method == "partition":  # the scores add up to the whole change
        sums = np.array([s.sum(axis=0) if len(s) else np.zeros(2) for s in scores.scores])
        np.testing.assert_allclose(sums, scores.at_text - scores.at_baseline, atol=1e-6)
    assert calls[2] == 1 and calls[0] == (5 if method == "occlusion" else 2 + 4 * 3)


def test_a_long_text_is_left_out_phrase_by_phrase_within_the_calls(tmp_path):
    text = " ".join(["refund", "parcel", "filler"] * 40)
    for method, budget in (("occlusion", 16), ("partition", 30)):
        scores, calls = occlusion.attribute(Additive(WEIGHTS), _corpus([text]), method, max_calls=budget)
        assert calls[0] <= budget
        assert len(scores.scores[0]) == 120
        if method == "partition":
            np.testing.assert_allclose(
                scores.scores[0].sum(axis=0), scores.at_text[0] - scores.at_baseline[0], atol=1e-6
            )


def test_the_settings_name_a_served_model_after_its_endpoint():
    config = load_config(None, {"MODEL": ["https://x.cloud.databricks.com/serving-endpoints/tickets-v2/invocations"]})
    assert config["models"][-1] == "tickets_v2" and config["tickets_v2"]["architecture"] == "served"
    assert json.loads(json.dumps(config["tickets_v2"]))["file"].endswith("/invocations")


def test_the_report_says_how_each_models_heat_maps_were_made(served, tmp_path):
    out = tmp_path / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "viewer.report", "--db", str(served["build"] / "reviewlens.duckdb"), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    page = out.read_text()
    assert "bot&#x27;s by occlusion, calling it with words left out" in page
    assert f"served_{served['mlflow'].port}&#x27;s by partition SHAP" in page
