"""The test servers of tests/serving.py speak their protocols: MLflow's scoring server and OpenAI's chat completions,
each with a small TF-IDF model of support tickets behind it, answered over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import math
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from tests.own_data import TICKETS, ticket_text
from tests.serving import SLOW_S, closed_port, first_token, mlflow_server, openai_server

LABELS = sorted(TICKETS)  # billing, delivery, login: the order of the model's columns
CLEAR = {"billing": "I was charged twice.", "delivery": "My parcel has not arrived.", "login": "I cannot sign in."}


@pytest.fixture(scope="module")
def predict_proba():
    """A tiny ticket classifier: TF-IDF and a logistic regression fitted on generated tickets."""
    rng = random.Random(0)
    texts, labels = zip(*[(ticket_text(rng, label), label) for label in LABELS for _ in range(30)], strict=True)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0, max_iter=1000)).fit(texts, labels)
    assert list(model.classes_) == LABELS
    return lambda texts: model.predict_proba(list(texts))


def call(url: str, body: Any = None, headers: dict | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """POST JSON (or GET without a body); the status and the raw answer, errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def split(texts: list[str]) -> dict:
    return {"dataframe_split": {"columns": ["text"], "data": [[text] for text in texts]}}


def prompt(text: str) -> str:
    return f"Which team should answer this ticket? One of: {', '.join(LABELS)}.\n<text>\n{text}\n</text>\nAnswer:"


def chat(text: str, **extra: Any) -> dict:
    return {"model": "m", "messages": [{"role": "system", "content": "You sort tickets."},
                                      {"role": "user", "content": prompt(text)}],
            "temperature": 0, "max_tokens": 5, "logprobs": True, "top_logprobs": 5, **extra}  # fmt: skip


def test_mlflow_answers_a_row_of_probabilities_per_text(predict_proba):
    with mlflow_server(predict_proba) as server:
        assert server.url.endswith("/invocations")
        assert call(server.root + "/ping")[0] == 200 and call(server.root + "/health")[0] == 200
        status, raw = call(server.url, split(list(CLEAR.values())))
        assert status == 200
        predictions = np.array(json.loads(raw)["predictions"])
        assert predictions.shape == (3, 3)
        np.testing.assert_allclose(predictions.sum(axis=1), 1.0)
        assert [LABELS[i] for i in predictions.argmax(axis=1)] == list(CLEAR)
        for body in ({"inputs": ["a", "b"]}, {"instances": ["a", "b"]}):
            assert np.array(json.loads(call(server.url, body)[1])["predictions"]).shape == (2, 3)
        assert call(server.url, split(["x"]), headers={"Content-Type": "text/plain"})[0] == 415
        assert (server.requests, server.texts) == (4, 7)
        assert server.bodies[0] == split(list(CLEAR.values()))
        assert server.headers[0]["Content-Type"] == "application/json"


def test_mlflow_answers_records_when_it_knows_the_class_names(predict_proba):
    with mlflow_server(predict_proba, columns=LABELS) as server:
        rows = json.loads(call(server.url, split(list(CLEAR.values())))[1])["predictions"]
    assert [list(row) for row in rows] == [LABELS] * 3
    assert [max(row, key=row.get) for row in rows] == list(CLEAR)


def test_mlflow_token_is_checked(predict_proba):
    with mlflow_server(predict_proba, token="s3cret") as server:
        assert call(server.url, split(["a"]))[0] == 401
        assert call(server.url, split(["a"]), headers={"Authorization": "Bearer wrong"})[0] == 401
        assert call(server.url, split(["a"]), headers={"Authorization": "Bearer s3cret"})[0] == 200
        assert (server.requests, server.texts) == (3, 1)


@pytest.mark.parametrize("fault", ["shape", "rows", "sum", "junk", "error"])
def test_mlflow_faults_answer_wrongly(predict_proba, fault):
    with mlflow_server(predict_proba, fault=fault) as server:
        status, raw = call(server.url, split(["a", "b", "c"]))
    if fault == "error":
        assert status == 500 and json.loads(raw)["error_code"] == "INTERNAL_ERROR"
        return
    assert status == 200
    if fault == "junk":
        with pytest.raises(ValueError):
            json.loads(raw)
        return
    predictions = np.array(json.loads(raw)["predictions"])
    expected = {"shape": (3, 2), "rows": (2, 3), "sum": (3, 3)}[fault]
    assert predictions.shape == expected
    if fault == "sum":
        np.testing.assert_allclose(predictions.sum(axis=1), 1.5)


def test_flaky_recovers_and_slow_outlasts_a_short_timeout(predict_proba):
    with mlflow_server(predict_proba, fault="flaky") as server:
        assert [call(server.url, split(["a"]))[0] for _ in range(3)] == [503, 503, 200]
    with mlflow_server(predict_proba, fault="slow") as server:
        started = time.monotonic()
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            call(server.url, split(["a"]), timeout=0.3)
        assert time.monotonic() - started < SLOW_S
    with pytest.raises(urllib.error.URLError) as refused:
        call(f"http://127.0.0.1:{closed_port()}/invocations", split(["a"]), timeout=2)
    assert isinstance(refused.value.reason, ConnectionRefusedError)


def test_servers_answer_concurrently(predict_proba):
    with mlflow_server(predict_proba, delay=0.3) as server:
        statuses = []
        threads = [
            threading.Thread(target=lambda: statuses.append(call(server.url, split(["a"]))[0])) for _ in range(8)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.monotonic() - started < 8 * 0.3 / 2
        assert statuses == [200] * 8 and server.requests == 8


def test_openai_answers_the_likeliest_label_with_logprobs(predict_proba):
    with openai_server(predict_proba, LABELS) as server:
        assert server.url.endswith("/v1")
        models = json.loads(call(server.url + "/models")[1])
        assert models["object"] == "list" and len(models["data"]) == 1
        status, raw = call(server.url + "/chat/completions", chat(CLEAR["login"]))
        assert status == 200 and server.bodies[0]["messages"][1]["content"] == prompt(CLEAR["login"])
        assert (server.requests, server.texts) == (1, 1)
    answer = json.loads(raw)
    assert answer["object"] == "chat.completion" and answer["model"] == "m" and answer["id"].startswith("chatcmpl-")
    choice = answer["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "login", "refusal": None}
    assert choice["finish_reason"] == "stop" and answer["usage"]["completion_tokens"] == 2
    first, second = choice["logprobs"]["content"]
    assert (first["token"], second["token"]) == ("logi", "n") and first["bytes"] == list(b"logi")
    assert second["logprob"] > -0.01
    top = {entry["token"]: entry["logprob"] for entry in first["top_logprobs"]}
    assert len(top) == 5 and {"bill", "deli", "logi", "Logi", "The"} == set(top)
    assert top["logi"] == first["logprob"] == max(top.values()) and top["The"] == -9.0
    probs = predict_proba([CLEAR["login"]])[0]
    assert math.exp(top["logi"]) + math.exp(top["Logi"]) == pytest.approx(probs[2], rel=1e-3)
    assert math.exp(top["bill"]) == pytest.approx(probs[0], rel=1e-3)
    assert math.exp(top["Logi"]) == pytest.approx(0.05 * probs[2], rel=1e-3)


def test_openai_without_logprobs_off_label_and_short_answers(predict_proba):
    with openai_server(predict_proba, LABELS, logprobs=False) as server:
        choice = json.loads(call(server.url + "/chat/completions", chat(CLEAR["billing"]))[1])["choices"][0]
    assert choice["message"]["content"] == "billing" and choice["logprobs"] is None
    odd = "Hello team."
    with openai_server(predict_proba, LABELS, off_label={odd}) as server:
        choice = json.loads(call(server.url + "/chat/completions", chat(odd, top_logprobs=3))[1])["choices"][0]
        short = json.loads(call(server.url + "/chat/completions", chat(CLEAR["delivery"], max_tokens=1))[1])
    assert choice["message"]["content"] == "I cannot tell."
    top = {entry["token"]: entry["logprob"] for entry in choice["logprobs"]["content"][0]["top_logprobs"]}
    assert top == {"I": -0.01, "Sorry": -5.0, "bill": -12.0}
    assert short["choices"][0]["message"]["content"] == "deli" and short["choices"][0]["finish_reason"] == "length"
    assert first_token("deli") == "deli" and first_token("delivery") == "deli"


@pytest.mark.parametrize("fault", ["bearer", "error", "flaky", "junk"])
def test_openai_faults(predict_proba, fault):
    with openai_server(predict_proba, LABELS, fault=fault) as server:
        url = server.url + "/chat/completions"
        status, raw = call(url, chat("a"))
        if fault == "bearer":
            assert status == 401 and json.loads(raw)["error"]["code"] == "invalid_api_key"
            assert call(url, chat("a"), headers={"Authorization": "Bearer "})[0] == 401
            assert call(url, chat("a"), headers={"Authorization": "Bearer sk-anything"})[0] == 200
        elif fault == "error":
            assert status == 500 and json.loads(raw)["error"]["type"] == "server_error"
        elif fault == "flaky":
            assert [status, call(url, chat("a"))[0], call(url, chat("a"))[0]] == [503, 503, 200]
        else:
            assert status == 200 and not raw.startswith(b"{")
        no_block = {"model": "m", "messages": [{"role": "user", "content": "no text block"}]}
        assert call(url, no_block)[0] == {"bearer": 401, "error": 500, "flaky": 400, "junk": 400}[fault]
